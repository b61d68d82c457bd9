/**
 * ENCR transforms against published vectors:
 * - AES-CBC: RFC 3602 §4 cases 1–4 (128-bit) and NIST SP 800-38A F.2.1,
 *   F.2.3, F.2.5 (CBC-AES128/192/256).
 * - AES-GCM: McGrew–Viega "The Galois/Counter Mode of Operation" test
 *   cases 3, 4 (128-bit), 7–10 (192-bit), 16 (256-bit); nonce = salt || IV.
 * - ChaCha20-Poly1305: RFC 8439 §2.8.2 and the IKEv2 example of RFC 7634
 *   Appendix B (an encrypted INFORMATIONAL message).
 */
import assert from "node:assert/strict";
import {
  ENCR_AES_CBC,
  ENCR_AES_GCM_16,
  ENCR_CHACHA20_POLY1305,
  type EncrAlgorithm,
  encrAlgorithm,
} from "../../src/crypto/encr.ts";

const hex = (s: string) => Uint8Array.fromHex(s.replace(/\s+/g, ""));
const ascii = (s: string) => new TextEncoder().encode(s);
const range = (from: number, to: number) =>
  Uint8Array.from({ length: to - from }, (_, i) => from + i);
const NO_AAD = new Uint8Array(0);

function encr(id: number, keyBits?: number): EncrAlgorithm {
  const found = encrAlgorithm(id, keyBits);
  assert.ok(found, `ENCR ${id}/${keyBits} is registered`);
  return found;
}

interface CbcVector {
  source: string;
  key: string;
  iv: string;
  plaintext: Uint8Array;
  ciphertext: string;
}

const SP800_38A_PLAINTEXT = hex(
  "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51" +
    "30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710",
);
const SP800_38A_IV = "000102030405060708090a0b0c0d0e0f";

const CBC_VECTORS: CbcVector[] = [
  {
    source: "RFC 3602 case 1",
    key: "06a9214036b8a15b512e03d534120006",
    iv: "3dafba429d9eb430b422da802c9fac41",
    plaintext: ascii("Single block msg"),
    ciphertext: "e353779c1079aeb82708942dbe77181a",
  },
  {
    source: "RFC 3602 case 2",
    key: "c286696d887c9aa0611bbb3e2025a45a",
    iv: "562e17996d093d28ddb3ba695a2e6f58",
    plaintext: range(0x00, 0x20),
    ciphertext: "d296cd94c2cccf8a3a863028b5e1dc0a 7586602d253cfff91b8266bea6d61ab1",
  },
  {
    source: "RFC 3602 case 3",
    key: "6c3ea0477630ce21a2ce334aa746c2cd",
    iv: "c782dc4c098c66cbd9cd27d825682c81",
    plaintext: ascii("This is a 48-byte message (exactly 3 AES blocks)"),
    ciphertext: "d0a02b3836451753d493665d33f0e886 2dea54cdb293abc7506939276772f8d5" +
      "021c19216bad525c8579695d83ba2684",
  },
  {
    source: "RFC 3602 case 4",
    key: "56e47a38c5598974bc46903dba290349",
    iv: "8ce82eefbea0da3c44699ed7db51b7d9",
    plaintext: range(0xa0, 0xe0),
    ciphertext: "c30e32ffedc0774e6aff6af0869f71aa 0f3af07a9a31a9c684db207eb0ef8e4e" +
      "35907aa632c3ffdf868bb7b29d3d46ad 83ce9f9a102ee99d49a53e87f4c3da55",
  },
  {
    source: "SP 800-38A F.2.1 CBC-AES128",
    key: "2b7e151628aed2a6abf7158809cf4f3c",
    iv: SP800_38A_IV,
    plaintext: SP800_38A_PLAINTEXT,
    ciphertext: "7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2" +
      "73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7",
  },
  {
    source: "SP 800-38A F.2.3 CBC-AES192",
    key: "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
    iv: SP800_38A_IV,
    plaintext: SP800_38A_PLAINTEXT,
    ciphertext: "4f021db243bc633d7178183a9fa071e8 b4d9ada9ad7dedf4e5e738763f69145a" +
      "571b242012fb7ae07fa9baac3df102e0 08b0e27988598881d920a9e64f5615cd",
  },
  {
    source: "SP 800-38A F.2.5 CBC-AES256",
    key: "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
    iv: SP800_38A_IV,
    plaintext: SP800_38A_PLAINTEXT,
    ciphertext: "f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d" +
      "39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b",
  },
];

