/** Encrypted payload plaintext framing (RFC 7296 §3.14) with hand-computed padding. */

import assert from "node:assert/strict";
import { padPlaintext, splitEncryptedBody, unpadPlaintext } from "../../src/wire/sk_layout.ts";

const seq = (n: number, from = 1) => Uint8Array.from({ length: n }, (_, i) => from + i);

Deno.test("sk_layout: pads to the block size with a trailing Pad Length octet", () => {
  // 10 octets + 5 padding + 1 Pad Length = 16
  assert.deepEqual(padPlaintext(seq(10), 16), Uint8Array.from([...seq(10), 0, 0, 0, 0, 0, 5]));
  // 15 octets + Pad Length 0 = 16
  assert.deepEqual(padPlaintext(seq(15), 16), Uint8Array.from([...seq(15), 0]));
  // 16 octets need a whole extra block: 15 padding + Pad Length 15
  const full = padPlaintext(seq(16), 16);
  assert.equal(full.length, 32);
  assert.equal(full[31], 15);
  // 3DES-style 8-octet blocks, empty inner chain: 7 padding + Pad Length 7
  assert.deepEqual(padPlaintext(new Uint8Array(0), 8), Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 7]));
});

Deno.test("sk_layout: block size 1 (AEAD/stream) still carries the Pad Length octet", () => {
  assert.deepEqual(padPlaintext(seq(3), 1), Uint8Array.from([1, 2, 3, 0]));
  assert.deepEqual(padPlaintext(new Uint8Array(0), 1), Uint8Array.from([0]));
});

Deno.test("sk_layout: padding octets come from padBytes when given", () => {
  const pad = Uint8Array.from([0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6]);
  assert.deepEqual(
    padPlaintext(seq(4), 8, pad),
    Uint8Array.from([1, 2, 3, 4, 0xa1, 0xa2, 0xa3, 3]),
  );
  assert.throws(() => padPlaintext(seq(4), 16, pad), RangeError); // needs 11 padding octets
  assert.throws(() => padPlaintext(seq(4), 0), RangeError);
  assert.throws(() => padPlaintext(seq(4), 257), RangeError);
  assert.throws(() => padPlaintext(seq(4), 1.5), RangeError);
});

Deno.test("sk_layout: unpad inverts pad for every length and block size", () => {
  for (const block of [1, 4, 8, 16]) {
    for (let n = 0; n <= 40; n++) {
      const inner = seq(n, 7);
      const padded = padPlaintext(inner, block);
      assert.equal(padded.length % block, 0);
      const r = unpadPlaintext(padded);
      assert.ok(r.ok);
      assert.deepEqual(r.value, inner);
    }
  }
});

Deno.test("sk_layout: unpad rejects a missing or oversized Pad Length", () => {
  const empty = unpadPlaintext(new Uint8Array(0));
  assert.ok(!empty.ok);
  assert.equal(empty.error.payload, "SK");

  const allPadding = unpadPlaintext(Uint8Array.from([1, 2, 3, 3])); // 3 padding octets: all that precede it
  assert.ok(allPadding.ok);
  assert.equal(allPadding.value.length, 0);
  const bad = unpadPlaintext(Uint8Array.from([1, 2, 3, 4])); // claims 4 padding, only 3 before
  assert.ok(!bad.ok);
  assert.equal(bad.error.offset, 3);
});

Deno.test("sk_layout: splits an SK body into IV, ciphertext and ICV", () => {
  const body = seq(37, 0); // 8 IV + 13 ciphertext + 16 ICV
  const r = splitEncryptedBody(body, 8, 16);
  assert.ok(r.ok);
  assert.deepEqual(r.value.iv, seq(8, 0));
  assert.deepEqual(r.value.ciphertext, seq(13, 8));
  assert.deepEqual(r.value.icv, seq(16, 21));
  const short = splitEncryptedBody(seq(23), 8, 16);
  assert.ok(!short.ok);
  assert.equal(short.error.payload, "SK");
  const exact = splitEncryptedBody(seq(24), 8, 16);
  assert.ok(exact.ok);
  assert.equal(exact.value.ciphertext.length, 0);
});
