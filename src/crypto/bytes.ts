/**
 * Byte-array helpers shared by the crypto modules.
 */

/** Concatenates byte arrays into one new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * A new array of `length` bytes holding `bytes` right-aligned behind zeros.
 * IKEv2 pads KE data and g^ir this way (RFC 7296 §3.4, RFC 5903 §7), while
 * node:crypto drops leading zero bytes. Never truncates: a longer input is
 * returned as a plain copy.
 */
export function leftPad(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(Math.max(length, bytes.length));
  out.set(bytes, out.length - bytes.length);
  return out;
}
