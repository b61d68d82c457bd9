/**
 * The engine's one scheduler: entries run in due order, ties in scheduling
 * order, cancelled entries never run, and `onEarliest` lets the owner keep a
 * single OS timer that is never later than the earliest live entry.
 */
import assert from "node:assert/strict";
import { NamedTimers, TimerHeap } from "../../src/ike/timer_heap.ts";

/** A seeded shuffle source (mulberry32) so the random orders are reproducible. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    let t = (state += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("timer heap: entries run in due order whatever the scheduling order", () => {
  const random = prng(1);
  const heap = new TimerHeap();
  const ran: number[] = [];
  const dues = Array.from({ length: 500 }, () => Math.floor(random() * 10_000));
  for (const due of dues) heap.schedule(due, "t", () => ran.push(due));
  assert.equal(heap.size, 500);
  assert.equal(heap.nextDue(), Math.min(...dues));
  assert.equal(heap.runDue(Infinity), 500);
  assert.deepEqual(ran, [...dues].sort((a, b) => a - b));
  assert.equal(heap.size, 0);
  assert.equal(heap.nextDue(), undefined);
});

Deno.test("timer heap: runDue runs only what is due, inclusive of now", () => {
  const heap = new TimerHeap();
  const ran: string[] = [];
  heap.schedule(30, "c", () => ran.push("c"));
  heap.schedule(10, "a", () => ran.push("a"));
  heap.schedule(20, "b", () => ran.push("b"));
  assert.equal(heap.runDue(9), 0);
  assert.equal(heap.runDue(20), 2, "due exactly now runs");
  assert.deepEqual(ran, ["a", "b"]);
  assert.equal(heap.nextDue(), 30);
  assert.equal(heap.runDue(29), 0);
  assert.equal(heap.runDue(30), 1);
  assert.deepEqual(ran, ["a", "b", "c"]);
});

Deno.test("timer heap: ties run in scheduling order, also after heap reshuffles", () => {
  const random = prng(2);
  const heap = new TimerHeap();
  const ran: string[] = [];
  const expected: string[] = [];
  // Three due times, interleaved, so sift-up and sift-down move equal keys around.
  for (let i = 0; i < 300; i++) {
    const due = [5, 1, 3][Math.floor(random() * 3)];
    const name = `${due}:${i}`;
    heap.schedule(due, name, () => ran.push(name));
    expected.push(name);
  }
  heap.runDue(10);
  const byDueThenSeq = [...expected].sort((a, b) => {
    const [da, ia] = a.split(":").map(Number), [db, ib] = b.split(":").map(Number);
    return da - db || ia - ib;
  });
  assert.deepEqual(ran, byDueThenSeq);
});

Deno.test("timer heap: cancelled entries never run and stop counting for nextDue", () => {
  const heap = new TimerHeap();
  const ran: string[] = [];
  const a = heap.schedule(10, "a", () => ran.push("a"));
  const b = heap.schedule(20, "b", () => ran.push("b"));
  heap.schedule(30, "c", () => ran.push("c"));
  assert.equal(a.cancelled, false);
  a.cancel();
  assert.equal(a.cancelled, true);
  assert.equal(heap.nextDue(), 20, "a cancelled top is skipped");
  b.cancel();
  b.cancel(); // twice is harmless
  assert.equal(heap.nextDue(), 30);
  assert.equal(heap.runDue(100), 1, "only live entries count as run");
  assert.deepEqual(ran, ["c"]);
});

Deno.test("timer heap: cancelling an entry buried in the heap skips it when its turn comes", () => {
  const random = prng(3);
  const heap = new TimerHeap();
  const ran: number[] = [];
  const handles = Array.from({ length: 200 }, (_, i) => {
    const due = Math.floor(random() * 1000);
    return { i, due, h: heap.schedule(due, `t${i}`, () => ran.push(i)) };
  });
  const cancelled = new Set(handles.filter(() => random() < 0.4).map((x) => x.i));
  for (const x of handles) if (cancelled.has(x.i)) x.h.cancel();
  heap.runDue(Infinity);
  const live = handles.filter((x) => !cancelled.has(x.i)).sort((p, q) =>
    p.due - q.due || p.i - q.i
  );
  assert.deepEqual(ran, live.map((x) => x.i));
});

Deno.test("timer heap: a handle reports the due time and name it was given, and is spent once run", () => {
  const heap = new TimerHeap();
  let runs = 0;
  const h = heap.schedule(42, "RETRANSMIT", () => runs++);
  assert.equal(h.due, 42);
  assert.equal(h.name, "RETRANSMIT");
  heap.runDue(42);
  assert.equal(runs, 1);
  assert.equal(h.cancelled, true, "a run entry is spent");
  h.cancel(); // cancelling after the run must not disturb anything
  assert.equal(heap.runDue(1000), 0);
  assert.equal(runs, 1);
});

Deno.test("timer heap: entries scheduled while running run in the same pass when already due", () => {
  const heap = new TimerHeap();
  const ran: string[] = [];
  heap.schedule(10, "first", () => {
    ran.push("first");
    heap.schedule(10, "same time", () => ran.push("same time"));
    heap.schedule(5, "in the past", () => ran.push("in the past"));
    heap.schedule(50, "later", () => ran.push("later"));
  });
  heap.schedule(20, "second", () => ran.push("second"));
  assert.equal(heap.runDue(20), 4);
  assert.deepEqual(ran, ["first", "in the past", "same time", "second"]);
  assert.equal(heap.nextDue(), 50);
});

Deno.test("timer heap: onEarliest fires exactly when a new entry becomes the earliest", () => {
  const heap = new TimerHeap();
  const calls: number[] = [];
  heap.onEarliest = (due) => calls.push(due);
  heap.schedule(100, "a", () => {});
  heap.schedule(200, "b", () => {}); // later: no call
  heap.schedule(50, "c", () => {});
  heap.schedule(50, "d", () => {}); // a tie does not move ahead of c: no call
  heap.schedule(75, "e", () => {});
  assert.deepEqual(calls, [100, 50]);
});

Deno.test("timer heap: an owner re-arming on onEarliest and after each run is never late", () => {
  // The daemon's pattern: one OS timer, armed at nextDue() after every run and
  // on onEarliest. Whatever is scheduled or cancelled, that timer must never be
  // later than the earliest live entry, or an event would fire late.
  const random = prng(4);
  const heap = new TimerHeap();
  let armed: number | undefined;
  heap.onEarliest = (due) => armed = due;
  let now = 0;
  const ranAt: { due: number; at: number }[] = [];
  const handles: { cancel(): void }[] = [];
  for (let step = 0; step < 2000; step++) {
    const r = random();
    if (r < 0.5) {
      const due = now + Math.floor(random() * 500);
      handles.push(heap.schedule(due, "x", () => ranAt.push({ due, at: now })));
    } else if (r < 0.7 && handles.length > 0) {
      handles[Math.floor(random() * handles.length)].cancel();
    } else if (armed !== undefined) {
      // The OS timer fires.
      now = Math.max(now, armed);
      heap.runDue(now);
      armed = heap.nextDue();
    }
    const earliest = heap.nextDue();
    if (earliest !== undefined) {
      assert.ok(
        armed !== undefined && armed <= earliest,
        `step ${step}: timer armed at ${armed}, earliest live entry due ${earliest}`,
      );
    }
  }
  assert.ok(ranAt.length > 100, "too few entries ran for the check to mean anything");
  for (const { due, at } of ranAt) assert.ok(at >= due, `an entry due ${due} ran early at ${at}`);
});

Deno.test("timer heap: cancelled entries far in the future do not pile up; order survives the rebuild", () => {
  const random = prng(4);
  const heap = new TimerHeap();
  const ran: number[] = [];
  // A rekey cancels events due hours later: without a rebuild they stay until then.
  const live: { i: number; due: number }[] = [];
  for (let i = 0; i < 10_000; i++) {
    const due = 3_600_000 + Math.floor(random() * 1000);
    const h = heap.schedule(due, "EXPIRE", () => ran.push(i));
    if (i % 10 === 0) live.push({ i, due });
    else h.cancel();
  }
  assert.ok(
    heap.size <= 2 * live.length + 65,
    `heap holds ${heap.size} entries for ${live.length}`,
  );
  assert.equal(heap.runDue(Infinity), live.length);
  assert.deepEqual(ran, live.sort((a, b) => a.due - b.due || a.i - b.i).map((x) => x.i));
});

Deno.test("named timers: an entry is filed under its name, replaced by name and gone once run", () => {
  const heap = new TimerHeap();
  const events = new NamedTimers();
  const ran: string[] = [];
  const first = heap.schedule(10, "REKEY", () => ran.push("first"), events);
  heap.schedule(20, "EXPIRE", () => ran.push("expire"), events);
  assert.deepEqual([...events.keys()], ["REKEY", "EXPIRE"]);
  first.cancel();
  const second = heap.schedule(15, "REKEY", () => ran.push("second"), events);
  assert.equal(events.get("REKEY"), second, "same name replaces, in place");
  assert.deepEqual([...events.keys()], ["REKEY", "EXPIRE"]);
  assert.equal(heap.runDue(15), 1);
  assert.deepEqual(ran, ["second"]);
  assert.equal(events.has("REKEY"), false, "a run entry leaves its owner");
  // Deleting while iterating, as a Map allows.
  for (const [name, h] of events) {
    h.cancel();
    events.delete(name);
  }
  assert.equal(events.size, 0);
  assert.equal(heap.runDue(100), 0);
  assert.deepEqual(ran, ["second"]);
});
