/**
 * Interop: rekeying with strongSwan 5.9.8's charon (CREATE_CHILD_SA, RFC 7296
 * §1.3.3 and §2.18), started from either side. After a Child SA rekey both
 * list one Child SA with fresh SPIs (crosswise equal) under the same IKE SA,
 * and the old Child SA is gone from both; after an IKE SA rekey both list
 * one new IKE SA that owns the unchanged Child SA, and the old IKE SA is
 * gone. Every key, old and new, equals charon's (the new IKE SA's SKEYSEED
 * comes from the old SK_d; Child SAs rekeyed over it from the new one).
 * Child SA rekeys run with PFS (a fresh X25519 exchange) and without; the
 * two sides must agree on that, or each rejects the other's rekey. Each
 * test ends with a delete from one side and both clean. Needs root and the
 * peers `scripts/install-test-deps.sh` installs.
 */

import assert from "node:assert/strict";
import { eventually } from "../netns/lab.ts";
import { PROPOSAL_MATRIX, type ProposalPair } from "./proposals.ts";
import {
  assertEstablished,
  assertSameKeys,
  CONN,
  deleteAndAssertClean,
  type Established,
  type SwanCharon,
  swanInitiates,
  type SwanOptions,
  withSwanAndCharon,
} from "./strongswan_scenario.ts";
import type { CharonIkeSa } from "./strongswan.ts";
import { show } from "./swan.ts";

/** Who starts an exchange. */
type Side = "charon" | "swan";

/** One PFS setting on both sides. */
interface PfsVariant {
  name: string;
  proposal: ProposalPair;
  swan: SwanOptions;
  /** What `swanctl --list-sas` shows after `ESP:` for a rekeyed Child SA. */
  rekeyedAlgorithms: string;
}

/** AES-128-GCM with X25519, without PFS: the cheapest row, rekeying is what is under test. */
const BASE = PROPOSAL_MATRIX[0];
assert.equal(BASE.strongswan.esp, "aes128gcm16", "proposals.ts row 0 changed");

const VARIANTS: readonly PfsVariant[] = [
  {
    // swan's default pfs=yes reuses the IKE SA's group (X25519) for rekeys.
    name: "PFS",
    proposal: { ...BASE, strongswan: { ...BASE.strongswan, esp: "aes128gcm16-x25519" } },
    swan: {},
    rekeyedAlgorithms: "AES_GCM_16-128/CURVE_25519",
  },
  {
    name: "no PFS",
    proposal: BASE,
    swan: { pfs: false },
    rekeyedAlgorithms: "AES_GCM_16-128",
  },
];

const other = (side: Side): Side => side === "charon" ? "swan" : "charon";

/** `--rekey-child` / `swanctl --rekey --child`, asserted to succeed. */
async function rekeyChild(peers: SwanCharon, who: Side): Promise<void> {
  if (who === "charon") {
    const r = await peers.charon.rekeyChild();
    assert.equal(r.code, 0, `charon: swanctl --rekey --child\n${r.stdout}${r.stderr}`);
  } else {
    const r = await peers.swan.whack(["--name", CONN, "--rekey-child"]);
    assert.equal(r.code, 0, `swan: --rekey-child\n${show(r)}`);
  }
}

/** `--rekey-ike` / `swanctl --rekey --ike`, asserted to succeed. */
async function rekeyIke(peers: SwanCharon, who: Side): Promise<void> {
  if (who === "charon") {
    const r = await peers.charon.rekeyIke();
    assert.equal(r.code, 0, `charon: swanctl --rekey --ike\n${r.stdout}${r.stderr}`);
  } else {
    const r = await peers.swan.whack(["--name", CONN, "--rekey-ike"]);
    assert.equal(r.code, 0, `swan: --rekey-ike\n${show(r)}`);
  }
}

/** swan's only Child SA and the SPIs charon lists for its only one (any state). */
const swanChild = (e: Established) => e.swan.children[0];
const charonSpis = (sa: CharonIkeSa) => sa.children.map((c) => `${c.inSpi}/${c.outSpi}`);

/** No state line of swan's names one of `serials`. */
function assertSwanForgot(e: Established, serials: number[], what: string): void {
  const left = e.swan.states.filter((line) => serials.some((s) => line.startsWith(`#${s}:`)));
  assert.deepEqual(left, [], `swan still lists the old ${what}`);
}

/**
 * Waits until charon lists exactly one Child SA and it is not `before`'s
 * (the old one is deleted, not just superseded), then asserts the
 * replacement: both sides agree on fresh SPIs, swan's old Child SA state is
 * gone, the IKE SA is the same on both sides and owns the new Child SA, and
 * charon negotiated `algorithms` for it.
 */
