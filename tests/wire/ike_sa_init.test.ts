/**
 * A first IKE_SA_INIT request as Libreswan 5 sends it (SA,KE,Ni,
 * N(IKEV2_FRAGMENTATION_SUPPORTED),N(NAT_DETECTION_SOURCE_IP),
 * N(NAT_DETECTION_DESTINATION_IP)), laid out by hand from RFC 7296 §3 and
 * checked field by field against the decoder, then byte for byte against
 * the encoder.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  ExchangeType,
  FLAG_INITIATOR,
  IKEV2_VERSION,
  NotifyType,
  PayloadType,
  ProtocolId,
  TransformType,
} from "../../src/wire/constants.ts";
import {
  decodeMessage,
  encodeMessage,
  findPayload,
  isUnknownPayload,
  notifies,
  type NotifyPayload,
} from "../../src/wire/payloads.ts";

/** Octets from hex strings; spaces only separate fields for the reader. */
function hex(...parts: string[]): Uint8Array {
  const digits = parts.join("").replaceAll(" ", "");
  return Uint8Array.from(digits.match(/../g) ?? [], (h) => parseInt(h, 16));
}

const SPI_I = "a1b2c3d4e5f60718";
// RFC 7748 §6.1: Alice's X25519 public key.
const X25519_PUBLIC = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
const NONCE = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
// SHA-1(SPIi | SPIr | 192.1.2.45 | 500) and SHA-1(SPIi | SPIr | 192.1.2.23 | 500), RFC 7296 §2.23.
const NATD_SOURCE = "31b9330a1aee77799c4d88420881e1fe3145d8d6";
const NATD_DESTINATION = "1a11b4987384b3d6c35358fe87065b78c3194e14";

const REQUEST = hex(
  // --- IKE header (§3.1), 28 octets
  SPI_I, // IKE SA Initiator's SPI
  "0000000000000000", // IKE SA Responder's SPI: zero in the first message
  "21", // Next Payload: SA (33)
  "20", // MjVer 2, MnVer 0
  "22", // Exchange Type: IKE_SA_INIT (34)
  "08", // Flags: Initiator
  "00000000", // Message ID 0
  "000000d0", // Length 208
  // --- SA payload (§3.3), 40 octets
  "22", // Next Payload: KE (34)
  "00", // C = 0, RESERVED
  "0028", // Payload Length 40
  // Proposal substructure (§3.3.1), 36 octets
  "00", // Last Substruc: last proposal
  "00", // RESERVED
  "0024", // Proposal Length 36
  "01", // Proposal Num 1
  "01", // Protocol ID: IKE
  "00", // SPI Size 0 (initial IKE SA)
  "03", // Num Transforms 3
  // Transform substructure (§3.3.2): ENCR_AES_GCM_16 with KEY_LENGTH 256
  "03", // Last Substruc: more transforms
  "00", // RESERVED
  "000c", // Transform Length 12
  "01", // Transform Type: ENCR
  "00", // RESERVED
  "0014", // Transform ID 20 = ENCR_AES_GCM_16
  "800e", // AF = 1 (TV), Attribute Type 14 = KEY_LENGTH
  "0100", // Attribute Value 256
  // Transform: PRF_HMAC_SHA2_256
  "03", // more transforms
  "00",
  "0008", // Transform Length 8
  "02", // Transform Type: PRF
  "00",
  "0005", // Transform ID 5 = PRF_HMAC_SHA2_256
  // Transform: KE 31 (Curve25519)
  "00", // last transform
  "00",
  "0008", // Transform Length 8
  "04", // Transform Type: KE
  "00",
  "001f", // Transform ID 31 = Curve25519
  // --- KE payload (§3.4), 40 octets
  "28", // Next Payload: Nonce (40)
  "00",
  "0028", // Payload Length 40
  "001f", // Key Exchange Method 31
  "0000", // RESERVED
  X25519_PUBLIC, // Key Exchange Data, 32 octets
  // --- Nonce payload (§3.9), 36 octets
  "29", // Next Payload: Notify (41)
  "00",
  "0024", // Payload Length 36
  NONCE, // Nonce Data, 32 octets
  // --- Notify IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383 §2.3), 8 octets
  "29", // Next Payload: Notify
  "00",
  "0008", // Payload Length 8
  "00", // Protocol ID 0 (no SPI)
  "00", // SPI Size 0
  "402e", // Notify Message Type 16430
  // --- Notify NAT_DETECTION_SOURCE_IP (§3.10.1), 28 octets
  "29", // Next Payload: Notify
  "00",
  "001c", // Payload Length 28
  "00",
  "00",
  "4004", // Notify Message Type 16388
  NATD_SOURCE, // Notification Data: SHA-1 hash, 20 octets
  // --- Notify NAT_DETECTION_DESTINATION_IP, 28 octets
  "00", // Next Payload: NONE
  "00",
  "001c", // Payload Length 28
  "00",
  "00",
  "4005", // Notify Message Type 16389
  NATD_DESTINATION,
);

