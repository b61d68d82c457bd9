/**
 * The ESP datapath of the userspace stack, free of any device or socket:
 *
 *   inbound   ESP-in-UDP payload → SPI lookup → replay check → ICV/decrypt
 *             → replay window update → inner-packet selector check → deliver
 *   outbound  inner IP packet → most specific SPD entry → its newest SA
 *             → encrypt → send as ESP-in-UDP (RFC 3948)
 *
 * Every packet that does not make it is counted under a {@link DropReason}
 * and never delivered. The TUN device and the UDP socket are plugged in
 * through {@link DatapathIo}, so the same code runs against a real device,
 * in tests, and inside pluto.
 */
import type { IpAddress, Selector } from "../../config/addresses.ts";
import type { Entropy } from "../../crypto/random.ts";
import type { Endpoint } from "../../net/transport.ts";
import {
  type EspDropReason,
  espHeader,
  espOpen,
  espSeal,
  NEXT_HEADER_IPV4,
  NEXT_HEADER_IPV6,
  NEXT_HEADER_NONE,
} from "./esp_codec.ts";
import { destinationMatches, parsePacketFlow, sourceMatches } from "./ip_packet.ts";
import { PolicyTable } from "./policy_table.ts";
import { type EspSa, maxSequence, SaDatabase } from "./sa_database.ts";

/** Why a packet was dropped; the keys of {@link Datapath.drops}. */
export type DropReason =
  | EspDropReason
  /** Inbound: no SA has the packet's SPI. */
  | "unknown-spi"
  /** Inbound: sequence number below the replay window (or before the first, with ESN). */
  | "replay-old"
  /** Inbound: sequence number already received. */
  | "replay-duplicate"
  /** Inbound: a TFC dummy packet (next header 59), discarded as RFC 4303 §2.6 asks. */
  | "dummy"
  /** Inbound: next header is neither IPv4 nor IPv6 (tunnel mode carries only those). */
  | "next-header"
  /** Inbound: the decrypted payload is not a well-formed IP packet of the announced version. */
  | "inner-malformed"
  /** Inbound: the inner packet is outside the SA's traffic selectors (RFC 4301 §5.2 step 4). */
  | "selector"
  /** Inbound: the host refused the decrypted packet (TUN write failed). */
  | "deliver"
  /** Outbound: not an IPv4 or IPv6 packet. */
  | "not-ip"
  /** Outbound: no SPD entry matches the packet. */
  | "no-policy"
  /** Outbound: the matching entry has no SA yet (a trap: an acquire was reported). */
  | "no-sa"
  /** Outbound: the SA has sent its last sequence number and must be replaced (RFC 4303 §3.3.3). */
  | "seq-exhausted";

/** A packet that hit a routed connection's trap: the engine should negotiate an SA. */
export interface Acquire {
  /** The trap's local (source) selector. */
  local: Selector;
  /** The trap's remote (destination) selector. */
  remote: Selector;
  /** The triggering packet's addresses, protocol and ports (-1 when not visible). */
  packet: { src: IpAddress; dst: IpAddress; protocol: number; srcPort: number; dstPort: number };
}

/** What the datapath needs from the world around it. */
export interface DatapathIo {
  /** Sends one ESP packet inside UDP from `from` to `to` (the NAT-T socket). */
  sendEsp(from: Endpoint, to: Endpoint, packet: Uint8Array): void;
  /** Hands a decrypted inner IP packet to the host; false when it was refused. */
  deliver(packet: Uint8Array): boolean;
  /** Told about trap hits, at most once per trap per {@link ACQUIRE_INTERVAL_MS}. */
  onAcquire?(acquire: Acquire): void;
  /** IVs for CBC. */
  entropy: Entropy;
  /** Milliseconds on a monotonic clock (acquire rate limit); default `performance.now()`. */
  now?(): number;
}

/** Minimum time between two acquires for the same trap, like the kernel's larval-SA hold time. */
export const ACQUIRE_INTERVAL_MS = 1000;

/** The ESP datapath: SA and policy tables, packet processing and counters. */
export class Datapath {
  /** Installed SAs. */
  readonly sad: SaDatabase;
  /** Outbound policies. */
  readonly spd: PolicyTable = new PolicyTable();
  readonly #io: DatapathIo;
  readonly #drops = new Map<DropReason, number>();

  constructor(io: DatapathIo) {
    this.#io = io;
    this.sad = new SaDatabase(io.entropy);
  }

  /** Packets dropped so far, by reason (reasons never seen are absent). */
  drops(): ReadonlyMap<DropReason, number> {
    return this.#drops;
  }

