/**
 * Interop: strongSwan 5.9.8's charon (kernel-libipsec) initiates, swan
 * responds, for each proposal of the matrix. Both must establish the IKE SA
 * and Child SA, agree on every key byte for byte (charon's level-4 key log is
 * the independent truth), list the same SPIs, and be clean after swan
 * deletes the IKE SA. Needs root and the peers `scripts/install-test-deps.sh` installs.
 */

import { PROPOSAL_MATRIX } from "./proposals.ts";
import {
  assertEstablished,
  assertSameKeys,
  charonInitiates,
  deleteAndAssertClean,
  withSwanAndCharon,
} from "./strongswan_scenario.ts";

for (const proposal of PROPOSAL_MATRIX) {
  Deno.test(`interop: charon → swan ${proposal.name}: establishes, same keys and SPIs, swan deletes`, async () => {
    await withSwanAndCharon(proposal, async (peers) => {
      await charonInitiates(peers);
      const established = await assertEstablished(peers);
      await assertSameKeys(peers, established);
      await deleteAndAssertClean(peers, "swan");
    });
  });
}
