/**
 * `--protostack pfkeyv2`: Child SAs and policies through a PF_KEY v2 socket
 * (RFC 2367 with the KAME policy extensions), for kernels that offer PF_KEY
 * (Linux with `af_key`, the BSDs). Like the xfrm adapter, each SA brings the
 * policies of its selectors and a refused SA leaves no larval SA behind.
 *
 * @module
 */

import { formatAddress, type IpAddress, rangePrefix, type Selector } from "../config/addresses.ts";
import {
  AUTH_HMAC_SHA1_96,
  AUTH_HMAC_SHA2_256_128,
  AUTH_HMAC_SHA2_384_192,
  AUTH_HMAC_SHA2_512_256,
  AUTH_NONE,
  ENCR_AES_CBC,
  ENCR_AES_GCM_16,
} from "../config/algorithm_names.ts";
import { close, ErrnoError, errnoName, recv, send, setsockopt, socket } from "../../ffi/libc.ts";
import { type Kernel, KernelError, type KernelPolicy, type KernelSa } from "./kernel.ts";
import {
  buildAddSa,
  buildGetSpi,
  buildSaQuery,
  buildSpd,
  extLifetime,
  extSpi,
  IPSEC_DIR_FWD,
  IPSEC_DIR_INBOUND,
  IPSEC_DIR_OUTBOUND,
  IPSEC_MODE_TRANSPORT,
  IPSEC_MODE_TUNNEL,
  IPSEC_ULPROTO_ANY,
  isPfkeyParseError,
  parsePfkey,
  PF_KEY_V2,
  type PfkeyMessage,
  type PfkeyPolicySpec,
  SADB_AALG_NONE,
  SADB_AALG_SHA1HMAC,
  SADB_DELETE,
  SADB_EXT_LIFETIME_CURRENT,
  SADB_EXT_SA,
  SADB_GET,
  SADB_NAMES,
  SADB_X_AALG_SHA2_256HMAC,
  SADB_X_AALG_SHA2_384HMAC,
  SADB_X_AALG_SHA2_512HMAC,
  SADB_X_EALG_AES_GCM_ICV16,
  SADB_X_EALG_AESCBC,
} from "./pfkey_messages.ts";

/** Protocol family of key management sockets (`<linux/socket.h>`). */
const PF_KEY = 15;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const REPLY_TIMEOUT_SECONDS = 2;
/** PF_KEY messages are bounded by their 16-bit word count. */
const RECEIVE_BUFFER = 65536 * 8;
const SPI_MIN = 0x1000;
const SPI_MAX = 0xffffffff;
const PRIORITY_BASE = 1 << 16;

/** IKE cipher id → PF_KEY `sadb_sa_encrypt`. ChaCha20-Poly1305 has no PF_KEY number. */
const CIPHERS: ReadonlyMap<number, number> = new Map([
  [ENCR_AES_CBC, SADB_X_EALG_AESCBC],
  [ENCR_AES_GCM_16, SADB_X_EALG_AES_GCM_ICV16],
]);

/** IKE integrity id → PF_KEY `sadb_sa_auth`. */
const INTEGRITY: ReadonlyMap<number, number> = new Map([
  [AUTH_NONE, SADB_AALG_NONE],
  [AUTH_HMAC_SHA1_96, SADB_AALG_SHA1HMAC],
  [AUTH_HMAC_SHA2_256_128, SADB_X_AALG_SHA2_256HMAC],
  [AUTH_HMAC_SHA2_384_192, SADB_X_AALG_SHA2_384HMAC],
  [AUTH_HMAC_SHA2_512_256, SADB_X_AALG_SHA2_512HMAC],
]);

const DIRECTIONS = { in: IPSEC_DIR_INBOUND, out: IPSEC_DIR_OUTBOUND, fwd: IPSEC_DIR_FWD } as const;

function saKey(dst: IpAddress, spi: number): string {
  return `${formatAddress(dst)}/${spi.toString(16)}`;
}

