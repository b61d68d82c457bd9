/**
 * IKEv2 key derivation against the NIST CAVS SP 800-135 IKEv2 KDF vectors
 * (ikev2.rsp: [SHA-1] Ni/Nr 64 bits, g^ir 256 bits, DKM 1056 bits, COUNT 0,
 * and [SHA-256] likewise), as reproduced in the NSS (ike_sha1/ike_sha256
 * vectors) and Libreswan CAVP test sources. SHA-384/512 prf+ is checked
 * against an independent WebCrypto computation written from RFC 7296 §2.13.
 */
import assert from "node:assert/strict";
import {
  ENCR_AES_CBC,
  ENCR_AES_GCM_16,
  type EncrAlgorithm,
  encrAlgorithm,
} from "../../src/crypto/encr.ts";
import { AUTH_HMAC_SHA1_96, type IntegAlgorithm, integAlgorithm } from "../../src/crypto/integ.ts";
import {
  deriveChildSaKeys,
  deriveIkeSaKeys,
  prfPlus,
  rekeySkeyseed,
  skeyseed,
} from "../../src/crypto/ikev2_kdf.ts";
import {
  PRF_HMAC_SHA1,
  PRF_HMAC_SHA2_256,
  PRF_HMAC_SHA2_384,
  PRF_HMAC_SHA2_512,
  type PrfAlgorithm,
  prfAlgorithm,
} from "../../src/crypto/prf.ts";

const hex = (s: string) => Uint8Array.fromHex(s.replace(/\s+/g, ""));

function defined<T>(value: T | undefined, what: string): T {
  assert.ok(value !== undefined, `${what} is registered`);
  return value;
}
const prf = (id: number): PrfAlgorithm => defined(prfAlgorithm(id), `PRF ${id}`);
const encr = (id: number, bits: number): EncrAlgorithm =>
  defined(encrAlgorithm(id, bits), `ENCR ${id}`);
const integ = (id: number): IntegAlgorithm => defined(integAlgorithm(id), `INTEG ${id}`);

/** CAVS [SHA-1] COUNT = 0. */
const SHA1 = {
  ni: hex("32b50d5f4a3763f3"),
  nr: hex("9206a04b26564cb1"),
  gir: hex("4b2c1f971981a8ad8d0abeafabf38cf75fc8349c148142465ed9c8b516b8be52"),
  girNew: hex("863f3c9d06efd39d2b907b97f8699e5dd5251ef64a2a176f36ee40c87d4f9330"),
  spiI: hex("34c9e7c188868785"),
  spiR: hex("3ff77d760d2b2199"),
  skeyseed: "a9a7b222b59f8f48645f28a1db5b5f5d7479cba7",
  dkm: hex(
    "a14293677cc80ff8f9cc0eee30d895da9d8f405666e30ef0dfcb63c634a46002" +
      "a2a63080e514a062768b76606f9fa5e992204fc5a670bde3f10d6b027113936a" +
      "5c55b648a194ae587b0088d52204b702c979fa280870d2ed41efa9c549fd1119" +
      "8af1670b143d384bd275c5f594cf266b05ebadca855e4249520a441a81157435" +
      "a7a56cc4",
  ),
  dkmChild: hex(
    "8059e3ee8810e6c3a91bc8bcd2a7a41151b8d0e6ae239c7b38093ad85ef4c581" +
      "1a8e7b5d1cdabd9560b2d5e092d1f24e2d4b85eccdf0ad0dc9abd94b51ee7181" +
      "4ca6dbc8bb51b6309f5b9545c7eb35cf5580b1e521a8fe20754a2d883ba0c2cf" +
      "285f524aea6545b33106bc03e614296d319d41d4b50b3f510b1c0a22f3e66499" +
      "4d234cb4",
  ),
  dkmChildDh: hex(
    "bb43244c1860ad65ee1e211ffe8bb3661750c8f89cb9f547df7f4fa61d373016" +
      "28190e38c66232eab4b3ab14c400a5197dd3730ed4820a8a10394d51e1c04000" +
      "52f63ebd36b0e7ef53aaed31eba4a5080d7d4b5666023a8bbb5ffb7857240f9a" +
      "05884d1b7d2f933708450b7b3288f1fc863ab49fa901227cffc06e27899c7054" +
      "d56fd74c",
  ),
  skeyseedRekey: "63e81194946ebd05df7df5ebf5d8750056bf1f1d",
};

