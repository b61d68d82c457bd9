/**
 * ESP packets (RFC 4303 §2): SPI, sequence number, IV, encrypted payload
 * with padding, pad length and next header, then the ICV. Transforms:
 * AES-GCM-16 (RFC 4106), ChaCha20-Poly1305 (RFC 7634), and AES-CBC (RFC
 * 3602) with a truncated HMAC (RFC 2404, RFC 4868). With extended sequence
 * numbers (RFC 4303 §2.2.1) the high 32 bits are never sent: they enter the
 * ICV after the packet (CBC+HMAC) or the AAD (RFC 4106 §5, RFC 7634 §2).
 *
 * Opening is total: every failure is a {@link EspDropReason}, never a throw.
 */
import type { AeadContext } from "../../../ffi/libcrypto.ts";
import type { EncrAlgorithm } from "../../crypto/encr.ts";
import type { IntegAlgorithm } from "../../crypto/integ.ts";

/** The keys and algorithms of one ESP SA direction. */
export interface EspTransform {
  encr: EncrAlgorithm;
  /** Key followed by salt for AEAD ciphers. */
  encrKey: Uint8Array;
  /** Absent for AEAD ciphers, which authenticate by themselves. */
  integ?: IntegAlgorithm;
  integKey: Uint8Array;
  /** Extended (64-bit) sequence numbers. */
  esn: boolean;
  /**
   * AEAD ciphers, where libcrypto is available: a context keyed once for
   * the SA, and a nonce buffer holding the salt, then room for the IV
   * (RFC 4106 §4, RFC 7634 §2). Without it, `encr` does the work per packet.
   */
  aead?: { context: AeadContext; nonce: Uint8Array };
}

/** Next Header values of tunnel-mode payloads (IANA protocol numbers). */
export const NEXT_HEADER_IPV4 = 4;
/** An IPv6 packet inside ESP. */
export const NEXT_HEADER_IPV6 = 41;
/** A dummy packet for traffic-flow confidentiality (RFC 4303 §2.6): discarded on receipt. */
export const NEXT_HEADER_NONE = 59;

/** SPI and sequence number: the clear-text ESP header. */
const ESP_HEADER_BYTES = 8;
/** Pad Length and Next Header. */
const TRAILER_BYTES = 2;
/** The encrypted part of an ESP packet ends on a four-byte boundary (RFC 4303 §2.4). */
const MIN_ALIGN = 4;
const TWO_32 = 2 ** 32;

/** Why an inbound ESP packet was dropped; also the keys of the drop counters. */
export type EspDropReason =
  /** Shorter than a header, IV, trailer and ICV, or not a whole number of cipher blocks. */
  | "malformed"
  /** ICV or AEAD tag did not verify (including a wrong guess of the ESN high bits). */
  | "integrity"
  /** Padding bytes are not 1, 2, 3, … (RFC 4303 §2.4) or longer than the payload. */
  | "padding";

/** An opened ESP packet: the inner payload and its protocol. */
export type EspOpened =
  | { ok: true; payload: Uint8Array; nextHeader: number }
  | { ok: false; reason: EspDropReason };

/** The SPI and low 32 bits of the sequence number, or undefined for a packet too short to hold them. */
export function espHeader(packet: Uint8Array): { spi: number; seqLow: number } | undefined {
  if (packet.length < ESP_HEADER_BYTES) return undefined;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  return { spi: view.getUint32(0), seqLow: view.getUint32(4) };
}

/** The cipher's alignment of Payload||Padding||Pad Length||Next Header. */
function alignment(encr: EncrAlgorithm): number {
  return Math.max(encr.blockSize, MIN_ALIGN);
}

function icvBytes(t: EspTransform): number {
  return t.encr.aead ? t.encr.icvBytes : t.integ?.icvBytes ?? 0;
}

/** The AEAD associated data: SPI||Seq (8 bytes), or SPI||Seq-high||Seq-low with ESN (RFC 4106 §5). */
function aeadAad(packet: Uint8Array, esn: boolean, seq: number): Uint8Array {
  if (!esn) return packet.subarray(0, ESP_HEADER_BYTES);
  const aad = new Uint8Array(12);
  const view = new DataView(aad.buffer);
  aad.set(packet.subarray(0, 4));
  view.setUint32(4, Math.floor(seq / TWO_32));
  aad.set(packet.subarray(4, 8), 8);
  return aad;
}

/** The bytes the HMAC covers: the packet up to the ICV, then Seq-high with ESN (RFC 4303 §2.2.1). */
function icvInput(covered: Uint8Array, esn: boolean, seq: number): Uint8Array {
  if (!esn) return covered;
  const input = new Uint8Array(covered.length + 4);
  input.set(covered);
  new DataView(input.buffer).setUint32(covered.length, Math.floor(seq / TWO_32));
  return input;
}