/** The PF_KEY policy for a swan policy; PF_KEY matches prefixes and single ports only. */
function policySpec(p: KernelPolicy): PfkeyPolicySpec {
  const end = (s: Selector) => {
    const prefix = rangePrefix(s.start, s.end);
    const anyPort = s.startPort === 0 && s.endPort === 65535;
    if (prefix === undefined || (!anyPort && s.startPort !== s.endPort)) {
      throw new KernelError("PF_KEY selectors take one prefix and one port (or all)");
    }
    return {
      address: { family: s.family, bytes: s.start },
      prefix,
      proto: s.protocol || IPSEC_ULPROTO_ANY,
      port: anyPort ? 0 : s.startPort,
    };
  };
  const src = end(p.src), dst = end(p.dst);
  return {
    src,
    dst,
    dir: DIRECTIONS[p.dir],
    priority: PRIORITY_BASE - 4 * (src.prefix + dst.prefix),
    mode: p.mode === "tunnel" ? IPSEC_MODE_TUNNEL : IPSEC_MODE_TRANSPORT,
    reqid: p.reqid,
    tunnel: p.mode === "tunnel" ? { src: p.saSrc, dst: p.saDst } : undefined,
  };
}

/** The Kernel adapter over a PF_KEY v2 socket. */
export class PfkeyKernel implements Kernel {
  readonly name = "pfkeyv2";
  readonly #fd: number;
  #seq = 0;
  readonly #larval = new Map<string, IpAddress>();
  readonly #sas = new Map<string, { src: IpAddress; policies: KernelPolicy[] }>();

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** Opens the PF_KEY socket; throws KernelError naming the errno when the kernel has none. */
  static open(): PfkeyKernel {
    let fd: number;
    try {
      fd = socket(PF_KEY, SOCK_RAW | SOCK_CLOEXEC, PF_KEY_V2, "PF_KEY");
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      throw new KernelError(`PF_KEY is not available on this kernel (socket: ${e.code})`);
    }
    const timeout = new Uint8Array(16); // struct timeval: tv_sec i64 @0, tv_usec i64 @8
    new DataView(timeout.buffer).setBigInt64(0, BigInt(REPLY_TIMEOUT_SECONDS), true);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeout, "PF_KEY SO_RCVTIMEO");
    return new PfkeyKernel(fd);
  }

  /** Sends a message built for sequence `seq` and waits for the kernel's answer to it. */
  #request(build: (h: { seq: number; pid: number }) => Uint8Array): PfkeyMessage {
    const seq = ++this.#seq;
    const msg = build({ seq, pid: Deno.pid });
    const op = SADB_NAMES[msg[1]] ?? `SADB type ${msg[1]}`;
    const buf = new Uint8Array(RECEIVE_BUFFER);
    const io = (f: () => number) => {
      try {
        return f();
      } catch (e) {
        if (e instanceof ErrnoError) throw new KernelError(`${op}: ${e.code}`);
        throw e;
      }
    };
    io(() => send(this.#fd, msg, 0, op));
    for (;;) {
      // Every PF_KEY socket sees broadcasts; ours is the one with our seq and pid.
      const reply = parsePfkey(buf.subarray(0, io(() => recv(this.#fd, buf, 0, op))));
      if (isPfkeyParseError(reply) || reply.seq !== seq || reply.pid !== Deno.pid) continue;
      if (reply.errno !== 0) {
        throw new KernelError(`${op}: ${errnoName(reply.errno)} (errno ${reply.errno})`);
      }
      return reply;
    }
  }

  allocateSpi(src: IpAddress, dst: IpAddress): Promise<number> {
    const reply = this.#request((h) =>
      buildGetSpi(h, src, dst, IPSEC_MODE_TUNNEL, 0, SPI_MIN, SPI_MAX)
    );
    const spi = extSpi(reply.extensions.get(SADB_EXT_SA));
    if (spi === undefined) throw new KernelError("SADB_GETSPI answer has no SA extension");
    this.#larval.set(saKey(dst, spi), src);
    return Promise.resolve(spi);
  }

  addSa(sa: KernelSa): Promise<void> {
    const encAlg = CIPHERS.get(sa.encrId), authAlg = INTEGRITY.get(sa.integId);
    if (encAlg === undefined || authAlg === undefined) {
      throw new KernelError("PF_KEY has no number for this ESP algorithm; use --protostack xfrm");
    }
    const key = saKey(sa.dst, sa.spi);
    try {
      this.#request((h) =>
        buildAddSa(h, {
          src: sa.src,
          dst: sa.dst,
          spi: sa.spi,
          mode: sa.mode === "tunnel" ? IPSEC_MODE_TUNNEL : IPSEC_MODE_TRANSPORT,
          reqid: sa.reqid ?? 0,
          replay: sa.replayWindow,
          authAlg,
          authKey: sa.integKey,
          encAlg,
          encKey: sa.encrKey,
          natt: sa.encap ? { sport: sa.encap.srcPort, dport: sa.encap.dstPort } : undefined,
        }, this.#larval.has(key))
      );
    } catch (e) {
      this.#drop(sa.dst, sa.spi);
      throw e;
    }
    this.#larval.delete(key);
    const entry = { src: sa.src, policies: [] as KernelPolicy[] };
    this.#sas.set(key, entry);
    const dirs = !sa.inbound
      ? ["out"] as const
      : sa.mode === "tunnel"
      ? ["in", "fwd"] as const
      : ["in"] as const;
    try {
      for (const dir of dirs) {
        const p: KernelPolicy = {
          dir,
          src: sa.srcSelector,
          dst: sa.dstSelector,
          saSrc: sa.src,
          saDst: sa.dst,
          mode: sa.mode,
          reqid: sa.reqid ?? 0,
        };
        this.#request((h) => buildSpd(h, policySpec(p), true));
        entry.policies.push(p);
      }
    } catch (e) {
      this.#drop(sa.dst, sa.spi);
      throw e;
    }
    return Promise.resolve();
  }

  /** Async so a refusal becomes a rejection the caller logs, never a throw into its path. */
  // deno-lint-ignore require-await
  async deleteSa(dst: IpAddress, spi: number): Promise<void> {
    this.#drop(dst, spi);
  }

  bytes(dst: IpAddress, spi: number): { bytes: number; packets: number } {
    const src = this.#sas.get(saKey(dst, spi))?.src;
    if (src === undefined) return { bytes: 0, packets: 0 };
    try {
      const reply = this.#request((h) => buildSaQuery(h, SADB_GET, spi, src, dst));
      const current = extLifetime(reply.extensions.get(SADB_EXT_LIFETIME_CURRENT));
      // PF_KEY counts bytes only; sadb_lifetime_allocations is not a packet count.
      return { bytes: Number(current?.bytes ?? 0n), packets: 0 };
    } catch (e) {
      if (e instanceof KernelError) return { bytes: 0, packets: 0 };
      throw e;
    }
  }

  addPolicy(policy: KernelPolicy): Promise<void> {
    this.#request((h) => buildSpd(h, policySpec(policy), true));
    return Promise.resolve();
  }

  deletePolicy(policy: KernelPolicy): Promise<void> {
    this.#request((h) => buildSpd(h, policySpec(policy), false));
    return Promise.resolve();
  }

  /** Closes the socket; SAs and policies stay in the kernel. */
  close(): void {
    close(this.#fd, "PF_KEY");
  }

  /** Deletes an SA (larval or complete) and its policies; errors are ignored: it may be gone. */
  #drop(dst: IpAddress, spi: number): void {
    const key = saKey(dst, spi);
    const entry = this.#sas.get(key);
    const src = entry?.src ?? this.#larval.get(key);
    this.#sas.delete(key);
    this.#larval.delete(key);
    for (const p of entry?.policies ?? []) {
      this.#ignoringRefusal(() => this.#request((h) => buildSpd(h, policySpec(p), false)));
    }
    if (src !== undefined) {
      this.#ignoringRefusal(() =>
        this.#request((h) => buildSaQuery(h, SADB_DELETE, spi, src, dst))
      );
    }
  }

  #ignoringRefusal(f: () => void): void {
    try {
      f();
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
    }
  }
}
