/**
 * PRF transforms against the published HMAC vectors: RFC 2202 §3 (HMAC-SHA-1)
 * and RFC 4231 §4 (HMAC-SHA-256/384/512).
 */
import assert from "node:assert/strict";
import {
  PRF_HMAC_SHA1,
  PRF_HMAC_SHA2_256,
  PRF_HMAC_SHA2_384,
  PRF_HMAC_SHA2_512,
  type PrfAlgorithm,
  prfAlgorithm,
} from "../../src/crypto/prf.ts";

const ascii = (s: string) => new TextEncoder().encode(s);
const repeat = (byte: number, n: number) => new Uint8Array(n).fill(byte);
const counting = (n: number) => Uint8Array.from({ length: n }, (_, i) => i + 1);

function prf(id: number): PrfAlgorithm {
  const found = prfAlgorithm(id);
  assert.ok(found, `PRF ${id} is registered`);
  return found;
}

// RFC 2202 §3, test cases 1–7.
const RFC2202_SHA1: [Uint8Array, Uint8Array, string][] = [
  [repeat(0x0b, 20), ascii("Hi There"), "b617318655057264e28bc0b6fb378c8ef146be00"],
  [
    ascii("Jefe"),
    ascii("what do ya want for nothing?"),
    "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
  ],
  [repeat(0xaa, 20), repeat(0xdd, 50), "125d7342b9ac11cd91a39af48aa17b4f63f175d3"],
  [counting(25), repeat(0xcd, 50), "4c9007f4026250c6bc8414f9bf50c86c2d7235da"],
  [repeat(0x0c, 20), ascii("Test With Truncation"), "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"],
  [
    repeat(0xaa, 80),
    ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
    "aa4ae5e15272d00e95705637ce8a3b55ed402112",
  ],
  [
    repeat(0xaa, 80),
    ascii("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"),
    "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
  ],
];

// RFC 4231 §4.2–4.8 inputs; case 5 publishes only the first 128 bits.
const RFC4231_INPUTS: [Uint8Array, Uint8Array][] = [
  [repeat(0x0b, 20), ascii("Hi There")],
  [ascii("Jefe"), ascii("what do ya want for nothing?")],
  [repeat(0xaa, 20), repeat(0xdd, 50)],
  [counting(25), repeat(0xcd, 50)],
  [repeat(0x0c, 20), ascii("Test With Truncation")],
  [repeat(0xaa, 131), ascii("Test Using Larger Than Block-Size Key - Hash Key First")],
  [
    repeat(0xaa, 131),
    ascii(
      "This is a test using a larger than block-size key and a larger than block-size data. " +
        "The key needs to be hashed before being used by the HMAC algorithm.",
    ),
  ],
];

const RFC4231_OUTPUTS: Record<number, string[]> = {
  [PRF_HMAC_SHA2_256]: [
    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    "a3b6167473100ee06e0c796c2955552b",
    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
  ],
  [PRF_HMAC_SHA2_384]: [
    "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
    "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
    "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
    "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
    "3abf34c3503b2a23a46efc619baef897",
    "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
    "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
  ],
  [PRF_HMAC_SHA2_512]: [
    "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
    "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
    "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
    "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
    "415fad6271580a531d4179bc891d87a6",
    "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
    "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
  ],
};

Deno.test("PRF_HMAC_SHA1 matches RFC 2202 test cases 1-7", () => {
  const sha1 = prf(PRF_HMAC_SHA1);
  for (const [i, [key, data, expected]] of RFC2202_SHA1.entries()) {
    assert.equal(sha1.compute(key, data).toHex(), expected, `case ${i + 1}`);
  }
});

Deno.test("PRF_HMAC_SHA2_* match RFC 4231 test cases 1-7", () => {
  for (const [id, outputs] of Object.entries(RFC4231_OUTPUTS)) {
    const sha2 = prf(Number(id));
    for (const [i, [key, data]] of RFC4231_INPUTS.entries()) {
      const expected = outputs[i];
      // Case 5 publishes a 128-bit truncation; compare that prefix.
      const got = sha2.compute(key, data).toHex().slice(0, expected.length);
      assert.equal(got, expected, `${sha2.name} case ${i + 1}`);
    }
  }
});

Deno.test("PRF metadata: key length = output length = full digest", () => {
  const table: [number, string, number][] = [
    [PRF_HMAC_SHA1, "HMAC_SHA1", 20],
    [PRF_HMAC_SHA2_256, "HMAC_SHA2_256", 32],
    [PRF_HMAC_SHA2_384, "HMAC_SHA2_384", 48],
    [PRF_HMAC_SHA2_512, "HMAC_SHA2_512", 64],
  ];
  for (const [id, name, bytes] of table) {
    const p = prf(id);
    assert.equal(p.id, id);
    assert.equal(p.name, name);
    assert.equal(p.keyBytes, bytes);
    assert.equal(p.outputBytes, bytes);
    assert.equal(p.compute(new Uint8Array(3), new Uint8Array(0)).length, bytes);
  }
});

Deno.test("prfAlgorithm returns undefined for unimplemented ids", () => {
  // 4 PRF_AES128_XCBC and 8 PRF_AES128_CMAC exist but are not implemented.
  for (const id of [0, 1, 3, 4, 8, 9, 255]) assert.equal(prfAlgorithm(id), undefined);
});
