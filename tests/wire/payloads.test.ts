/**
 * Payload codecs: every payload type round-trips through encode → decode,
 * and the encodings of the less obvious layouts are compared with octets
 * laid out by hand from RFC 7296 §3 / RFC 7383 §2.5.
 */

import assert from "node:assert/strict";
import {
  AuthMethod,
  CertEncoding,
  CfgType,
  ConfigAttributeType,
  ExchangeType,
  FLAG_INITIATOR,
  IdType,
  NotifyType,
  PayloadType,
  ProtocolId,
  TransformType,
  TsType,
} from "../../src/wire/constants.ts";
import {
  decodeMessage,
  decodePayloads,
  encodeMessage,
  encodePayloads,
  findNotify,
  findPayload,
  findPayloads,
  isUnknownPayload,
  notifies,
  type Payload,
} from "../../src/wire/payloads.ts";

/** Octets from hex strings; spaces only separate fields for the reader. */
function hex(...parts: string[]): Uint8Array {
  const digits = parts.join("").replaceAll(" ", "");
  return Uint8Array.from(digits.match(/../g) ?? [], (h) => parseInt(h, 16));
}

const text = (s: string) => new TextEncoder().encode(s);
const filled = (n: number, v: number) => new Uint8Array(n).fill(v);

const HEADER = {
  spiI: hex("0011223344556677"),
  spiR: hex("8899aabbccddeeff"),
  version: 0x20,
  exchange: ExchangeType.IKE_AUTH,
  flags: FLAG_INITIATOR,
  messageId: 1,
};

/** Two proposals: an IKE rekey proposal and an ESP proposal with raw extra attributes. */
const SA: Payload = {
  type: PayloadType.SA,
  proposals: [
    {
      num: 1,
      protocol: ProtocolId.IKE,
      spi: hex("0102030405060708"),
      transforms: [
        { type: TransformType.ENCR, id: 12, keyLength: 128 },
        { type: TransformType.ENCR, id: 12, keyLength: 256 },
        { type: TransformType.INTEG, id: 12 },
        { type: TransformType.PRF, id: 5 },
        { type: TransformType.KE, id: 19 },
      ],
    },
    {
      num: 2,
      protocol: ProtocolId.ESP,
      spi: hex("c0ffee01"),
      transforms: [
        {
          type: TransformType.ENCR,
          id: 20,
          keyLength: 256,
          otherAttributes: [
            { type: 0x8000 | 99, value: hex("abcd") }, // TV
            { type: 17, value: hex("010203") }, // TLV
            { type: 18, value: new Uint8Array(0) }, // empty TLV
          ],
        },
        { type: TransformType.ESN, id: 0 },
      ],
    },
  ],
};

