/**
 * Hostile input: decoders must return a typed error and never throw, for
 * truncations, corrupted length fields, random mutations, trailing data,
 * unknown critical payloads and each per-payload length rule. Encoders must
 * refuse values that do not fit the wire format.
 */

import assert from "node:assert/strict";
import {
  ExchangeType,
  FLAG_INITIATOR,
  NotifyType,
  PayloadType,
  ProtocolId,
} from "../../src/wire/constants.ts";
import {
  decodeMessage,
  decodePayloads,
  encodeMessage,
  encodePayloads,
  type Payload,
  type Transform,
} from "../../src/wire/payloads.ts";
import type { Result } from "../../src/wire/result.ts";

/** Octets from hex strings; spaces only separate fields for the reader. */
function hex(...parts: string[]): Uint8Array {
  const digits = parts.join("").replaceAll(" ", "");
  return Uint8Array.from(digits.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** mulberry32: a tiny seeded PRNG so every run explores the same inputs. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEADER = {
  spiI: hex("0102030405060708"),
  spiR: hex("1112131415161718"),
  version: 0x20,
  exchange: ExchangeType.IKE_AUTH,
  flags: FLAG_INITIATOR,
  messageId: 7,
};

/**
 * A message exercising every substructure, each payload paired with the
 * offsets (relative to its generic header) of every length or count octet
 * in it, per the RFC 7296 §3 layouts.
 */
const LAYOUT: [Payload, number[]][] = [
  [
    {
      type: PayloadType.SA,
      proposals: [{
        num: 1,
        protocol: ProtocolId.IKE,
        spi: new Uint8Array(0),
        transforms: [{ type: 1, id: 20, keyLength: 256 }, { type: 2, id: 5 }, { type: 4, id: 31 }],
      }],
    },
    // payload length; proposal length, SPI size, transform count; three transform lengths
    [2, 3, 6, 7, 10, 11, 14, 15, 26, 27, 34, 35],
  ],
  [{ type: PayloadType.KE, group: 31, data: new Uint8Array(32).fill(0x55) }, [2, 3]],
  [{ type: PayloadType.NONCE, data: new Uint8Array(32).fill(0x66) }, [2, 3]],
  [
    {
      type: PayloadType.N,
      protocol: 3,
      spi: hex("aabbccdd"),
      notifyType: NotifyType.REKEY_SA,
      data: hex("01"),
    },
    [2, 3, 5], // payload length, SPI size
  ],
  [
    { type: PayloadType.D, protocol: 3, spiSize: 4, spis: [hex("00000001"), hex("00000002")] },
    [2, 3, 5, 6, 7], // payload length, SPI size, SPI count
  ],
  [
    {
      type: PayloadType.TSi,
      selectors: [{
        tsType: 7,
        ipProtocol: 0,
        startPort: 0,
        endPort: 65535,
        startAddress: hex("c0000200"),
        endAddress: hex("c00002ff"),
      }],
    },
    [2, 3, 4, 10, 11], // payload length, TS count, selector length
  ],
  [
    {
      type: PayloadType.CP,
      cfgType: 1,
      attributes: [{ type: 1, value: new Uint8Array(0) }, { type: 3, value: hex("08080808") }],
    },
    [2, 3, 10, 11, 14, 15], // payload length, two attribute lengths
  ],
  [{ type: PayloadType.EAP, data: hex("02 07 0009 01 61626364") }, [2, 3, 6, 7]], // payload length, EAP length
  [{ type: 200, unknown: true, body: hex("cafef00d") }, [2, 3]],
  [{ type: PayloadType.SK, innerFirst: PayloadType.IDi, body: new Uint8Array(32).fill(0x77) }, [
    2,
    3,
  ]],
];

const PAYLOADS = LAYOUT.map(([p]) => p);
const MESSAGE = encodeMessage(HEADER, PAYLOADS);

/** Absolute offsets of every length/count octet in MESSAGE (header Length included). */
const LENGTH_OCTETS: number[] = (() => {
  const offsets = [24, 25, 26, 27];
  let start = 28;
  for (const [p, relative] of LAYOUT) {
    offsets.push(...relative.map((r) => start + r));
    start += encodePayloads([p]).bytes.length;
  }
  assert.equal(start, MESSAGE.length);
  return offsets;
})();

/** Runs a decoder and fails the test if it throws instead of returning. */
function total<T>(decode: () => Result<T>): Result<T> {
  try {
    return decode();
  } catch (e) {
    throw new Error(`decoder threw: ${e}`);
  }
}

Deno.test("malformed: the reference message is valid", () => {
  const r = decodeMessage(MESSAGE);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  assert.equal(r.value.payloads.length, LAYOUT.length);
});

Deno.test("malformed: every proper prefix is a typed error", () => {
  for (let n = 0; n < MESSAGE.length; n++) {
    const prefix = MESSAGE.slice(0, n);
    const r = total(() => decodeMessage(prefix));
    assert.ok(!r.ok, `prefix ${n} decoded`);
    assert.equal(typeof r.error.reason, "string");
    if (n >= 28) {
      // Also with the header claiming exactly the prefix, so the payload walker meets the cut.
      new DataView(prefix.buffer).setUint32(24, n);
      const cut = total(() => decodeMessage(prefix));
      assert.ok(!cut.ok, `prefix ${n} with patched length decoded`);
      if (n > 28) assert.notEqual(cut.error.payload, "header");
    }
  }
});

Deno.test("malformed: every value of every length octet errors or decodes consistently", () => {
  let accepted = 0;
  for (const at of LENGTH_OCTETS) {
    for (let v = 0; v < 256; v++) {
      if (v === MESSAGE[at]) continue;
      const corrupt = MESSAGE.slice();
      corrupt[at] = v;
      const r = total(() => decodeMessage(corrupt));
      if (!r.ok) continue;
      accepted++;
      // Accepted only if the octets really describe what was decoded.
      assert.deepEqual(
        encodeMessage(r.value.header, r.value.payloads),
        corrupt,
        `octet ${at} = ${v}`,
      );
    }
  }
  assert.ok(LENGTH_OCTETS.length > 40);
  assert.ok(accepted < LENGTH_OCTETS.length * 255);
});

Deno.test("malformed: 2000 seeded random mutations never throw", () => {
  const random = prng(0x5eed);
  const int = (n: number) => Math.floor(random() * n);
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 2000; i++) {
    let input = MESSAGE.slice();
    switch (i % 4) {
      case 0: // overwrite 1..3 octets
        for (let k = 0, n = 1 + int(3); k < n; k++) input[int(input.length)] = int(256);
        break;
      case 1: // overwrite one octet of a payload or substructure length/count field
        input[LENGTH_OCTETS[4 + int(LENGTH_OCTETS.length - 4)]] = int(256);
        break;
      case 2: { // cut or extend, fixing the header length so the payload walker is exercised
        const size = 28 + int(MESSAGE.length + 16 - 28);
        const resized = new Uint8Array(size);
        resized.set(input.subarray(0, size));
        for (let k = MESSAGE.length; k < size; k++) resized[k] = int(256);
        new DataView(resized.buffer).setUint32(24, size);
        input = resized;
        break;
      }
      default: { // random octets after a valid header
        const size = 28 + int(200);
        input = new Uint8Array(size).map(() => int(256));
        input.set(MESSAGE.subarray(0, 28));
        new DataView(input.buffer).setUint32(24, size);
        input[16] = [33, 34, 40, 41, 42, 44, 46, 47, 48, 53, 200][int(11)];
      }
    }
    const r = total(() => decodeMessage(input));
    if (!r.ok) {
      rejected++;
      assert.ok(r.error.offset >= 0 && r.error.offset <= input.length);
      continue;
    }
    accepted++;
    // Whatever was accepted is a fixed point of encode ∘ decode.
    const again = encodeMessage(r.value.header, r.value.payloads);
    const reparsed = decodeMessage(again);
    assert.ok(reparsed.ok);
    assert.equal(again.length, input.length);
  }
  assert.ok(accepted > 100 && rejected > 100, `accepted ${accepted}, rejected ${rejected}`);
});

Deno.test("malformed: trailing data beyond the header length is rejected", () => {
  const long = new Uint8Array(MESSAGE.length + 3);
  long.set(MESSAGE);
  const r = decodeMessage(long);
  assert.ok(!r.ok);
  assert.equal(r.error.payload, "header");
  assert.match(r.error.reason, /trailing/);
  // Even when the header length admits it, nothing may follow the SK payload.
  new DataView(long.buffer).setUint32(24, long.length);
  const skLast = decodeMessage(long);
  assert.ok(!skLast.ok);
  assert.equal(skLast.error.payload, "SK");
  assert.equal(skLast.error.offset, MESSAGE.length);
});

Deno.test("malformed: unknown critical payload yields unsupportedCritical", () => {
  // V (next 200) → type 200 with C set (next N) → N
  const chain = hex(
    "c8 00 0006 0102", // V, next 200
    "29 80 0008 cafef00d", // type 200, critical, next N
    "00 00 0008 00 00 4000", // N INITIAL_CONTACT
  );
  const r = decodePayloads(PayloadType.V, chain, 0, chain.length);
  assert.ok(!r.ok);
  assert.equal(r.error.unsupportedCritical, 200);
  assert.equal(r.error.offset, 6);

  chain[7] = 0x80; // critical bit on GSPM (49), registered but not implemented here
  chain[0] = 49;
  const gspm = decodePayloads(PayloadType.V, chain, 0, chain.length);
  assert.ok(!gspm.ok);
  assert.equal(gspm.error.unsupportedCritical, 49);
});

Deno.test("malformed: unknown non-critical payload is kept raw and re-encodes identically", () => {
  const chain = hex("c8 00 0006 0102", "29 00 0008 cafef00d", "00 00 0008 00 00 4000");
  const r = decodePayloads(PayloadType.V, chain, 0, chain.length);
  assert.ok(r.ok);
  assert.deepEqual(r.value[1], { type: 200, unknown: true, body: hex("cafef00d") });
  const { first, bytes } = encodePayloads(r.value);
  assert.equal(first, PayloadType.V);
  assert.deepEqual(bytes, chain);
});

Deno.test("malformed: each per-payload rule is enforced with payload name and offset", () => {
  const cases: [string, number, string, string, number][] = [
    // [what, first payload type, octets, expected payload name, expected offset]
    ["generic length below 4", 43, "00 00 0003", "V", 0],
    ["generic length beyond end", 43, "00 00 0010 01", "V", 0],
    ["generic header cut", 43, "00 00", "V", 0],
    ["next payload promised, none left", 43, "29 00 0004", "N", 4],
    ["octets after NONE", 43, "00 00 0004 ff", "chain", 4],
    ["nonce of 15 octets", 40, "00 00 0013" + "00".repeat(15), "NONCE", 0],
    ["nonce of 257 octets", 40, "00 00 0105" + "00".repeat(257), "NONCE", 0],
    ["KE without data", 34, "00 00 0008 0013 0000", "KE", 0],
    ["KE without group", 34, "00 00 0007 0013 00", "KE", 0],
    ["ID without type", 35, "00 00 0007 02 0000", "IDi", 0],
    ["AUTH without method", 39, "00 00 0006 02 00", "AUTH", 0],
    ["CERT without encoding", 37, "00 00 0004", "CERT", 0],
    ["N SPI past end", 41, "00 00 000a 03 04 4009 aabb", "N", 0],
    ["N too short", 41, "00 00 0006 00 00", "N", 0],
    ["D count × size mismatch", 42, "00 00 000c 03 04 0002 11111111", "D", 0],
    ["D SPI size 0 with a count", 42, "00 00 0008 01 00 ffff", "D", 0],
    [
      "TS v4 with length 24",
      44,
      "00 00 0020 01 000000 07 00 0018 0000 ffff" + "00".repeat(16),
      "TSi",
      8,
    ],
    [
      "TS v6 with length 16",
      45,
      "00 00 0018 01 000000 08 00 0010 0000 ffff 00000000 ffffffff",
      "TSr",
      8,
    ],
    [
      "TS unsupported type",
      44,
      "00 00 0018 01 000000 0a 00 0010 0000 ffff 00000000 ffffffff",
      "TSi",
      8,
    ],
    [
      "TS count above content",
      44,
      "00 00 0018 02 000000 07 00 0010 0000 ffff 00000000 ffffffff",
      "TSi",
      24,
    ],
    [
      "TS trailing octets",
      44,
      "00 00 001a 01 000000 07 00 0010 0000 ffff 00000000 ffffffff 0000",
      "TSi",
      24,
    ],
    ["TS header cut", 44, "00 00 0006 01 00", "TSi", 4],
    ["SA without proposals", 33, "00 00 0004", "SA", 4],
    ["SA proposal header cut", 33, "00 00 0008 00 00 0008", "SA", 4],
    ["proposal length below SPI", 33, "00 00 0010 00 00 000b 01 03 04 01 01020304", "SA", 4],
    [
      "proposal length past payload",
      33,
      "00 00 0014 00 00 0018 01 01 00 01 00 00 0008 01 00 0014",
      "SA",
      4,
    ],
    [
      "last proposal marked more",
      33,
      "00 00 0014 02 00 0010 01 01 00 01 00 00 0008 01 00 0014",
      "SA",
      4,
    ],
    [
      "more proposals marked last",
      33,
      "00 00 0024 00 00 0010 01 01 00 01 00 00 0008 01 00 0014 00 00 0010 02 01 00 01 00 00 0008 01 00 0014",
      "SA",
      4,
    ],
    ["proposal with no transform", 33, "00 00 000c 00 00 0008 01 01 00 00", "SA", 4],
    [
      "transform count above content",
      33,
      "00 00 0014 00 00 0010 01 01 00 02 00 00 0008 01 00 0014",
      "SA",
      12,
    ],
    [
      "octets after transforms",
      33,
      "00 00 0018 00 00 0014 01 01 00 01 00 00 0008 01 00 0014 00000000",
      "SA",
      20,
    ],
    [
      "last transform marked more",
      33,
      "00 00 0014 00 00 0010 01 01 00 01 03 00 0008 01 00 0014",
      "SA",
      12,
    ],
    [
      "transform length below 8",
      33,
      "00 00 0014 00 00 0010 01 01 00 01 00 00 0007 01 00 0014",
      "SA",
      12,
    ],
    [
      "transform length past proposal",
      33,
      "00 00 0014 00 00 0010 01 01 00 01 00 00 000c 01 00 0014",
      "SA",
      12,
    ],
    [
      "KEY_LENGTH in TLV format",
      33,
      "00 00 001a 00 00 0016 01 01 00 01 00 00 000e 01 00 0014 000e 0002 0100",
      "SA",
      20,
    ],
    [
      "KEY_LENGTH repeated",
      33,
      "00 00 001c 00 00 0018 01 01 00 01 00 00 0010 01 00 0014 800e 0080 800e 0100",
      "SA",
      24,
    ],
    [
      "TLV attribute past transform",
      33,
      "00 00 0018 00 00 0014 01 01 00 01 00 00 000c 01 00 0014 0011 0004",
      "SA",
      20,
    ],
    [
      "attribute header cut",
      33,
      "00 00 0016 00 00 0012 01 01 00 01 00 00 000a 01 00 0014 800e",
      "SA",
      20,
    ],
    ["CP attribute past end", 47, "00 00 000c 01 000000 0001 0004", "CP", 8],
    ["CP attribute header cut", 47, "00 00 000a 01 000000 0001", "CP", 8],
    ["EAP length mismatch", 48, "00 00 0009 02 07 0004 01", "EAP", 0],
    ["EAP header cut", 48, "00 00 0007 02 07 00", "EAP", 0],
    ["SKF fragment 0", 53, "00 00 0008 0000 0002", "SKF", 0],
    ["SKF fragment above total", 53, "00 00 0008 0003 0002", "SKF", 0],
    ["SKF header cut", 53, "00 00 0006 0001", "SKF", 0],
    ["SK not last", 46, "23 00 0006 0102 00", "SK", 6],
  ];
  for (const [what, first, octets, payload, offset] of cases) {
    const buf = hex(octets);
    const r = total(() => decodePayloads(first, buf, 0, buf.length));
    assert.ok(!r.ok, `${what}: decoded`);
    assert.equal(r.error.payload, payload, `${what}: ${r.error.reason}`);
    assert.equal(r.error.offset, offset, `${what}: ${r.error.reason}`);
    assert.equal(r.error.unsupportedCritical, undefined, what);
  }
});

Deno.test("malformed: boundary values that are valid are accepted", () => {
  const accepted: [string, number, string][] = [
    ["ID_NULL identity", 36, "00 00 0008 0d 000000"],
    ["empty Vendor ID", 43, "00 00 0004"],
    ["IKE delete", 42, "00 00 0008 01 00 0000"],
    ["EAP Success", 48, "00 00 0008 03 07 0004"],
    ["single fragment", 53, "00 00 0008 0001 0001"],
    [
      "unknown TV attribute",
      33,
      "00 00 0018 00 00 0014 01 01 00 01 00 00 000c 01 00 0014 8011 0001",
    ],
  ];
  for (const [what, first, octets] of accepted) {
    const buf = hex(octets);
    const r = decodePayloads(first, buf, 0, buf.length);
    assert.ok(r.ok, `${what}: ${JSON.stringify(!r.ok && r.error)}`);
    assert.deepEqual(encodePayloads(r.value).bytes, buf, what);
  }
});

Deno.test("malformed: encoders refuse values that do not fit the wire format", () => {
  const sk: Payload = { type: PayloadType.SK, innerFirst: 35, body: new Uint8Array(16) };
  const sa = (transforms: Transform[]): Payload => ({
    type: PayloadType.SA,
    proposals: [{ num: 1, protocol: ProtocolId.IKE, spi: hex(""), transforms }],
  });
  const tsi = (tsType: number, addressBytes: number): Payload => ({
    type: PayloadType.TSi,
    selectors: [{
      tsType,
      ipProtocol: 0,
      startPort: 0,
      endPort: 0,
      startAddress: new Uint8Array(addressBytes),
      endAddress: new Uint8Array(addressBytes),
    }],
  });
  const refused: [string, Payload][] = [
    ["nonce too short", { type: PayloadType.NONCE, data: new Uint8Array(15) }],
    ["nonce too long", { type: PayloadType.NONCE, data: new Uint8Array(257) }],
    ["group too wide", { type: PayloadType.KE, group: 0x10000, data: hex("01") }],
    ["empty KE data", { type: PayloadType.KE, group: 19, data: hex("") }],
    ["payload over 65535 octets", { type: PayloadType.V, data: new Uint8Array(65532) }],
    ["notify SPI over 255 octets", {
      type: PayloadType.N,
      protocol: 3,
      spi: new Uint8Array(256),
      notifyType: 1,
      data: hex(""),
    }],
    ["delete SPI size mismatch", {
      type: PayloadType.D,
      protocol: 3,
      spiSize: 4,
      spis: [hex("0102")],
    }],
    ["IKE delete with SPIs", { type: PayloadType.D, protocol: 1, spiSize: 0, spis: [hex("")] }],
    ["TS address size", tsi(7, 16)],
    ["TS type", tsi(10, 4)],
    ["empty SA", { type: PayloadType.SA, proposals: [] }],
    ["proposal without transforms", sa([])],
    [
      "TV attribute value size",
      sa([{ type: 1, id: 12, otherAttributes: [{ type: 0x8011, value: hex("01") }] }]),
    ],
    [
      "KEY_LENGTH in otherAttributes",
      sa([{ type: 1, id: 12, otherAttributes: [{ type: 0x800e, value: hex("0080") }] }]),
    ],
    ["CP attribute type over 15 bits", {
      type: PayloadType.CP,
      cfgType: 1,
      attributes: [{ type: 0x8001, value: hex("") }],
    }],
    ["EAP length mismatch", { type: PayloadType.EAP, data: hex("02 07 0009 01") }],
    ["SKF fragment out of range", {
      type: PayloadType.SKF,
      innerFirst: 0,
      fragmentNumber: 3,
      totalFragments: 2,
      body: hex(""),
    }],
    ["unknown type above 255", { type: 256, unknown: true, body: hex("") }],
  ];
  for (const [what, payload] of refused) {
    assert.throws(() => encodePayloads([payload]), RangeError, what);
  }
  assert.throws(() => encodePayloads([sk, { type: PayloadType.V, data: hex("00") }]), RangeError);
  assert.doesNotThrow(() => encodePayloads([{ type: PayloadType.V, data: hex("00") }, sk]));
});