async function assertChildReplaced(
  peers: SwanCharon,
  before: Established,
  algorithms: string,
): Promise<Established> {
  const old = charonSpis(before.charon);
  await eventually(
    () => peers.charon.listSas(),
    (l) => l[0]?.children.length === 1 && !old.includes(charonSpis(l[0])[0]),
  );
  const after = await assertEstablished(peers);
  assert.equal(after.charon.children.length, 1, "charon still lists the old Child SA");
  assert.notDeepEqual(charonSpis(after.charon), old, "charon's Child SA kept its SPIs");
  const was = swanChild(before);
  const now = swanChild(after);
  assert.notEqual(now.inSpi, was.inSpi, "swan's inbound SPI did not change");
  assert.notEqual(now.outSpi, was.outSpi, "swan's outbound SPI did not change");
  assert.notEqual(now.serial, was.serial, "swan kept the Child SA's serial");
  assertSwanForgot(after, [was.serial], "Child SA");
  assert.equal(after.charon.uniqueId, before.charon.uniqueId, "charon's IKE SA changed");
  assert.deepEqual(after.swan.ikeSerials, before.swan.ikeSerials, "swan's IKE SA changed");
  assert.equal(now.ikeSerial, after.swan.ikeSerials[0], "swan's Child SA is not under its IKE SA");
  assert.equal(after.charon.children[0].algorithms, algorithms, "charon's rekeyed Child SA");
  return after;
}

/**
 * Waits until charon lists one IKE SA and it is not `before`'s, then asserts
 * the replacement: a new IKE SA on both sides, swan's old one gone, and the
 * Child SA unchanged (same SPIs, RFC 7296 §2.18) and now under the new IKE SA.
 */
async function assertIkeReplaced(peers: SwanCharon, before: Established): Promise<Established> {
  await eventually(
    () => peers.charon.listSas(),
    (l) => l.length === 1 && l[0].uniqueId !== before.charon.uniqueId,
  );
  const after = await assertEstablished(peers);
  assert.notEqual(after.charon.uniqueId, before.charon.uniqueId, "charon kept the old IKE SA");
  assert.notEqual(after.charon.spiI, before.charon.spiI, "charon's IKE SA kept its SPIi");
  assert.notEqual(after.charon.spiR, before.charon.spiR, "charon's IKE SA kept its SPIr");
  const [was] = before.swan.ikeSerials;
  const [now] = after.swan.ikeSerials;
  assert.notEqual(now, was, "swan kept the old IKE SA");
  assertSwanForgot(after, [was], "IKE SA");
  assert.deepEqual(
    charonSpis(after.charon),
    charonSpis(before.charon),
    "the Child SA changed on charon",
  );
  const [child, oldChild] = [swanChild(after), swanChild(before)];
  assert.deepEqual(
    [child.serial, child.inSpi, child.outSpi],
    [oldChild.serial, oldChild.inSpi, oldChild.outSpi],
    "the Child SA changed on swan",
  );
  assert.equal(child.ikeSerial, now, "swan's Child SA did not move to the new IKE SA");
  return after;
}

for (const variant of VARIANTS) {
  for (const who of ["charon", "swan"] as const) {
    const deleter = other(who);
    Deno.test(
      `interop: ${who} rekeys the Child SA (${variant.name}); new SPIs, same keys, ${deleter} deletes`,
      async () => {
        await withSwanAndCharon(variant.proposal, async (peers) => {
          await swanInitiates(peers);
          const before = await assertEstablished(peers);
          await assertSameKeys(peers, before);
          await rekeyChild(peers, who);
          const after = await assertChildReplaced(peers, before, variant.rekeyedAlgorithms);
          await assertSameKeys(peers, after);
          await deleteAndAssertClean(peers, deleter);
        }, variant.swan);
      },
    );
  }
}

// The IKE SA rekey always has its own key exchange; the Child SA rekey over
// the new IKE SA (keyed from its SK_d) runs once with each PFS setting.
for (const [who, variant] of [["charon", VARIANTS[0]], ["swan", VARIANTS[1]]] as const) {
  const peer = other(who);
  Deno.test(
    `interop: ${who} rekeys the IKE SA, then ${peer} the Child SA over it (${variant.name}); same keys, ${peer} deletes`,
    async () => {
      await withSwanAndCharon(variant.proposal, async (peers) => {
        await swanInitiates(peers);
        const before = await assertEstablished(peers);
        await rekeyIke(peers, who);
        const rekeyed = await assertIkeReplaced(peers, before);
        await assertSameKeys(peers, rekeyed);
        await rekeyChild(peers, peer);
        const after = await assertChildReplaced(peers, rekeyed, variant.rekeyedAlgorithms);
        await assertSameKeys(peers, after);
        await deleteAndAssertClean(peers, peer);
      }, variant.swan);
    },
  );
}