/** CAVS [SHA-256] (NSS ike_sha256 vectors 6–8). */
const SHA256 = {
  ni: hex("3f302be1abcb28e1"),
  nr: hex("8c332ee006064c9b"),
  gir: hex("0f4d257d7a58fc4545c7d7a88119eee5d5c9690c5b4c989171d3abbfd99d1d29"),
  girNew: hex("25f3b12d6f282739256e39bf54eda53b60ffcf379bb7bcc90c27b4c4c578616c"),
  spiI: hex("40dac39e1e1a8640"),
  spiR: hex("8619a1cf9a6e4c07"),
  skeyseed: "5f00d1bd2c58ec224b1e6b71fa0f19a1faa7a193952c444411b47c1a9d8ba6fe",
  dkm: hex(
    "0b137d669b0947d7d026d593f0305ad401ff0c471357d695778a9c7f4b4869ec" +
      "e98aca531188d16041b3bb936d2dbb3b4993a6e768a809160de45d0283f273a6" +
      "cdf6854379e31be72b8d3d1fa990cf9c5b015ca9f918a7df6253c958114a09d4" +
      "e1c19bdcd4db14b29d98db1a74ad405c588662c14a04d0d36aa4ab55e90f8986" +
      "d12d4aad",
  ),
  skeyseedRekey: "2d63f6debc92048b4fef3889c4c99ca67d6496e0fac14a2bca9a2d6566ff2398",
};

Deno.test("CAVS vectors are the published lengths", () => {
  for (const dkm of [SHA1.dkm, SHA1.dkmChild, SHA1.dkmChildDh, SHA256.dkm]) {
    assert.equal(dkm.length, 132);
  }
});

Deno.test("SKEYSEED = prf(Ni | Nr, g^ir): CAVS SHA-1 and SHA-256", () => {
  assert.equal(skeyseed(prf(PRF_HMAC_SHA1), SHA1.ni, SHA1.nr, SHA1.gir).toHex(), SHA1.skeyseed);
  assert.equal(
    skeyseed(prf(PRF_HMAC_SHA2_256), SHA256.ni, SHA256.nr, SHA256.gir).toHex(),
    SHA256.skeyseed,
  );
});

Deno.test("prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) = DKM: CAVS SHA-1 and SHA-256, full and truncated", () => {
  for (const [id, v] of [[PRF_HMAC_SHA1, SHA1], [PRF_HMAC_SHA2_256, SHA256]] as const) {
    const seed = Uint8Array.of(...v.ni, ...v.nr, ...v.spiI, ...v.spiR);
    for (const length of [132, 40, 32, 15, 1, 0]) {
      const got = prfPlus(prf(id), hex(v.skeyseed), seed, length);
      assert.equal(got.toHex(), v.dkm.subarray(0, length).toHex(), `PRF ${id}, ${length} bytes`);
    }
  }
});

Deno.test("deriveIkeSaKeys cuts the CAVS SHA-1 DKM into SK_d|SK_ai|SK_ar|SK_ei|SK_er|SK_pi|SK_pr", () => {
  // HMAC_SHA1 (20) + HMAC_SHA1_96 keys (20) + AES_CBC_128 keys (16) use exactly 132 bytes.
  const keys = deriveIkeSaKeys(
    prf(PRF_HMAC_SHA1),
    encr(ENCR_AES_CBC, 128),
    integ(AUTH_HMAC_SHA1_96),
    hex(SHA1.skeyseed),
    SHA1.ni,
    SHA1.nr,
    SHA1.spiI,
    SHA1.spiR,
  );
  const at = (from: number, to: number) => SHA1.dkm.slice(from, to);
  assert.deepEqual(keys, {
    skD: at(0, 20),
    skAi: at(20, 40),
    skAr: at(40, 60),
    skEi: at(60, 76),
    skEr: at(76, 92),
    skPi: at(92, 112),
    skPr: at(112, 132),
  });
});

Deno.test("deriveIkeSaKeys with an AEAD: no SK_a, SK_e is key || salt", () => {
  const keys = deriveIkeSaKeys(
    prf(PRF_HMAC_SHA1),
    encr(ENCR_AES_GCM_16, 128),
    undefined,
    hex(SHA1.skeyseed),
    SHA1.ni,
    SHA1.nr,
    SHA1.spiI,
    SHA1.spiR,
  );
  const at = (from: number, to: number) => SHA1.dkm.slice(from, to);
  assert.deepEqual(keys, {
    skD: at(0, 20),
    skAi: new Uint8Array(0),
    skAr: new Uint8Array(0),
    skEi: at(20, 40),
    skEr: at(40, 60),
    skPi: at(60, 80),
    skPr: at(80, 100),
  });
});

