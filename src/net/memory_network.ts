/**
 * An in-memory network for simulations: datagrams between attached nodes are
 * delivered after a latency on a virtual clock, and a seeded fraction is
 * dropped, so lossy runs are reproducible.
 */
import { addressKey } from "../config/addresses.ts";
import { TimerHeap } from "../ike/timer_heap.ts";
import type { Endpoint, Transport } from "./transport.ts";

export interface NetworkOptions {
  /** Probability in [0,1) that a datagram is lost. */
  loss?: number;
  latencyMs?: number;
  seed?: number;
}

type Receiver = (data: Uint8Array, from: Endpoint, to: Endpoint) => void;

export class MemoryNetwork {
  readonly deliveries = new TimerHeap();
  #nodes = new Map<string, Receiver>();
  #state: number;
  sent = 0;
  dropped = 0;
  /** Optional tap: sees every datagram before loss is applied. */
  tap?: (data: Uint8Array, from: Endpoint, to: Endpoint) => void;

  constructor(private now: () => number, private opts: NetworkOptions = {}) {
    this.#state = (opts.seed ?? 1) >>> 0;
  }

  /** A node receives datagrams sent to `address` (any port). */
  attach(address: import("../config/addresses.ts").IpAddress, receive: Receiver): Transport {
    this.#nodes.set(addressKey(address), receive);
    return { send: (from, to, data) => this.#send(from, to, data) };
  }

  /** Removes a node (its datagrams are lost from now on), as a crashed peer. */
  detach(address: import("../config/addresses.ts").IpAddress): void {
    this.#nodes.delete(addressKey(address));
  }

  #send(from: Endpoint, to: Endpoint, data: Uint8Array): void {
    this.sent++;
    this.tap?.(data, from, to);
    if (this.#random() < (this.opts.loss ?? 0)) {
      this.dropped++;
      return;
    }
    const copy = data.slice();
    this.deliveries.schedule(this.now() + (this.opts.latencyMs ?? 10), "deliver", () => {
      this.#nodes.get(addressKey(to.address))?.(copy, from, to);
    });
  }

  /** mulberry32: small, seeded, good enough to pick lost packets. */
  #random(): number {
    let t = (this.#state += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
