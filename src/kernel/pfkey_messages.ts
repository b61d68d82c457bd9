/**
 * PF_KEY v2 messages (RFC 2367, with the KAME `SADB_X_*` policy extensions
 * Linux and the BSDs share), pure: builders for GETSPI, ADD, UPDATE, DELETE,
 * GET, X_SPDADD and X_SPDDELETE, and total parsers for replies, ACQUIRE and
 * EXPIRE.
 *
 * Every message is a 16-byte `sadb_msg` followed by extensions; lengths are
 * counted in 8-byte words and everything is 8-byte aligned. Integers are host
 * byte order (little-endian here) except SPIs and ports, which are network
 * order (RFC 2367 §2.3.1, §2.3.3).
 *
 * @module
 */

import type { IpAddress } from "../config/addresses.ts";

/** `sadb_msg_version`. */
export const PF_KEY_V2 = 2;

/** Message types (RFC 2367 §2.3.1 and KAME). */
export const SADB_GETSPI = 1;
export const SADB_UPDATE = 2;
export const SADB_ADD = 3;
export const SADB_DELETE = 4;
export const SADB_GET = 5;
export const SADB_ACQUIRE = 6;
export const SADB_EXPIRE = 8;
export const SADB_X_SPDADD = 14;
export const SADB_X_SPDDELETE = 15;

/** Names of the message types above, for errors. */
export const SADB_NAMES: Readonly<Record<number, string>> = {
  [SADB_GETSPI]: "SADB_GETSPI",
  [SADB_UPDATE]: "SADB_UPDATE",
  [SADB_ADD]: "SADB_ADD",
  [SADB_DELETE]: "SADB_DELETE",
  [SADB_GET]: "SADB_GET",
  [SADB_ACQUIRE]: "SADB_ACQUIRE",
  [SADB_EXPIRE]: "SADB_EXPIRE",
  [SADB_X_SPDADD]: "SADB_X_SPDADD",
  [SADB_X_SPDDELETE]: "SADB_X_SPDDELETE",
};

/** SA types. */
export const SADB_SATYPE_UNSPEC = 0;
export const SADB_SATYPE_ESP = 3;

/** Extension types. */
export const SADB_EXT_SA = 1;
export const SADB_EXT_LIFETIME_CURRENT = 2;
export const SADB_EXT_LIFETIME_HARD = 3;
export const SADB_EXT_LIFETIME_SOFT = 4;
export const SADB_EXT_ADDRESS_SRC = 5;
export const SADB_EXT_ADDRESS_DST = 6;
export const SADB_EXT_KEY_AUTH = 8;
export const SADB_EXT_KEY_ENCRYPT = 9;
export const SADB_EXT_SPIRANGE = 16;
export const SADB_X_EXT_POLICY = 18;
export const SADB_X_EXT_SA2 = 19;
export const SADB_X_EXT_NAT_T_TYPE = 20;
export const SADB_X_EXT_NAT_T_SPORT = 21;
export const SADB_X_EXT_NAT_T_DPORT = 22;

/** Algorithm numbers of the PF_KEY registry (not IKE's). */
export const SADB_AALG_NONE = 0;
export const SADB_AALG_SHA1HMAC = 3;
export const SADB_X_AALG_SHA2_256HMAC = 5;
export const SADB_X_AALG_SHA2_384HMAC = 6;
export const SADB_X_AALG_SHA2_512HMAC = 7;
export const SADB_X_EALG_AESCBC = 12;
export const SADB_X_EALG_AES_GCM_ICV16 = 20;

/** `sadb_sa_state` of a usable SA. */
export const SADB_SASTATE_MATURE = 1;

/** `sadb_x_sa2_mode` / `sadb_x_ipsecrequest_mode`. */
export const IPSEC_MODE_TRANSPORT = 1;
export const IPSEC_MODE_TUNNEL = 2;
/** `sadb_x_policy_type`: apply IPsec. */
export const IPSEC_POLICY_IPSEC = 2;
/** `sadb_x_policy_dir`. */
export const IPSEC_DIR_INBOUND = 1;
export const IPSEC_DIR_OUTBOUND = 2;
export const IPSEC_DIR_FWD = 3;
/** `sadb_x_ipsecrequest_level`: the SA must exist. */
export const IPSEC_LEVEL_REQUIRE = 2;
/** `sadb_address_proto` meaning any upper-layer protocol. */
export const IPSEC_ULPROTO_ANY = 255;
/** `sadb_x_nat_t_type_type` for RFC 3948. */
export const UDP_ENCAP_ESPINUDP = 2;

