/**
 * IKEv2 integrity transforms (Transform Type 3, RFC 7296 §3.3.2), keyed by
 * IANA id: truncated HMACs (RFC 2404, RFC 4868).
 */
import { constantTimeEqual } from "./constant_time.ts";
import { hmac, type HmacHash } from "./hmac.ts";

/** AUTH_HMAC_SHA1_96 (RFC 2404). */
export const AUTH_HMAC_SHA1_96 = 2;
/** AUTH_HMAC_SHA2_256_128 (RFC 4868). */
export const AUTH_HMAC_SHA2_256_128 = 12;
/** AUTH_HMAC_SHA2_384_192 (RFC 4868). */
export const AUTH_HMAC_SHA2_384_192 = 13;
/** AUTH_HMAC_SHA2_512_256 (RFC 4868). */
export const AUTH_HMAC_SHA2_512_256 = 14;

/** A negotiated integrity algorithm. */
export interface IntegAlgorithm {
  /** IANA Transform Type 3 id. */
  id: number;
  /** Libreswan's log name, e.g. `HMAC_SHA2_256_128`. */
  name: string;
  /** Key length: the length of SK_ai/SK_ar and of ESP integrity keys. */
  keyBytes: number;
  /** Length of the truncated ICV on the wire. */
  icvBytes: number;
  /** The truncated ICV of `data`. */
  compute(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** Whether `icv` is the ICV of `data`, compared in constant time; false on a wrong length. */
  verify(key: Uint8Array, data: Uint8Array, icv: Uint8Array): boolean;
}

function hmacInteg(
  id: number,
  name: string,
  hash: HmacHash,
  keyBytes: number,
  icvBytes: number,
): IntegAlgorithm {
  const compute = (key: Uint8Array, data: Uint8Array): Uint8Array =>
    hmac(hash, key, data).slice(0, icvBytes);
  return {
    id,
    name,
    keyBytes,
    icvBytes,
    compute,
    verify: (key, data, icv) => constantTimeEqual(compute(key, data), icv),
  };
}

const INTEGS = new Map<number, IntegAlgorithm>(
  [
    hmacInteg(AUTH_HMAC_SHA1_96, "HMAC_SHA1_96", "sha1", 20, 12),
    hmacInteg(AUTH_HMAC_SHA2_256_128, "HMAC_SHA2_256_128", "sha256", 32, 16),
    hmacInteg(AUTH_HMAC_SHA2_384_192, "HMAC_SHA2_384_192", "sha384", 48, 24),
    hmacInteg(AUTH_HMAC_SHA2_512_256, "HMAC_SHA2_512_256", "sha512", 64, 32),
  ].map((integ) => [integ.id, integ]),
);

/** The integrity algorithm with IANA id `id`, or undefined when swan does not implement it. */
export function integAlgorithm(id: number): IntegAlgorithm | undefined {
  return INTEGS.get(id);
}
