/**
 * Sources of random bytes. The engine takes randomness only through an
 * {@link Entropy} so that simulations can replay a run exactly.
 */

/** Something that fills buffers with random bytes. */
export interface Entropy {
  /** Overwrites every byte of `buf`. */
  fill(buf: Uint8Array): void;
}

/** `crypto.getRandomValues` refuses requests above this many bytes. */
const GET_RANDOM_VALUES_LIMIT = 65536;

/** The operating system's CSPRNG (`crypto.getRandomValues`). Use this in production. */
export const systemEntropy: Entropy = {
  fill(buf: Uint8Array): void {
    for (let offset = 0; offset < buf.length; offset += GET_RANDOM_VALUES_LIMIT) {
      crypto.getRandomValues(buf.subarray(offset, offset + GET_RANDOM_VALUES_LIMIT));
    }
  },
};

/**
 * A deterministic generator (xoshiro128**, seeded through splitmix32) for
 * reproducible simulation tests: the same seed always yields the same bytes.
 *
 * NOT FOR PRODUCTION. Its output is predictable from the seed, so keys,
 * nonces and SPIs drawn from it protect nothing.
 */
export function seededEntropy(seed: number): Entropy {
  let mix = seed | 0;
  const splitmix32 = (): number => {
    mix = (mix + 0x9e3779b9) | 0;
    let z = mix;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return z ^ (z >>> 16);
  };
  const s = Uint32Array.of(splitmix32(), splitmix32(), splitmix32(), splitmix32());
  const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));
  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9);
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  };
  return {
    fill(buf: Uint8Array): void {
      for (let i = 0; i < buf.length; i += 4) {
        const word = next();
        for (let j = 0; j < 4 && i + j < buf.length; j++) buf[i + j] = word >>> (8 * j);
      }
    },
  };
}

/** `length` fresh bytes from `entropy`. */
export function drawBytes(entropy: Entropy, length: number): Uint8Array {
  const buf = new Uint8Array(length);
  entropy.fill(buf);
  return buf;
}
