/**
 * The daemon thread's handle on the outbound datapath thread
 * (`outbound_worker.ts`): commands are queued in order and go over once per
 * event-loop turn (before the device is open they wait for it), reports
 * come back to one callback, and the shared counters are read here without
 * a round trip. Each outbound SA gets a counter slot for its life.
 */
import { KernelError } from "../kernel.ts";
import {
  COUNTER_BYTES,
  COUNTER_SLOTS,
  OUTBOUND_DROPS,
  type OutboundCommand,
  type OutboundReport,
  slotIndex,
} from "./outbound_messages.ts";

/** How long {@link OutboundThread.stop} waits for the worker to let go of its descriptors. */
const STOP_TIMEOUT_MS = 3000;

/** The outbound datapath thread, from the daemon's side. */
export class OutboundThread {
  readonly #onReport: (report: OutboundReport) => void;
  readonly #buffer = new SharedArrayBuffer(COUNTER_BYTES);
  readonly #counters = new Float64Array(this.#buffer);
  readonly #usedSlots = new Set<number>();
  /** Slots are handed out round-robin, so a freed one is reused as late as possible. */
  #nextSlot = 0;
  #worker: Worker | undefined;
  #outbox: OutboundCommand[] = [];
  #stopped: (() => void) | undefined;

  /** `onReport` gets acquires, expiries, packets to send and failures. */
  constructor(onReport: (report: OutboundReport) => void) {
    this.#onReport = onReport;
  }

  /** Starts the thread reading TUN descriptor `fd`; idempotent. */
  start(fd: number, name: string): void {
    if (this.#worker !== undefined) return;
    const worker = new Worker(new URL("./outbound_worker.ts", import.meta.url), {
      type: "module",
    });
    worker.onmessage = (event: MessageEvent<OutboundReport[]>) => {
      for (const report of event.data) {
        if (report.kind === "stopped") this.#stopped?.();
        else this.#onReport(report);
      }
    };
    worker.onerror = (event) => {
      // An uncaught error in the datapath thread must not take the daemon down.
      event.preventDefault();
      this.#onReport({ kind: "failed", message: event.message });
      this.#stopped?.();
    };
    worker.postMessage({ counters: this.#buffer });
    this.#worker = worker;
    // After whatever was queued while the device was opening.
    this.#outbox.push({ kind: "device", fd, name });
    this.#flush();
  }

  /** Queues a command; everything queued in one event-loop turn goes over in one message. */
  post(command: OutboundCommand): void {
    if (this.#outbox.length === 0) queueMicrotask(() => this.#flush());
    this.#outbox.push(command);
  }

  #flush(): void {
    if (this.#worker === undefined || this.#outbox.length === 0) return;
    this.#worker.postMessage(this.#outbox);
    this.#outbox = [];
  }

  /** A free counter slot for a new outbound SA; throws KernelError when all are taken. */
  allocateSlot(): number {
    for (let i = 0; i < COUNTER_SLOTS; i++) {
      const slot = (this.#nextSlot + i) % COUNTER_SLOTS;
      if (this.#usedSlots.has(slot)) continue;
      this.#usedSlots.add(slot);
      this.#nextSlot = (slot + 1) % COUNTER_SLOTS;
      const at = slotIndex(slot);
      this.#counters[at] = 0;
      this.#counters[at + 1] = 0;
      return slot;
    }
    throw new KernelError(`the userspace stack carries at most ${COUNTER_SLOTS} outbound SAs`);
  }

  /** Gives a slot back (its SA was uninstalled). */
  freeSlot(slot: number): void {
    this.#usedSlots.delete(slot);
  }

  /** Bytes and packets the SA of `slot` has carried. */
  counts(slot: number): { bytes: number; packets: number } {
    const at = slotIndex(slot);
    return { bytes: this.#counters[at], packets: this.#counters[at + 1] };
  }

  /** Outbound drops so far, by reason (reasons never seen are absent). */
  drops(): Map<(typeof OUTBOUND_DROPS)[number], number> {
    const out = new Map<(typeof OUTBOUND_DROPS)[number], number>();
    OUTBOUND_DROPS.forEach((reason, i) => {
      if (this.#counters[i] > 0) out.set(reason, this.#counters[i]);
    });
    return out;
  }

  /** Stops reading and waits (bounded) until the thread has closed its descriptors; then ends it. */
  async stop(): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return;
    this.#worker = undefined;
    this.#outbox.push({ kind: "stop" });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#stopped = resolve;
      timer = setTimeout(resolve, STOP_TIMEOUT_MS);
      worker.postMessage(this.#outbox);
      this.#outbox = [];
    });
    clearTimeout(timer);
    worker.terminate();
  }
}
