/**
 * Entropy sources: the system source fills large buffers; the seeded source
 * replays exactly and looks uniform.
 */
import assert from "node:assert/strict";
import { drawBytes, seededEntropy, systemEntropy } from "../../src/crypto/random.ts";

/** Pearson's chi-square statistic of the byte histogram against uniform. */
function chiSquare(bytes: Uint8Array): number {
  const counts = new Array<number>(256).fill(0);
  for (const b of bytes) counts[b]++;
  const expected = bytes.length / 256;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}

// With 255 degrees of freedom the statistic has mean 255 and standard
// deviation about 22.6; 400 is more than six deviations out.
const CHI_SQUARE_LIMIT = 400;

Deno.test("systemEntropy fills buffers beyond getRandomValues' 65536-byte limit", () => {
  const a = drawBytes(systemEntropy, 200_000);
  const b = drawBytes(systemEntropy, 200_000);
  assert.equal(a.length, 200_000);
  // Every 64 KiB chunk, including the short last one, was written.
  for (const at of [0, 65_536, 131_072, 196_608]) {
    assert.ok(a.subarray(at, at + 3000).some((x) => x !== 0), `chunk at ${at}`);
  }
  assert.notDeepEqual(a, b);
  assert.ok(chiSquare(a) < CHI_SQUARE_LIMIT);
});

Deno.test("seededEntropy replays the same bytes for the same seed", () => {
  for (const seed of [0, 1, -1, 0x7fffffff, 123456789]) {
    const a = drawBytes(seededEntropy(seed), 1001);
    const b = drawBytes(seededEntropy(seed), 1001);
    assert.deepEqual(a, b, `seed ${seed}`);
  }
  assert.notDeepEqual(drawBytes(seededEntropy(1), 64), drawBytes(seededEntropy(2), 64));
  assert.notDeepEqual(
    drawBytes(seededEntropy(0), 64),
    new Uint8Array(64),
    "seed 0 is not degenerate",
  );
});

Deno.test("seededEntropy continues its stream across calls and fills odd lengths", () => {
  const entropy = seededEntropy(42);
  const first = drawBytes(entropy, 3);
  const second = drawBytes(entropy, 3);
  assert.notDeepEqual(first, second);
  const buf = new Uint8Array(7).fill(0xaa);
  seededEntropy(9).fill(buf);
  assert.deepEqual(buf, drawBytes(seededEntropy(9), 7));
});

Deno.test("seededEntropy output looks uniform", () => {
  const bytes = drawBytes(seededEntropy(2024), 1 << 18);
  assert.ok(chiSquare(bytes) < CHI_SQUARE_LIMIT, `chi-square ${chiSquare(bytes)}`);
  let ones = 0;
  for (const b of bytes) for (let bit = 0; bit < 8; bit++) ones += (b >> bit) & 1;
  const bits = bytes.length * 8;
  // Binomial standard deviation is sqrt(bits)/2 ≈ 724; allow six of them.
  assert.ok(Math.abs(ones - bits / 2) < 6 * Math.sqrt(bits) / 2, `ones ${ones} of ${bits}`);
});
