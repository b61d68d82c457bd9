/**
 * XFRM netlink messages (`<linux/xfrm.h>`), pure: builders for the requests
 * the xfrm adapter sends (ALLOCSPI, NEWSA/UPDSA, DELSA, GETSA, NEWPOLICY/
 * UPDPOLICY, DELPOLICY) and total parsers for what the kernel sends back or
 * on its own (NEWSA replies with byte counters, ACQUIRE, EXPIRE).
 *
 * Struct layouts are the x86-64 (and arm64) ones; offsets are written beside
 * each field. Integers are host byte order (little-endian) except those the
 * header marks `__be`: SPIs and ports. `xfrm_address_t` is 16 bytes, IPv4
 * addresses use its first four.
 *
 * @module
 */

import type { IpAddress } from "../config/addresses.ts";
import {
  concatBytes,
  encodeAttribute,
  type NetlinkAttribute,
  type NetlinkMessage,
  NLM_F_ACK,
  parseAttributes,
} from "../../ffi/netlink_message.ts";

/** Message types (`XFRM_MSG_BASE` 0x10 onwards). */
export const XFRM_MSG_NEWSA = 0x10;
export const XFRM_MSG_DELSA = 0x11;
export const XFRM_MSG_GETSA = 0x12;
export const XFRM_MSG_NEWPOLICY = 0x13;
export const XFRM_MSG_DELPOLICY = 0x14;
export const XFRM_MSG_ALLOCSPI = 0x16;
export const XFRM_MSG_ACQUIRE = 0x17;
export const XFRM_MSG_EXPIRE = 0x18;
export const XFRM_MSG_UPDPOLICY = 0x19;
export const XFRM_MSG_UPDSA = 0x1a;

/** Names of the message types above, for errors and logs. */
export const XFRM_MSG_NAMES: Readonly<Record<number, string>> = {
  [XFRM_MSG_NEWSA]: "XFRM_MSG_NEWSA",
  [XFRM_MSG_DELSA]: "XFRM_MSG_DELSA",
  [XFRM_MSG_GETSA]: "XFRM_MSG_GETSA",
  [XFRM_MSG_NEWPOLICY]: "XFRM_MSG_NEWPOLICY",
  [XFRM_MSG_DELPOLICY]: "XFRM_MSG_DELPOLICY",
  [XFRM_MSG_ALLOCSPI]: "XFRM_MSG_ALLOCSPI",
  [XFRM_MSG_ACQUIRE]: "XFRM_MSG_ACQUIRE",
  [XFRM_MSG_EXPIRE]: "XFRM_MSG_EXPIRE",
  [XFRM_MSG_UPDPOLICY]: "XFRM_MSG_UPDPOLICY",
  [XFRM_MSG_UPDSA]: "XFRM_MSG_UPDSA",
};

/** Multicast groups (`XFRMNLGRP_*`); bind to bit `group - 1`. */
export const XFRMNLGRP_ACQUIRE = 1;
export const XFRMNLGRP_EXPIRE = 2;

/** Attribute types (`XFRMA_*`). */
export const XFRMA_ALG_AUTH = 1;
export const XFRMA_ALG_CRYPT = 2;
export const XFRMA_ENCAP = 4;
export const XFRMA_TMPL = 5;
export const XFRMA_SRCADDR = 13;
export const XFRMA_ALG_AEAD = 18;
export const XFRMA_ALG_AUTH_TRUNC = 20;
export const XFRMA_REPLAY_ESN_VAL = 23;

/** IP protocol numbers of the IPsec transforms. */
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;

/** `XFRM_MODE_*`. */
export const XFRM_MODE_TRANSPORT = 0;
export const XFRM_MODE_TUNNEL = 1;

/** Policy directions (`XFRM_POLICY_IN/OUT/FWD`). */
export type XfrmDirection = "in" | "out" | "fwd";
const DIRECTION_CODES: Readonly<Record<XfrmDirection, number>> = { in: 0, out: 1, fwd: 2 };

