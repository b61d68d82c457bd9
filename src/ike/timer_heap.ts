/**
 * One scheduler for every SA event (retransmit, replace, expire, ...): a binary
 * min-heap keyed by due time, so the daemon arms one OS timer for the earliest
 * entry instead of one per SA. Cancelled entries are dropped lazily when they
 * reach the top, which keeps cancel O(1); when they outnumber the live ones
 * (a rekey cancels events due hours later) the heap is rebuilt without them.
 */
import { appended, removedAt } from "./exact_arrays.ts";

/** A scheduled event; `cancel()` makes it a no-op. */
export interface TimerHandle {
  readonly due: number;
  readonly name: string;
  cancel(): void;
  readonly cancelled: boolean;
}

function nothing(): void {}

/** The events of an SA that has none: shared, since a `NamedTimers` never changes its array. */
const NONE: readonly TimerHandle[] = [];

class Entry implements TimerHandle {
  cancelled = false;
  constructor(
    readonly due: number,
    readonly seq: number,
    readonly name: string,
    public run: () => void,
    readonly owner: NamedTimers | undefined,
    readonly onCancel: () => void,
  ) {}
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    // A cancelled entry waits in the heap until it reaches the top; it must
    // not keep its callback (and the SA that callback names) alive meanwhile.
    this.run = nothing;
    this.onCancel();
  }
}

/**
 * An SA's pending events by name (`RETRANSMIT`, `REKEY`, `EXPIRE`, ...), the
 * subset of `Map` its users need. An SA has a handful at most, so a small
 * array costs a fraction of a `Map` and its hash table at 100k SAs (see
 * exact_arrays.ts for why it is replaced rather than changed).
 */
export class NamedTimers implements Iterable<[string, TimerHandle]> {
  #handles: readonly TimerHandle[] = NONE;

  get size(): number {
    return this.#handles.length;
  }

  get(name: string): TimerHandle | undefined {
    return this.#handles.find((h) => h.name === name);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Files `handle` under its name, in place of any handle of that name. */
  set(handle: TimerHandle): void {
    const i = this.#handles.findIndex((h) => h.name === handle.name);
    this.#handles = i >= 0
      ? this.#handles.map((h, j) => j === i ? handle : h)
      : appended(this.#handles, handle);
  }

  delete(name: string): boolean {
    const i = this.#handles.findIndex((h) => h.name === name);
    if (i < 0) return false;
    this.#handles = removedAt(this.#handles, i);
    return true;
  }

  clear(): void {
    this.#handles = NONE;
  }

  values(): IterableIterator<TimerHandle> {
    return this.#handles.values();
  }

  keys(): IterableIterator<string> {
    return this.#handles.map((h) => h.name).values();
  }

  /** Entries may be deleted while iterating (as a Map allows): the array iterated is never changed. */
  [Symbol.iterator](): IterableIterator<[string, TimerHandle]> {
    return this.#handles.map((h): [string, TimerHandle] => [h.name, h]).values();
  }
}

export class TimerHeap {
  #heap: Entry[] = [];
  #seq = 0;
  /** Cancelled entries still in #heap. */
  #cancelled = 0;
  /** Every entry reports its cancel here (one function shared by all entries). */
  readonly #noteCancel = (): void => {
    if (++this.#cancelled > 64 && this.#cancelled * 2 > this.#heap.length) this.#compact();
  };
  /** Called when a newly scheduled entry became the earliest, so the owner can re-arm its one OS timer. */
  onEarliest?: (due: number) => void;

  /**
   * Schedules `run` at absolute time `due` (ms). Ties run in scheduling order.
   * With `owner`, the entry is filed there under `name` (replacing, not
   * cancelling, an entry of that name) and leaves it when it runs.
   */
  schedule(due: number, name: string, run: () => void, owner?: NamedTimers): TimerHandle {
    const e = new Entry(due, this.#seq++, name, run, owner, this.#noteCancel);
    owner?.set(e);
    this.#heap.push(e);
    this.#up(this.#heap.length - 1);
    if (this.#heap[0] === e) this.onEarliest?.(due);
    return e;
  }

  /** Due time of the earliest live entry, if any. */
  nextDue(): number | undefined {
    this.#dropCancelled();
    return this.#heap[0]?.due;
  }

  /** Runs every entry due at or before `now`, in due order; returns how many ran. */
  runDue(now: number): number {
    let ran = 0;
    for (;;) {
      this.#dropCancelled();
      const top = this.#heap[0];
      if (!top || top.due > now) return ran;
      this.#pop();
      const run = top.run;
      // Spent, not cancelled: it is out of the heap already.
      top.cancelled = true;
      top.run = nothing;
      if (top.owner?.get(top.name) === top) top.owner.delete(top.name);
      run();
      ran++;
    }
  }

  get size(): number {
    return this.#heap.length;
  }

  #dropCancelled(): void {
    while (this.#heap.length > 0 && this.#heap[0].cancelled) {
      this.#pop();
      this.#cancelled--;
    }
  }

  /** Drops every cancelled entry and restores the heap order (ties keep their `seq` order). */
  #compact(): void {
    this.#heap = this.#heap.filter((e) => !e.cancelled);
    this.#cancelled = 0;
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  #less(a: Entry, b: Entry): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  #pop(): void {
    const last = this.#heap.pop()!;
    if (this.#heap.length === 0) return;
    this.#heap[0] = last;
    this.#down(0);
  }

  #up(i: number): void {
    const h = this.#heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i], h[p])) return;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  #down(i: number): void {
    const h = this.#heap;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < h.length && this.#less(h[l], h[m])) m = l;
      if (r < h.length && this.#less(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}
