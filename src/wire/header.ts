/**
 * The fixed 28-octet IKE header (RFC 7296 §3.1):
 *
 *   0      8      16         17       18        19     20          24
 *   | SPIi | SPIr | NextPld | MjVer|MnVer | Exch | Flags | Message ID | Length |
 */

import { ByteWriter } from "./byte_writer.ts";
import { fail, ok, type Result } from "./result.ts";

/** A decoded IKE header. SPIs are views into the decoded buffer. */
export interface IkeHeader {
  /** Initiator's SPI, 8 octets. */
  spiI: Uint8Array;
  /** Responder's SPI, 8 octets (all zero in the first IKE_SA_INIT request). */
  spiR: Uint8Array;
  /** Type of the first payload. */
  nextPayload: number;
  /** Version byte: major in the high nibble, minor in the low (0x20 for IKEv2). */
  version: number;
  /** Exchange type (see `ExchangeType`). */
  exchange: number;
  /** Flags octet (see `FLAG_INITIATOR`, `FLAG_VERSION`, `FLAG_RESPONSE`). */
  flags: number;
  /** Message ID, unsigned 32-bit. */
  messageId: number;
  /** Total message length in octets, header included. */
  length: number;
}

/** Size of the IKE header in octets. */
export const IKE_HEADER_BYTES = 28;
/** Octet offset of the header's Next Payload field (patched when the chain is known). */
export const IKE_HEADER_NEXT_PAYLOAD_AT = 16;
/** Octet offset of the header's Length field (also used when computing ICVs in place). */
export const IKE_HEADER_LENGTH_AT = 24;

const SPI_BYTES = 8;

/**
 * Reads the header fields without judging them: fails only when `buf` is
 * shorter than 28 octets. The engine uses it to answer a message it cannot
 * otherwise accept (INVALID_MAJOR_VERSION needs the SPIs and Message ID) and
 * to demultiplex by SPI before full decoding.
 */
export function peekHeader(buf: Uint8Array): Result<IkeHeader> {
  if (buf.length < IKE_HEADER_BYTES) {
    return fail(
      "header",
      0,
      `message is ${buf.length} octets, shorter than the ${IKE_HEADER_BYTES}-octet IKE header`,
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset, IKE_HEADER_BYTES);
  return ok({
    spiI: buf.subarray(0, 8),
    spiR: buf.subarray(8, 16),
    nextPayload: buf[16],
    version: buf[17],
    exchange: buf[18],
    flags: buf[19],
    messageId: view.getUint32(20),
    length: view.getUint32(IKE_HEADER_LENGTH_AT),
  });
}

/**
 * Decodes and validates the IKE header of the datagram `buf`: the major
 * version must be 2 (else the error carries `majorVersion`; the minor version
 * is ignored as RFC 7296 §2.5 says) and the Length field must equal
 * `buf.length` exactly — shorter data is truncated, longer data is trailing
 * garbage, and both are rejected.
 */
export function decodeHeader(buf: Uint8Array): Result<IkeHeader> {
  const peeked = peekHeader(buf);
  if (!peeked.ok) return peeked;
  const h = peeked.value;
  const major = h.version >> 4;
  if (major !== 2) {
    return fail(
      "header",
      17,
      `unsupported major version ${major} (only IKEv2, major 2, is spoken)`,
      {
        majorVersion: major,
      },
    );
  }
  if (h.length < IKE_HEADER_BYTES) {
    return fail(
      "header",
      IKE_HEADER_LENGTH_AT,
      `length field ${h.length} is below the ${IKE_HEADER_BYTES}-octet header`,
    );
  }
  if (h.length > buf.length) {
    return fail(
      "header",
      IKE_HEADER_LENGTH_AT,
      `length field ${h.length} exceeds the ${buf.length} octets received (truncated)`,
    );
  }
  if (h.length < buf.length) {
    return fail(
      "header",
      IKE_HEADER_LENGTH_AT,
      `${buf.length} octets received but the length field says ${h.length} (trailing data)`,
    );
  }
  return peeked;
}

/** Appends the 28 header octets to `w`. Throws `RangeError` if an SPI is not 8 octets. */
export function writeHeader(w: ByteWriter, h: IkeHeader): void {
  if (h.spiI.length !== SPI_BYTES || h.spiR.length !== SPI_BYTES) {
    throw new RangeError(`IKE SPIs must be ${SPI_BYTES} octets`);
  }
  w.bytes(h.spiI);
  w.bytes(h.spiR);
  w.u8(h.nextPayload, "header next payload");
  w.u8(h.version, "header version");
  w.u8(h.exchange, "header exchange type");
  w.u8(h.flags, "header flags");
  w.u32(h.messageId, "header message ID");
  w.u32(h.length, "header length");
}

/** Encodes a header exactly as given (28 octets); `length` is not recomputed. */
export function encodeHeader(h: IkeHeader): Uint8Array {
  const w = new ByteWriter(IKE_HEADER_BYTES);
  writeHeader(w, h);
  return w.finish();
}
