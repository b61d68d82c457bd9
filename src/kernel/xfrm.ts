/**
 * `--protostack xfrm`: Child SAs and their policies in the Linux kernel over
 * NETLINK_XFRM.
 *
 * An inbound SA starts as the larval SA ALLOCSPI reserved and is completed
 * with UPDSA; an outbound SA is added with NEWSA. Each SA brings its
 * policies: `out` for an outbound SA, `in` (and `fwd` in tunnel mode) for an
 * inbound one, so traffic between the selectors uses it; deleting the SA
 * removes them. When the kernel refuses an SA, the larval SA is removed too
 * and the error says what is missing and what to do instead.
 *
 * @module
 */

import {
  formatAddress,
  formatSelector,
  type IpAddress,
  rangePrefix,
  type Selector,
} from "../config/addresses.ts";
import {
  AUTH_HMAC_SHA1_96,
  AUTH_HMAC_SHA2_256_128,
  AUTH_HMAC_SHA2_384_192,
  AUTH_HMAC_SHA2_512_256,
  AUTH_NONE,
  ENCR_AES_CBC,
  ENCR_AES_GCM_16,
  ENCR_CHACHA20_POLY1305,
} from "../config/algorithm_names.ts";
import { NETLINK_XFRM, NetlinkError, NetlinkSocket } from "../../ffi/netlink.ts";
import { ErrnoError } from "../../ffi/libc.ts";
import { type Kernel, KernelError, type KernelPolicy, type KernelSa } from "./kernel.ts";
import type { KernelEvent, KernelSubscription } from "./kernel_events.ts";
import {
  ANY_SELECTOR,
  buildAllocSpi,
  buildDeletePolicy,
  buildDeleteSa,
  buildGetSa,
  buildPolicyRequest,
  buildSaRequest,
  IPPROTO_ESP,
  isXfrmParseError,
  NO_LIFETIME,
  parseXfrmMessage,
  UDP_ENCAP_ESPINUDP,
  XFRM_MODE_TRANSPORT,
  XFRM_MODE_TUNNEL,
  XFRM_MSG_NAMES,
  XFRM_POLICY_ALLOW,
  XFRM_POLICY_BLOCK,
  XFRM_STATE_AF_UNSPEC,
  XFRM_STATE_ESN,
  type XfrmAead,
  type XfrmAuth,
  type XfrmCrypt,
  type XfrmDirection,
  type XfrmEvent,
  XFRMNLGRP_ACQUIRE,
  XFRMNLGRP_EXPIRE,
  type XfrmParseError,
  type XfrmRequest,
  type XfrmSaSpec,
  type XfrmSelector,
} from "./xfrm_messages.ts";

/** SPIs below 0x1000 are left for manual keying, as pluto does. */
const SPI_MIN = 0x1000;
const SPI_MAX = 0xffffffff;
/** The legacy replay field holds at most 32 packets; larger windows and ESN need XFRMA_REPLAY_ESN_VAL. */
const LEGACY_REPLAY_MAX = 32;
/**
 * Policy priorities: lower wins in XFRM. Starting from this base, each bit
 * of prefix and a protocol or port lowers the number, so the most specific
 * policy wins, as Libreswan orders them.
 */
const PRIORITY_BASE = 1 << 16;
/**
 * How often queued ACQUIRE/EXPIRE messages are read. The socket is polled
 * (never blocks the event loop); an ACQUIRE waits at most this long.
 */
const EVENT_POLL_MS = 50;

/** Kernel crypto names of the ESP ciphers (IANA "Transform Type 1" ids). */
const CIPHERS: ReadonlyMap<number, { name: string; aead: boolean; saltBytes: number }> = new Map([
  [ENCR_AES_CBC, { name: "cbc(aes)", aead: false, saltBytes: 0 }],
  // RFC 4106 §8.1: the key material ends with a 4-byte salt; the kernel takes both as one key.
  [ENCR_AES_GCM_16, { name: "rfc4106(gcm(aes))", aead: true, saltBytes: 4 }],
  [ENCR_CHACHA20_POLY1305, { name: "rfc7539esp(chacha20,poly1305)", aead: true, saltBytes: 4 }],
]);