const IPPROTO_ESP = 50;
const AF_INET = 2;
const AF_INET6 = 10;

/** The header (`sadb_msg`) fields a caller chooses. */
export interface PfkeyHeader {
  type: number;
  satype: number;
  seq: number;
  pid: number;
}

/** A decoded message: header plus extensions by type (bodies include their 4-byte header). */
export interface PfkeyMessage extends PfkeyHeader {
  errno: number;
  extensions: Map<number, Uint8Array>;
}

/** Bytes that are not a PF_KEY message; `offset` is where reading stopped. */
export interface PfkeyParseError {
  error: string;
  offset: number;
}

/** True for a {@link PfkeyParseError}. */
export function isPfkeyParseError(x: unknown): x is PfkeyParseError {
  return typeof x === "object" && x !== null && "error" in x && "offset" in x;
}

// ---------------------------------------------------------------- encoding

function pad8(n: number): number {
  return (n + 7) & ~7;
}

/** An extension of `size` bytes (before padding): sadb_ext_len u16 (8-byte words) @0, sadb_ext_type u16 @2. */
function extension(type: number, size: number): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(pad8(size));
  const view = new DataView(bytes.buffer);
  view.setUint16(0, bytes.length / 8, true);
  view.setUint16(2, type, true);
  return { bytes, view };
}

/** `sadb_msg` (16): version u8 @0, type u8 @1, errno u8 @2, satype u8 @3, len u16 (words) @4, reserved u16 @6, seq u32 @8, pid u32 @12; then the extensions. */
function message(h: PfkeyHeader, extensions: Uint8Array[]): Uint8Array {
  const length = 16 + extensions.reduce((n, e) => n + e.length, 0);
  const out = new Uint8Array(length);
  const v = new DataView(out.buffer);
  v.setUint8(0, PF_KEY_V2);
  v.setUint8(1, h.type);
  v.setUint8(3, h.satype);
  v.setUint16(4, length / 8, true);
  v.setUint32(8, h.seq, true);
  v.setUint32(12, h.pid, true);
  let at = 16;
  for (const e of extensions) {
    out.set(e, at);
    at += e.length;
  }
  return out;
}

/**
 * `sadb_address` (8): len @0, exttype @2, proto u8 @4, prefixlen u8 @5,
 * reserved u16 @6; then a sockaddr padded to 8: `sockaddr_in` (16: family
 * u16 @0, port be16 @2, addr @4, zero[8]) or `sockaddr_in6` (28: family @0,
 * port be16 @2, flowinfo u32 @4, addr[16] @8, scope_id u32 @24).
 */
function addressExt(
  type: number,
  address: IpAddress,
  prefix: number,
  proto: number,
  port = 0,
): Uint8Array {
  const sockaddrSize = address.family === 4 ? 16 : 28;
  const { bytes, view } = extension(type, 8 + sockaddrSize);
  view.setUint8(4, proto);
  view.setUint8(5, prefix);
  view.setUint16(8, address.family === 4 ? AF_INET : AF_INET6, true);
  view.setUint16(10, port);
  bytes.set(address.bytes, address.family === 4 ? 12 : 16);
  return bytes;
}

/**
 * `sadb_sa` (16): len @0, exttype @2, spi be32 @4, replay u8 @8 (window in
 * packets, at most 255), state u8 @9, auth u8 @10, encrypt u8 @11,
 * flags u32 @12.
 */
function saExt(spi: number, replay: number, auth: number, encrypt: number): Uint8Array {
  const { bytes, view } = extension(SADB_EXT_SA, 16);
  view.setUint32(4, spi);
  view.setUint8(8, Math.min(replay, 255));
  view.setUint8(9, SADB_SASTATE_MATURE);
  view.setUint8(10, auth);
  view.setUint8(11, encrypt);
  return bytes;
}

/** `sadb_key` (8 + key padded): len @0, exttype @2, bits u16 @4, reserved u16 @6, key @8. */
function keyExt(type: number, key: Uint8Array): Uint8Array {
  const { bytes, view } = extension(type, 8 + key.length);
  view.setUint16(4, key.length * 8, true);
  bytes.set(key, 8);
  return bytes;
}

