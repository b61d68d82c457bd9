/**
 * Per-type codecs for the contents that follow each payload's 4-octet
 * generic header (RFC 7296 §3.3–§3.16, RFC 7383 §2.5). The chain walker in
 * `payloads.ts` frames them; SA and TS bodies live in their own files.
 */

import { ByteWriter } from "./byte_writer.ts";
import { NONCE_MAX_BYTES, NONCE_MIN_BYTES, payloadName, PayloadType } from "./constants.ts";
import { type DataAttribute, isUnknownPayload, type Payload } from "./payload_types.ts";
import { fail, ok, type Result } from "./result.ts";
import { decodeSaBody, encodeSaBody } from "./sa_payload.ts";
import { decodeTsBody, encodeTsBody } from "./ts_payload.ts";

/** Size of the generic payload header (Next Payload, C + RESERVED, Payload Length). */
export const GENERIC_HEADER_BYTES = 4;

const CP_ATTRIBUTE_TYPE_MASK = 0x7fff;

/**
 * Decodes the payload of `type` whose generic header starts at `at` and
 * which ends at `end` (already checked to lie within `buf`). `next` is the
 * generic header's Next Payload field, kept by SK/SKF as `innerFirst`.
 * An unrecognised type is kept raw, or rejected with `unsupportedCritical`
 * when `critical` is set.
 */
export function decodePayloadBody(
  type: number,
  next: number,
  critical: boolean,
  buf: Uint8Array,
  view: DataView,
  at: number,
  end: number,
): Result<Payload> {
  const decoded = decodeContents(type, next, critical, buf, view, at, end);
  if (decoded.ok && critical) decoded.value.critical = true;
  return decoded;
}

/** The payload's contents are shorter than its fixed fields require. */
function tooShort(type: number, at: number, size: number, need: number, what: string) {
  return fail(payloadName(type), at, `${size} octets of contents, ${what} needs ${need}`);
}

function decodeContents(
  type: number,
  next: number,
  critical: boolean,
  buf: Uint8Array,
  view: DataView,
  at: number,
  end: number,
): Result<Payload> {
  const s = at + GENERIC_HEADER_BYTES;
  const size = end - s;
  switch (type) {
    case PayloadType.SA: {
      const proposals = decodeSaBody(buf, view, s, end);
      return proposals.ok ? ok({ type, proposals: proposals.value }) : proposals;
    }
    case PayloadType.KE:
      if (size <= 4) {
        return tooShort(type, at, size, 5, "group, RESERVED and non-empty key exchange data");
      }
      return ok({ type, group: view.getUint16(s), data: buf.subarray(s + 4, end) });
    case PayloadType.IDi:
    case PayloadType.IDr:
      if (size < 4) return tooShort(type, at, size, 4, "ID type and RESERVED");
      return ok({ type, idType: buf[s], data: buf.subarray(s + 4, end) });
    case PayloadType.CERT:
    case PayloadType.CERTREQ:
      if (size < 1) return tooShort(type, at, size, 1, "the encoding field");
      return ok({ type, encoding: buf[s], data: buf.subarray(s + 1, end) });
    case PayloadType.AUTH:
      if (size < 4) return tooShort(type, at, size, 4, "auth method and RESERVED");
      return ok({ type, method: buf[s], data: buf.subarray(s + 4, end) });
    case PayloadType.NONCE:
      if (size < NONCE_MIN_BYTES || size > NONCE_MAX_BYTES) {
        return fail(
          "NONCE",
          at,
          `nonce of ${size} octets, must be ${NONCE_MIN_BYTES}..${NONCE_MAX_BYTES}`,
        );
      }
      return ok({ type, data: buf.subarray(s, end) });
    case PayloadType.N: {
      if (size < 4) return tooShort(type, at, size, 4, "protocol, SPI size and notify type");
      const spiEnd = s + 4 + buf[s + 1];
      if (spiEnd > end) return fail("N", at, `SPI size ${buf[s + 1]} runs past the payload`);
      return ok({
        type,
        protocol: buf[s],
        spi: buf.subarray(s + 4, spiEnd),
        notifyType: view.getUint16(s + 2),
        data: buf.subarray(spiEnd, end),
      });
    }
    case PayloadType.D: {
      if (size < 4) return tooShort(type, at, size, 4, "protocol, SPI size and SPI count");
      const spiSize = buf[s + 1];
      const count = view.getUint16(s + 2);
      // SPI size 0 (IKE) must come with no SPIs, or a 4-octet payload could claim 65535 of them.
      if (spiSize * count !== size - 4 || (spiSize === 0 && count !== 0)) {
        return fail(
          "D",
          at,
          `${count} SPIs of ${spiSize} octets do not fill the ${size - 4} octets present`,
        );
      }
      const spis: Uint8Array[] = [];
      for (let p = s + 4; p < end; p += spiSize) spis.push(buf.subarray(p, p + spiSize));
      return ok({ type, protocol: buf[s], spiSize, spis });
    }
    case PayloadType.V:
      return ok({ type, data: buf.subarray(s, end) });
    case PayloadType.TSi:
    case PayloadType.TSr: {
      const selectors = decodeTsBody(buf, view, s, end, payloadName(type));
      return selectors.ok ? ok({ type, selectors: selectors.value }) : selectors;
    }
    case PayloadType.SK:
      return ok({ type, innerFirst: next, body: buf.subarray(s, end), offset: at });
    case PayloadType.CP: {
      if (size < 4) return tooShort(type, at, size, 4, "CFG type and RESERVED");
      const attributes: DataAttribute[] = [];
      for (let p = s + 4; p < end;) {
        if (end - p < 4) {
          return fail("CP", p, `${end - p} octets left, an attribute needs at least 4`);
        }
        const length = view.getUint16(p + 2);
        if (length > end - p - 4) {
          return fail("CP", p, `attribute length ${length} runs past the payload`);
        }
        attributes.push({
          type: view.getUint16(p) & CP_ATTRIBUTE_TYPE_MASK,
          value: buf.subarray(p + 4, p + 4 + length),
        });
        p += 4 + length;
      }
      return ok({ type, cfgType: buf[s], attributes });
    }
    case PayloadType.EAP:
      if (size < 4) return tooShort(type, at, size, 4, "the EAP header");
      if (view.getUint16(s + 2) !== size) {
        return fail(
          "EAP",
          at,
          `EAP length ${view.getUint16(s + 2)} differs from the ${size} octets present`,
        );
      }
      return ok({ type, data: buf.subarray(s, end) });
    case PayloadType.SKF: {
      if (size < 4) return tooShort(type, at, size, 4, "fragment number and total");
      const fragmentNumber = view.getUint16(s);
      const totalFragments = view.getUint16(s + 2);
      if (fragmentNumber === 0 || fragmentNumber > totalFragments) {
        return fail("SKF", at, `fragment ${fragmentNumber} of ${totalFragments} is out of range`);
      }
      return ok({
        type,
        innerFirst: next,
        fragmentNumber,
        totalFragments,
        body: buf.subarray(s + 4, end),
        offset: at,
      });
    }
    default:
      if (critical) {
        return fail(
          payloadName(type),
          at,
          `payload type ${type} is not supported and is marked critical`,
          {
            unsupportedCritical: type,
          },
        );
      }
      return ok({ type, unknown: true, body: buf.subarray(s, end) });
  }
}

