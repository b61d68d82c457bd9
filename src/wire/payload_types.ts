/**
 * The decoded shape of every IKEv2 payload (RFC 7296 §3.2–§3.16, RFC 7383
 * §2.5). Byte fields produced by the decoder are views into the decoded
 * buffer, not copies: copy them if the buffer is reused.
 *
 * Because the catch-all {@link UnknownPayload} has `type: number`, comparing
 * `p.type` alone does not narrow a {@link Payload}; use {@link findPayload},
 * {@link findPayloads}, {@link notifies} or test {@link isUnknownPayload} first.
 */

import { PayloadType } from "./constants.ts";

/** A transform or configuration data attribute kept as raw bytes. */
export interface DataAttribute {
  /**
   * The raw 16-bit type field. For transform attributes the Attribute Format
   * bit is kept (0x8000 set = TV with a 2-octet value, clear = TLV) so the
   * attribute re-encodes identically. Configuration attributes have no such
   * bit (their high bit is reserved): there it is the 15-bit type.
   */
  type: number;
  value: Uint8Array;
}

/** One transform of a proposal (RFC 7296 §3.3.2). */
export interface Transform {
  /** Transform type (see `TransformType`). */
  type: number;
  /** Transform ID within that type (IANA per-type registries). */
  id: number;
  /** KEY_LENGTH attribute in bits, when present. */
  keyLength?: number;
  /** Attributes other than KEY_LENGTH, kept raw. */
  otherAttributes?: DataAttribute[];
}

/** One proposal of an SA payload (RFC 7296 §3.3.1). */
export interface Proposal {
  /** Proposal number: 1 for the first, then equal to or one more than the previous. */
  num: number;
  /** Security protocol (see `ProtocolId`). */
  protocol: number;
  /** Sender's SPI: empty for the initial IKE SA, 8 octets for IKE rekey, 4 for AH/ESP. */
  spi: Uint8Array;
  transforms: Transform[];
}

/** One traffic selector (RFC 7296 §3.13.1). Only TS_IPV4_ADDR_RANGE and TS_IPV6_ADDR_RANGE. */
export interface TrafficSelector {
  /** TS type (see `TsType`): 7 for IPv4 ranges, 8 for IPv6. */
  tsType: number;
  /** IP protocol number, 0 = any. */
  ipProtocol: number;
  startPort: number;
  endPort: number;
  /** 4 octets for IPv4, 16 for IPv6. */
  startAddress: Uint8Array;
  /** Same size as `startAddress`. */
  endAddress: Uint8Array;
}

/** Fields common to every payload: the generic header's critical bit (RFC 7296 §3.2). */
interface PayloadBase {
  /** Critical bit; decoders set it only when it was set on the wire. */
  critical?: boolean;
}

/** Security Association payload (§3.3). */
export interface SaPayload extends PayloadBase {
  type: typeof PayloadType.SA;
  /** At least one proposal. */
  proposals: Proposal[];
}

/** Key Exchange payload (§3.4). */
export interface KePayload extends PayloadBase {
  type: typeof PayloadType.KE;
  /** Key exchange method (DH group) number. */
  group: number;
  /** Public value; never empty. */
  data: Uint8Array;
}

/** Identification payload, initiator (IDi) or responder (IDr) (§3.5). */
export interface IdPayload extends PayloadBase {
  type: typeof PayloadType.IDi | typeof PayloadType.IDr;
  /** See `IdType`. */
  idType: number;
  /** Identification data; empty for ID_NULL. */
  data: Uint8Array;
}

/** Certificate or Certificate Request payload (§3.6, §3.7). */
export interface CertPayload extends PayloadBase {
  type: typeof PayloadType.CERT | typeof PayloadType.CERTREQ;
  /** See `CertEncoding`. */
  encoding: number;
  data: Uint8Array;
}

/** Authentication payload (§3.8). */
export interface AuthPayload extends PayloadBase {
  type: typeof PayloadType.AUTH;
  /** See `AuthMethod`. */
  method: number;
  data: Uint8Array;
}

/** Nonce payload (§3.9): 16..256 octets. */
export interface NoncePayload extends PayloadBase {
  type: typeof PayloadType.NONCE;
  data: Uint8Array;
}

/** Notify payload (§3.10). */
export interface NotifyPayload extends PayloadBase {
  type: typeof PayloadType.N;
  /** Protocol of the SA the SPI names, 0 when `spi` is empty. */
  protocol: number;
  /** Up to 255 octets; its length is the SPI Size field. */
  spi: Uint8Array;
  /** See `NotifyType`. */
  notifyType: number;
  data: Uint8Array;
}