/** Policy actions. */
export const XFRM_POLICY_ALLOW = 0;
export const XFRM_POLICY_BLOCK = 1;

/** SA flags (`XFRM_STATE_*`) we set or report. */
export const XFRM_STATE_AF_UNSPEC = 32;
export const XFRM_STATE_ESN = 128;

/** `encap_type` for RFC 3948 UDP encapsulation. */
export const UDP_ENCAP_ESPINUDP = 2;

/** "No limit" for byte and packet limits. */
export const XFRM_INF = 0xffff_ffff_ffff_ffffn;

const AF_INET = 2;
const AF_INET6 = 10;

/** `struct xfrm_usersa_info` size. */
const USERSA_INFO_SIZE = 224;
/** `struct xfrm_userpolicy_info` size. */
const USERPOLICY_INFO_SIZE = 168;
/** `struct xfrm_user_tmpl` size. */
const USER_TMPL_SIZE = 64;
/** `struct xfrm_user_acquire` size. */
const USER_ACQUIRE_SIZE = 280;
/** `struct xfrm_user_expire` size. */
const USER_EXPIRE_SIZE = 232;
/** `alg_name[64]` in the algorithm structs. */
const ALG_NAME_SIZE = 64;

/** Traffic an SA or policy applies to; `family` 0 matches every packet. */
export interface XfrmSelector {
  family: 0 | 4 | 6;
  src: Uint8Array;
  srcPrefix: number;
  dst: Uint8Array;
  dstPrefix: number;
  /** IP protocol, 0 for all. */
  proto: number;
  sport: number;
  sportMask: number;
  dport: number;
  dportMask: number;
}

/** The empty selector (all zeroes), as iproute2 sends for tunnel-mode SAs. */
export const ANY_SELECTOR: XfrmSelector = {
  family: 0,
  src: new Uint8Array(16),
  srcPrefix: 0,
  dst: new Uint8Array(16),
  dstPrefix: 0,
  proto: 0,
  sport: 0,
  sportMask: 0,
  dport: 0,
  dportMask: 0,
};

/** `struct xfrm_lifetime_cfg`: byte/packet limits ({@link XFRM_INF} = none) and seconds (0 = none). */
export interface XfrmLifetime {
  softBytes: bigint;
  hardBytes: bigint;
  softPackets: bigint;
  hardPackets: bigint;
  softAddSeconds: bigint;
  hardAddSeconds: bigint;
  softUseSeconds: bigint;
  hardUseSeconds: bigint;
}

/** No limits at all: what iproute2 sends when no `limit` is given. */
export const NO_LIFETIME: XfrmLifetime = {
  softBytes: XFRM_INF,
  hardBytes: XFRM_INF,
  softPackets: XFRM_INF,
  hardPackets: XFRM_INF,
  softAddSeconds: 0n,
  hardAddSeconds: 0n,
  softUseSeconds: 0n,
  hardUseSeconds: 0n,
};

/** All zeroes: ALLOCSPI's larval SA takes no lifetime from the request (the kernel ignores it). */
const UNSET_LIFETIME: XfrmLifetime = {
  softBytes: 0n,
  hardBytes: 0n,
  softPackets: 0n,
  hardPackets: 0n,
  softAddSeconds: 0n,
  hardAddSeconds: 0n,
  softUseSeconds: 0n,
  hardUseSeconds: 0n,
};

/** `struct xfrm_lifetime_cur`: what an SA has processed so far. */
export interface XfrmCurrent {
  bytes: bigint;
  packets: bigint;
  addTime: bigint;
  useTime: bigint;
}

/** An encryption-only algorithm (`struct xfrm_algo`), e.g. `cbc(aes)`. */
export interface XfrmCrypt {
  name: string;
  key: Uint8Array;
}

