/** Time for the engine. The engine never reads the wall clock itself. */
export interface Clock {
  /** Milliseconds on a monotonic-enough scale shared with timers. */
  now(): number;
  /** Wall-clock seconds since the epoch (for add_time and status). */
  epochSeconds(): number;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  epochSeconds: () => Math.floor(Date.now() / 1000),
};

/** A virtual clock for simulations: time moves only when told. */
export class ManualClock implements Clock {
  constructor(public ms = 1_700_000_000_000) {}
  now(): number {
    return this.ms;
  }
  epochSeconds(): number {
    return Math.floor(this.ms / 1000);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}