Deno.test("IKE_SA_INIT vector: test bytes are self-consistent", () => {
  assert.equal(REQUEST.length, 208);
  // The NAT-D hashes in the vector really are the RFC 7296 §2.23 hashes.
  const natd = (ip: number[]) =>
    createHash("sha1").update(hex(SPI_I, "0000000000000000")).update(Uint8Array.from(ip))
      .update(hex("01f4")).digest("hex");
  assert.equal(natd([192, 1, 2, 45]), NATD_SOURCE);
  assert.equal(natd([192, 1, 2, 23]), NATD_DESTINATION);
});

Deno.test("IKE_SA_INIT vector: header decodes field by field", () => {
  const r = decodeMessage(REQUEST);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  const h = r.value.header;
  assert.deepEqual(h.spiI, hex(SPI_I));
  assert.deepEqual(h.spiR, new Uint8Array(8));
  assert.equal(h.nextPayload, PayloadType.SA);
  assert.equal(h.version, IKEV2_VERSION);
  assert.equal(h.exchange, ExchangeType.IKE_SA_INIT);
  assert.equal(h.flags, FLAG_INITIATOR);
  assert.equal(h.messageId, 0);
  assert.equal(h.length, 208);
});

Deno.test("IKE_SA_INIT vector: payloads decode field by field", () => {
  const r = decodeMessage(REQUEST);
  assert.ok(r.ok);
  const payloads = r.value.payloads;
  assert.deepEqual(payloads.map((p) => p.type), [33, 34, 40, 41, 41, 41]);
  assert.ok(payloads.every((p) => !isUnknownPayload(p) && p.critical === undefined));

  const sa = findPayload(payloads, PayloadType.SA);
  assert.ok(sa);
  assert.equal(sa.proposals.length, 1);
  const [proposal] = sa.proposals;
  assert.equal(proposal.num, 1);
  assert.equal(proposal.protocol, ProtocolId.IKE);
  assert.equal(proposal.spi.length, 0);
  assert.deepEqual(proposal.transforms, [
    { type: TransformType.ENCR, id: 20, keyLength: 256 },
    { type: TransformType.PRF, id: 5 },
    { type: TransformType.KE, id: 31 },
  ]);

  const ke = findPayload(payloads, PayloadType.KE);
  assert.ok(ke);
  assert.equal(ke.group, 31);
  assert.deepEqual(ke.data, hex(X25519_PUBLIC));

  const nonce = findPayload(payloads, PayloadType.NONCE);
  assert.ok(nonce);
  assert.deepEqual(nonce.data, hex(NONCE));

  const ns = notifies(payloads);
  assert.deepEqual(
    ns.map((n) => n.notifyType),
    [
      NotifyType.IKEV2_FRAGMENTATION_SUPPORTED,
      NotifyType.NAT_DETECTION_SOURCE_IP,
      NotifyType.NAT_DETECTION_DESTINATION_IP,
    ],
  );
  for (const n of ns) {
    assert.equal(n.protocol, 0);
    assert.equal(n.spi.length, 0);
  }
  assert.equal(ns[0].data.length, 0);
  assert.deepEqual(ns[1].data, hex(NATD_SOURCE));
  assert.deepEqual(ns[2].data, hex(NATD_DESTINATION));
});

/** A Notify about the IKE SA: no protocol, no SPI. */
function notify(notifyType: number, dataHex: string): NotifyPayload {
  return {
    type: PayloadType.N,
    protocol: 0,
    spi: new Uint8Array(0),
    notifyType,
    data: hex(dataHex),
  };
}

Deno.test("IKE_SA_INIT vector: encoder reproduces the bytes exactly", () => {
  const built = encodeMessage(
    {
      spiI: hex(SPI_I),
      spiR: new Uint8Array(8),
      version: IKEV2_VERSION,
      exchange: ExchangeType.IKE_SA_INIT,
      flags: FLAG_INITIATOR,
      messageId: 0,
    },
    [
      {
        type: PayloadType.SA,
        proposals: [{
          num: 1,
          protocol: ProtocolId.IKE,
          spi: new Uint8Array(0),
          transforms: [
            { type: TransformType.ENCR, id: 20, keyLength: 256 },
            { type: TransformType.PRF, id: 5 },
            { type: TransformType.KE, id: 31 },
          ],
        }],
      },
      { type: PayloadType.KE, group: 31, data: hex(X25519_PUBLIC) },
      { type: PayloadType.NONCE, data: hex(NONCE) },
      notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED, ""),
      notify(NotifyType.NAT_DETECTION_SOURCE_IP, NATD_SOURCE),
      notify(NotifyType.NAT_DETECTION_DESTINATION_IP, NATD_DESTINATION),
    ],
  );
  assert.deepEqual(built, REQUEST);
});
