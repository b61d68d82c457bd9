/**
 * What the daemon's thread and the outbound datapath thread
 * (`outbound_worker.ts`) tell each other, and the layout of the counters
 * they share. Commands go to the worker in the order the tables changed on
 * the main thread; reports come back in batches, one message per batch of
 * packets. Counters live in a SharedArrayBuffer so `whack --trafficstatus`
 * and `--globalstatus` read them synchronously, without a round trip.
 */
import type { IpAddress, Selector } from "../../config/addresses.ts";
import type { Endpoint } from "../../net/transport.ts";
import type { KernelSa } from "../kernel.ts";
import type { Acquire } from "./datapath.ts";

/** A command from the main thread. */
export type OutboundCommand =
  /** Start reading the TUN device (descriptor `fd`, named `name` in errors). */
  | { kind: "device"; fd: number; name: string }
  /**
   * Carry traffic on outbound SA `sa`; its byte and packet counts go to
   * counter slot `slot`. `socket` is a descriptor of our own (a `dup` of the
   * NAT-T socket) to send from, closed when the SA goes; without one, sealed
   * packets are reported back for the main thread to send.
   */
  | { kind: "install"; sa: KernelSa; slot: number; socket?: number }
  | { kind: "uninstall"; dst: IpAddress; spi: number }
  /** The peer has shown it installed this SA's pair: it may carry traffic now. */
  | { kind: "ready"; dst: IpAddress; spi: number }
  | { kind: "trap"; src: Selector; dst: Selector }
  | { kind: "untrap"; src: Selector; dst: Selector }
  /** Stop reading, close the SA sockets, answer `stopped`. */
  | { kind: "stop" };

/** A report from the worker. */
export type OutboundReport =
  | { kind: "acquire"; acquire: Acquire }
  | { kind: "expire"; hard: boolean; dst: IpAddress; spi: number }
  /** A sealed packet for an SA installed without a socket. */
  | { kind: "esp"; from: Endpoint; to: Endpoint; packet: Uint8Array }
  /** The device read failed: the worker stopped reading. */
  | { kind: "failed"; message: string }
  | { kind: "stopped" };

/** The first message to the worker: where the shared counters are. */
export interface OutboundSetup {
  counters: SharedArrayBuffer;
}

/**
 * Drop reasons the outbound path can count, in their counter order; `send`
 * is a sealed packet the host's socket refused.
 */
export const OUTBOUND_DROPS = [
  "not-ip",
  "no-policy",
  "no-sa",
  "seq-exhausted",
  "expired",
  "send",
] as const;

/** Outbound SAs with counters at once; beyond this, an outbound SA is refused. */
export const COUNTER_SLOTS = 4096;

/**
 * Bytes of the shared counters, read as a Float64Array (exact up to 2^53):
 * the drops in {@link OUTBOUND_DROPS} order, then bytes and packets per SA slot.
 */
export const COUNTER_BYTES = (OUTBOUND_DROPS.length + 2 * COUNTER_SLOTS) * 8;

/** Index of slot `slot`'s byte count (its packet count follows). */
export function slotIndex(slot: number): number {
  return OUTBOUND_DROPS.length + 2 * slot;
}