Deno.test("deriveChildSaKeys: CAVS SHA-1 DKM(Child SA) and DKM(Child SA D-H)", () => {
  const sha1 = prf(PRF_HMAC_SHA1);
  const skD = SHA1.dkm.slice(0, 20);
  // AES_CBC_128 (16) + HMAC_SHA1_96 (20) per direction: the first 72 bytes.
  const cbc = encr(ENCR_AES_CBC, 128);
  const hmac = integ(AUTH_HMAC_SHA1_96);
  for (const [gir, dkm] of [[undefined, SHA1.dkmChild], [SHA1.girNew, SHA1.dkmChildDh]] as const) {
    const keys = deriveChildSaKeys(sha1, skD, cbc, hmac, SHA1.ni, SHA1.nr, gir);
    assert.deepEqual(keys, {
      encrI: dkm.slice(0, 16),
      integI: dkm.slice(16, 36),
      encrR: dkm.slice(36, 52),
      integR: dkm.slice(52, 72),
    }, gir ? "with g^ir (new)" : "without PFS");
  }
  // AES_GCM_16_256 takes 32 key + 4 salt bytes per direction and no integrity keys.
  const gcm = deriveChildSaKeys(sha1, skD, encr(ENCR_AES_GCM_16, 256), undefined, SHA1.ni, SHA1.nr);
  assert.deepEqual(gcm, {
    encrI: SHA1.dkmChild.slice(0, 36),
    integI: new Uint8Array(0),
    encrR: SHA1.dkmChild.slice(36, 72),
    integR: new Uint8Array(0),
  });
});

Deno.test("SKEYSEED(Rekey) = prf(SK_d (old), g^ir (new) | Ni | Nr): CAVS SHA-1 and SHA-256", () => {
  assert.equal(
    rekeySkeyseed(prf(PRF_HMAC_SHA1), SHA1.dkm.slice(0, 20), SHA1.girNew, SHA1.ni, SHA1.nr).toHex(),
    SHA1.skeyseedRekey,
  );
  assert.equal(
    rekeySkeyseed(
      prf(PRF_HMAC_SHA2_256),
      SHA256.dkm.slice(0, 32),
      SHA256.girNew,
      SHA256.ni,
      SHA256.nr,
    )
      .toHex(),
    SHA256.skeyseedRekey,
  );
});

/** prf+ straight from RFC 7296 §2.13, on WebCrypto's HMAC instead of node:crypto's. */
async function webCryptoPrfPlus(
  hash: string,
  key: Uint8Array<ArrayBuffer>,
  seed: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash }, false, ["sign"]);
  const out: number[] = [];
  let t: number[] = [];
  for (let n = 1; out.length < length; n++) {
    t = [...new Uint8Array(await crypto.subtle.sign("HMAC", k, Uint8Array.of(...t, ...seed, n)))];
    out.push(...t);
  }
  return Uint8Array.from(out.slice(0, length));
}

Deno.test("prf+ with HMAC_SHA2_384/512 equals an independent WebCrypto computation", async () => {
  const key = Uint8Array.from({ length: 48 }, (_, i) => i);
  const seed = Uint8Array.from({ length: 40 }, (_, i) => 0xff - i);
  for (
    const [id, hash] of [[PRF_HMAC_SHA2_384, "SHA-384"], [PRF_HMAC_SHA2_512, "SHA-512"]] as const
  ) {
    for (const length of [1, 63, 64, 65, 300]) {
      assert.deepEqual(
        prfPlus(prf(id), key, seed, length),
        await webCryptoPrfPlus(hash, key, seed, length),
        `${hash}, ${length} bytes`,
      );
    }
  }
});

Deno.test("prf+ stops at 255 blocks (RFC 7296 §2.13)", () => {
  const sha1 = prf(PRF_HMAC_SHA1);
  const key = new Uint8Array(20);
  assert.equal(prfPlus(sha1, key, new Uint8Array(0), 255 * 20).length, 255 * 20);
  assert.throws(() => prfPlus(sha1, key, new Uint8Array(0), 255 * 20 + 1), RangeError);
  assert.throws(() => prfPlus(sha1, key, new Uint8Array(0), -1), RangeError);
});
