/**
 * CI smoke of the load generator (bench/loadgen.ts): a few hundred IKEv2 PSK
 * IKE SAs, each with one Child SA, from the in-process swan initiator in one
 * namespace to a real `swan pluto` in another, then every IKE SA deleted by
 * INFORMATIONAL exchange. Asserts counts, not timings: every SA established,
 * and afterwards neither side holds an IKE SA, Child SA, SPI or half-open
 * entry. Needs root (see lab.ts).
 */
import assert from "node:assert/strict";
import { runPair } from "../../bench/loadgen.ts";

const TOTAL = 300;

Deno.test("loadgen smoke: 300 swan→swan IKE SAs established, all deleted, nothing leaked", async () => {
  const r = await runPair({
    initiator: "swan",
    responder: "swan",
    suite: "x25519",
    total: TOTAL,
    concurrency: 32,
    sliceSize: 100,
    settleMs: 0,
    deadlineMs: 15_000,
    deleteAll: true,
  });
  assert.equal(r.run.failures, 0, `failures: ${JSON.stringify(r.run)}`);
  assert.equal(r.run.established, TOTAL, `established: ${JSON.stringify(r.run)}`);
  assert.deepEqual(r.run.slices.map((s) => s.sliceSas), [100, 100, 100]);
  assert.ok(r.initiatorLeft, "the initiator reported nothing after deleting");
  const { deleteSeconds: _, ...left } = r.initiatorLeft;
  assert.deepEqual(left, { ikeSas: 0, childSas: 0, childSpis: 0, halfOpen: 0, kernelSas: 0 });
  // One state line per IKE SA and one per Child SA before; none after.
  assert.equal(r.responderBefore, 2 * TOTAL, "the responder did not list every IKE and Child SA");
  assert.equal(
    r.responderLeft,
    0,
    "the responder still lists states after every IKE SA was deleted",
  );
});