/** An integrity algorithm with its truncation (`struct xfrm_algo_auth`), e.g. `hmac(sha256)`/128. */
export interface XfrmAuth {
  name: string;
  key: Uint8Array;
  truncBits: number;
}

/** An AEAD (`struct xfrm_algo_aead`), e.g. `rfc4106(gcm(aes))`; the key includes the salt. */
export interface XfrmAead {
  name: string;
  key: Uint8Array;
  icvBits: number;
}

/** UDP encapsulation (`struct xfrm_encap_tmpl`). */
export interface XfrmEncap {
  type: number;
  sport: number;
  dport: number;
  /** Original address before NAT (for transport-mode checksum fix-ups); zero when unknown. */
  originalAddress?: IpAddress;
}

/** Everything NEWSA/UPDSA carry. */
export interface XfrmSaSpec {
  selector: XfrmSelector;
  src: IpAddress;
  dst: IpAddress;
  spi: number;
  proto: number;
  reqid: number;
  mode: number;
  /** The legacy window (at most 32 packets); 0 when {@link esnWindow} is used. */
  replayWindow: number;
  flags: number;
  lifetime: XfrmLifetime;
  aead?: XfrmAead;
  crypt?: XfrmCrypt;
  auth?: XfrmAuth;
  encap?: XfrmEncap;
  /** Replay window in packets for the ESN replay state (`XFRMA_REPLAY_ESN_VAL`), needed for ESN or windows over 32. */
  esnWindow?: number;
}

/** An SA's key: destination, SPI, protocol (`struct xfrm_usersa_id`), plus the source iproute2 adds. */
export interface XfrmSaId {
  dst: IpAddress;
  spi: number;
  proto: number;
  /** Sent as XFRMA_SRCADDR when given. */
  src?: IpAddress;
}

/** One template of a policy (`struct xfrm_user_tmpl`); addresses only for tunnel mode. */
export interface XfrmTemplate {
  family: 4 | 6;
  src?: IpAddress;
  dst?: IpAddress;
  spi: number;
  proto: number;
  reqid: number;
  mode: number;
  optional: boolean;
}

/** Everything NEWPOLICY/UPDPOLICY carry. */
export interface XfrmPolicySpec {
  selector: XfrmSelector;
  dir: XfrmDirection;
  priority: number;
  action: number;
  lifetime: XfrmLifetime;
  templates: XfrmTemplate[];
}

/** A request ready for `NetlinkSocket.request`. */
export interface XfrmRequest {
  type: number;
  /** Flags besides NLM_F_REQUEST (which the socket always sets). */
  flags: number;
  body: Uint8Array;
}

/** An SA as the kernel reports it (`struct xfrm_usersa_info` plus the counters). */
export interface XfrmSaInfo {
  selector: XfrmSelector;
  dst: IpAddress;
  spi: number;
  proto: number;
  src: IpAddress;
  lifetime: XfrmLifetime;
  current: XfrmCurrent;
  reqid: number;
  mode: number;
  replayWindow: number;
  flags: number;
}

/** A kernel message the adapter understands. */
export type XfrmEvent =
  | { kind: "sa"; sa: XfrmSaInfo }
  | {
    kind: "acquire";
    /** Where the SA should go and with which protocol (the template's id). */
    dst: IpAddress;
    src: IpAddress;
    proto: number;
    /** The packet's flow that triggered it. */
    selector: XfrmSelector;
    /** The policy that asked for protection. */
    policySelector: XfrmSelector;
    dir: XfrmDirection;
    policyIndex: number;
    seq: number;
  }
  | { kind: "expire"; hard: boolean; sa: XfrmSaInfo };

/** A message that does not decode; `offset` counts from the start of the body. */
export interface XfrmParseError {
  error: string;
  offset: number;
}

// ---------------------------------------------------------------- encoding

function familyCode(family: 0 | 4 | 6): number {
  return family === 0 ? 0 : family === 4 ? AF_INET : AF_INET6;
}