/** Kernel names and truncation of the ESP integrity algorithms (IANA "Transform Type 3" ids). */
const INTEGRITY: ReadonlyMap<number, { name: string; truncBits: number }> = new Map([
  [AUTH_HMAC_SHA1_96, { name: "hmac(sha1)", truncBits: 96 }],
  [AUTH_HMAC_SHA2_256_128, { name: "hmac(sha256)", truncBits: 128 }],
  [AUTH_HMAC_SHA2_384_192, { name: "hmac(sha384)", truncBits: 192 }],
  [AUTH_HMAC_SHA2_512_256, { name: "hmac(sha512)", truncBits: 256 }],
]);

/** The 16-byte ICV of the AEADs above (ENCR_AES_GCM_16, ChaCha20-Poly1305). */
const AEAD_ICV_BITS = 128;

/** Kernel state the adapter keeps per installed SA: the policies to remove with it. */
interface Installed {
  policies: KernelPolicy[];
}

function saKey(dst: IpAddress, spi: number): string {
  return `${formatAddress(dst)}/${spi.toString(16)}`;
}

/** Policies are keyed in the kernel by selector and direction. */
function policyKey(p: KernelPolicy): string {
  return `${p.dir}|${formatSelector(p.src)}|${formatSelector(p.dst)}`;
}

/** Converts a swan selector to an XFRM one; XFRM matches prefixes and single ports only. */
export function xfrmSelector(src: Selector, dst: Selector): XfrmSelector | string {
  const srcPrefix = rangePrefix(src.start, src.end);
  const dstPrefix = rangePrefix(dst.start, dst.end);
  if (srcPrefix === undefined || dstPrefix === undefined) {
    return "an address range that is not one prefix cannot be an XFRM selector";
  }
  const port = (s: Selector) => {
    if (s.startPort === 0 && s.endPort === 65535) return { port: 0, mask: 0 };
    if (s.startPort === s.endPort) return { port: s.startPort, mask: 0xffff };
    return undefined;
  };
  const sport = port(src), dport = port(dst);
  if (sport === undefined || dport === undefined) {
    return "a port range cannot be an XFRM selector (only one port or all)";
  }
  return {
    family: src.family,
    src: src.start,
    srcPrefix,
    dst: dst.start,
    dstPrefix,
    proto: src.protocol || dst.protocol,
    sport: sport.port,
    sportMask: sport.mask,
    dport: dport.port,
    dportMask: dport.mask,
  };
}

/** The priority of a policy: more specific selectors get lower (preferred) numbers. */
export function policyPriority(s: XfrmSelector): number {
  const specificity = 4 * (s.srcPrefix + s.dstPrefix) + (s.proto ? 2 : 0) +
    (s.sportMask ? 1 : 0) + (s.dportMask ? 1 : 0);
  return PRIORITY_BASE - specificity;
}

/** The one sentence an operator sees when the kernel refuses an SA. */
function saRefusal(e: NetlinkError, sa: KernelSa): string {
  const what = `${e.op}: ${e.code}`;
  switch (e.code) {
    case "EPROTONOSUPPORT":
      return `kernel has no ESP support (${what}); load the esp4/esp6 modules or use --protostack userspace`;
    case "ENOSYS": {
      const names = [CIPHERS.get(sa.encrId)?.name, INTEGRITY.get(sa.integId)?.name]
        .filter((n) => n !== undefined).join(" and ");
      return `kernel has no ${names} algorithm (${what}); load its crypto modules or use --protostack userspace`;
    }
    default:
      return `kernel refused the SA (${e.message})`;
  }
}

/**
 * An XFRM multicast message as a {@link KernelEvent}; undefined for what is
 * not an ACQUIRE or EXPIRE, or does not decode (nothing from the kernel throws).
 */
