/**
 * The ESP codec against a separately written reference (esp_reference.ts,
 * node:crypto called directly): with the same IV both produce the same
 * bytes, each opens what the other sealed, and every tampering is refused.
 * Suites: AES-GCM-16 (RFC 4106), ChaCha20-Poly1305 (RFC 7634), AES-CBC with
 * HMAC-SHA1-96 (RFC 2404) and HMAC-SHA2 (RFC 4868), with and without ESN;
 * AEAD suites both through node:crypto and through a libcrypto context
 * keyed once per SA (ffi/libcrypto.ts).
 */
import assert from "node:assert/strict";
import { AeadContext, type AeadName } from "../../../ffi/libcrypto.ts";
import { randomBytes } from "node:crypto";
import {
  ENCR_AES_CBC,
  ENCR_AES_GCM_16,
  ENCR_CHACHA20_POLY1305,
  encrAlgorithm,
} from "../../../src/crypto/encr.ts";
import {
  AUTH_HMAC_SHA1_96,
  AUTH_HMAC_SHA2_256_128,
  AUTH_HMAC_SHA2_384_192,
  AUTH_HMAC_SHA2_512_256,
  integAlgorithm,
} from "../../../src/crypto/integ.ts";
import {
  espHeader,
  espOpen,
  espSeal,
  type EspTransform,
  NEXT_HEADER_IPV4,
  NEXT_HEADER_IPV6,
} from "../../../src/kernel/userspace/esp_codec.ts";
import { referenceOpen, referenceSeal, type ReferenceSuite } from "./esp_reference.ts";

const bytes = (n: number) => new Uint8Array(randomBytes(n));
const TWO_32 = 2 ** 32;

interface Suite {
  name: string;
  encrId: number;
  keyBits: number;
  integId: number;
  reference: Omit<ReferenceSuite, "key" | "hmacKey" | "esn">;
}

const SUITES: Suite[] = [
  {
    name: "AES_GCM_16_128",
    encrId: ENCR_AES_GCM_16,
    keyBits: 128,
    integId: 0,
    reference: { cipher: "aes-128-gcm" },
  },
  {
    name: "AES_GCM_16_256",
    encrId: ENCR_AES_GCM_16,
    keyBits: 256,
    integId: 0,
    reference: { cipher: "aes-256-gcm" },
  },
  {
    name: "CHACHA20_POLY1305",
    encrId: ENCR_CHACHA20_POLY1305,
    keyBits: 256,
    integId: 0,
    reference: { cipher: "chacha20-poly1305" },
  },
  {
    name: "AES_CBC_128-HMAC_SHA1_96",
    encrId: ENCR_AES_CBC,
    keyBits: 128,
    integId: AUTH_HMAC_SHA1_96,
    reference: { cipher: "aes-128-cbc", hmac: { hash: "sha1", bytes: 12 } },
  },
  {
    name: "AES_CBC_256-HMAC_SHA2_256_128",
    encrId: ENCR_AES_CBC,
    keyBits: 256,
    integId: AUTH_HMAC_SHA2_256_128,
    reference: { cipher: "aes-256-cbc", hmac: { hash: "sha256", bytes: 16 } },
  },
  {
    name: "AES_CBC_128-HMAC_SHA2_384_192",
    encrId: ENCR_AES_CBC,
    keyBits: 128,
    integId: AUTH_HMAC_SHA2_384_192,
    reference: { cipher: "aes-128-cbc", hmac: { hash: "sha384", bytes: 24 } },
  },
  {
    name: "AES_CBC_256-HMAC_SHA2_512_256",
    encrId: ENCR_AES_CBC,
    keyBits: 256,
    integId: AUTH_HMAC_SHA2_512_256,
    reference: { cipher: "aes-256-cbc", hmac: { hash: "sha512", bytes: 32 } },
  },
];

/**
 * Fresh random keys for `suite`, as our transform and as the reference's
 * suite; with `libcrypto`, the transform seals and opens through a keyed
 * libcrypto context (which must be available).
 */
function keyed(
  suite: Suite,
  esn: boolean,
  libcrypto: boolean,
): { ours: EspTransform; ref: ReferenceSuite } {
  const encr = encrAlgorithm(suite.encrId, suite.keyBits)!;
  const integ = suite.integId === 0 ? undefined : integAlgorithm(suite.integId)!;
  const encrKey = bytes(encr.keyMaterialBytes);
  const integKey = bytes(integ?.keyBytes ?? 0);
  const ours: EspTransform = { encr, encrKey, integ, integKey, esn };
  if (libcrypto) {
    const keyBytes = encrKey.length - encr.saltBytes;
    const context = AeadContext.create(
      suite.reference.cipher as AeadName,
      encrKey.subarray(0, keyBytes),
    );
    assert.ok(context, "libcrypto.so.3 can be opened");
    const nonce = new Uint8Array(12);
    nonce.set(encrKey.subarray(keyBytes));
    ours.aead = { context, nonce };
  }
  return { ours, ref: { ...suite.reference, key: encrKey, hmacKey: integKey, esn } };
}

const SPI = 0xc0ffee01;