Deno.test("ENCR_AES_CBC encrypts and decrypts RFC 3602 and SP 800-38A vectors", () => {
  for (const v of CBC_VECTORS) {
    const key = hex(v.key);
    const cbc = encr(ENCR_AES_CBC, key.length * 8);
    const iv = hex(v.iv);
    assert.equal(
      cbc.encrypt(key, iv, v.plaintext, NO_AAD).toHex(),
      hex(v.ciphertext).toHex(),
      v.source,
    );
    assert.deepEqual(cbc.decrypt(key, iv, hex(v.ciphertext), NO_AAD), v.plaintext, v.source);
  }
});

interface AeadVector {
  source: string;
  id: number;
  keyBits: number;
  /** key || salt, as prf+ hands it out */
  keyMaterial: string;
  iv: string;
  aad: string;
  plaintext: string;
  /** ciphertext || ICV */
  sealed: string;
}

const GCM_KEY = "feffe9928665731c6d6a8f9467308308";
const GCM_P60 = "d9313225f88406e5a55909c5aff5269a 86a7a9531534f7da2e4c303d8a318a72" +
  "1c3c0c95956809532fcf0e2449a6b525 b16aedf5aa0de657ba637b39";
const GCM_P64 = GCM_P60 + "1aafd255";
const GCM_A = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
// The spec's 96-bit IV cafebabefacedbaddecaf888 is split as RFC 4106 does: salt || IV.
const GCM_SALT = "cafebabe";
const GCM_IV = "facedbaddecaf888";

const RFC7634_AAD = "c0c1c2c3c4c5c6c7 d0d1d2d3d4d5d6d7 2e202500 00000009 00000045 29000029";