export function kernelEvent(m: XfrmEvent | XfrmParseError): KernelEvent | undefined {
  if (isXfrmParseError(m)) return undefined;
  switch (m.kind) {
    case "acquire": {
      const family = m.selector.family;
      if (family === 0) return undefined;
      const width = family === 4 ? 4 : 16;
      return {
        kind: "acquire",
        src: { family, bytes: m.selector.src.slice(0, width) },
        dst: { family, bytes: m.selector.dst.slice(0, width) },
        protocol: m.selector.proto,
      };
    }
    case "expire":
      return { kind: "expire", hard: m.hard, dst: m.sa.dst, spi: m.sa.spi };
    default:
      return undefined;
  }
}

/** The kernel's answer as a KernelError, keeping its errno text. */
function refusal(e: unknown, what: string): never {
  if (e instanceof NetlinkError || e instanceof ErrnoError) {
    throw new KernelError(`${what}: ${e.message}`);
  }
  throw e;
}

/** The Kernel adapter over NETLINK_XFRM. */
export class XfrmKernel implements Kernel {
  readonly name = "xfrm";
  readonly #socket: NetlinkSocket;
  /** SPIs reserved with ALLOCSPI and not yet completed, by destination and SPI. */
  readonly #larval = new Set<string>();
  readonly #installed = new Map<string, Installed>();
  /**
   * How many SAs use each policy: during a rekey old and new SA share their
   * selectors, and deleting the old one must not unprotect the new one.
   */
  readonly #policyUsers = new Map<string, number>();

  private constructor(socket: NetlinkSocket) {
    this.#socket = socket;
  }

  /** Opens the netlink socket; throws KernelError when the kernel has no XFRM netlink. */
  static open(): XfrmKernel {
    try {
      return new XfrmKernel(NetlinkSocket.open(NETLINK_XFRM, "NETLINK_XFRM"));
    } catch (e) {
      if (e instanceof ErrnoError) {
        throw new KernelError(`XFRM netlink is not available on this kernel (${e.message})`);
      }
      throw e;
    }
  }