/** Delete payload (§3.11). */
export interface DeletePayload extends PayloadBase {
  type: typeof PayloadType.D;
  /** See `ProtocolId`. */
  protocol: number;
  /** Octets per SPI: 0 for IKE (SPIs are in the header), 4 for AH/ESP. */
  spiSize: number;
  /** Each exactly `spiSize` octets; empty when `spiSize` is 0. */
  spis: Uint8Array[];
}

/** Vendor ID payload (§3.12). */
export interface VendorIdPayload extends PayloadBase {
  type: typeof PayloadType.V;
  data: Uint8Array;
}

/** Traffic Selector payload, initiator (TSi) or responder (TSr) (§3.13). */
export interface TsPayload extends PayloadBase {
  type: typeof PayloadType.TSi | typeof PayloadType.TSr;
  selectors: TrafficSelector[];
}

/**
 * Encrypted and Authenticated payload (§3.14), still encrypted. Must be the
 * last payload; its Next Payload field names the first inner payload.
 */
export interface EncryptedPayload extends PayloadBase {
  type: typeof PayloadType.SK;
  /** Type of the first payload inside the ciphertext. */
  innerFirst: number;
  /** IV || ciphertext || ICV, raw. */
  body: Uint8Array;
  /**
   * Decode only: offset of this payload's 4-octet generic header in the
   * buffer given to `decodeMessage`/`decodePayloads`. The AEAD associated
   * data is buf[0, offset + 4) (RFC 5282 §5.1); the ICV is the last octets of `body`.
   */
  offset?: number;
}

/** Encrypted Fragment payload (RFC 7383 §2.5). Must be the last payload. */
export interface EncryptedFragmentPayload extends PayloadBase {
  type: typeof PayloadType.SKF;
  /** First inner payload type in fragment 1; 0 in the others. */
  innerFirst: number;
  /** 1-based, at most `totalFragments`. */
  fragmentNumber: number;
  /** At least 1. */
  totalFragments: number;
  /** IV || ciphertext || ICV, raw. */
  body: Uint8Array;
  /** Decode only: offset of the generic header, as for {@link EncryptedPayload}. */
  offset?: number;
}

/** Configuration payload (§3.15). */
export interface CpPayload extends PayloadBase {
  type: typeof PayloadType.CP;
  /** See `CfgType`. */
  cfgType: number;
  /** `type` is the 15-bit attribute type (see `ConfigAttributeType`). */
  attributes: DataAttribute[];
}

/** Extensible Authentication payload (§3.16): one whole EAP message. */
export interface EapPayload extends PayloadBase {
  type: typeof PayloadType.EAP;
  data: Uint8Array;
}

/** A payload whose type this codec does not implement, kept raw (only when not critical). */
export interface UnknownPayload extends PayloadBase {
  type: number;
  unknown: true;
  /** Payload contents after the generic header. */
  body: Uint8Array;
}

/** Payload type number → its decoded shape. */
export interface PayloadByType {
  33: SaPayload;
  34: KePayload;
  35: IdPayload;
  36: IdPayload;
  37: CertPayload;
  38: CertPayload;
  39: AuthPayload;
  40: NoncePayload;
  41: NotifyPayload;
  42: DeletePayload;
  43: VendorIdPayload;
  44: TsPayload;
  45: TsPayload;
  46: EncryptedPayload;
  47: CpPayload;
  48: EapPayload;
  53: EncryptedFragmentPayload;
}

/** Payload types this codec decodes into structured values. */
export type KnownPayloadType = keyof PayloadByType;

/** Any structured (recognised) payload. */
export type KnownPayload = PayloadByType[KnownPayloadType];

/** Any payload of a chain. */
export type Payload = KnownPayload | UnknownPayload;

/** True for a payload kept raw because its type is not implemented. */
export function isUnknownPayload(p: Payload): p is UnknownPayload {
  return "unknown" in p;
}

/** The first recognised payload of `type`, typed accordingly. */
export function findPayload<T extends KnownPayloadType>(
  payloads: readonly Payload[],
  type: T,
): PayloadByType[T] | undefined {
  for (const p of payloads) {
    if (p.type === type && !isUnknownPayload(p)) return p as PayloadByType[T];
  }
  return undefined;
}

/** Every recognised payload of `type`, in order. */
export function findPayloads<T extends KnownPayloadType>(
  payloads: readonly Payload[],
  type: T,
): PayloadByType[T][] {
  return payloads.filter((p) => p.type === type && !isUnknownPayload(p)) as PayloadByType[T][];
}

/** Every Notify payload, in order. */
export function notifies(payloads: readonly Payload[]): NotifyPayload[] {
  return findPayloads(payloads, PayloadType.N);
}

/** The first Notify payload of `notifyType`. */
export function findNotify(
  payloads: readonly Payload[],
  notifyType: number,
): NotifyPayload | undefined {
  return notifies(payloads).find((n) => n.notifyType === notifyType);
}