/** Writes an address into a 16-byte `xfrm_address_t` at `at`. */
function putAddress(out: Uint8Array, at: number, bytes: Uint8Array | undefined): void {
  if (bytes !== undefined) out.set(bytes, at);
}

/**
 * `struct xfrm_selector` (56): daddr @0, saddr @16, dport be16 @32,
 * dport_mask be16 @34, sport be16 @36, sport_mask be16 @38, family u16 @40,
 * prefixlen_d u8 @42, prefixlen_s u8 @43, proto u8 @44, pad 3,
 * ifindex i32 @48, user u32 @52.
 */
function putSelector(v: DataView, at: number, s: XfrmSelector): void {
  const out = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  putAddress(out, at, s.dst);
  putAddress(out, at + 16, s.src);
  v.setUint16(at + 32, s.dport);
  v.setUint16(at + 34, s.dportMask);
  v.setUint16(at + 36, s.sport);
  v.setUint16(at + 38, s.sportMask);
  v.setUint16(at + 40, familyCode(s.family), true);
  v.setUint8(at + 42, s.dstPrefix);
  v.setUint8(at + 43, s.srcPrefix);
  v.setUint8(at + 44, s.proto);
}

/**
 * `struct xfrm_lifetime_cfg` (64): soft_byte_limit @0, hard_byte_limit @8,
 * soft_packet_limit @16, hard_packet_limit @24, soft_add_expires_seconds @32,
 * hard_add_expires_seconds @40, soft_use_expires_seconds @48,
 * hard_use_expires_seconds @56, all u64.
 */
function putLifetime(v: DataView, at: number, l: XfrmLifetime): void {
  const values = [
    l.softBytes,
    l.hardBytes,
    l.softPackets,
    l.hardPackets,
    l.softAddSeconds,
    l.hardAddSeconds,
    l.softUseSeconds,
    l.hardUseSeconds,
  ];
  values.forEach((x, i) => v.setBigUint64(at + 8 * i, x, true));
}

/**
 * `struct xfrm_usersa_info` (224): sel @0 (56), id @56 (xfrm_id: daddr @56,
 * spi be32 @72, proto u8 @76, pad 3), saddr @80, lft @96 (64),
 * curlft @160 (xfrm_lifetime_cur: bytes, packets, add_time, use_time u64),
 * stats @192 (replay_window, replay, integrity_failed u32), seq u32 @204,
 * reqid u32 @208, family u16 @212, mode u8 @214, replay_window u8 @215,
 * flags u8 @216, pad 7.
 */
function usersaInfo(spec: XfrmSaSpec): Uint8Array {
  const out = new Uint8Array(USERSA_INFO_SIZE);
  const v = new DataView(out.buffer);
  putSelector(v, 0, spec.selector);
  putAddress(out, 56, spec.dst.bytes);
  v.setUint32(72, spec.spi);
  v.setUint8(76, spec.proto);
  putAddress(out, 80, spec.src.bytes);
  putLifetime(v, 96, spec.lifetime);
  v.setUint32(208, spec.reqid, true);
  v.setUint16(212, familyCode(spec.dst.family), true);
  v.setUint8(214, spec.mode);
  v.setUint8(215, spec.replayWindow);
  v.setUint8(216, spec.flags);
  return out;
}

/** `alg_name[64]`, NUL-padded; names longer than 63 bytes are refused by the caller's table. */
function algName(name: string): Uint8Array {
  const out = new Uint8Array(ALG_NAME_SIZE);
  out.set(new TextEncoder().encode(name).subarray(0, ALG_NAME_SIZE - 1));
  return out;
}

/** `struct xfrm_algo`: alg_name[64] @0, alg_key_len u32 (bits) @64, key @68. */
function algoCrypt(a: XfrmCrypt): Uint8Array {
  const out = new Uint8Array(68 + a.key.length);
  out.set(algName(a.name));
  new DataView(out.buffer).setUint32(64, a.key.length * 8, true);
  out.set(a.key, 68);
  return out;
}

