/**
 * The anti-replay window against RFC 4303 §3.4.3 (window edges, duplicates,
 * sliding, packets never authenticated never counting) and the ESN
 * inference of RFC 4303 Appendix A2 (both cases, across a 2^32 wrap).
 */
import assert from "node:assert/strict";
import { ReplayWindow } from "../../../src/kernel/userspace/replay_window.ts";

const TWO_32 = 2 ** 32;

/** check() then accept(), as the datapath does for an authenticated packet; returns the verdict. */
function receive(w: ReplayWindow, seqLow: number) {
  const verdict = w.check(seqLow);
  if (verdict.ok) w.accept(verdict.seq);
  return verdict;
}

Deno.test("replay window: edges of a 64-packet window", () => {
  const w = new ReplayWindow(64, false);
  assert.deepEqual(receive(w, 100), { ok: true, seq: 100 });
  assert.deepEqual(w.check(37), { ok: true, seq: 37 }, "T - W + 1 is the bottom of the window");
  assert.deepEqual(w.check(36), { ok: false, reason: "replay-old" }, "T - W is below it");
  assert.deepEqual(w.check(100), { ok: false, reason: "replay-duplicate" });
  assert.deepEqual(w.check(0), { ok: false, reason: "replay-old" }, "0 is never sent");
  assert.deepEqual(w.check(101), { ok: true, seq: 101 });
});

Deno.test("replay window: out of order inside the window once, duplicates refused", () => {
  const w = new ReplayWindow(32, false);
  for (const seq of [5, 3, 4, 1, 2]) assert.ok(receive(w, seq).ok, `first ${seq}`);
  for (const seq of [1, 2, 3, 4, 5]) {
    assert.deepEqual(w.check(seq), { ok: false, reason: "replay-duplicate" }, `again ${seq}`);
  }
  assert.equal(w.top, 5);
});

Deno.test("replay window: a checked but never accepted (forged) packet does not count", () => {
  const w = new ReplayWindow(64, false);
  receive(w, 10);
  assert.ok(w.check(500).ok);
  assert.ok(w.check(9).ok);
  assert.equal(w.top, 10, "check alone moves nothing");
  assert.ok(receive(w, 9).ok);
});

Deno.test("replay window: sliding reuses bitmap slots without ghost duplicates", () => {
  const w = new ReplayWindow(64, false);
  receive(w, 5);
  receive(w, 60);
  // 69 takes the slot of 5 (69 mod 64): it must not look received.
  assert.deepEqual(receive(w, 69), { ok: true, seq: 69 });
  assert.deepEqual(w.check(6), { ok: true, seq: 6 });
  assert.deepEqual(w.check(5), { ok: false, reason: "replay-old" });
  // A jump of more than the whole bitmap clears it.
  receive(w, 68);
  assert.deepEqual(receive(w, 69 + 1000), { ok: true, seq: 1069 });
  assert.deepEqual(w.check(1068), { ok: true, seq: 1068 });
  assert.deepEqual(w.check(1069), { ok: false, reason: "replay-duplicate" });
});

Deno.test("replay window: a size that is not a multiple of 32 keeps its exact edge", () => {
  const w = new ReplayWindow(40, false);
  receive(w, 100);
  assert.ok(w.check(61).ok);
  assert.deepEqual(w.check(60), { ok: false, reason: "replay-old" });
});

Deno.test("replay window: size 0 turns replay protection off", () => {
  const w = new ReplayWindow(0, false);
  assert.ok(receive(w, 7).ok);
  assert.ok(receive(w, 7).ok, "a duplicate passes");
  assert.ok(receive(w, 1).ok, "an old one passes");
  assert.deepEqual(w.check(0), { ok: false, reason: "replay-old" });
  assert.throws(() => new ReplayWindow(-1, false), RangeError);
});

Deno.test("replay window: 32-bit sequence numbers up to 2^32 - 1", () => {
  const w = new ReplayWindow(64, false);
  assert.deepEqual(receive(w, TWO_32 - 1), { ok: true, seq: TWO_32 - 1 });
  assert.deepEqual(w.check(0), { ok: false, reason: "replay-old" }, "no wrap without ESN");
});

Deno.test("ESN: high bits inferred across the 2^32 wrap (window straddling a boundary)", () => {
  const w = new ReplayWindow(32, true);
  w.accept(TWO_32 - 100); // an SA that has received almost 2^32 packets
  assert.deepEqual(receive(w, TWO_32 - 2), { ok: true, seq: TWO_32 - 2 });
  assert.deepEqual(receive(w, TWO_32 - 1), { ok: true, seq: TWO_32 - 1 });
  // Low half 0 after 0xffffffff: the next block.
  assert.deepEqual(receive(w, 0), { ok: true, seq: TWO_32 });
  assert.equal(w.top, TWO_32);
  // Window now spans both blocks (case B): a high low half belongs to the previous block.
  assert.deepEqual(w.check(0xfffffff0), { ok: true, seq: TWO_32 - 16 });
  assert.deepEqual(w.check(0xffffffff), { ok: false, reason: "replay-duplicate" });
  assert.deepEqual(w.check(0xfffffffe), { ok: false, reason: "replay-duplicate" });
  // Below the window's bottom (2^32 - 31 mod 2^32): taken as far ahead in the current block.
  assert.deepEqual(w.check(0xffffffe0), { ok: true, seq: TWO_32 + 0xffffffe0 });
  assert.deepEqual(receive(w, 5), { ok: true, seq: TWO_32 + 5 });
});

Deno.test("ESN: window inside one block (case A), and the start of an SA", () => {
  const w = new ReplayWindow(64, true);
  // Before any packet the window straddles 0: a high low half would be before sequence 1.
  assert.deepEqual(w.check(0xffffffff), { ok: false, reason: "replay-old" });
  assert.deepEqual(w.check(0), { ok: false, reason: "replay-old" });
  assert.deepEqual(receive(w, 1), { ok: true, seq: 1 });
  const top = 5 * TWO_32 + 1000;
  w.accept(top);
  assert.deepEqual(w.check(999), { ok: true, seq: 5 * TWO_32 + 999 });
  assert.deepEqual(w.check(937), { ok: true, seq: 5 * TWO_32 + 937 }, "bottom edge T - W + 1");
  // Below the window: RFC 4303 A2.2 takes it for the next block (the ICV then decides).
  assert.deepEqual(w.check(936), { ok: true, seq: 6 * TWO_32 + 936 });
  assert.deepEqual(w.check(1000), { ok: false, reason: "replay-duplicate" });
});

Deno.test("ESN with replay protection off still infers the high bits", () => {
  const w = new ReplayWindow(0, true);
  w.accept(TWO_32 - 100);
  receive(w, TWO_32 - 1);
  assert.deepEqual(receive(w, 3), { ok: true, seq: TWO_32 + 3 });
  assert.deepEqual(w.check(TWO_32 - 1), { ok: true, seq: TWO_32 - 1 });
});
