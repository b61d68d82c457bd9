/**
 * The Encrypted payload (RFC 7296 §3.14; AEAD per RFC 5282 and RFC 7634):
 * seal/open round trips for AES-GCM, ChaCha20-Poly1305 and AES-CBC with
 * HMAC, the octet layout checked with node:crypto on its own (nonce = salt ||
 * IV, AAD = IKE header + SK generic header, ICV over everything before it),
 * and every region of a sealed message shown to be protected.
 */
import assert from "node:assert/strict";
import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";
import { type EncrAlgorithm, encrAlgorithm } from "../../src/crypto/encr.ts";
import { integAlgorithm } from "../../src/crypto/integ.ts";
import { seededEntropy } from "../../src/crypto/random.ts";
import { hex } from "../../src/ike/ike_sa.ts";
import { type DirectionKeys, open, seal } from "../../src/ike/sk.ts";
import {
  ExchangeType,
  FLAG_INITIATOR,
  IdType,
  IKEV2_VERSION,
  NotifyType,
  PayloadType,
  ProtocolId,
} from "../../src/wire/constants.ts";
import type { IkeHeader } from "../../src/wire/header.ts";
import {
  decodeMessage,
  encodePayloads,
  type EncryptedPayload,
  findPayload,
  type Payload,
} from "../../src/wire/payloads.ts";

const HEADER: Omit<IkeHeader, "length" | "nextPayload"> = {
  spiI: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
  spiR: Uint8Array.from([9, 10, 11, 12, 13, 14, 15, 16]),
  version: IKEV2_VERSION,
  exchange: ExchangeType.INFORMATIONAL,
  flags: FLAG_INITIATOR,
  messageId: 7,
};

const INNER: Payload[] = [
  { type: PayloadType.IDi, idType: IdType.ID_FQDN, data: new TextEncoder().encode("west") },
  {
    type: PayloadType.N,
    protocol: 0,
    spi: new Uint8Array(),
    notifyType: NotifyType.INITIAL_CONTACT,
    data: new Uint8Array(),
  },
  { type: PayloadType.D, protocol: ProtocolId.ESP, spiSize: 4, spis: [Uint8Array.of(1, 2, 3, 4)] },
];

/** Key material: the pattern 0, 1, 2, … so a failing case is easy to redo by hand. */
function keyBytes(n: number, from = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
}

interface Suite {
  name: string;
  keys: DirectionKeys;
  /** Decrypts the body with node:crypto alone, checking the ICV; null if it does not verify. */
  independentOpen(msg: Uint8Array, bodyOffset: number): Uint8Array | null;
}

function aeadSuite(name: string, encr: EncrAlgorithm, cipher: string): Suite {
  const encrKey = keyBytes(encr.keyMaterialBytes, 0x40);
  const keyLen = encr.keyBits / 8;
  return {
    name,
    keys: { encr, encrKey, integKey: new Uint8Array() },
    independentOpen(msg, bodyOffset) {
      const iv = msg.subarray(bodyOffset, bodyOffset + 8);
      const nonce = new Uint8Array([...encrKey.subarray(keyLen), ...iv]); // RFC 5282 §4, RFC 7634 §2
      const ct = msg.subarray(bodyOffset + 8, msg.length - 16);
      // Typed as GCM only to pick node's AEAD overload; ChaCha20-Poly1305 takes the same calls.
      const d = createDecipheriv(cipher as "aes-256-gcm", encrKey.subarray(0, keyLen), nonce, {
        authTagLength: 16,
      });
      d.setAAD(msg.subarray(0, bodyOffset)); // IKE header + SK generic header (RFC 5282 §5.1)
      d.setAuthTag(msg.subarray(msg.length - 16));
      try {
        return new Uint8Array([...d.update(ct), ...d.final()]);
      } catch {
        return null;
      }
    },
  };
}

const gcm = encrAlgorithm(20, 256)!;
const chacha = encrAlgorithm(28)!;
const cbc = encrAlgorithm(12, 128)!;
const sha256 = integAlgorithm(12)!;