/**
 * `struct xfrm_algo_auth` and `struct xfrm_algo_aead` share one shape:
 * alg_name[64] @0, alg_key_len u32 (bits) @64, alg_trunc_len / alg_icv_len
 * u32 (bits) @68, key @72.
 */
function algoWithLength(name: string, key: Uint8Array, bits: number): Uint8Array {
  const out = new Uint8Array(72 + key.length);
  out.set(algName(name));
  const v = new DataView(out.buffer);
  v.setUint32(64, key.length * 8, true);
  v.setUint32(68, bits, true);
  out.set(key, 72);
  return out;
}

/**
 * `struct xfrm_encap_tmpl` (24): encap_type u16 @0, encap_sport be16 @2,
 * encap_dport be16 @4, pad 2, encap_oa @8.
 */
function encapTmpl(e: XfrmEncap): Uint8Array {
  const out = new Uint8Array(24);
  const v = new DataView(out.buffer);
  v.setUint16(0, e.type, true);
  v.setUint16(2, e.sport);
  v.setUint16(4, e.dport);
  putAddress(out, 8, e.originalAddress?.bytes);
  return out;
}

/**
 * `struct xfrm_replay_state_esn` (24, plus bmp[] the kernel allocates):
 * bmp_len u32 (words of bitmap) @0, oseq @4, seq @8, oseq_hi @12, seq_hi @16,
 * replay_window @20, all u32. The bitmap is left out, as iproute2 does: the
 * kernel accepts the bare struct for a fresh SA and starts from zeroes.
 */
function replayEsn(window: number): Uint8Array {
  const out = new Uint8Array(24);
  const v = new DataView(out.buffer);
  v.setUint32(0, Math.ceil(window / 32), true);
  v.setUint32(20, window, true);
  return out;
}

/** NEWSA (outbound, or any fresh SA) or UPDSA (turns the larval SA from ALLOCSPI into the real one). */
export function buildSaRequest(spec: XfrmSaSpec, update: boolean): XfrmRequest {
  const parts: Uint8Array[] = [usersaInfo(spec)];
  if (spec.aead) {
    parts.push(encodeAttribute(
      XFRMA_ALG_AEAD,
      algoWithLength(spec.aead.name, spec.aead.key, spec.aead.icvBits),
    ));
  }
  if (spec.crypt) parts.push(encodeAttribute(XFRMA_ALG_CRYPT, algoCrypt(spec.crypt)));
  if (spec.auth) {
    parts.push(encodeAttribute(
      XFRMA_ALG_AUTH_TRUNC,
      algoWithLength(spec.auth.name, spec.auth.key, spec.auth.truncBits),
    ));
  }
  if (spec.encap) parts.push(encodeAttribute(XFRMA_ENCAP, encapTmpl(spec.encap)));
  if (spec.esnWindow !== undefined) {
    parts.push(encodeAttribute(XFRMA_REPLAY_ESN_VAL, replayEsn(spec.esnWindow)));
  }
  return {
    type: update ? XFRM_MSG_UPDSA : XFRM_MSG_NEWSA,
    flags: NLM_F_ACK,
    body: concatBytes(parts),
  };
}

/**
 * ALLOCSPI: `struct xfrm_userspi_info` (232) = xfrm_usersa_info @0 (the
 * larval SA: addresses, protocol, reqid, mode), min u32 @224, max u32 @228.
 * The kernel answers with the larval SA (a NEWSA message), no ACK.
 */
