/** IKE header codec (RFC 7296 §3.1) against hand-laid octets. */

import assert from "node:assert/strict";
import {
  decodeHeader,
  encodeHeader,
  IKE_HEADER_BYTES,
  type IkeHeader,
  peekHeader,
} from "../../src/wire/header.ts";

/** Octets from hex strings; spaces only separate fields for the reader. */
function hex(...parts: string[]): Uint8Array {
  const digits = parts.join("").replaceAll(" ", "");
  return Uint8Array.from(digits.match(/../g) ?? [], (h) => parseInt(h, 16));
}

// An IKE_AUTH response (Message ID 1) with no payloads beyond the header.
const HEADER = hex(
  "0102030405060708", // SPIi
  "1112131415161718", // SPIr
  "2e", // Next Payload: SK (46)
  "20", // Version 2.0
  "23", // IKE_AUTH (35)
  "20", // Flags: Response
  "00000001", // Message ID 1
  "0000001c", // Length 28
);

const DECODED: IkeHeader = {
  spiI: hex("0102030405060708"),
  spiR: hex("1112131415161718"),
  nextPayload: 46,
  version: 0x20,
  exchange: 35,
  flags: 0x20,
  messageId: 1,
  length: 28,
};

Deno.test("header: decodes each field", () => {
  const r = decodeHeader(HEADER);
  assert.ok(r.ok);
  assert.deepEqual(r.value, DECODED);
});

Deno.test("header: encodes to the same octets", () => {
  assert.equal(IKE_HEADER_BYTES, 28);
  assert.deepEqual(encodeHeader(DECODED), HEADER);
});

Deno.test("header: 32-bit Message ID and length are unsigned big-endian", () => {
  const h = { ...DECODED, messageId: 0xfffffffe, length: 28 };
  const bytes = encodeHeader(h);
  assert.deepEqual(bytes.subarray(20, 24), hex("fffffffe"));
  const r = decodeHeader(bytes);
  assert.ok(r.ok);
  assert.equal(r.value.messageId, 0xfffffffe);
});

Deno.test("header: decoding works on a view at a non-zero byte offset", () => {
  const backing = new Uint8Array(HEADER.length + 5);
  backing.set(HEADER, 5);
  const r = decodeHeader(backing.subarray(5));
  assert.ok(r.ok);
  assert.deepEqual(r.value, DECODED);
});

Deno.test("header: shorter than 28 octets is an error, not an exception", () => {
  for (let n = 0; n < 28; n++) {
    const r = decodeHeader(HEADER.subarray(0, n));
    assert.ok(!r.ok);
    assert.equal(r.error.payload, "header");
    assert.equal(peekHeader(HEADER.subarray(0, n)).ok, false);
  }
});

Deno.test("header: major version other than 2 is rejected and reported", () => {
  const v1 = HEADER.slice();
  v1[17] = 0x10; // IKEv1
  const r = decodeHeader(v1);
  assert.ok(!r.ok);
  assert.equal(r.error.majorVersion, 1);
  assert.match(r.error.reason, /major version 1/);
  // peekHeader still exposes the SPIs and Message ID needed to answer INVALID_MAJOR_VERSION.
  const peek = peekHeader(v1);
  assert.ok(peek.ok);
  assert.deepEqual(peek.value.spiI, DECODED.spiI);
  assert.equal(peek.value.version, 0x10);

  const v3 = HEADER.slice();
  v3[17] = 0x30;
  const r3 = decodeHeader(v3);
  assert.ok(!r3.ok);
  assert.equal(r3.error.majorVersion, 3);
});

Deno.test("header: a higher minor version is accepted (RFC 7296 §2.5)", () => {
  const minor = HEADER.slice();
  minor[17] = 0x21;
  const r = decodeHeader(minor);
  assert.ok(r.ok);
  assert.equal(r.value.version, 0x21);
});

Deno.test("header: length field must equal the datagram size", () => {
  const long = new Uint8Array(40);
  long.set(HEADER);
  const trailing = decodeHeader(long);
  assert.ok(!trailing.ok);
  assert.equal(trailing.error.offset, 24);
  assert.match(trailing.error.reason, /trailing/);

  const claimsMore = HEADER.slice();
  claimsMore[27] = 29;
  const truncated = decodeHeader(claimsMore);
  assert.ok(!truncated.ok);
  assert.match(truncated.error.reason, /truncated/);

  const belowHeader = HEADER.slice();
  belowHeader[27] = 27;
  const tiny = decodeHeader(belowHeader);
  assert.ok(!tiny.ok);
  assert.match(tiny.error.reason, /below/);
});

Deno.test("header: encoder rejects SPIs that are not 8 octets", () => {
  assert.throws(() => encodeHeader({ ...DECODED, spiR: new Uint8Array(4) }), RangeError);
  assert.throws(() => encodeHeader({ ...DECODED, messageId: 2 ** 32 }), RangeError);
});