/** One of every clear payload, ending in SK. */
const ALL_CLEAR: Payload[] = [
  SA,
  { type: PayloadType.KE, group: 19, data: filled(64, 0x42) },
  { type: PayloadType.IDi, idType: IdType.ID_FQDN, data: text("west") },
  { type: PayloadType.IDr, idType: IdType.ID_NULL, data: new Uint8Array(0) },
  {
    type: PayloadType.CERT,
    encoding: CertEncoding.X509_CERTIFICATE_SIGNATURE,
    data: filled(300, 0x30),
  },
  {
    type: PayloadType.CERTREQ,
    encoding: CertEncoding.X509_CERTIFICATE_SIGNATURE,
    data: filled(20, 7),
  },
  {
    type: PayloadType.AUTH,
    method: AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE,
    data: filled(32, 9),
  },
  { type: PayloadType.NONCE, data: filled(16, 1) },
  { type: PayloadType.NONCE, data: filled(256, 2) },
  {
    type: PayloadType.N,
    protocol: ProtocolId.ESP,
    spi: hex("12345678"),
    notifyType: NotifyType.REKEY_SA,
    data: new Uint8Array(0),
  },
  {
    type: PayloadType.N,
    protocol: 0,
    spi: new Uint8Array(0),
    notifyType: NotifyType.COOKIE,
    data: filled(32, 5),
  },
  {
    type: PayloadType.D,
    protocol: ProtocolId.ESP,
    spiSize: 4,
    spis: [hex("00000001"), hex("00000002")],
  },
  { type: PayloadType.D, protocol: ProtocolId.IKE, spiSize: 0, spis: [] },
  { type: PayloadType.V, data: text("swan"), critical: true },
  {
    type: PayloadType.TSi,
    selectors: [{
      tsType: TsType.TS_IPV4_ADDR_RANGE,
      ipProtocol: 0,
      startPort: 0,
      endPort: 65535,
      startAddress: hex("c0000100"),
      endAddress: hex("c00001ff"),
    }],
  },
  {
    type: PayloadType.TSr,
    selectors: [
      {
        tsType: TsType.TS_IPV6_ADDR_RANGE,
        ipProtocol: 17,
        startPort: 500,
        endPort: 500,
        startAddress: hex("20010db8000000000000000000000000"),
        endAddress: hex("20010db8ffffffffffffffffffffffff"),
      },
      {
        tsType: TsType.TS_IPV4_ADDR_RANGE,
        ipProtocol: 6,
        startPort: 65535, // OPAQUE ports: start > end (RFC 7296 §3.13.1)
        endPort: 0,
        startAddress: hex("0a000001"),
        endAddress: hex("0a000001"),
      },
    ],
  },
  { type: PayloadType.TSr, selectors: [] },
  {
    type: PayloadType.CP,
    cfgType: CfgType.CFG_REQUEST,
    attributes: [
      { type: ConfigAttributeType.INTERNAL_IP4_ADDRESS, value: new Uint8Array(0) },
      { type: ConfigAttributeType.INTERNAL_IP4_DNS, value: hex("08080808") },
    ],
  },
  { type: PayloadType.EAP, data: hex("02 07 0009 01 61626364") }, // Response/Identity "abcd"
  { type: 200, unknown: true, body: hex("deadbeef") },
  { type: PayloadType.GSPM, unknown: true, body: new Uint8Array(0) },
  { type: PayloadType.SK, innerFirst: PayloadType.IDi, body: filled(48, 0xee) },
];

Deno.test("payloads: every payload type round-trips through a message", () => {
  const bytes = encodeMessage(HEADER, ALL_CLEAR);
  const r = decodeMessage(bytes);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  assert.equal(r.value.header.nextPayload, PayloadType.SA);
  assert.equal(r.value.header.length, bytes.length);
  const sk = r.value.payloads.at(-1);
  assert.ok(sk && sk.type === PayloadType.SK && "offset" in sk);
  // The SK generic header sits 4 + body octets before the end.
  assert.equal(sk.offset, bytes.length - 4 - 48);
  assert.deepEqual(r.value.payloads, [...ALL_CLEAR.slice(0, -1), {
    ...ALL_CLEAR.at(-1),
    offset: sk.offset,
  }]);
  // Decoding is canonical: re-encoding the decoded payloads gives the same octets.
  assert.deepEqual(encodeMessage(HEADER, r.value.payloads), bytes);
});

Deno.test("payloads: each payload also round-trips alone through decodePayloads", () => {
  for (const p of ALL_CLEAR) {
    const { first, bytes } = encodePayloads([p]);
    assert.equal(first, p.type);
    const r = decodePayloads(first, bytes, 0, bytes.length);
    assert.ok(r.ok, `${p.type}: ${JSON.stringify(!r.ok && r.error)}`);
    const expected = "innerFirst" in p ? { ...p, offset: 0 } : p;
    assert.deepEqual(r.value, [expected]);
  }
});