export function buildAllocSpi(
  src: IpAddress,
  dst: IpAddress,
  proto: number,
  reqid: number,
  mode: number,
  min: number,
  max: number,
): XfrmRequest {
  const info = usersaInfo({
    selector: ANY_SELECTOR,
    src,
    dst,
    spi: 0,
    proto,
    reqid,
    mode,
    replayWindow: 0,
    flags: 0,
    lifetime: UNSET_LIFETIME,
  });
  const body = new Uint8Array(USERSA_INFO_SIZE + 8);
  body.set(info);
  const v = new DataView(body.buffer);
  v.setUint32(USERSA_INFO_SIZE, min, true);
  v.setUint32(USERSA_INFO_SIZE + 4, max, true);
  return { type: XFRM_MSG_ALLOCSPI, flags: 0, body };
}

/**
 * `struct xfrm_usersa_id` (24): daddr @0, spi be32 @16, family u16 @20,
 * proto u8 @22, pad 1; then XFRMA_SRCADDR when the source is known.
 */
function usersaId(id: XfrmSaId): Uint8Array {
  const out = new Uint8Array(24);
  const v = new DataView(out.buffer);
  out.set(id.dst.bytes);
  v.setUint32(16, id.spi);
  v.setUint16(20, familyCode(id.dst.family), true);
  v.setUint8(22, id.proto);
  if (id.src === undefined) return out;
  const src = new Uint8Array(16);
  src.set(id.src.bytes);
  return concatBytes([out, encodeAttribute(XFRMA_SRCADDR, src)]);
}

/** DELSA: removes one SA (larval or not); ESRCH when there is none. */
export function buildDeleteSa(id: XfrmSaId): XfrmRequest {
  return { type: XFRM_MSG_DELSA, flags: NLM_F_ACK, body: usersaId(id) };
}

/** GETSA: the kernel answers with the SA as a NEWSA message (counters in curlft), no ACK. */
export function buildGetSa(id: XfrmSaId): XfrmRequest {
  return { type: XFRM_MSG_GETSA, flags: 0, body: usersaId(id) };
}

/**
 * `struct xfrm_user_tmpl` (64): id @0 (daddr @0, spi be32 @16, proto u8 @20,
 * pad 3), family u16 @24, pad 2, saddr @28, reqid u32 @44, mode u8 @48,
 * share u8 @49, optional u8 @50, pad 1, aalgos u32 @52, ealgos u32 @56,
 * calgos u32 @60. All-ones algorithm masks accept any algorithm.
 */
function userTmpl(t: XfrmTemplate): Uint8Array {
  const out = new Uint8Array(USER_TMPL_SIZE);
  const v = new DataView(out.buffer);
  putAddress(out, 0, t.dst?.bytes);
  v.setUint32(16, t.spi);
  v.setUint8(20, t.proto);
  v.setUint16(24, familyCode(t.family), true);
  putAddress(out, 28, t.src?.bytes);
  v.setUint32(44, t.reqid, true);
  v.setUint8(48, t.mode);
  v.setUint8(50, t.optional ? 1 : 0);
  v.setUint32(52, 0xffffffff, true);
  v.setUint32(56, 0xffffffff, true);
  v.setUint32(60, 0xffffffff, true);
  return out;
}

/**
 * NEWPOLICY (fails with EEXIST when present) or UPDPOLICY (adds or replaces).
 * `struct xfrm_userpolicy_info` (168): sel @0 (56), lft @56 (64),
 * curlft @120 (32), priority u32 @152, index u32 @156, dir u8 @160,
 * action u8 @161, flags u8 @162, share u8 @163, pad 4; then one XFRMA_TMPL
 * holding the templates back to back.
 */
export function buildPolicyRequest(spec: XfrmPolicySpec, update: boolean): XfrmRequest {
  const info = new Uint8Array(USERPOLICY_INFO_SIZE);
  const v = new DataView(info.buffer);
  putSelector(v, 0, spec.selector);
  putLifetime(v, 56, spec.lifetime);
  v.setUint32(152, spec.priority, true);
  v.setUint8(160, DIRECTION_CODES[spec.dir]);
  v.setUint8(161, spec.action);
  const parts: Uint8Array[] = [info];
  if (spec.templates.length > 0) {
    parts.push(encodeAttribute(XFRMA_TMPL, concatBytes(spec.templates.map(userTmpl))));
  }
  return {
    type: update ? XFRM_MSG_UPDPOLICY : XFRM_MSG_NEWPOLICY,
    flags: NLM_F_ACK,
    body: concatBytes(parts),
  };
}

