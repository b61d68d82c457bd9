/**
 * An in-memory network for simulations: datagrams between attached nodes are
 * delivered after a latency on a virtual clock, and a seeded fraction is
 * dropped, so lossy runs are reproducible.
 */
import { addressEquals, addressKey, type IpAddress } from "../config/addresses.ts";
import { TimerHeap } from "../ike/timer_heap.ts";
import type { Endpoint, Transport } from "./transport.ts";

export interface NetworkOptions {
  /** Probability in [0,1) that a datagram is lost. */
  loss?: number;
  latencyMs?: number;
  seed?: number;
  /**
   * A NAPT in front of `inside`: its datagrams leave from `outside` with a
   * mapped port, and answers to that port are mapped back, as a home router
   * or a masquerading gateway does.
   */
  nat?: { inside: IpAddress; outside: IpAddress };
}

type Receiver = (data: Uint8Array, from: Endpoint, to: Endpoint) => void;

export class MemoryNetwork {
  readonly deliveries = new TimerHeap();
  #nodes = new Map<string, Receiver>();
  #state: number;
  sent = 0;
  dropped = 0;
  keepalives = 0;
  /** Optional tap: sees every datagram before loss is applied. */
  tap?: (data: Uint8Array, from: Endpoint, to: Endpoint) => void;

  constructor(private now: () => number, private opts: NetworkOptions = {}) {
    this.#state = (opts.seed ?? 1) >>> 0;
  }

  /** A node receives datagrams sent to `address` (any port). */
  attach(address: IpAddress, receive: Receiver): Transport {
    this.#nodes.set(addressKey(address), receive);
    return {
      send: (from, to, data) => this.#send(from, to, data),
      sendKeepalive: (from, to) => {
        this.keepalives++;
        this.tap?.(new Uint8Array([0xff]), from, to);
        this.#translate(from, to); // keeps the NAPT mapping alive, as it would in a router
      },
    };
  }

  /** Removes a node (its datagrams are lost from now on), as a crashed peer. */
  detach(address: IpAddress): void {
    this.#nodes.delete(addressKey(address));
  }

  /** NAPT state: inside port → outside port, and back. */
  #natOut = new Map<number, number>();
  #natIn = new Map<number, number>();

  /** Applies the NAPT, if any, to a datagram's addresses. */
  #translate(from: Endpoint, to: Endpoint): { from: Endpoint; to: Endpoint } | undefined {
    const nat = this.opts.nat;
    if (!nat) return { from, to };
    if (addressEquals(from.address, nat.inside)) {
      let port = this.#natOut.get(from.port);
      if (port === undefined) {
        port = 40000 + this.#natOut.size;
        this.#natOut.set(from.port, port);
        this.#natIn.set(port, from.port);
      }
      from = { address: nat.outside, port };
    }
    if (addressEquals(to.address, nat.outside)) {
      const port = this.#natIn.get(to.port);
      if (port === undefined) return undefined; // no mapping: the NAT drops it
      to = { address: nat.inside, port };
    }
    return { from, to };
  }

  #send(origFrom: Endpoint, origTo: Endpoint, data: Uint8Array): void {
    this.sent++;
    this.tap?.(data, origFrom, origTo);
    const t = this.#translate(origFrom, origTo);
    if (!t) {
      this.dropped++;
      return;
    }
    const { from, to } = t;
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
