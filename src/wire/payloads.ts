/**
 * IKEv2 payload chains and whole messages (RFC 7296 §2.5, §3.1, §3.2): the
 * generic header walk that links payloads through their Next Payload fields,
 * plus re-exports of the payload shapes so callers need one import.
 */

import { type ByteWriter, checkUint, encodeWith } from "./byte_writer.ts";
import { PAYLOAD_CRITICAL, payloadName, PayloadType } from "./constants.ts";
import {
  decodeHeader,
  IKE_HEADER_BYTES,
  IKE_HEADER_LENGTH_AT,
  IKE_HEADER_NEXT_PAYLOAD_AT,
  type IkeHeader,
  writeHeader,
} from "./header.ts";
import { decodePayloadBody, encodePayloadBody, GENERIC_HEADER_BYTES } from "./payload_bodies.ts";
import type { Payload } from "./payload_types.ts";
import { fail, ok, type Result } from "./result.ts";

export * from "./payload_types.ts";

/** SK and SK-fragment payloads end the clear chain; their Next Payload names the inner chain. */
function isEncrypted(type: number): boolean {
  return type === PayloadType.SK || type === PayloadType.SKF;
}

/** Appends `payloads` as a linked chain to `w` and returns the first payload's type (NONE if empty). */
function writePayloadChain(w: ByteWriter, payloads: readonly Payload[]): number {
  let previous = -1;
  payloads.forEach((p, i) => {
    if (isEncrypted(p.type) && i !== payloads.length - 1) {
      throw new RangeError(`${payloadName(p.type)} must be the last payload`);
    }
    checkUint(p.type, 0xff, "payload type");
    if (previous >= 0) w.setU8(previous, p.type, "payload type");
    const start = w.length;
    w.u8(PayloadType.NONE, "next payload");
    w.u8(p.critical ? PAYLOAD_CRITICAL : 0, "payload flags");
    w.u16(0, "payload length");
    encodePayloadBody(w, p);
    w.setU16(start + 2, w.length - start, `${payloadName(p.type)} payload length`);
    if ("innerFirst" in p) w.setU8(start, p.innerFirst, "inner first payload");
    previous = start;
  });
  return payloads.length === 0 ? PayloadType.NONE : payloads[0].type;
}

/**
 * Encodes `payloads` as a chain: each generic header's Next Payload names
 * the following payload; SK/SKF must be last and carry `innerFirst` there.
 * Throws `RangeError` on values that do not fit (see `encodePayloadBody`).
 */
export function encodePayloads(payloads: readonly Payload[]): { first: number; bytes: Uint8Array } {
  let first: number = PayloadType.NONE;
  const bytes = encodeWith((w) => first = writePayloadChain(w, payloads));
  return { first, bytes };
}

/**
 * Decodes the chain starting with payload type `first` in buf[offset, end).
 * The chain must end exactly at `end`, either with Next Payload NONE or with
 * an SK/SKF payload (which must be last). Never throws: every generic and
 * per-payload length is checked and the first violation is returned,
 * including `unsupportedCritical` for an unknown payload with the critical
 * bit (RFC 7296 §2.5). Unknown non-critical payloads are kept raw.
 */
export function decodePayloads(
  first: number,
  buf: Uint8Array,
  offset: number,
  end: number,
): Result<Payload[]> {
  if (
    !Number.isInteger(offset) || !Number.isInteger(end) || offset < 0 || offset > end ||
    end > buf.length
  ) {
    return fail(
      "chain",
      offset,
      `bounds [${offset}, ${end}) do not lie within ${buf.length} octets`,
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const payloads: Payload[] = [];
  let type = first;
  let at = offset;
  while (type !== PayloadType.NONE) {
    const left = end - at;
    if (left < GENERIC_HEADER_BYTES) {
      return fail(payloadName(type), at, `${left} octets left, the generic payload header needs 4`);
    }
    const length = view.getUint16(at + 2);
    if (length < GENERIC_HEADER_BYTES) {
      return fail(
        payloadName(type),
        at,
        `payload length ${length} is below the 4-octet generic header`,
      );
    }
    if (length > left) {
      return fail(
        payloadName(type),
        at,
        `payload length ${length} runs past the end (${left} octets left)`,
      );
    }
    const next = buf[at];
    const decoded = decodePayloadBody(
      type,
      next,
      (buf[at + 1] & PAYLOAD_CRITICAL) !== 0,
      buf,
      view,
      at,
      at + length,
    );
    if (!decoded.ok) return decoded;
    payloads.push(decoded.value);
    at += length;
    if (isEncrypted(type)) {
      if (at !== end) {
        return fail(
          payloadName(type),
          at,
          `${end - at} octets follow ${payloadName(type)}, which must be last`,
        );
      }
      return ok(payloads);
    }
    type = next;
  }
  if (at !== end) return fail("chain", at, `${end - at} octets follow the last payload`);
  return ok(payloads);
}

/**
 * Encodes a whole message: the header with Next Payload and Length filled in
 * from `payloads`, then the chain. To protect an SK payload, encode it with a
 * body of the final size, then compute ciphertext and ICV over the returned
 * bytes in place (the SK generic header is the last `4 + body.length` octets).
 */
export function encodeMessage(
  header: Omit<IkeHeader, "length" | "nextPayload">,
  payloads: readonly Payload[],
): Uint8Array {
  return encodeWith((w) => {
    writeHeader(w, { ...header, nextPayload: PayloadType.NONE, length: IKE_HEADER_BYTES });
    w.setU8(IKE_HEADER_NEXT_PAYLOAD_AT, writePayloadChain(w, payloads), "first payload type");
    w.setU32(IKE_HEADER_LENGTH_AT, w.length, "message length");
  });
}

/** Decodes a whole datagram: header (see `decodeHeader`) then its payload chain. Never throws. */
export function decodeMessage(buf: Uint8Array): Result<{ header: IkeHeader; payloads: Payload[] }> {
  const header = decodeHeader(buf);
  if (!header.ok) return header;
  const payloads = decodePayloads(
    header.value.nextPayload,
    buf,
    IKE_HEADER_BYTES,
    header.value.length,
  );
  if (!payloads.ok) return payloads;
  return ok({ header: header.value, payloads: payloads.value });
}