Deno.test("payloads: SKF round-trips, next payload carries innerFirst", () => {
  const skf: Payload = {
    type: PayloadType.SKF,
    innerFirst: PayloadType.IDi,
    fragmentNumber: 1,
    totalFragments: 3,
    body: filled(40, 0xaa),
  };
  const bytes = encodeMessage(HEADER, [skf]);
  assert.deepEqual(
    bytes.subarray(28, 36),
    hex("23 00 0030 0001 0003"), // next IDi, length 48, fragment 1 of 3
  );
  const r = decodeMessage(bytes);
  assert.ok(r.ok);
  assert.deepEqual(r.value.payloads, [{ ...skf, offset: 28 }]);
});

Deno.test("payloads: empty chain encodes to nothing and decodes from nothing", () => {
  const { first, bytes } = encodePayloads([]);
  assert.equal(first, PayloadType.NONE);
  assert.equal(bytes.length, 0);
  const msg = encodeMessage(HEADER, []);
  assert.equal(msg.length, 28);
  const r = decodeMessage(msg);
  assert.ok(r.ok);
  assert.deepEqual(r.value.payloads, []);
});

Deno.test("payloads: SA with two proposals matches hand-laid octets", () => {
  const { bytes } = encodePayloads([{
    type: PayloadType.SA,
    proposals: [
      {
        num: 1,
        protocol: ProtocolId.ESP,
        spi: hex("01020304"),
        transforms: [{ type: 1, id: 20, keyLength: 128 }],
      },
      {
        num: 2,
        protocol: ProtocolId.ESP,
        spi: hex("01020304"),
        transforms: [{ type: 1, id: 12 }, { type: 5, id: 1 }],
      },
    ],
  }]);
  assert.deepEqual(
    bytes,
    hex(
      "00 00 0038", // generic header: next NONE, length 56
      "02 00 0018 01 03 04 01 01020304", // proposal 1 (more), length 24, ESP, SPI size 4, 1 transform, SPI
      "00 00 000c 01 00 0014 800e 0080", // last transform, length 12, ENCR 20, KEY_LENGTH (TV) 128
      "00 00 001c 02 03 04 02 01020304", // proposal 2 (last), length 28, ESP, SPI size 4, 2 transforms, SPI
      "03 00 0008 01 00 000c", // more transforms: ENCR 12
      "00 00 0008 05 00 0001", // last transform: ESN 1
    ),
  );
});

Deno.test("payloads: N, D, TS, CP, ID, AUTH, CERT, KE match hand-laid octets", () => {
  const cases: [Payload, Uint8Array][] = [
    [
      {
        type: PayloadType.N,
        protocol: 3,
        spi: hex("aabbccdd"),
        notifyType: NotifyType.REKEY_SA,
        data: hex("ff"),
      },
      hex("00 00 000d 03 04 4009 aabbccdd ff"),
    ],
    [
      { type: PayloadType.D, protocol: 3, spiSize: 4, spis: [hex("11111111"), hex("22222222")] },
      hex("00 00 0010 03 04 0002 11111111 22222222"),
    ],
    [
      {
        type: PayloadType.TSi,
        selectors: [{
          tsType: 7,
          ipProtocol: 6,
          startPort: 80,
          endPort: 443,
          startAddress: hex("c0a80001"),
          endAddress: hex("c0a800ff"),
        }],
      },
      hex("00 00 0018 01 000000 07 06 0010 0050 01bb c0a80001 c0a800ff"),
    ],
    [
      {
        type: PayloadType.CP,
        cfgType: CfgType.CFG_REPLY,
        attributes: [{ type: 1, value: hex("0a000002") }],
      },
      hex("00 00 0010 02 000000 0001 0004 0a000002"),
    ],
    [
      { type: PayloadType.IDi, idType: IdType.ID_IPV4_ADDR, data: hex("c0010203") },
      hex("00 00 000c 01 000000 c0010203"),
    ],
    [
      { type: PayloadType.AUTH, method: AuthMethod.DIGITAL_SIGNATURE, data: hex("0102") },
      hex("00 00 000a 0e 000000 0102"),
    ],
    [
      { type: PayloadType.CERTREQ, encoding: 4, data: hex("abcdef") },
      hex("00 00 0008 04 abcdef"),
    ],
    [
      { type: PayloadType.KE, group: 14, data: hex("0102"), critical: true },
      hex("00 80 000a 000e 0000 0102"),
    ],
  ];
  for (const [payload, octets] of cases) {
    assert.deepEqual(encodePayloads([payload]).bytes, octets, `payload ${payload.type}`);
    const r = decodePayloads(payload.type, octets, 0, octets.length);
    assert.ok(r.ok);
    assert.deepEqual(r.value, [payload]);
  }
});