const AEAD_VECTORS: AeadVector[] = [
  {
    source: "GCM test case 3",
    id: ENCR_AES_GCM_16,
    keyBits: 128,
    keyMaterial: GCM_KEY + GCM_SALT,
    iv: GCM_IV,
    aad: "",
    plaintext: GCM_P64,
    sealed: "42831ec2217774244b7221b784d0d49c e3aa212f2c02a4e035c17e2329aca12e" +
      "21d514b25466931c7d8f6a5aac84aa05 1ba30b396a0aac973d58e091473f5985" +
      "4d5c2af327cd64a62cf35abd2ba6fab4",
  },
  {
    source: "GCM test case 4",
    id: ENCR_AES_GCM_16,
    keyBits: 128,
    keyMaterial: GCM_KEY + GCM_SALT,
    iv: GCM_IV,
    aad: GCM_A,
    plaintext: GCM_P60,
    sealed: "42831ec2217774244b7221b784d0d49c e3aa212f2c02a4e035c17e2329aca12e" +
      "21d514b25466931c7d8f6a5aac84aa05 1ba30b396a0aac973d58e091" +
      "5bc94fbc3221a5db94fae95ae7121a47",
  },
  {
    source: "GCM test case 7",
    id: ENCR_AES_GCM_16,
    keyBits: 192,
    keyMaterial: "00".repeat(24) + "00000000",
    iv: "0000000000000000",
    aad: "",
    plaintext: "",
    sealed: "cd33b28ac773f74ba00ed1f312572435",
  },
  {
    source: "GCM test case 8",
    id: ENCR_AES_GCM_16,
    keyBits: 192,
    keyMaterial: "00".repeat(24) + "00000000",
    iv: "0000000000000000",
    aad: "",
    plaintext: "00".repeat(16),
    sealed: "98e7247c07f0fe411c267e4384b0f600 2ff58d80033927ab8ef4d4587514f0fb",
  },
  {
    source: "GCM test case 9",
    id: ENCR_AES_GCM_16,
    keyBits: 192,
    keyMaterial: GCM_KEY + "feffe9928665731c" + GCM_SALT,
    iv: GCM_IV,
    aad: "",
    plaintext: GCM_P64,
    sealed: "3980ca0b3c00e841eb06fac4872a2757 859e1ceaa6efd984628593b40ca1e19c" +
      "7d773d00c144c525ac619d18c84a3f47 18e2448b2fe324d9ccda2710acade256" +
      "9924a7c8587336bfb118024db8674a14",
  },
  {
    source: "GCM test case 10",
    id: ENCR_AES_GCM_16,
    keyBits: 192,
    keyMaterial: GCM_KEY + "feffe9928665731c" + GCM_SALT,
    iv: GCM_IV,
    aad: GCM_A,
    plaintext: GCM_P60,
    sealed: "3980ca0b3c00e841eb06fac4872a2757 859e1ceaa6efd984628593b40ca1e19c" +
      "7d773d00c144c525ac619d18c84a3f47 18e2448b2fe324d9ccda2710" +
      "2519498e80f1478f37ba55bd6d27618c",
  },
  {
    source: "GCM test case 16",
    id: ENCR_AES_GCM_16,
    keyBits: 256,
    keyMaterial: GCM_KEY + GCM_KEY + GCM_SALT,
    iv: GCM_IV,
    aad: GCM_A,
    plaintext: GCM_P60,
    sealed: "522dc1f099567d07f47f37a32a84427d 643a8cdcbfe5c0c97598a2bd2555d1aa" +
      "8cb08e48590dbb3da7b08b1056828838 c5f61e6393ba7a0abcc9f662" +
      "76fc6ece0f4e1768cddf8853bb2d551b",
  },
  {
    // Key 80..9f; the RFC's nonce 07000000 40414243 44454647 is salt || IV.
    source: "RFC 8439 §2.8.2",
    id: ENCR_CHACHA20_POLY1305,
    keyBits: 256,
    keyMaterial: range(0x80, 0xa0).toHex() + "07000000",
    iv: "4041424344454647",
    aad: "50515253c0c1c2c3c4c5c6c7",
    plaintext: ascii(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for " +
        "the future, sunscreen would be it.",
    ).toHex(),
    sealed: "d31a8d34648e60db7b86afbc53ef7ec2 a4aded51296e08fea9e2b5a736ee62d6" +
      "3dbea45e8ca9671282fafb69da92728b 1a71de0a9e060b2905d6a5b67ecd3b36" +
      "92ddbd7f2d778b8c9803aee328091b58 fab324e4fad675945585808b4831d7bc" +
      "3ff4def08e4b7a9de576d26586cec64b 6116" +
      "1ae10b594f09e26a7e902ecbd0600691",
  },
  {
    // RFC 7634 Appendix B: KEYMAT 80..9f with salt a0a1a2a3; the AAD is the
    // IKE header plus the SK payload header; the plaintext is a Notify
    // (SET_WINDOW_SIZE = 10) followed by a zero Pad Length byte.
    source: "RFC 7634 Appendix B",
    id: ENCR_CHACHA20_POLY1305,
    keyBits: 256,
    keyMaterial: range(0x80, 0xa4).toHex(),
    iv: "1011121314151617",
    aad: RFC7634_AAD,
    plaintext: "0000000c 00004001 0000000a 00",
    sealed: "6103 94701f8d 017f7c12 924889" + "6b71bfe2 5236efd7 cdc67066 906315b2",
  },
];