/**
 * Appends the contents of `p` (everything after its generic header) to `w`.
 * Throws `RangeError` when a field does not fit its wire width or a value
 * the decoder would reject (nonce size, Delete SPI sizes, EAP length…).
 */
export function encodePayloadBody(w: ByteWriter, p: Payload): void {
  if (isUnknownPayload(p)) {
    w.bytes(p.body);
    return;
  }
  switch (p.type) {
    case PayloadType.SA:
      encodeSaBody(w, p.proposals);
      return;
    case PayloadType.KE:
      if (p.data.length === 0) throw new RangeError("KE data must not be empty");
      w.u16(p.group, "KE group");
      w.zeros(2);
      w.bytes(p.data);
      return;
    case PayloadType.IDi:
    case PayloadType.IDr:
      w.u8(p.idType, "ID type");
      w.zeros(3);
      w.bytes(p.data);
      return;
    case PayloadType.CERT:
    case PayloadType.CERTREQ:
      w.u8(p.encoding, "certificate encoding");
      w.bytes(p.data);
      return;
    case PayloadType.AUTH:
      w.u8(p.method, "auth method");
      w.zeros(3);
      w.bytes(p.data);
      return;
    case PayloadType.NONCE:
      if (p.data.length < NONCE_MIN_BYTES || p.data.length > NONCE_MAX_BYTES) {
        throw new RangeError(`nonce must be ${NONCE_MIN_BYTES}..${NONCE_MAX_BYTES} octets`);
      }
      w.bytes(p.data);
      return;
    case PayloadType.N:
      w.u8(p.protocol, "notify protocol ID");
      w.u8(p.spi.length, "notify SPI size");
      w.u16(p.notifyType, "notify type");
      w.bytes(p.spi);
      w.bytes(p.data);
      return;
    case PayloadType.D:
      if (p.spiSize === 0 ? p.spis.length !== 0 : p.spis.some((spi) => spi.length !== p.spiSize)) {
        throw new RangeError(`Delete SPIs must all be ${p.spiSize} octets`);
      }
      w.u8(p.protocol, "delete protocol ID");
      w.u8(p.spiSize, "delete SPI size");
      w.u16(p.spis.length, "delete SPI count");
      for (const spi of p.spis) w.bytes(spi);
      return;
    case PayloadType.V:
      w.bytes(p.data);
      return;
    case PayloadType.SK:
      w.bytes(p.body);
      return;
    case PayloadType.TSi:
    case PayloadType.TSr:
      encodeTsBody(w, p.selectors);
      return;
    case PayloadType.CP:
      w.u8(p.cfgType, "CFG type");
      w.zeros(3);
      for (const a of p.attributes) {
        if (a.type > CP_ATTRIBUTE_TYPE_MASK) {
          throw new RangeError(`CP attribute type ${a.type} exceeds 15 bits`);
        }
        w.u16(a.type, "CP attribute type");
        w.u16(a.value.length, "CP attribute length");
        w.bytes(a.value);
      }
      return;
    case PayloadType.EAP:
      if (
        p.data.length < 4 ||
        new DataView(p.data.buffer, p.data.byteOffset).getUint16(2) !== p.data.length
      ) {
        throw new RangeError("EAP payload data must be one whole EAP message");
      }
      w.bytes(p.data);
      return;
    case PayloadType.SKF:
      if (p.fragmentNumber === 0 || p.fragmentNumber > p.totalFragments) {
        throw new RangeError(`fragment ${p.fragmentNumber} of ${p.totalFragments} is out of range`);
      }
      w.u16(p.fragmentNumber, "fragment number");
      w.u16(p.totalFragments, "total fragments");
      w.bytes(p.body);
      return;
    default: {
      // Compile-time proof that every KnownPayload variant is handled above.
      const unhandled: never = p;
      return unhandled;
    }
  }
}