Deno.test("payloads: chain links Next Payload fields in order", () => {
  const { first, bytes } = encodePayloads([
    { type: PayloadType.V, data: hex("01") },
    { type: PayloadType.NONCE, data: filled(16, 0) },
    { type: PayloadType.SK, innerFirst: PayloadType.D, body: hex("0000") },
  ]);
  assert.equal(first, PayloadType.V);
  assert.equal(bytes[0], PayloadType.NONCE); // V → NONCE
  assert.equal(bytes[5], PayloadType.SK); // NONCE → SK
  assert.equal(bytes[5 + 20], PayloadType.D); // SK's Next Payload = first inner payload
});

Deno.test("payloads: decodePayloads honours offset and end within a larger buffer", () => {
  const { first, bytes } = encodePayloads([{ type: PayloadType.V, data: hex("0102") }]);
  const big = new Uint8Array(bytes.length + 10).fill(0xff);
  big.set(bytes, 3);
  const r = decodePayloads(first, big, 3, 3 + bytes.length);
  assert.ok(r.ok);
  assert.deepEqual(r.value, [{ type: PayloadType.V, data: hex("0102") }]);
  const bad = decodePayloads(first, big, 3, big.length + 1);
  assert.ok(!bad.ok);
  assert.equal(bad.error.payload, "chain");
});

Deno.test("payloads: decoded byte fields are views, not copies", () => {
  const { first, bytes } = encodePayloads([{ type: PayloadType.V, data: hex("0102") }]);
  const r = decodePayloads(first, bytes, 0, bytes.length);
  assert.ok(r.ok);
  const v = findPayload(r.value, PayloadType.V);
  assert.ok(v);
  assert.equal(v.data.buffer, bytes.buffer);
});

Deno.test("payloads: narrowing helpers pick typed payloads and skip unknown ones", () => {
  const payloads: Payload[] = [
    { type: PayloadType.KE, unknown: true, body: hex("00") }, // hand-made, not a real KE
    {
      type: PayloadType.N,
      protocol: 0,
      spi: new Uint8Array(0),
      notifyType: NotifyType.COOKIE,
      data: hex("01"),
    },
    { type: PayloadType.KE, group: 31, data: hex("02") },
    {
      type: PayloadType.N,
      protocol: 0,
      spi: new Uint8Array(0),
      notifyType: NotifyType.INITIAL_CONTACT,
      data: new Uint8Array(0),
    },
  ];
  const ke = findPayload(payloads, PayloadType.KE);
  assert.equal(ke?.group, 31);
  assert.equal(findPayload(payloads, PayloadType.SA), undefined);
  assert.equal(findPayloads(payloads, PayloadType.KE).length, 1);
  assert.deepEqual(notifies(payloads).map((n) => n.notifyType), [16390, 16384]);
  assert.equal(findNotify(payloads, NotifyType.INITIAL_CONTACT)?.notifyType, 16384);
  assert.equal(findNotify(payloads, NotifyType.REKEY_SA), undefined);
  assert.equal(isUnknownPayload(payloads[0]), true);
  assert.equal(isUnknownPayload(payloads[2]), false);
});