for (const suite of SUITES) {
  for (
    const [esn, libcrypto] of suite.integId === 0
      ? [[false, false], [true, false], [false, true], [true, true]]
      : [[false, false], [true, false]]
  ) {
    const label = `${suite.name}${esn ? "/ESN" : ""}${libcrypto ? "/libcrypto" : ""}`;
    // With ESN, a high half that is not zero proves it is authenticated but never sent.
    const seqHigh = esn ? 7 : 0;
    const seqLow = 0xfffffff0;
    const seq = seqHigh * TWO_32 + seqLow;

    Deno.test(`ESP ${label}: same bytes as the reference, and each opens the other's packets`, () => {
      const { ours, ref } = keyed(suite, esn, libcrypto);
      for (let length = 20; length < 60; length += 3) {
        const payload = bytes(length);
        const iv = bytes(ours.encr.ivBytes);
        const nextHeader = length % 2 ? NEXT_HEADER_IPV4 : NEXT_HEADER_IPV6;
        const packet = espSeal(ours, SPI, seq, iv, payload, nextHeader);
        assert.deepEqual(packet, referenceSeal(ref, SPI, seqHigh, seqLow, iv, payload, nextHeader));
        assert.deepEqual(espHeader(packet), { spi: SPI, seqLow });
        const icv = ours.encr.aead ? 16 : ours.integ!.icvBytes;
        const align = ours.encr.aead ? 4 : 16;
        const padded = Math.ceil((length + 2) / align) * align;
        assert.equal(packet.length, 8 + iv.length + padded + icv, "header, IV, padded body, ICV");

        const theirs = referenceOpen(ref, packet, seqHigh);
        assert.ok(theirs, "the reference authenticates our packet");
        assert.deepEqual(theirs.payload, payload);
        assert.equal(theirs.nextHeader, nextHeader);
        // RFC 4303 §2.4 default padding: 1, 2, 3, …
        assert.deepEqual(
          [...theirs.padding],
          Array.from({ length: theirs.padding.length }, (_, i) => i + 1),
        );
        // The encrypted part ends on the cipher's block (CBC) or a 4-byte boundary (AEAD).
        assert.equal((payload.length + theirs.padding.length + 2) % align, 0);

        const fromRef = referenceSeal(ref, SPI, seqHigh, seqLow, bytes(iv.length), payload, 4);
        const opened = espOpen(ours, fromRef, seq);
        assert.ok(opened.ok, `we open the reference's packet: ${JSON.stringify(opened)}`);
        assert.deepEqual(opened.payload, payload);
        assert.equal(opened.nextHeader, 4);
      }
    });

    Deno.test(`ESP ${label}: any flipped bit, a wrong key or a short packet is refused`, () => {
      const { ours } = keyed(suite, esn, libcrypto);
      const payload = bytes(41);
      const packet = espSeal(ours, SPI, seq, bytes(ours.encr.ivBytes), payload, 4);
      for (let at = 0; at < packet.length; at++) {
        const tampered = new Uint8Array(packet);
        tampered[at] ^= 1 << (at % 8);
        assert.deepEqual(
          espOpen(ours, tampered, seq),
          { ok: false, reason: "integrity" },
          `byte ${at}`,
        );
      }
      const other = keyed(suite, esn, libcrypto).ours;
      assert.deepEqual(espOpen(other, packet, seq), { ok: false, reason: "integrity" });
      if (esn) {
        // The sender's high half is not the receiver's guess: the ICV does not verify.
        assert.deepEqual(espOpen(ours, packet, seq + TWO_32), { ok: false, reason: "integrity" });
      }
      // Cuts that break the block or 4-byte alignment, and one leaving only the header.
      for (const cut of [1, 3, packet.length - 8]) {
        assert.deepEqual(espOpen(ours, packet.subarray(0, packet.length - cut), seq), {
          ok: false,
          reason: "malformed",
        });
      }
      assert.equal(espHeader(packet.subarray(0, 7)), undefined);
    });

    Deno.test(`ESP ${label}: padding that is not 1, 2, 3, … is refused after authentication`, () => {
      const { ours, ref } = keyed(suite, esn, libcrypto);
      const align = ours.encr.aead ? 4 : 16;
      const payload = bytes(align * 2 - 5); // three bytes of padding
      const iv = bytes(ours.encr.ivBytes);
      const good = referenceSeal(ref, SPI, seqHigh, seqLow, iv, payload, 4, Uint8Array.of(1, 2, 3));
      assert.ok(espOpen(ours, good, seq).ok);
      const bad = referenceSeal(ref, SPI, seqHigh, seqLow, iv, payload, 4, Uint8Array.of(1, 9, 3));
      assert.deepEqual(espOpen(ours, bad, seq), { ok: false, reason: "padding" });
      // A Pad Length pointing before the start of the plaintext.
      const beyond = referenceSeal(
        ref,
        SPI,
        seqHigh,
        seqLow,
        iv,
        payload,
        4,
        Uint8Array.of(1, 2, 3),
        250,
      );
      assert.deepEqual(espOpen(ours, beyond, seq), { ok: false, reason: "padding" });
      // An empty payload with a whole block of padding is legal.
      const empty = referenceSeal(
        ref,
        SPI,
        seqHigh,
        seqLow,
        iv,
        new Uint8Array(0),
        4,
        Uint8Array.from({ length: align * 2 - 2 }, (_, i) => i + 1),
      );
      const opened = espOpen(ours, empty, seq);
      assert.ok(opened.ok);
      assert.equal(opened.payload.length, 0);
    });
  }
}