/** `sadb_x_sa2` (16): len @0, exttype @2, mode u8 @4, reserved u8 @5, reserved u16 @6, sequence u32 @8, reqid u32 @12. */
function sa2Ext(mode: number, reqid: number): Uint8Array {
  const { bytes, view } = extension(SADB_X_EXT_SA2, 16);
  view.setUint8(4, mode);
  view.setUint32(12, reqid, true);
  return bytes;
}

/** GETSPI: a larval SA between `src` and `dst` with an SPI in [min, max] (`sadb_spirange`: min u32 @4, max u32 @8, reserved @12). */
export function buildGetSpi(
  h: Omit<PfkeyHeader, "type" | "satype">,
  src: IpAddress,
  dst: IpAddress,
  mode: number,
  reqid: number,
  min: number,
  max: number,
): Uint8Array {
  const range = extension(SADB_EXT_SPIRANGE, 16);
  range.view.setUint32(4, min, true);
  range.view.setUint32(8, max, true);
  return message({ ...h, type: SADB_GETSPI, satype: SADB_SATYPE_ESP }, [
    sa2Ext(mode, reqid),
    addressExt(SADB_EXT_ADDRESS_SRC, src, src.family === 4 ? 32 : 128, IPSEC_ULPROTO_ANY),
    addressExt(SADB_EXT_ADDRESS_DST, dst, dst.family === 4 ? 32 : 128, IPSEC_ULPROTO_ANY),
    range.bytes,
  ]);
}

/** Everything ADD/UPDATE carry for one ESP SA. */
export interface PfkeySaSpec {
  src: IpAddress;
  dst: IpAddress;
  spi: number;
  mode: number;
  reqid: number;
  replay: number;
  authAlg: number;
  authKey: Uint8Array;
  encAlg: number;
  encKey: Uint8Array;
  /** RFC 3948 UDP encapsulation ports. */
  natt?: { sport: number; dport: number };
}

/** ADD (a fresh SA) or UPDATE (completes the larval SA of GETSPI). */
export function buildAddSa(
  h: Omit<PfkeyHeader, "type" | "satype">,
  spec: PfkeySaSpec,
  update: boolean,
): Uint8Array {
  const exts = [
    saExt(spec.spi, spec.replay, spec.authAlg, spec.encAlg),
    sa2Ext(spec.mode, spec.reqid),
    addressExt(SADB_EXT_ADDRESS_SRC, spec.src, spec.src.family === 4 ? 32 : 128, IPSEC_ULPROTO_ANY),
    addressExt(SADB_EXT_ADDRESS_DST, spec.dst, spec.dst.family === 4 ? 32 : 128, IPSEC_ULPROTO_ANY),
  ];
  if (spec.authAlg !== SADB_AALG_NONE) exts.push(keyExt(SADB_EXT_KEY_AUTH, spec.authKey));
  exts.push(keyExt(SADB_EXT_KEY_ENCRYPT, spec.encKey));
  if (spec.natt) {
    // sadb_x_nat_t_type (8): type u8 @4, reserved[3]; sadb_x_nat_t_port (8): port be16 @4, reserved @6.
    const type = extension(SADB_X_EXT_NAT_T_TYPE, 8);
    type.view.setUint8(4, UDP_ENCAP_ESPINUDP);
    const sport = extension(SADB_X_EXT_NAT_T_SPORT, 8);
    sport.view.setUint16(4, spec.natt.sport);
    const dport = extension(SADB_X_EXT_NAT_T_DPORT, 8);
    dport.view.setUint16(4, spec.natt.dport);
    exts.push(type.bytes, sport.bytes, dport.bytes);
  }
  return message({ ...h, type: update ? SADB_UPDATE : SADB_ADD, satype: SADB_SATYPE_ESP }, exts);
}

/** DELETE or GET of one ESP SA by SPI and addresses. */
export function buildSaQuery(
  h: Omit<PfkeyHeader, "type" | "satype">,
  type: typeof SADB_DELETE | typeof SADB_GET,
  spi: number,
  src: IpAddress,
  dst: IpAddress,
): Uint8Array {
  return message({ ...h, type, satype: SADB_SATYPE_ESP }, [
    saExt(spi, 0, 0, 0),
    addressExt(SADB_EXT_ADDRESS_SRC, src, src.family === 4 ? 32 : 128, IPSEC_ULPROTO_ANY),
    addressExt(SADB_EXT_ADDRESS_DST, dst, dst.family === 4 ? 32 : 128, IPSEC_ULPROTO_ANY),
  ]);
}