  #send(r: XfrmRequest) {
    return this.#socket.request(r.type, r.flags, r.body, XFRM_MSG_NAMES[r.type]);
  }

  allocateSpi(src: IpAddress, dst: IpAddress): Promise<number> {
    let replies;
    try {
      replies = this.#send(
        buildAllocSpi(src, dst, IPPROTO_ESP, 0, XFRM_MODE_TRANSPORT, SPI_MIN, SPI_MAX),
      );
    } catch (e) {
      refusal(e, "cannot reserve an SPI");
    }
    const reply = replies.length === 1 ? parseXfrmMessage(replies[0]) : undefined;
    if (reply === undefined || isXfrmParseError(reply) || reply.kind !== "sa") {
      throw new KernelError("cannot reserve an SPI: XFRM_MSG_ALLOCSPI answer did not decode");
    }
    this.#larval.add(saKey(dst, reply.sa.spi));
    return Promise.resolve(reply.sa.spi);
  }

  addSa(sa: KernelSa): Promise<void> {
    const key = saKey(sa.dst, sa.spi);
    const spec = xfrmSaSpec(sa);
    try {
      this.#send(buildSaRequest(spec, this.#larval.has(key)));
    } catch (e) {
      if (!(e instanceof NetlinkError)) throw e;
      this.#deleteSa(sa.dst, sa.spi);
      throw new KernelError(saRefusal(e, sa));
    }
    this.#larval.delete(key);
    const entry: Installed = { policies: [] };
    this.#installed.set(key, entry);
    const dirs: XfrmDirection[] = !sa.inbound
      ? ["out"]
      : sa.mode === "tunnel"
      ? ["in", "fwd"]
      : ["in"];
    try {
      for (const dir of dirs) {
        const policy: KernelPolicy = {
          dir,
          src: sa.srcSelector,
          dst: sa.dstSelector,
          saSrc: sa.src,
          saDst: sa.dst,
          mode: sa.mode,
          reqid: sa.reqid ?? 0,
        };
        const users = this.#policyUsers.get(policyKey(policy)) ?? 0;
        if (users === 0) this.#putPolicy(policy);
        this.#policyUsers.set(policyKey(policy), users + 1);
        entry.policies.push(policy);
      }
    } catch (e) {
      this.#remove(sa.dst, sa.spi);
      throw e;
    }
    return Promise.resolve();
  }

  /** Async so a refusal becomes a rejection the caller logs, never a throw into its path. */
  // deno-lint-ignore require-await
  async deleteSa(dst: IpAddress, spi: number): Promise<void> {
    this.#remove(dst, spi);
  }

  bytes(dst: IpAddress, spi: number): { bytes: number; packets: number } {
    try {
      const replies = this.#send(buildGetSa({ dst, spi, proto: IPPROTO_ESP }));
      const reply = replies.length === 1 ? parseXfrmMessage(replies[0]) : undefined;
      if (reply === undefined || isXfrmParseError(reply) || reply.kind !== "sa") {
        return { bytes: 0, packets: 0 };
      }
      return {
        bytes: Number(reply.sa.current.bytes),
        packets: Number(reply.sa.current.packets),
      };
    } catch (e) {
      // Status output must not fail because one SA vanished.
      if (e instanceof NetlinkError) return { bytes: 0, packets: 0 };
      throw e;
    }
  }

  addPolicy(policy: KernelPolicy): Promise<void> {
    this.#putPolicy(policy);
    return Promise.resolve();
  }

  deletePolicy(policy: KernelPolicy): Promise<void> {
    this.#dropPolicy(policy);
    return Promise.resolve();
  }

  /**
   * Opens a second socket subscribed to the ACQUIRE and EXPIRE groups (the
   * request socket skips messages that answer nothing) and polls it.
   */
  subscribe(
    listener: (event: KernelEvent) => void,
    onError?: (text: string) => void,
  ): KernelSubscription {
    const groups = (1 << (XFRMNLGRP_ACQUIRE - 1)) | (1 << (XFRMNLGRP_EXPIRE - 1));
    let socket: NetlinkSocket;
    try {
      socket = NetlinkSocket.open(NETLINK_XFRM, "NETLINK_XFRM events", groups);
    } catch (e) {
      refusal(e, "cannot subscribe to XFRM events");
    }
    const timer = setInterval(() => {
      // Drain everything queued (each event is its own datagram); a lost
      // burst (ENOBUFS) or a bad frame is logged by the listener's owner,
      // never allowed to escape the timer and stop the daemon.
      try {
        for (let batch = socket.poll(); batch.length > 0; batch = socket.poll()) {
          for (const msg of batch) {
            const event = kernelEvent(parseXfrmMessage(msg));
            if (event !== undefined) listener(event);
          }
        }
      } catch (e) {
        onError?.(`XFRM events: ${(e as Error).message}`);
      }
    }, EVENT_POLL_MS);
    Deno.unrefTimer(timer);
    return {
      close: () => {
        clearInterval(timer);
        socket.close();
      },
    };
  }

  /** Closes the netlink socket. Installed SAs and policies stay in the kernel. */
  close(): void {
    this.#socket.close();
  }

  #policySelector(policy: KernelPolicy): XfrmSelector {
    const s = xfrmSelector(policy.src, policy.dst);
    if (typeof s === "string") throw new KernelError(`cannot install policy: ${s}`);
    return s;
  }

  #putPolicy(policy: KernelPolicy): void {
    const selector = this.#policySelector(policy);
    const tunnel = policy.mode === "tunnel";
    try {
      this.#send(buildPolicyRequest({
        selector,
        dir: policy.dir,
        priority: policyPriority(selector),
        action: policy.shunt === "drop" ? XFRM_POLICY_BLOCK : XFRM_POLICY_ALLOW,
        lifetime: NO_LIFETIME,
        // A shunt has no template: allowed or blocked as it is.
        templates: policy.shunt !== undefined ? [] : [{
          family: policy.saDst.family,
          // Transport mode takes the packet's own addresses; only a tunnel names its ends.
          src: tunnel ? policy.saSrc : undefined,
          dst: tunnel ? policy.saDst : undefined,
          spi: 0,
          proto: IPPROTO_ESP,
          reqid: policy.reqid,
          mode: tunnel ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT,
          optional: false,
        }],
      }, true));
    } catch (e) {
      refusal(e, `cannot install ${policy.dir} policy`);
    }
  }

  #dropPolicy(policy: KernelPolicy): void {
    try {
      this.#send(buildDeletePolicy(this.#policySelector(policy), policy.dir));
    } catch (e) {
      if (e instanceof NetlinkError && e.code === "ENOENT") return;
      refusal(e, `cannot remove ${policy.dir} policy`);
    }
  }

  /** Deletes an SA and its policies; what is already gone is ignored. */
  #remove(dst: IpAddress, spi: number): void {
    const key = saKey(dst, spi);
    const entry = this.#installed.get(key);
    this.#installed.delete(key);
    for (const policy of entry?.policies ?? []) {
      const users = (this.#policyUsers.get(policyKey(policy)) ?? 1) - 1;
      if (users > 0) {
        this.#policyUsers.set(policyKey(policy), users);
        continue;
      }
      this.#policyUsers.delete(policyKey(policy));
      this.#dropPolicy(policy);
    }
    this.#deleteSa(dst, spi);
  }

  /** DELSA (of a larval or complete SA), ignoring one the kernel no longer has (ESRCH). */
  #deleteSa(dst: IpAddress, spi: number): void {
    this.#larval.delete(saKey(dst, spi));
    try {
      this.#send(buildDeleteSa({ dst, spi, proto: IPPROTO_ESP }));
    } catch (e) {
      if (e instanceof NetlinkError && e.code === "ESRCH") return;
      refusal(e, "cannot remove SA");
    }
  }
}

