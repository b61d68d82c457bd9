/**
 * Interop: swan initiates, strongSwan 5.9.8's charon (kernel-libipsec)
 * responds, for each proposal of the matrix. Both must establish the IKE SA
 * and Child SA, agree on every key byte for byte (charon's level-4 key log is
 * the independent truth), list the same SPIs, and be clean after charon
 * deletes the IKE SA. Needs root and the peers `scripts/install-test-deps.sh` installs.
 */

import { PROPOSAL_MATRIX } from "./proposals.ts";
import {
  assertEstablished,
  assertSameKeys,
  deleteAndAssertClean,
  swanInitiates,
  withSwanAndCharon,
} from "./strongswan_scenario.ts";

for (const proposal of PROPOSAL_MATRIX) {
  Deno.test(`interop: swan → charon ${proposal.name}: establishes, same keys and SPIs, charon deletes`, async () => {
    await withSwanAndCharon(proposal, async (peers) => {
      await swanInitiates(peers);
      const established = await assertEstablished(peers);
      await assertSameKeys(peers, established);
      await deleteAndAssertClean(peers, "charon");
    });
  });
}