/**
 * DELPOLICY by selector and direction. `struct xfrm_userpolicy_id` (64):
 * sel @0 (56), index u32 @56, dir u8 @60, pad 3.
 */
export function buildDeletePolicy(selector: XfrmSelector, dir: XfrmDirection): XfrmRequest {
  const body = new Uint8Array(64);
  const v = new DataView(body.buffer);
  putSelector(v, 0, selector);
  v.setUint8(60, DIRECTION_CODES[dir]);
  return { type: XFRM_MSG_DELPOLICY, flags: NLM_F_ACK, body };
}

// ---------------------------------------------------------------- decoding

function familyFromCode(code: number): 0 | 4 | 6 | undefined {
  return code === 0 ? 0 : code === AF_INET ? 4 : code === AF_INET6 ? 6 : undefined;
}

function getAddress(body: Uint8Array, at: number, family: 4 | 6): IpAddress {
  return { family, bytes: body.slice(at, at + (family === 4 ? 4 : 16)) };
}

function getSelector(body: Uint8Array, at: number): XfrmSelector | XfrmParseError {
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const family = familyFromCode(v.getUint16(at + 40, true));
  if (family === undefined) return { error: "selector family is not inet/inet6", offset: at + 40 };
  const width = family === 4 ? 4 : 16;
  return {
    family,
    dst: body.slice(at, at + width),
    src: body.slice(at + 16, at + 16 + width),
    dport: v.getUint16(at + 32),
    dportMask: v.getUint16(at + 34),
    sport: v.getUint16(at + 36),
    sportMask: v.getUint16(at + 38),
    dstPrefix: v.getUint8(at + 42),
    srcPrefix: v.getUint8(at + 43),
    proto: v.getUint8(at + 44),
  };
}

function getLifetime(v: DataView, at: number): XfrmLifetime {
  const u = (i: number) => v.getBigUint64(at + 8 * i, true);
  return {
    softBytes: u(0),
    hardBytes: u(1),
    softPackets: u(2),
    hardPackets: u(3),
    softAddSeconds: u(4),
    hardAddSeconds: u(5),
    softUseSeconds: u(6),
    hardUseSeconds: u(7),
  };
}

function isError<T>(x: T | XfrmParseError): x is XfrmParseError {
  return typeof x === "object" && x !== null && "error" in x && "offset" in x;
}

/** Decodes `struct xfrm_usersa_info` at `at` (layout at {@link usersaInfo}). */
function getUsersaInfo(body: Uint8Array, at: number): XfrmSaInfo | XfrmParseError {
  if (body.length < at + USERSA_INFO_SIZE) {
    return { error: `xfrm_usersa_info needs ${USERSA_INFO_SIZE} bytes`, offset: at };
  }
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const selector = getSelector(body, at);
  if (isError(selector)) return selector;
  const family = familyFromCode(v.getUint16(at + 212, true));
  if (family === undefined || family === 0) {
    return { error: "SA family is not inet/inet6", offset: at + 212 };
  }
  return {
    selector,
    dst: getAddress(body, at + 56, family),
    spi: v.getUint32(at + 72),
    proto: v.getUint8(at + 76),
    src: getAddress(body, at + 80, family),
    lifetime: getLifetime(v, at + 96),
    current: {
      bytes: v.getBigUint64(at + 160, true),
      packets: v.getBigUint64(at + 168, true),
      addTime: v.getBigUint64(at + 176, true),
      useTime: v.getBigUint64(at + 184, true),
    },
    reqid: v.getUint32(at + 208, true),
    mode: v.getUint8(at + 214),
    replayWindow: v.getUint8(at + 215),
    flags: v.getUint8(at + 216),
  };
}