const SUITES: Suite[] = [
  aeadSuite("AES_GCM_16_256", gcm, "aes-256-gcm"),
  aeadSuite("CHACHA20_POLY1305", chacha, "chacha20-poly1305"),
  (() => {
    const encrKey = keyBytes(16, 0x10), integKey = keyBytes(32, 0x80);
    return {
      name: "AES_CBC_128 + HMAC_SHA2_256_128",
      keys: { encr: cbc, encrKey, integ: sha256, integKey },
      independentOpen(msg: Uint8Array, bodyOffset: number) {
        const icvAt = msg.length - 16;
        const icv = createHmac("sha256", integKey).update(msg.subarray(0, icvAt)).digest()
          .subarray(0, 16);
        if (hex(icv) !== hex(msg.subarray(icvAt))) return null;
        const d = createDecipheriv(
          "aes-128-cbc",
          encrKey,
          msg.subarray(bodyOffset, bodyOffset + 16),
        )
          .setAutoPadding(false);
        return new Uint8Array([...d.update(msg.subarray(bodyOffset + 16, icvAt)), ...d.final()]);
      },
    };
  })(),
];

/** Seals INNER and locates the SK payload in the result. */
function sealed(suite: Suite, seed = 1) {
  const msg = seal(HEADER, INNER, suite.keys, seededEntropy(seed));
  const decoded = decodeMessage(msg);
  assert.ok(decoded.ok, `sealed message does not decode: ${JSON.stringify(decoded)}`);
  const sk = findPayload(decoded.value.payloads, PayloadType.SK);
  assert.ok(sk && sk.offset !== undefined, "no SK payload with an offset");
  return { msg, sk, bodyOffset: sk.offset + 4 };
}

function skOf(msg: Uint8Array): EncryptedPayload {
  const decoded = decodeMessage(msg);
  assert.ok(decoded.ok, `does not decode: ${JSON.stringify(decoded)}`);
  const sk = findPayload(decoded.value.payloads, PayloadType.SK);
  assert.ok(sk);
  return sk;
}

