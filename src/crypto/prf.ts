/**
 * IKEv2 pseudorandom functions (Transform Type 2, RFC 7296 §3.3.2), keyed by
 * IANA id. Only the HMAC PRFs (RFC 2104, RFC 4868) are implemented.
 */
import { hmac, type HmacHash } from "./hmac.ts";

/** PRF_HMAC_SHA1 (RFC 2104). */
export const PRF_HMAC_SHA1 = 2;
/** PRF_HMAC_SHA2_256 (RFC 4868). */
export const PRF_HMAC_SHA2_256 = 5;
/** PRF_HMAC_SHA2_384 (RFC 4868). */
export const PRF_HMAC_SHA2_384 = 6;
/** PRF_HMAC_SHA2_512 (RFC 4868). */
export const PRF_HMAC_SHA2_512 = 7;

/** A negotiated PRF. */
export interface PrfAlgorithm {
  /** IANA Transform Type 2 id. */
  id: number;
  /** Libreswan's log name, e.g. `HMAC_SHA2_256`. */
  name: string;
  /**
   * Preferred key length: the length of SK_d, SK_pi and SK_pr (RFC 7296
   * §2.14). For HMAC PRFs it equals the output length (RFC 4868 §2.1.2).
   */
  keyBytes: number;
  /** Output length of one PRF call. */
  outputBytes: number;
  /** prf(key, data). HMAC accepts any key length. */
  compute(key: Uint8Array, data: Uint8Array): Uint8Array;
}

function hmacPrf(id: number, name: string, hash: HmacHash, outputBytes: number): PrfAlgorithm {
  return {
    id,
    name,
    keyBytes: outputBytes,
    outputBytes,
    compute: (key, data) => hmac(hash, key, data),
  };
}

const PRFS = new Map<number, PrfAlgorithm>(
  [
    hmacPrf(PRF_HMAC_SHA1, "HMAC_SHA1", "sha1", 20),
    hmacPrf(PRF_HMAC_SHA2_256, "HMAC_SHA2_256", "sha256", 32),
    hmacPrf(PRF_HMAC_SHA2_384, "HMAC_SHA2_384", "sha384", 48),
    hmacPrf(PRF_HMAC_SHA2_512, "HMAC_SHA2_512", "sha512", 64),
  ].map((prf) => [prf.id, prf]),
);

/** The PRF with IANA id `id`, or undefined when swan does not implement it. */
export function prfAlgorithm(id: number): PrfAlgorithm | undefined {
  return PRFS.get(id);
}