/** One end of a policy's traffic: prefix, upper-layer protocol (255: any) and port (0: any). */
export interface PfkeySelectorEnd {
  address: IpAddress;
  prefix: number;
  proto: number;
  port: number;
}

/** A security policy entry. */
export interface PfkeyPolicySpec {
  src: PfkeySelectorEnd;
  dst: PfkeySelectorEnd;
  dir: number;
  priority: number;
  mode: number;
  reqid: number;
  /** The SA's ends, in tunnel mode. */
  tunnel?: { src: IpAddress; dst: IpAddress };
}

function sockaddr(address: IpAddress): Uint8Array {
  const out = new Uint8Array(address.family === 4 ? 16 : 28);
  new DataView(out.buffer).setUint16(0, address.family === 4 ? AF_INET : AF_INET6, true);
  out.set(address.bytes, address.family === 4 ? 4 : 8);
  return out;
}

/**
 * `sadb_x_policy` (16): len @0, exttype @2, type u16 @4, dir u8 @6,
 * reserved u8 @7, id u32 @8, priority u32 @12; then one
 * `sadb_x_ipsecrequest` (16 + tunnel sockaddrs, length in bytes): len u16
 * @0, proto u16 @2, mode u8 @4, level u8 @5, reserved u16 @6, reqid u32 @8,
 * reserved u32 @12, then source and destination sockaddr in tunnel mode.
 */
function policyExt(p: PfkeyPolicySpec, withRequest: boolean): Uint8Array {
  const ends = withRequest && p.tunnel ? [sockaddr(p.tunnel.src), sockaddr(p.tunnel.dst)] : [];
  const requestSize = withRequest ? pad8(16 + ends.reduce((n, e) => n + e.length, 0)) : 0;
  const { bytes, view } = extension(SADB_X_EXT_POLICY, 16 + requestSize);
  view.setUint16(4, IPSEC_POLICY_IPSEC, true);
  view.setUint8(6, p.dir);
  view.setUint32(12, p.priority, true);
  if (withRequest) {
    view.setUint16(16, requestSize, true);
    view.setUint16(18, IPPROTO_ESP, true);
    view.setUint8(20, p.mode);
    view.setUint8(21, IPSEC_LEVEL_REQUIRE);
    view.setUint32(24, p.reqid, true);
    let at = 32;
    for (const e of ends) {
      bytes.set(e, at);
      at += e.length;
    }
  }
  return bytes;
}

/** X_SPDADD (with the IPsec request) or X_SPDDELETE (selectors and direction only). */
export function buildSpd(
  h: Omit<PfkeyHeader, "type" | "satype">,
  p: PfkeyPolicySpec,
  add: boolean,
): Uint8Array {
  return message({ ...h, type: add ? SADB_X_SPDADD : SADB_X_SPDDELETE, satype: 0 }, [
    addressExt(SADB_EXT_ADDRESS_SRC, p.src.address, p.src.prefix, p.src.proto, p.src.port),
    addressExt(SADB_EXT_ADDRESS_DST, p.dst.address, p.dst.prefix, p.dst.proto, p.dst.port),
    policyExt(p, add),
  ]);
}

// ---------------------------------------------------------------- decoding

/** Splits a message into header and extensions; lengths must add up exactly. */
export function parsePfkey(data: Uint8Array): PfkeyMessage | PfkeyParseError {
  if (data.length < 16) return { error: "sadb_msg is 16 bytes", offset: 0 };
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (v.getUint8(0) !== PF_KEY_V2) return { error: "not PF_KEY_V2", offset: 0 };
  const length = v.getUint16(4, true) * 8;
  if (length < 16 || length > data.length) {
    return { error: `sadb_msg_len ${length} does not fit`, offset: 4 };
  }
  const extensions = new Map<number, Uint8Array>();
  let at = 16;
  while (at < length) {
    if (at + 4 > length) return { error: "extension header overruns", offset: at };
    const size = v.getUint16(at, true) * 8;
    if (size < 8 || at + size > length) {
      return { error: `sadb_ext_len ${size} does not fit`, offset: at };
    }
    extensions.set(v.getUint16(at + 2, true), data.subarray(at, at + size));
    at += size;
  }
  return {
    type: v.getUint8(1),
    errno: v.getUint8(2),
    satype: v.getUint8(3),
    seq: v.getUint32(8, true),
    pid: v.getUint32(12, true),
    extensions,
  };
}