for (const suite of SUITES) {
  Deno.test(`sk ${suite.name}: seal then open gives back the inner payloads`, () => {
    const { msg, sk } = sealed(suite);
    assert.equal(sk.innerFirst, PayloadType.IDi, "the SK header names the first inner payload");
    const opened = open(msg, sk, suite.keys);
    assert.ok(opened.ok, JSON.stringify(opened));
    assert.deepEqual(encodePayloads(opened.payloads), encodePayloads(INNER));
  });

  Deno.test(`sk ${suite.name}: the layout is what node:crypto alone decrypts`, () => {
    const { msg, bodyOffset } = sealed(suite);
    const header = decodeMessage(msg);
    assert.ok(header.ok);
    assert.equal(header.value.header.nextPayload, PayloadType.SK);
    assert.equal(header.value.header.length, msg.length);
    const plain = suite.independentOpen(msg, bodyOffset);
    assert.ok(plain, "node:crypto does not verify the ICV");
    const padLength = plain[plain.length - 1];
    const inner = encodePayloads(INNER).bytes;
    assert.equal(plain.length, inner.length + padLength + 1);
    assert.equal(hex(plain.subarray(0, inner.length)), hex(inner));
    assert.equal(plain.length % suite.keys.encr.blockSize, 0);
    assert.ok(padLength < suite.keys.encr.blockSize, "more padding than the block size needs");
  });

  Deno.test(`sk ${suite.name}: a fresh IV for every message`, () => {
    const entropy = seededEntropy(9);
    const a = seal(HEADER, INNER, suite.keys, entropy);
    const b = seal(HEADER, INNER, suite.keys, entropy);
    const ivBytes = suite.keys.encr.ivBytes, at = 28 + 4;
    assert.notEqual(hex(a.subarray(at, at + ivBytes)), hex(b.subarray(at, at + ivBytes)));
    assert.notEqual(hex(a), hex(b));
  });

  Deno.test(`sk ${suite.name}: a flipped bit in any region is an integrity failure`, () => {
    const { msg, bodyOffset } = sealed(suite);
    const ivBytes = suite.keys.encr.ivBytes;
    const icvBytes = suite.keys.integ?.icvBytes ?? suite.keys.encr.icvBytes;
    const regions: [string, number][] = [
      ["IKE header: initiator SPI", 0],
      ["IKE header: exchange type", 18],
      ["IKE header: message ID", 23],
      ["SK generic header: next payload", bodyOffset - 4],
      ["SK generic header: critical bit", bodyOffset - 3],
      ["IV", bodyOffset],
      ["IV, last octet", bodyOffset + ivBytes - 1],
      ["ciphertext, first octet", bodyOffset + ivBytes],
      ["ciphertext, last octet", msg.length - icvBytes - 1],
      ["ICV, first octet", msg.length - icvBytes],
      ["ICV, last octet", msg.length - 1],
    ];
    for (const [region, at] of regions) {
      for (const bit of [0x01, 0x80]) {
        const bad = msg.slice();
        bad[at] ^= bit;
        const opened = open(bad, skOf(bad), suite.keys);
        assert.deepEqual(
          opened,
          { ok: false, integrity: true, reason: "integrity check failed" },
          `${region} (octet ${at}, bit ${bit}) was not protected`,
        );
      }
    }
  });

  Deno.test(`sk ${suite.name}: the other direction's keys do not open it`, () => {
    const { msg, sk } = sealed(suite);
    const other: DirectionKeys = {
      ...suite.keys,
      encrKey: keyBytes(suite.keys.encrKey.length, 0xa0),
      integKey: keyBytes(suite.keys.integKey.length, 0xc0),
    };
    const opened = open(msg, sk, other);
    assert.equal(opened.ok, false);
    assert.equal(!opened.ok && opened.integrity, true);
  });

  Deno.test(`sk ${suite.name}: a body too short for IV and ICV is refused, not read past`, () => {
    const { msg, sk } = sealed(suite);
    const { encr, integ } = suite.keys;
    const minimum = encr.ivBytes + (integ?.icvBytes ?? encr.icvBytes) + 1;
    for (const length of [0, 1, minimum - 1]) {
      const short = { ...sk, body: sk.body.subarray(0, length) };
      assert.deepEqual(open(msg, short, suite.keys), {
        ok: false,
        integrity: true,
        reason: "Encrypted payload too short",
      });
    }
    assert.deepEqual(open(msg, { ...sk, offset: undefined }, suite.keys), {
      ok: false,
      integrity: false,
      reason: "SK payload offset unknown",
    });
  });
}

/** HEADER and an SK payload holding `bodyLength` zero octets, lengths filled in. */
function frame(innerFirst: number, bodyLength: number): Uint8Array {
  const msg = new Uint8Array(28 + 4 + bodyLength);
  const view = new DataView(msg.buffer);
  msg.set(HEADER.spiI, 0);
  msg.set(HEADER.spiR, 8);
  msg[16] = PayloadType.SK;
  msg[17] = HEADER.version;
  msg[18] = HEADER.exchange;
  msg[19] = HEADER.flags;
  view.setUint32(20, HEADER.messageId);
  view.setUint32(24, msg.length);
  msg[28] = innerFirst;
  view.setUint16(30, 4 + bodyLength);
  return msg;
}

/**
 * Builds an authentic message around an arbitrary plaintext, following RFC
 * 7296 §3.14 directly (not through seal), so open() can be shown to accept
 * what the RFC allows and to refuse authentic nonsense without throwing.
 */
