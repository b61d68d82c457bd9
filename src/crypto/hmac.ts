/**
 * HMAC (RFC 2104) over the SHA family, the base of every PRF and INTEG
 * transform swan implements.
 */
import { createHmac } from "node:crypto";

/** node:crypto names of the hashes IKEv2 pairs with HMAC. */
export type HmacHash = "sha1" | "sha256" | "sha384" | "sha512";

/** HMAC-`hash`(key, data), full length. */
export function hmac(hash: HmacHash, key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac(hash, key).update(data).digest());
}
