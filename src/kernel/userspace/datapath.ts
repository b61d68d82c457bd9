/**
 * The ESP datapath of the userspace stack, free of any device or socket:
 *
 *   inbound   ESP-in-UDP payload → SPI lookup → replay check → ICV/decrypt
 *             → replay window update → inner-packet selector check → deliver
 *   outbound  inner IP packet → most specific SPD entry → its current SA
 *             → encrypt → send as ESP-in-UDP (RFC 3948)
 *
 * Rekeying is make-before-break. The initiator of a rekey uses the new
 * outbound SA at once (its peer installed the SA before answering). The
 * responder's new outbound SA, while an older SA still carries the same
 * traffic, waits until the peer has shown it installed the pair (a packet
 * authenticated on the inbound SA installed with it), the older SA goes, or
 * {@link HANDOVER_MAX_MS} passes; until then the older SA keeps carrying
 * the traffic. So nobody sends on keys its peer does not have yet (RFC 7296
 * §2.8 leaves this to implementations; strongSwan delays the responder's
 * outbound SA the same way).
 *
 * Byte and packet limits are counted per SA: the soft one is reported once
 * (rekey), the hard one is reported and the SA stops carrying traffic.
 *
 * Every packet that does not make it is counted under a {@link DropReason}
 * and never delivered. The TUN device and the UDP socket are plugged in
 * through {@link DatapathIo}, so the same code runs against a real device,
 * in tests, and inside pluto.
 */
import {
  addressEquals,
  type IpAddress,
  type Selector,
  selectorEquals,
} from "../../config/addresses.ts";
import type { Entropy } from "../../crypto/random.ts";
import type { Endpoint } from "../../net/transport.ts";
import type { KernelSa } from "../kernel.ts";
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
  | "seq-exhausted"
  /** Either way: the SA reached its hard byte or packet limit. */
  | "expired"
  /** Outbound: the host refused the sealed packet (`sendto` failed). */
  | "send";

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
  /** Sends one ESP packet of `sa` inside UDP from `from` to `to` (the NAT-T socket). */
  sendEsp(from: Endpoint, to: Endpoint, packet: Uint8Array, sa: EspSa): void;
  /** Hands a decrypted inner IP packet to the host; false when it was refused. */
  deliver(packet: Uint8Array): boolean;
  /** Told about trap hits, at most once per trap per {@link ACQUIRE_INTERVAL_MS}. */
  onAcquire?(acquire: Acquire): void;
  /** Told once when `sa` reaches its soft limit and once when it reaches its hard one. */
  onExpire?(sa: EspSa, hard: boolean): void;
  /** Told when a waiting outbound SA becomes current because its peer used the pair. */
  onPeerReady?(sa: EspSa): void;
  /** IVs for CBC. */
  entropy: Entropy;
  /** Milliseconds on a monotonic clock (acquire rate limit); default `performance.now()`. */
  now?(): number;
}

/** Minimum time between two acquires for the same trap, like the kernel's larval-SA hold time. */
export const ACQUIRE_INTERVAL_MS = 1000;
/**
 * Longest time a new outbound SA waits for its peer before it carries the
 * traffic anyway: a rekey exchange and its Delete take a round trip or two,
 * so a peer silent for this long is not going to prove anything sooner.
 */
export const HANDOVER_MAX_MS = 2000;

/** The ESP datapath: SA and policy tables, packet processing and counters. */
export class Datapath {
  /** Installed SAs. */
  readonly sad: SaDatabase;
  /** Outbound policies. */
  readonly spd: PolicyTable = new PolicyTable();
  readonly #io: DatapathIo;
  readonly #drops = new Map<DropReason, number>();

  /** The newest inbound SA, the partner candidate of the next outbound one. */
  #lastInbound: EspSa | undefined;

  constructor(io: DatapathIo) {
    this.#io = io;
    this.sad = new SaDatabase(io.entropy);
  }

