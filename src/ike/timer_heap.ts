/**
 * One scheduler for every SA event (retransmit, replace, expire, ...): a binary
 * min-heap keyed by due time, so the daemon arms one OS timer for the earliest
 * entry instead of one per SA. Cancelled entries are dropped lazily when they
 * reach the top, which keeps cancel O(1).
 */

/** A scheduled event; `cancel()` makes it a no-op. */
export interface TimerHandle {
  readonly due: number;
  readonly name: string;
  cancel(): void;
  readonly cancelled: boolean;
}

class Entry implements TimerHandle {
  cancelled = false;
  constructor(
    readonly due: number,
    readonly seq: number,
    readonly name: string,
    readonly run: () => void,
  ) {}
  cancel(): void {
    this.cancelled = true;
  }
}

export class TimerHeap {
  #heap: Entry[] = [];
  #seq = 0;
  /** Called when a newly scheduled entry became the earliest, so the owner can re-arm its one OS timer. */
  onEarliest?: (due: number) => void;

  /** Schedules `run` at absolute time `due` (ms). Ties run in scheduling order. */
  schedule(due: number, name: string, run: () => void): TimerHandle {
    const e = new Entry(due, this.#seq++, name, run);
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
      top.cancelled = true;
      top.run();
      ran++;
    }
  }

  get size(): number {
    return this.#heap.length;
  }

  #dropCancelled(): void {
    while (this.#heap.length > 0 && this.#heap[0].cancelled) this.#pop();
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