/** The attributes after a fixed struct, checked for framing. */
function trailingAttributes(
  body: Uint8Array,
  fixed: number,
): NetlinkAttribute[] | XfrmParseError {
  return parseAttributes(body.subarray(fixed), fixed);
}

/**
 * `struct xfrm_user_acquire` (280): id @0 (daddr @0, spi be32 @16, proto u8
 * @20), saddr @24, sel @40 (56), policy @96 (xfrm_userpolicy_info, 168:
 * its sel @96, priority @248, index @252, dir @256), aalgos @264,
 * ealgos @268, calgos @272, seq @276.
 */
function parseAcquire(body: Uint8Array): XfrmEvent | XfrmParseError {
  if (body.length < USER_ACQUIRE_SIZE) {
    return { error: `xfrm_user_acquire needs ${USER_ACQUIRE_SIZE} bytes`, offset: 0 };
  }
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const selector = getSelector(body, 40);
  if (isError(selector)) return selector;
  const policySelector = getSelector(body, 96);
  if (isError(policySelector)) return policySelector;
  const family = selector.family || policySelector.family;
  if (family === 0) return { error: "acquire names no address family", offset: 80 };
  const dirCode = v.getUint8(256);
  const dir = (Object.keys(DIRECTION_CODES) as XfrmDirection[]).find((d) =>
    DIRECTION_CODES[d] === dirCode
  );
  if (dir === undefined) return { error: `policy direction ${dirCode} is unknown`, offset: 256 };
  const attrs = trailingAttributes(body, USER_ACQUIRE_SIZE);
  if (isError(attrs)) return attrs;
  return {
    kind: "acquire",
    dst: getAddress(body, 0, family),
    proto: v.getUint8(20),
    src: getAddress(body, 24, family),
    selector,
    policySelector,
    dir,
    policyIndex: v.getUint32(252, true),
    seq: v.getUint32(276, true),
  };
}

/** `struct xfrm_user_expire` (232): state @0 (xfrm_usersa_info), hard u8 @224, pad 7. */
function parseExpire(body: Uint8Array): XfrmEvent | XfrmParseError {
  if (body.length < USER_EXPIRE_SIZE) {
    return { error: `xfrm_user_expire needs ${USER_EXPIRE_SIZE} bytes`, offset: 0 };
  }
  const sa = getUsersaInfo(body, 0);
  if (isError(sa)) return sa;
  const attrs = trailingAttributes(body, USER_EXPIRE_SIZE);
  if (isError(attrs)) return attrs;
  return { kind: "expire", hard: body[224] !== 0, sa };
}

/**
 * Decodes a message from the kernel: a NEWSA/UPDSA (the answer to GETSA or
 * ALLOCSPI), an ACQUIRE or an EXPIRE. Other types, and malformed bodies,
 * give an {@link XfrmParseError}; nothing throws.
 */
export function parseXfrmMessage(msg: NetlinkMessage): XfrmEvent | XfrmParseError {
  switch (msg.type) {
    case XFRM_MSG_NEWSA:
    case XFRM_MSG_UPDSA: {
      const sa = getUsersaInfo(msg.body, 0);
      if (isError(sa)) return sa;
      const attrs = trailingAttributes(msg.body, USERSA_INFO_SIZE);
      if (isError(attrs)) return attrs;
      return { kind: "sa", sa };
    }
    case XFRM_MSG_ACQUIRE:
      return parseAcquire(msg.body);
    case XFRM_MSG_EXPIRE:
      return parseExpire(msg.body);
    default:
      return { error: `message type ${msg.type} is not handled`, offset: 0 };
  }
}

/** True for an {@link XfrmParseError}. */
export function isXfrmParseError(x: unknown): x is XfrmParseError {
  return isError(x);
}