  /**
   * Processes one ESP packet received in UDP (the bytes after the UDP header,
   * starting with the SPI). Returns whether it was delivered.
   */
  receiveEsp(packet: Uint8Array): boolean {
    const header = espHeader(packet);
    if (header === undefined) return this.#fail("malformed");
    const sa = this.sad.inbound(header.spi);
    if (sa === undefined || sa.replay === undefined) return this.#fail("unknown-spi");
    const verdict = sa.replay.check(header.seqLow);
    if (!verdict.ok) return this.#fail(verdict.reason);
    const opened = espOpen(sa.transform, packet, verdict.seq);
    if (!opened.ok) return this.#fail(opened.reason);
    // Authenticated: only now may the window move (RFC 4303 §3.4.3).
    sa.replay.accept(verdict.seq);
    if (opened.nextHeader === NEXT_HEADER_NONE) return this.#fail("dummy");
    if (opened.nextHeader !== NEXT_HEADER_IPV4 && opened.nextHeader !== NEXT_HEADER_IPV6) {
      return this.#fail("next-header");
    }
    const flow = parsePacketFlow(opened.payload);
    const family = opened.nextHeader === NEXT_HEADER_IPV4 ? 4 : 6;
    if (flow === undefined || flow.family !== family) return this.#fail("inner-malformed");
    if (
      !sourceMatches(flow, sa.config.srcSelector) ||
      !destinationMatches(flow, sa.config.dstSelector)
    ) return this.#fail("selector");
    // Anything after the inner packet's own length is TFC padding (RFC 4303 §2.4).
    const inner = opened.payload.subarray(0, flow.length);
    sa.bytes += inner.length;
    sa.packets++;
    if (!this.#io.deliver(inner)) return this.#fail("deliver");
    return true;
  }

  /**
   * Processes one packet the host routed into the stack: encrypts it into
   * the SA its SPD entry names and sends it. Returns whether it was sent.
   */
  sendPacket(packet: Uint8Array): boolean {
    const flow = parsePacketFlow(packet);
    if (flow === undefined) return this.#fail("not-ip");
    const policy = this.spd.lookup(flow);
    if (policy === undefined) return this.#fail("no-policy");
    const sa = policy.sas.at(-1);
    if (sa === undefined) {
      const now = this.#io.now?.() ?? performance.now();
      if (
        policy.trapped && this.#io.onAcquire !== undefined &&
        (policy.lastAcquire === undefined || now - policy.lastAcquire >= ACQUIRE_INTERVAL_MS)
      ) {
        policy.lastAcquire = now;
        this.#io.onAcquire({
          local: policy.src,
          remote: policy.dst,
          packet: {
            src: { family: flow.family, bytes: new Uint8Array(flow.src) },
            dst: { family: flow.family, bytes: new Uint8Array(flow.dst) },
            protocol: flow.protocol,
            srcPort: flow.srcPort,
            dstPort: flow.dstPort,
          },
        });
      }
      return this.#fail("no-sa");
    }
    if (sa.seq >= maxSequence(sa)) return this.#fail("seq-exhausted");
    sa.seq++;
    const inner = packet.subarray(0, flow.length);
    const esp = espSeal(
      sa.transform,
      sa.config.spi,
      sa.seq,
      this.#iv(sa),
      inner,
      flow.family === 4 ? NEXT_HEADER_IPV4 : NEXT_HEADER_IPV6,
    );
    sa.bytes += inner.length;
    sa.packets++;
    const encap = sa.config.encap;
    // Only UDP-encapsulated SAs are installed (see UserspaceKernel.addSa).
    this.#io.sendEsp(
      { address: sa.config.src, port: encap?.srcPort ?? 0 },
      { address: sa.config.dst, port: encap?.dstPort ?? 0 },
      esp,
    );
    return true;
  }

  /**
   * The IV for the next packet: the sequence number for AEAD ciphers (unique
   * per key, as RFC 4106 §3.1 and RFC 7634 §2 allow), random bytes for CBC
   * (which needs unpredictable IVs, RFC 3602 §2.3).
   */
  #iv(sa: EspSa): Uint8Array {
    const iv = new Uint8Array(sa.transform.encr.ivBytes);
    if (sa.transform.encr.aead) {
      new DataView(iv.buffer).setBigUint64(0, BigInt(sa.seq));
    } else {
      this.#io.entropy.fill(iv);
    }
    return iv;
  }

  /** Counts a drop; returns false so callers can `return this.#fail(…)`. */
  #fail(reason: DropReason): false {
    this.#drops.set(reason, (this.#drops.get(reason) ?? 0) + 1);
    return false;
  }
}