/** The XFRM state for one direction of a Child SA (algorithms by kernel name, limits, NAT-T). */
export function xfrmSaSpec(sa: KernelSa): XfrmSaSpec {
  const cipher = CIPHERS.get(sa.encrId);
  if (cipher === undefined) throw new KernelError(`ESP cipher ${sa.encrId} has no XFRM name`);
  let aead: XfrmAead | undefined, crypt: XfrmCrypt | undefined, auth: XfrmAuth | undefined;
  if (cipher.aead) {
    aead = { name: cipher.name, key: sa.encrKey, icvBits: AEAD_ICV_BITS };
  } else {
    crypt = { name: cipher.name, key: sa.encrKey };
  }
  if (sa.integId !== AUTH_NONE) {
    const integ = INTEGRITY.get(sa.integId);
    if (integ === undefined) {
      throw new KernelError(`ESP integrity algorithm ${sa.integId} has no XFRM name`);
    }
    auth = { name: integ.name, key: sa.integKey, truncBits: integ.truncBits };
  }
  let selector = ANY_SELECTOR;
  if (sa.mode === "transport") {
    const s = xfrmSelector(sa.srcSelector, sa.dstSelector);
    if (typeof s === "string") throw new KernelError(`cannot install SA: ${s}`);
    selector = s;
  }
  const esnReplay = sa.esn || sa.replayWindow > LEGACY_REPLAY_MAX;
  return {
    selector,
    src: sa.src,
    dst: sa.dst,
    spi: sa.spi,
    proto: IPPROTO_ESP,
    reqid: sa.reqid ?? 0,
    mode: sa.mode === "tunnel" ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT,
    replayWindow: esnReplay ? 0 : sa.replayWindow,
    // A tunnel may carry the other address family inside (4-in-6, 6-in-4): the
    // SA's selector must not be pinned to the outer family.
    flags: (sa.esn ? XFRM_STATE_ESN : 0) | (sa.mode === "tunnel" ? XFRM_STATE_AF_UNSPEC : 0),
    // ipsec-max-bytes/-packets: the kernel raises soft/hard EXPIREs at these (rekey / delete).
    lifetime: sa.limits ? { ...NO_LIFETIME, ...sa.limits } : NO_LIFETIME,
    aead,
    crypt,
    auth,
    encap: sa.encap
      ? { type: UDP_ENCAP_ESPINUDP, sport: sa.encap.srcPort, dport: sa.encap.dstPort }
      : undefined,
    esnWindow: esnReplay ? sa.replayWindow : undefined,
  };
}