Deno.test("AEAD transforms seal and open the GCM-spec, RFC 8439 and RFC 7634 vectors", () => {
  for (const v of AEAD_VECTORS) {
    const alg = encr(v.id, v.keyBits);
    const [km, iv, aad, pt] = [hex(v.keyMaterial), hex(v.iv), hex(v.aad), hex(v.plaintext)];
    assert.equal(alg.encrypt(km, iv, pt, aad).toHex(), hex(v.sealed).toHex(), `${v.source} seal`);
    assert.deepEqual(alg.decrypt(km, iv, hex(v.sealed), aad), pt, `${v.source} open`);
  }
});

Deno.test("AEAD decrypt returns null when any bit of ciphertext, ICV, AAD, IV or key flips", () => {
  for (const v of AEAD_VECTORS) {
    const alg = encr(v.id, v.keyBits);
    const [km, iv, aad, sealed] = [hex(v.keyMaterial), hex(v.iv), hex(v.aad), hex(v.sealed)];
    const flipped = (bytes: Uint8Array, at: number) => {
      const copy = bytes.slice();
      copy[at] ^= 0x01;
      return copy;
    };
    for (const at of [0, sealed.length - 1]) {
      assert.equal(
        alg.decrypt(km, iv, flipped(sealed, at), aad),
        null,
        `${v.source} sealed[${at}]`,
      );
    }
    if (aad.length > 0) {
      assert.equal(alg.decrypt(km, iv, sealed, flipped(aad, 0)), null, `${v.source} aad`);
    }
    assert.equal(alg.decrypt(km, flipped(iv, 7), sealed, aad), null, `${v.source} iv`);
    assert.equal(alg.decrypt(flipped(km, 0), iv, sealed, aad), null, `${v.source} key`);
    // The salt is part of the key material and of the nonce.
    assert.equal(
      alg.decrypt(flipped(km, km.length - 1), iv, sealed, aad),
      null,
      `${v.source} salt`,
    );
  }
});

Deno.test("decrypt returns null, never throws, on bad lengths", () => {
  for (const bits of [128, 192, 256]) {
    const cbc = encr(ENCR_AES_CBC, bits);
    const key = new Uint8Array(bits / 8);
    const iv = new Uint8Array(16);
    assert.equal(cbc.decrypt(key, iv, new Uint8Array(17), NO_AAD), null, "partial block");
    assert.equal(cbc.decrypt(key.subarray(1), iv, new Uint8Array(16), NO_AAD), null, "short key");
    assert.equal(cbc.decrypt(key, iv.subarray(1), new Uint8Array(16), NO_AAD), null, "short IV");
  }
  for (
    const alg of [128, 192, 256].map((bits) => encr(ENCR_AES_GCM_16, bits)).concat(
      encr(ENCR_CHACHA20_POLY1305),
    )
  ) {
    const km = new Uint8Array(alg.keyMaterialBytes);
    const iv = new Uint8Array(8);
    assert.equal(
      alg.decrypt(km, iv, new Uint8Array(15), NO_AAD),
      null,
      `${alg.name} shorter than ICV`,
    );
    assert.equal(alg.decrypt(km, iv, new Uint8Array(16), NO_AAD), null, `${alg.name} zero ICV`);
    assert.equal(
      alg.decrypt(km.subarray(1), iv, new Uint8Array(32), NO_AAD),
      null,
      `${alg.name} key`,
    );
    assert.equal(
      alg.decrypt(km, new Uint8Array(12), new Uint8Array(32), NO_AAD),
      null,
      `${alg.name} iv`,
    );
  }
});

Deno.test("encrypt throws RangeError on lengths that are the caller's bug", () => {
  const cbc = encr(ENCR_AES_CBC, 128);
  assert.throws(
    () => cbc.encrypt(new Uint8Array(16), new Uint8Array(16), new Uint8Array(15), NO_AAD),
    RangeError,
  );
  assert.throws(
    () => cbc.encrypt(new Uint8Array(24), new Uint8Array(16), new Uint8Array(16), NO_AAD),
    RangeError,
  );
  const gcm = encr(ENCR_AES_GCM_16, 256);
  assert.throws(
    () => gcm.encrypt(new Uint8Array(32), new Uint8Array(8), new Uint8Array(1), NO_AAD),
    RangeError,
  );
  assert.throws(
    () => gcm.encrypt(new Uint8Array(36), new Uint8Array(16), new Uint8Array(1), NO_AAD),
    RangeError,
  );
});