  #now(): number {
    return this.#io.now?.() ?? performance.now();
  }

  /**
   * Installs one SA direction (throws KernelError when it cannot be carried).
   * An outbound SA joins the SPD entry of its selectors; unless the peer is
   * known to be ready, when an older SA already carries that traffic it
   * waits (see the module comment) for its partner: the inbound SA installed
   * just before it for the mirrored selectors, as a Child SA is installed.
   */
  install(config: KernelSa): EspSa {
    const sa = this.sad.add(config);
    if (config.inbound) {
      this.#lastInbound = sa;
      return sa;
    }
    const entry = this.spd.addSa(sa);
    if (!config.peerReady && entry.sas.some((other) => other !== sa && usable(other))) {
      sa.pendingSince = this.#now();
      const partner = this.#lastInbound;
      if (partner !== undefined && mirrors(partner.config, config)) partner.partner = sa;
    }
    return sa;
  }

  /** Removes one SA direction; returns it, or undefined when unknown. */
  uninstall(dst: IpAddress, spi: number): EspSa | undefined {
    const sa = this.sad.delete(dst, spi);
    if (sa === undefined) return undefined;
    if (this.#lastInbound === sa) this.#lastInbound = undefined;
    if (!sa.config.inbound) {
      const entry = this.spd.removeSa(sa);
      // The older SA is gone: whatever waited for it is current now.
      if (entry !== undefined && !entry.sas.some(usable)) {
        for (const other of entry.sas) other.pendingSince = undefined;
      }
    }
    return sa;
  }

  /**
   * Makes a waiting outbound SA current: its peer has shown it installed the
   * pair (another datapath, holding the inbound SA, saw it).
   */
  peerReady(dst: IpAddress, spi: number): void {
    const sa = this.sad.find(dst, spi);
    if (sa !== undefined) sa.pendingSince = undefined;
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
    if (sa.hardExpired) return this.#fail("expired");
    const verdict = sa.replay.check(header.seqLow);
    if (!verdict.ok) return this.#fail(verdict.reason);
    const opened = espOpen(sa.transform, packet, verdict.seq);
    if (!opened.ok) return this.#fail(opened.reason);
    // Authenticated: only now may the window move (RFC 4303 §3.4.3).
    sa.replay.accept(verdict.seq);
    // The peer sends with the keys of this pair: our outbound SA of the pair is safe to use.
    if (sa.partner !== undefined) {
      sa.partner.pendingSince = undefined;
      this.#io.onPeerReady?.(sa.partner);
      sa.partner = undefined;
    }
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
    this.#count(sa, inner.length);
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
    if (policy.sas.length === 0) {
      const now = this.#now();
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
    const sa = this.#current(policy.sas);
    if (sa === undefined) return this.#fail("expired");
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
    this.#count(sa, inner.length);
    const encap = sa.config.encap;
    // Only UDP-encapsulated SAs are installed (see UserspaceKernel.addSa).
    this.#io.sendEsp(
      { address: sa.config.src, port: encap?.srcPort ?? 0 },
      { address: sa.config.dst, port: encap?.dstPort ?? 0 },
      esp,
      sa,
    );
    return true;
  }

  /**
   * The SA that carries an entry's traffic now: the newest one that is
   * neither expired nor waiting for its peer; failing that, the newest
   * waiting one (nothing older is left to carry the traffic).
   */
  #current(sas: readonly EspSa[]): EspSa | undefined {
    let waiting: EspSa | undefined;
    for (let i = sas.length - 1; i >= 0; i--) {
      const sa = sas[i];
      if (sa.hardExpired) continue;
      if (sa.pendingSince === undefined) return sa;
      if (this.#now() - sa.pendingSince >= HANDOVER_MAX_MS) {
        sa.pendingSince = undefined;
        return sa;
      }
      waiting ??= sa;
    }
    return waiting;
  }

  /** Adds one packet to an SA's counters and reports limits it reaches. */
  #count(sa: EspSa, bytes: number): void {
    sa.bytes += bytes;
    sa.packets++;
    const l = sa.limits;
    if (!sa.softExpired && (sa.bytes >= l.softBytes || sa.packets >= l.softPackets)) {
      sa.softExpired = true;
      this.#io.onExpire?.(sa, false);
    }
    if (!sa.hardExpired && (sa.bytes >= l.hardBytes || sa.packets >= l.hardPackets)) {
      sa.hardExpired = true;
      this.#io.onExpire?.(sa, true);
    }
  }

  /**
   * The IV for the next packet: the sequence number for AEAD ciphers (unique
   * per key, as RFC 4106 §3.1 and RFC 7634 §2 allow), random bytes for CBC
   * (which needs unpredictable IVs, RFC 3602 §2.3).
   */
  #iv(sa: EspSa): Uint8Array {
    const iv = new Uint8Array(sa.transform.encr.ivBytes);
    if (sa.transform.encr.aead) {
      // Two 32-bit halves: a BigInt per packet costs more than the arithmetic.
      const view = new DataView(iv.buffer);
      view.setUint32(0, Math.floor(sa.seq / 2 ** 32));
      view.setUint32(4, sa.seq >>> 0);
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

/** Whether an outbound SA carries traffic now (neither expired nor waiting for its peer). */
function usable(sa: EspSa): boolean {
  return !sa.hardExpired && sa.pendingSince === undefined;
}

/** Whether inbound `i` and outbound `o` are the two directions of one Child SA. */
function mirrors(i: KernelSa, o: KernelSa): boolean {
  return addressEquals(i.src, o.dst) && addressEquals(i.dst, o.src) &&
    selectorEquals(i.srcSelector, o.dstSelector) && selectorEquals(i.dstSelector, o.srcSelector);
}
