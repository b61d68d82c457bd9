/**
 * Framing of the Encrypted payload (RFC 7296 §3.14): the body is
 * IV || ciphertext || ICV, and the plaintext is
 * inner payloads || padding || Pad Length (1 octet). The engine does the
 * cryptography; these helpers only lay out and check the octets.
 */

import { fail, ok, type Result } from "./result.ts";

/**
 * Returns inner || padding || Pad Length, padded to a multiple of
 * `blockSize` with the fewest octets. The Pad Length octet is always present,
 * even for stream/AEAD modes (`blockSize` 1). Padding octets come from the
 * front of `padBytes` (RFC 7296 allows any value) or are zero.
 * Throws `RangeError` if `blockSize` is not 1..256 or `padBytes` is too short.
 */
export function padPlaintext(
  inner: Uint8Array,
  blockSize: number,
  padBytes?: Uint8Array,
): Uint8Array {
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 256) {
    throw new RangeError(`block size ${blockSize} is not 1..256`);
  }
  const padLength = (blockSize - ((inner.length + 1) % blockSize)) % blockSize;
  if (padBytes !== undefined && padBytes.length < padLength) {
    throw new RangeError(`${padLength} padding octets needed, ${padBytes.length} supplied`);
  }
  const out = new Uint8Array(inner.length + padLength + 1);
  out.set(inner);
  if (padBytes !== undefined) out.set(padBytes.subarray(0, padLength), inner.length);
  out[out.length - 1] = padLength;
  return out;
}

/**
 * Strips padding and the Pad Length octet from decrypted SK data, returning
 * the inner payload octets (a view of `plaintext`). Fails when the Pad
 * Length octet is missing or claims more octets than precede it.
 */
export function unpadPlaintext(plaintext: Uint8Array): Result<Uint8Array> {
  const last = plaintext.length - 1;
  if (last < 0) return fail("SK", 0, "decrypted data is empty: the Pad Length octet is missing");
  const padLength = plaintext[last];
  if (padLength > last) {
    return fail("SK", last, `pad length ${padLength} exceeds the ${last} octets before it`);
  }
  return ok(plaintext.subarray(0, last - padLength));
}

/** The three parts of an Encrypted payload body, as views of it. */
export interface EncryptedBodyParts {
  iv: Uint8Array;
  ciphertext: Uint8Array;
  icv: Uint8Array;
}

/**
 * Splits an SK/SKF body into IV, ciphertext and ICV for a cipher with
 * `ivBytes` of IV and an integrity check of `icvBytes` (the AEAD tag, or the
 * truncated MAC). Fails when the body is too short to hold both.
 */
export function splitEncryptedBody(
  body: Uint8Array,
  ivBytes: number,
  icvBytes: number,
): Result<EncryptedBodyParts> {
  if (body.length < ivBytes + icvBytes) {
    return fail(
      "SK",
      0,
      `body of ${body.length} octets cannot hold a ${ivBytes}-octet IV and ${icvBytes}-octet ICV`,
    );
  }
  const icvAt = body.length - icvBytes;
  return ok({
    iv: body.subarray(0, ivBytes),
    ciphertext: body.subarray(ivBytes, icvAt),
    icv: body.subarray(icvAt),
  });
}
