/**
 * HMAC (RFC 2104) over the SHA family, the base of every PRF and INTEG
 * transform swan implements.
 */
import { createHash, type Hash } from "node:crypto";

/** node:crypto names of the hashes IKEv2 pairs with HMAC. */
export type HmacHash = "sha1" | "sha256" | "sha384" | "sha512";

/** The hashes' input block lengths B (RFC 2104 §2; FIPS 180-4). */
const BLOCK_BYTES: Record<HmacHash, number> = { sha1: 64, sha256: 64, sha384: 128, sha512: 128 };

const IPAD = 0x36, OPAD = 0x5c;

/**
 * HMAC-`hash`(key, data), full length: H(K ^ opad | H(K ^ ipad | data)).
 * Built on createHash rather than createHmac: Deno's createHmac takes
 * several pooled Buffers per call, which made it the costliest part of a
 * handshake's key schedule (4.5 µs vs 2 µs per HMAC-SHA-256 here).
 */
export function hmac(hash: HmacHash, key: Uint8Array, data: Uint8Array): Uint8Array {
  const block = BLOCK_BYTES[hash];
  const pad = new Uint8Array(block);
  pad.set(key.length > block ? digest(createHash(hash).update(key)) : key);
  for (let i = 0; i < block; i++) pad[i] ^= IPAD;
  const inner = digest(createHash(hash).update(pad).update(data));
  for (let i = 0; i < block; i++) pad[i] ^= IPAD ^ OPAD;
  return digest(createHash(hash).update(pad).update(inner));
}

/**
 * The hash's output. Through hex because Deno's `digest()` copies its result
 * into a Buffer byte by byte, which costs more than encoding and decoding.
 */
function digest(h: Hash): Uint8Array {
  return Uint8Array.fromHex(h.digest("hex"));
}