function authentic(keys: DirectionKeys, innerFirst: number, plain: Uint8Array): Uint8Array {
  const { encr, integ } = keys;
  const iv = keyBytes(encr.ivBytes, 0x33);
  const icvBytes = integ?.icvBytes ?? encr.icvBytes;
  const msg = frame(innerFirst, iv.length + plain.length + icvBytes);
  msg.set(iv, 32);
  if (encr.aead) {
    const keyLen = encr.keyBits / 8;
    const nonce = new Uint8Array([...keys.encrKey.subarray(keyLen), ...iv]);
    const name = encr.id === 28 ? "chacha20-poly1305" : `aes-${encr.keyBits}-gcm`;
    // Typed as GCM only to pick node's AEAD overload; ChaCha20-Poly1305 takes the same calls.
    const c = createCipheriv(name as "aes-256-gcm", keys.encrKey.subarray(0, keyLen), nonce, {
      authTagLength: 16,
    });
    c.setAAD(msg.subarray(0, 32));
    msg.set(new Uint8Array([...c.update(plain), ...c.final()]), 32 + iv.length);
    msg.set(c.getAuthTag(), msg.length - 16);
  } else {
    const c = createCipheriv(`aes-${encr.keyBits}-cbc`, keys.encrKey, iv).setAutoPadding(false);
    msg.set(new Uint8Array([...c.update(plain), ...c.final()]), 32 + iv.length);
    const icvAt = msg.length - icvBytes;
    msg.set(integ!.compute(keys.integKey, msg.subarray(0, icvAt)), icvAt);
  }
  return msg;
}

for (const suite of SUITES) {
  const block = suite.keys.encr.blockSize;
  /** Pads `inner` to the block size plus `extraBlocks` whole blocks, with non-zero pad octets. */
  const padded = (inner: Uint8Array, extraBlocks: number) => {
    const padLength = (block - ((inner.length + 1) % block)) % block + extraBlocks * block;
    return new Uint8Array([...inner, ...keyBytes(padLength, 0xe0), padLength]);
  };

  Deno.test(`sk ${suite.name}: open accepts any pad octets and extra padding (RFC 7296 §3.14)`, () => {
    const inner = encodePayloads(INNER);
    const msg = authentic(suite.keys, inner.first, padded(inner.bytes, 2));
    const opened = open(msg, skOf(msg), suite.keys);
    assert.ok(opened.ok, JSON.stringify(opened));
    assert.deepEqual(encodePayloads(opened.payloads), inner);
  });

  Deno.test(`sk ${suite.name}: authentic but malformed plaintext is refused without throwing`, () => {
    const inner = encodePayloads(INNER);
    const cases: [string, number, Uint8Array, RegExp][] = [
      // A Pad Length octet claiming more than precedes it.
      [
        "oversized Pad Length",
        inner.first,
        padded(new Uint8Array(block - 1), 0).map((b, i, a) => i === a.length - 1 ? 0xff : b),
        /pad length 255 exceeds/,
      ],
      // A first inner payload whose length runs past the plaintext.
      [
        "inner payload too long",
        inner.first,
        padded(
          inner.bytes.map((b, i) => (i === 2 ? 0x7f : b)),
          0,
        ),
        /runs past the end/,
      ],
      // Inner octets that claim a type they do not hold.
      ["wrong first payload type", PayloadType.SA, padded(inner.bytes, 0), /^SA: /],
    ];
    for (const [what, first, plain, reason] of cases) {
      const msg = authentic(suite.keys, first, plain);
      const opened = open(msg, skOf(msg), suite.keys);
      assert.equal(opened.ok, false, `${what} was accepted`);
      assert.equal(!opened.ok && opened.integrity, false, `${what}: not an integrity failure`);
      assert.match(!opened.ok ? opened.reason : "", reason, what);
    }
  });
}

Deno.test("sk AES_CBC: an authentic ciphertext that is not whole blocks is refused, not decrypted", () => {
  const { keys } = SUITES[2];
  // An ICV-valid message whose ciphertext is one octet short of a block.
  const msg = frame(PayloadType.N, keys.encr.ivBytes + 15 + keys.integ!.icvBytes);
  const icvAt = msg.length - keys.integ!.icvBytes;
  msg.set(keys.integ!.compute(keys.integKey, msg.subarray(0, icvAt)), icvAt);
  assert.deepEqual(open(msg, skOf(msg), keys), {
    ok: false,
    integrity: false,
    reason: "ciphertext is not a multiple of the block size",
  });
});
