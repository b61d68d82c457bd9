/**
 * AES-192 in CBC and GCM modes. Deno's node:crypto offers aes-128/256-cbc
 * and -gcm natively but no aes-192-cbc or aes-192-gcm; it does offer
 * aes-192-ecb and aes-192-ctr, from which both modes are composed here
 * (SP 800-38A §6.2 for CBC, SP 800-38D §7 for GCM).
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { concatBytes } from "./bytes.ts";
import { constantTimeEqual } from "./constant_time.ts";
import { ghash } from "./ghash.ts";

const BLOCK = 16;
const ZERO_BLOCK = new Uint8Array(BLOCK);

function ecbEncryptor(key: Uint8Array) {
  return createCipheriv("aes-192-ecb", key, null).setAutoPadding(false);
}

/** AES-192-CBC encryption; `plaintext` must be a whole number of blocks. */
export function aes192CbcEncrypt(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  const ecb = ecbEncryptor(key);
  const out = new Uint8Array(plaintext.length);
  const block = new Uint8Array(BLOCK);
  let chain = iv;
  for (let at = 0; at < plaintext.length; at += BLOCK) {
    for (let i = 0; i < BLOCK; i++) block[i] = plaintext[at + i] ^ chain[i];
    out.set(ecb.update(block), at);
    chain = out.subarray(at, at + BLOCK);
  }
  return out;
}

/** AES-192-CBC decryption; `ciphertext` must be a whole number of blocks. */
export function aes192CbcDecrypt(
  key: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array {
  // Unlike encryption, CBC decryption is parallel: decrypt every block in
  // one native call, then XOR each with the ciphertext block before it.
  const ecb = createDecipheriv("aes-192-ecb", key, null).setAutoPadding(false);
  const out = new Uint8Array(ecb.update(ciphertext));
  for (let i = 0; i < out.length; i++) out[i] ^= i < BLOCK ? iv[i] : ciphertext[i - BLOCK];
  return out;
}

/**
 * Runs CTR mode from J0 = nonce || 0^31 || 1 over a zero block followed by
 * `data`: the first block out is E(K, J0), which masks the tag; the rest is
 * GCTR(inc32(J0), data). (The native counter carries across all 128 bits,
 * which equals inc32 for anything shorter than 2^32 blocks.)
 */
function gctr(key: Uint8Array, nonce: Uint8Array, data: Uint8Array) {
  const j0 = new Uint8Array(BLOCK);
  j0.set(nonce);
  j0[BLOCK - 1] = 1;
  const stream = createCipheriv("aes-192-ctr", key, j0).update(concatBytes(ZERO_BLOCK, data));
  return { tagMask: stream.subarray(0, BLOCK), output: stream.subarray(BLOCK) };
}

function gcmTag(
  key: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
  tagMask: Uint8Array,
): Uint8Array {
  const h = ecbEncryptor(key).update(ZERO_BLOCK);
  const tag = ghash(h, aad, ciphertext);
  for (let i = 0; i < BLOCK; i++) tag[i] ^= tagMask[i];
  return tag;
}

/** AES-192-GCM with a 96-bit nonce and 128-bit tag; returns ciphertext || tag. */
export function aes192GcmSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  const { tagMask, output } = gctr(key, nonce, plaintext);
  return concatBytes(output, gcmTag(key, aad, output, tagMask));
}

/** Opens ciphertext || tag from {@link aes192GcmSeal}; null when the tag does not verify. */
export function aes192GcmOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array,
): Uint8Array | null {
  const split = sealed.length - BLOCK;
  if (split < 0) return null;
  const ciphertext = sealed.subarray(0, split);
  const { tagMask, output } = gctr(key, nonce, ciphertext);
  const expected = gcmTag(key, aad, ciphertext, tagMask);
  return constantTimeEqual(expected, sealed.subarray(split)) ? new Uint8Array(output) : null;
}