Deno.test("every algorithm round-trips assorted lengths", () => {
  const algorithms = [
    ...[128, 192, 256].map((bits) => encr(ENCR_AES_CBC, bits)),
    ...[128, 192, 256].map((bits) => encr(ENCR_AES_GCM_16, bits)),
    encr(ENCR_CHACHA20_POLY1305),
  ];
  for (const alg of algorithms) {
    const km = range(1, 1 + alg.keyMaterialBytes);
    const iv = range(50, 50 + alg.ivBytes);
    const aad = ascii("header");
    for (const length of [0, 16, 48, 1024]) {
      const pt = Uint8Array.from({ length }, (_, i) => (i * 7) & 0xff);
      const sealed = alg.encrypt(km, iv, pt, aad);
      assert.equal(sealed.length, length + alg.icvBytes, `${alg.name} ${length}`);
      assert.deepEqual(alg.decrypt(km, iv, sealed, aad), pt, `${alg.name} ${length}`);
    }
  }
});

Deno.test("ENCR metadata", () => {
  const table: [EncrAlgorithm, string, number, boolean, number, number, number, number, number][] =
    [
      [encr(ENCR_AES_CBC, 128), "AES_CBC_128", 128, false, 16, 16, 0, 0, 16],
      [encr(ENCR_AES_CBC, 192), "AES_CBC_192", 192, false, 16, 16, 0, 0, 24],
      [encr(ENCR_AES_CBC, 256), "AES_CBC_256", 256, false, 16, 16, 0, 0, 32],
      [encr(ENCR_AES_GCM_16, 128), "AES_GCM_16_128", 128, true, 1, 8, 4, 16, 20],
      [encr(ENCR_AES_GCM_16, 192), "AES_GCM_16_192", 192, true, 1, 8, 4, 16, 28],
      [encr(ENCR_AES_GCM_16, 256), "AES_GCM_16_256", 256, true, 1, 8, 4, 16, 36],
      [encr(ENCR_CHACHA20_POLY1305), "CHACHA20_POLY1305", 256, true, 1, 8, 4, 16, 36],
    ];
  for (
    const [alg, name, keyBits, aead, blockSize, ivBytes, saltBytes, icvBytes, keyMaterialBytes]
      of table
  ) {
    assert.deepEqual(
      [
        alg.name,
        alg.keyBits,
        alg.aead,
        alg.blockSize,
        alg.ivBytes,
        alg.saltBytes,
        alg.icvBytes,
        alg.keyMaterialBytes,
      ],
      [name, keyBits, aead, blockSize, ivBytes, saltBytes, icvBytes, keyMaterialBytes],
    );
  }
});

Deno.test("encrAlgorithm: implied and refused key sizes, unknown ids", () => {
  assert.equal(encrAlgorithm(ENCR_CHACHA20_POLY1305, 256), encrAlgorithm(ENCR_CHACHA20_POLY1305));
  assert.equal(encrAlgorithm(ENCR_CHACHA20_POLY1305, 128), undefined);
  assert.equal(encrAlgorithm(ENCR_AES_CBC), undefined, "AES needs a key size");
  assert.equal(encrAlgorithm(ENCR_AES_GCM_16), undefined, "AES needs a key size");
  assert.equal(encrAlgorithm(ENCR_AES_CBC, 64), undefined);
  // 3 ENCR_3DES, 18/19 ENCR_AES_GCM_8/12 exist but are not implemented.
  for (const id of [0, 3, 18, 19, 255]) assert.equal(encrAlgorithm(id, 128), undefined);
});
