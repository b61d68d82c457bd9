/**
 * INTEG transforms against published truncated-HMAC vectors: RFC 2202 §3
 * case 5 (HMAC-SHA-1-96) and RFC 4868 §2.7.2 (AUTH256-1, AUTH384-1,
 * AUTH512-1: key 0x0b repeated to the full key length, data "Hi There").
 */
import assert from "node:assert/strict";
import {
  AUTH_HMAC_SHA1_96,
  AUTH_HMAC_SHA2_256_128,
  AUTH_HMAC_SHA2_384_192,
  AUTH_HMAC_SHA2_512_256,
  type IntegAlgorithm,
  integAlgorithm,
} from "../../src/crypto/integ.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

function integ(id: number): IntegAlgorithm {
  const found = integAlgorithm(id);
  assert.ok(found, `INTEG ${id} is registered`);
  return found;
}

const VECTORS: [number, Uint8Array, Uint8Array, string][] = [
  // RFC 2202 §3 test case 5, HMAC-SHA-1-96.
  [
    AUTH_HMAC_SHA1_96,
    new Uint8Array(20).fill(0x0c),
    ascii("Test With Truncation"),
    "4c1a03424b55e07fe7f27be1",
  ],
  // RFC 4868 §2.7.2.1 AUTH256-1.
  [
    AUTH_HMAC_SHA2_256_128,
    new Uint8Array(32).fill(0x0b),
    ascii("Hi There"),
    "198a607eb44bfbc69903a0f1cf2bbdc5",
  ],
  // RFC 4868 §2.7.2.2 AUTH384-1.
  [
    AUTH_HMAC_SHA2_384_192,
    new Uint8Array(48).fill(0x0b),
    ascii("Hi There"),
    "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973",
  ],
  // RFC 4868 §2.7.2.3 AUTH512-1.
  [
    AUTH_HMAC_SHA2_512_256,
    new Uint8Array(64).fill(0x0b),
    ascii("Hi There"),
    "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8",
  ],
];

Deno.test("INTEG compute matches RFC 2202 / RFC 4868 truncated vectors", () => {
  for (const [id, key, data, expected] of VECTORS) {
    const alg = integ(id);
    assert.equal(key.length, alg.keyBytes, `${alg.name} key length`);
    assert.equal(alg.compute(key, data).toHex(), expected, alg.name);
  }
});

Deno.test("INTEG verify accepts the vector ICV and rejects any change", () => {
  for (const [id, key, data, expected] of VECTORS) {
    const alg = integ(id);
    const icv = Uint8Array.fromHex(expected);
    assert.equal(alg.verify(key, data, icv), true, `${alg.name} accepts`);
    for (const at of [0, icv.length - 1]) {
      const bad = icv.slice();
      bad[at] ^= 0x01;
      assert.equal(alg.verify(key, data, bad), false, `${alg.name} flipped byte ${at}`);
    }
    const otherData = data.slice();
    otherData[0] ^= 0x80;
    assert.equal(alg.verify(key, otherData, icv), false, `${alg.name} other data`);
    assert.equal(alg.verify(key, data, icv.subarray(1)), false, `${alg.name} short ICV`);
    assert.equal(
      alg.verify(key, data, Uint8Array.of(...icv, 0)),
      false,
      `${alg.name} long ICV`,
    );
  }
});

Deno.test("INTEG metadata: names, key and ICV lengths", () => {
  const table: [number, string, number, number][] = [
    [AUTH_HMAC_SHA1_96, "HMAC_SHA1_96", 20, 12],
    [AUTH_HMAC_SHA2_256_128, "HMAC_SHA2_256_128", 32, 16],
    [AUTH_HMAC_SHA2_384_192, "HMAC_SHA2_384_192", 48, 24],
    [AUTH_HMAC_SHA2_512_256, "HMAC_SHA2_512_256", 64, 32],
  ];
  for (const [id, name, keyBytes, icvBytes] of table) {
    const alg = integ(id);
    assert.deepEqual([alg.id, alg.name, alg.keyBytes, alg.icvBytes], [
      id,
      name,
      keyBytes,
      icvBytes,
    ]);
    assert.equal(alg.compute(new Uint8Array(keyBytes), ascii("x")).length, icvBytes);
  }
});

Deno.test("integAlgorithm returns undefined for unimplemented ids", () => {
  // 1 AUTH_HMAC_MD5_96 and 5 AUTH_AES_XCBC_96 exist but are not implemented.
  for (const id of [0, 1, 5, 8, 9, 255]) assert.equal(integAlgorithm(id), undefined);
});
