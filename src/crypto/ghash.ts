/**
 * GHASH, the universal hash of GCM (NIST SP 800-38D §6.4), in plain
 * TypeScript. Only AES-192-GCM needs it: Deno's node:crypto has no
 * aes-192-gcm (see aes192.ts); the other GCM sizes run natively.
 */

const BLOCK = 16;
/** The reduction constant R = 11100001 || 0^120 of SP 800-38D §6.3, top word. */
const R_TOP = 0xe1000000;

/**
 * GHASH_H(A || 0^v || C || 0^u || [len(A)]64 || [len(C)]64), the value GCM
 * masks with E(K, J0) to form the tag (SP 800-38D §7.1 steps 5–6).
 */
export function ghash(h: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const hView = new DataView(h.buffer, h.byteOffset, BLOCK);
  const hWords = [0, 4, 8, 12].map((at) => hView.getUint32(at));
  const y = new Uint32Array(4);
  const block = new Uint8Array(BLOCK);
  const blockView = new DataView(block.buffer);

  const absorbBlock = (): void => {
    for (let w = 0; w < 4; w++) y[w] ^= blockView.getUint32(4 * w);
    multiplyInPlace(y, hWords);
  };
  const absorb = (data: Uint8Array): void => {
    for (let at = 0; at < data.length; at += BLOCK) {
      block.fill(0);
      block.set(data.subarray(at, at + BLOCK));
      absorbBlock();
    }
  };

  absorb(aad);
  absorb(ciphertext);
  setBitLength(blockView, 0, aad.length);
  setBitLength(blockView, 8, ciphertext.length);
  absorbBlock();

  const out = new Uint8Array(BLOCK);
  const outView = new DataView(out.buffer);
  for (let w = 0; w < 4; w++) outView.setUint32(4 * w, y[w]);
  return out;
}

/** Writes 8·`bytes` as a 64-bit big-endian integer at `offset`. */
function setBitLength(view: DataView, offset: number, bytes: number): void {
  const bits = bytes * 8;
  view.setUint32(offset, Math.floor(bits / 0x100000000));
  view.setUint32(offset + 4, bits >>> 0);
}

/**
 * x ← x · h in GF(2^128), SP 800-38D Algorithm 1. Both operands are four
 * big-endian 32-bit words; bit 0 of the block is the top bit of word 0.
 */
function multiplyInPlace(x: Uint32Array, h: number[]): void {
  let z0 = 0, z1 = 0, z2 = 0, z3 = 0;
  let v0 = h[0], v1 = h[1], v2 = h[2], v3 = h[3];
  for (let i = 0; i < 128; i++) {
    if ((x[i >>> 5] >>> (31 - (i & 31))) & 1) {
      z0 ^= v0;
      z1 ^= v1;
      z2 ^= v2;
      z3 ^= v3;
    }
    const carry = v3 & 1;
    v3 = (v3 >>> 1) | (v2 << 31);
    v2 = (v2 >>> 1) | (v1 << 31);
    v1 = (v1 >>> 1) | (v0 << 31);
    v0 = (v0 >>> 1) ^ (carry ? R_TOP : 0);
  }
  x[0] = z0;
  x[1] = z1;
  x[2] = z2;
  x[3] = z3;
}
