/**
 * The load generator's pacing and accounting, shared by every initiator
 * kind: N SA setups with at most C in flight, cut into slices (1,000 SAs by
 * default). At each slice boundary nothing is in flight; the slice's rate,
 * CPU per SA of both daemons (procfs utime+stime) and the responder's
 * resident memory per SA (after a short settle) are recorded, as the
 * issue's strongSwan baseline did, so the figures compare.
 */
import { cpuSeconds, residentKb } from "./proc_stats.ts";

/** Options of {@link driveSlices}. */
export interface SliceOptions {
  total: number;
  concurrency: number;
  sliceSize: number;
  /** Starts SA number `i`; resolves true once it and its Child SA are established, false on failure. */
  start: (i: number) => Promise<boolean>;
  initiatorPid: number;
  responderPid: number;
  /** Pause before sampling memory at a slice boundary. */
  settleMs: number;
  /** Give up (remaining SAs count as not started) after this long. */
  deadlineMs: number;
  onSlice?: (slice: SliceReport) => void;
}

/** One slice's figures. */
export interface SliceReport {
  /** SAs established so far (cumulative). */
  established: number;
  failures: number;
  sliceSas: number;
  seconds: number;
  ratePerS: number;
  responderCpuMsPerSa: number;
  initiatorCpuMsPerSa: number;
  responderRssKb: number;
  /** (VmRSS − VmRSS before the run) / established. */
  responderRssBytesPerSa: number;
}

/** The whole run. */
export interface RunReport {
  established: number;
  failures: number;
  /** SAs per second over all slices (settle pauses excluded). */
  ratePerS: number;
  responderBaseRssKb: number;
  slices: SliceReport[];
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the SA setups slice by slice; see the module comment. */
export async function driveSlices(o: SliceOptions): Promise<RunReport> {
  const base = residentKb(o.responderPid).rss;
  const deadline = Date.now() + o.deadlineMs;
  const slices: SliceReport[] = [];
  let established = 0, failures = 0, next = 0, busySeconds = 0;
  while (next < o.total && Date.now() < deadline) {
    const end = Math.min(o.total, next + o.sliceSize);
    const cpuR0 = cpuSeconds(o.responderPid), cpuI0 = cpuSeconds(o.initiatorPid);
    const t0 = performance.now();
    const before = established;
    // C workers pull SA numbers until the slice is used up: C in flight at any time.
    const worker = async () => {
      while (next < end && Date.now() < deadline) {
        if (await o.start(next++)) established++;
        else failures++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency, end - next) }, worker));
    const seconds = (performance.now() - t0) / 1000;
    busySeconds += seconds;
    const sliceSas = established - before;
    const perSa = (s: number) => (sliceSas ? (s * 1000) / sliceSas : NaN);
    const cpuR = cpuSeconds(o.responderPid) - cpuR0, cpuI = cpuSeconds(o.initiatorPid) - cpuI0;
    await delay(o.settleMs);
    const rss = residentKb(o.responderPid).rss;
    const slice: SliceReport = {
      established,
      failures,
      sliceSas,
      seconds: round(seconds, 3),
      ratePerS: round(sliceSas / seconds, 1),
      responderCpuMsPerSa: round(perSa(cpuR), 2),
      initiatorCpuMsPerSa: round(perSa(cpuI), 2),
      responderRssKb: rss,
      responderRssBytesPerSa: Math.round(((rss - base) * 1024) / Math.max(established, 1)),
    };
    slices.push(slice);
    o.onSlice?.(slice);
  }
  return {
    established,
    failures,
    ratePerS: round(established / Math.max(busySeconds, 1e-9), 1),
    responderBaseRssKb: base,
    slices,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