/**
 * Builds the ESP packet carrying `payload` with sequence number `seq` (the
 * full 64-bit value as a number; only its low 32 bits are sent). `iv` must be
 * `encr.ivBytes` long: unpredictable for CBC, unique per key for AEAD.
 * Throws RangeError on wrong key or IV lengths (a programming error).
 */
export function espSeal(
  t: EspTransform,
  spi: number,
  seq: number,
  iv: Uint8Array,
  payload: Uint8Array,
  nextHeader: number,
): Uint8Array {
  const align = alignment(t.encr);
  const padded = Math.ceil((payload.length + TRAILER_BYTES) / align) * align;
  const padLength = padded - payload.length - TRAILER_BYTES;
  const plaintext = new Uint8Array(padded);
  plaintext.set(payload);
  for (let i = 1; i <= padLength; i++) plaintext[payload.length + i - 1] = i;
  plaintext[padded - 2] = padLength;
  plaintext[padded - 1] = nextHeader;

  const header = new Uint8Array(ESP_HEADER_BYTES + iv.length);
  const view = new DataView(header.buffer);
  view.setUint32(0, spi);
  view.setUint32(4, seq % TWO_32);
  header.set(iv, ESP_HEADER_BYTES);

  if (t.aead !== undefined) {
    const packet = new Uint8Array(header.length + plaintext.length + t.encr.icvBytes);
    packet.set(header);
    t.aead.nonce.set(iv, t.encr.saltBytes);
    t.aead.context.seal(
      t.aead.nonce,
      aeadAad(header, t.esn, seq),
      plaintext,
      packet.subarray(header.length),
    );
    return packet;
  }
  if (t.encr.aead) {
    const sealed = t.encr.encrypt(t.encrKey, iv, plaintext, aeadAad(header, t.esn, seq));
    const packet = new Uint8Array(header.length + sealed.length);
    packet.set(header);
    packet.set(sealed, header.length);
    return packet;
  }
  const ciphertext = t.encr.encrypt(t.encrKey, iv, plaintext, new Uint8Array(0));
  const icvLength = t.integ?.icvBytes ?? 0;
  const packet = new Uint8Array(header.length + ciphertext.length + icvLength);
  packet.set(header);
  packet.set(ciphertext, header.length);
  if (t.integ !== undefined) {
    const covered = packet.subarray(0, header.length + ciphertext.length);
    packet.set(t.integ.compute(t.integKey, icvInput(covered, t.esn, seq)), covered.length);
  }
  return packet;
}

/**
 * Verifies and decrypts `packet` whose full sequence number the replay
 * window inferred as `seq`. Integrity is checked before anything is
 * decrypted (RFC 4303 §3.4.4); for AEAD the two are one step.
 */
export function espOpen(t: EspTransform, packet: Uint8Array, seq: number): EspOpened {
  const ivEnd = ESP_HEADER_BYTES + t.encr.ivBytes;
  const icvLength = icvBytes(t);
  const align = alignment(t.encr);
  const encryptedLength = packet.length - ivEnd - icvLength;
  if (encryptedLength < TRAILER_BYTES || encryptedLength % align !== 0) {
    return { ok: false, reason: "malformed" };
  }
  const iv = packet.subarray(ESP_HEADER_BYTES, ivEnd);
  let plaintext: Uint8Array | null;
  if (t.aead !== undefined) {
    t.aead.nonce.set(iv, t.encr.saltBytes);
    plaintext = t.aead.context.open(
      t.aead.nonce,
      aeadAad(packet, t.esn, seq),
      packet.subarray(ivEnd),
    );
  } else if (t.encr.aead) {
    plaintext = t.encr.decrypt(t.encrKey, iv, packet.subarray(ivEnd), aeadAad(packet, t.esn, seq));
  } else {
    const icvStart = packet.length - icvLength;
    if (
      t.integ !== undefined &&
      !t.integ.verify(
        t.integKey,
        icvInput(packet.subarray(0, icvStart), t.esn, seq),
        packet.subarray(icvStart),
      )
    ) return { ok: false, reason: "integrity" };
    plaintext = t.encr.decrypt(t.encrKey, iv, packet.subarray(ivEnd, icvStart), new Uint8Array(0));
  }
  if (plaintext === null) return { ok: false, reason: "integrity" };
  const padLength = plaintext[plaintext.length - 2];
  const payloadLength = plaintext.length - TRAILER_BYTES - padLength;
  if (payloadLength < 0) return { ok: false, reason: "padding" };
  for (let i = 1; i <= padLength; i++) {
    if (plaintext[payloadLength + i - 1] !== i) return { ok: false, reason: "padding" };
  }
  return {
    ok: true,
    payload: plaintext.subarray(0, payloadLength),
    nextHeader: plaintext[plaintext.length - 1],
  };
}
