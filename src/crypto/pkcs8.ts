/**
 * Imports raw private values as node:crypto keys through minimal DER
 * PKCS#8 encodings, the only form in which node:crypto accepts a bare EC
 * scalar or X25519/X448 private key. Used to build key pairs from chosen
 * private values (test vectors, seeded runs).
 */
import { Buffer } from "node:buffer";
import { createPrivateKey, type KeyObject } from "node:crypto";

/** DER encodings (tag, length, value) of the algorithm and curve OIDs. */
const OID = {
  /** id-ecPublicKey, 1.2.840.10045.2.1 (RFC 5480). */
  ecPublicKey: Uint8Array.of(0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01),
  /** secp256r1 / prime256v1, 1.2.840.10045.3.1.7 (RFC 5480). */
  "P-256": Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07),
  /** secp384r1, 1.3.132.0.34 (RFC 5480). */
  "P-384": Uint8Array.of(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22),
  /** secp521r1, 1.3.132.0.35 (RFC 5480). */
  "P-521": Uint8Array.of(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23),
  /** id-X25519, 1.3.101.110 (RFC 8410). */
  X25519: Uint8Array.of(0x06, 0x03, 0x2b, 0x65, 0x6e),
  /** id-X448, 1.3.101.111 (RFC 8410). */
  X448: Uint8Array.of(0x06, 0x03, 0x2b, 0x65, 0x6f),
} as const;

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;

/** The NIST prime curves of RFC 5903. */
export type EcCurve = "P-256" | "P-384" | "P-521";
/** The Montgomery curves of RFC 8031. */
export type MontgomeryCurve = "X25519" | "X448";

/** DER TLV with a short-form length: every structure built here stays below 128 bytes. */
function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const length = contents.reduce((sum, part) => sum + part.length, 0);
  if (length > 127) throw new RangeError(`DER value of ${length} bytes needs a long-form length`);
  const out = new Uint8Array(2 + length);
  out[0] = tag;
  out[1] = length;
  let offset = 2;
  for (const part of contents) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function privateKeyInfo(algorithm: Uint8Array, privateKey: Uint8Array): Uint8Array {
  return tlv(
    SEQUENCE,
    tlv(INTEGER, Uint8Array.of(0)),
    algorithm,
    tlv(OCTET_STRING, privateKey),
  );
}

function importPkcs8(der: Uint8Array): KeyObject {
  return createPrivateKey({
    key: Buffer.from(der.buffer, der.byteOffset, der.length),
    format: "der",
    type: "pkcs8",
  });
}

/**
 * The EC private key with big-endian `scalar` on `curve`, via an RFC 5915
 * ECPrivateKey without the public point (node derives it). Throws when the
 * scalar is 0 or not below the curve order.
 */
export function importEcPrivateKey(curve: EcCurve, scalar: Uint8Array): KeyObject {
  return importPkcs8(privateKeyInfo(
    tlv(SEQUENCE, OID.ecPublicKey, OID[curve]),
    tlv(SEQUENCE, tlv(INTEGER, Uint8Array.of(1)), tlv(OCTET_STRING, scalar)),
  ));
}

/** The X25519/X448 private key `privateKey` (RFC 8410 §7 OneAsymmetricKey). */
export function importMontgomeryPrivateKey(
  curve: MontgomeryCurve,
  privateKey: Uint8Array,
): KeyObject {
  return importPkcs8(privateKeyInfo(tlv(SEQUENCE, OID[curve]), tlv(OCTET_STRING, privateKey)));
}