/** The address (and prefix) of an address extension. */
export function extAddress(
  ext: Uint8Array | undefined,
): { address: IpAddress; prefix: number } | undefined {
  if (ext === undefined || ext.length < 8 + 16) return undefined;
  const v = new DataView(ext.buffer, ext.byteOffset, ext.byteLength);
  const family = v.getUint16(8, true);
  if (family === AF_INET) {
    return { address: { family: 4, bytes: ext.slice(12, 16) }, prefix: v.getUint8(5) };
  }
  if (family === AF_INET6 && ext.length >= 8 + 28) {
    return { address: { family: 6, bytes: ext.slice(16, 32) }, prefix: v.getUint8(5) };
  }
  return undefined;
}

/** The SPI of an `sadb_sa` extension. */
export function extSpi(ext: Uint8Array | undefined): number | undefined {
  if (ext === undefined || ext.length < 16) return undefined;
  return new DataView(ext.buffer, ext.byteOffset, ext.byteLength).getUint32(4);
}

/** `sadb_lifetime` (32): allocations u32 @4, bytes u64 @8, addtime u64 @16, usetime u64 @24. */
export function extLifetime(
  ext: Uint8Array | undefined,
): { allocations: number; bytes: bigint; addtime: bigint; usetime: bigint } | undefined {
  if (ext === undefined || ext.length < 32) return undefined;
  const v = new DataView(ext.buffer, ext.byteOffset, ext.byteLength);
  return {
    allocations: v.getUint32(4, true),
    bytes: v.getBigUint64(8, true),
    addtime: v.getBigUint64(16, true),
    usetime: v.getBigUint64(24, true),
  };
}

/** An ACQUIRE: the kernel wants an SA from `src` to `dst` (policy `policyId`). */
export interface PfkeyAcquire {
  seq: number;
  src: IpAddress;
  dst: IpAddress;
  policyId: number;
}

/** Decodes SADB_ACQUIRE (source and destination address, KAME policy id). */
export function parseAcquire(m: PfkeyMessage): PfkeyAcquire | PfkeyParseError {
  if (m.type !== SADB_ACQUIRE) return { error: "not SADB_ACQUIRE", offset: 1 };
  const src = extAddress(m.extensions.get(SADB_EXT_ADDRESS_SRC));
  const dst = extAddress(m.extensions.get(SADB_EXT_ADDRESS_DST));
  if (!src || !dst) return { error: "SADB_ACQUIRE lacks its addresses", offset: 16 };
  const policy = m.extensions.get(SADB_X_EXT_POLICY);
  const policyId = policy && policy.length >= 16
    ? new DataView(policy.buffer, policy.byteOffset, policy.byteLength).getUint32(8, true)
    : 0;
  return { seq: m.seq, src: src.address, dst: dst.address, policyId };
}

/** An EXPIRE: soft (rekey now) or hard (gone), with the bytes processed. */
export interface PfkeyExpire {
  spi: number;
  src: IpAddress;
  dst: IpAddress;
  hard: boolean;
  bytes: bigint;
}

/** Decodes SADB_EXPIRE: a hard lifetime extension means hard, a soft one soft (RFC 2367 §3.1.7). */
export function parseExpire(m: PfkeyMessage): PfkeyExpire | PfkeyParseError {
  if (m.type !== SADB_EXPIRE) return { error: "not SADB_EXPIRE", offset: 1 };
  const spi = extSpi(m.extensions.get(SADB_EXT_SA));
  const src = extAddress(m.extensions.get(SADB_EXT_ADDRESS_SRC));
  const dst = extAddress(m.extensions.get(SADB_EXT_ADDRESS_DST));
  const hard = m.extensions.has(SADB_EXT_LIFETIME_HARD);
  if (spi === undefined || !src || !dst || (!hard && !m.extensions.has(SADB_EXT_LIFETIME_SOFT))) {
    return { error: "SADB_EXPIRE lacks its SA, addresses or lifetime", offset: 16 };
  }
  const current = extLifetime(m.extensions.get(SADB_EXT_LIFETIME_CURRENT));
  return { spi, src: src.address, dst: dst.address, hard, bytes: current?.bytes ?? 0n };
}
