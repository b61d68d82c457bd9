/**
 * Body codec of the Security Association payload: proposal and transform
 * substructures and their data attributes (RFC 7296 §3.3.1, §3.3.2, §3.3.5).
 */

import { ByteWriter } from "./byte_writer.ts";
import { ATTRIBUTE_FORMAT_TV, TransformAttribute } from "./constants.ts";
import type { DataAttribute, Proposal, Transform } from "./payload_types.ts";
import { fail, ok, type Result } from "./result.ts";

const PROPOSAL_HEADER_BYTES = 8;
const TRANSFORM_HEADER_BYTES = 8;
const ATTRIBUTE_HEADER_BYTES = 4;
/** "Last Substruc" values: 0 marks the last substructure, 2 = more proposals, 3 = more transforms. */
const LAST = 0;
const MORE_PROPOSALS = 2;
const MORE_TRANSFORMS = 3;
const KEY_LENGTH_TV = ATTRIBUTE_FORMAT_TV | TransformAttribute.KEY_LENGTH;

/** Decodes the proposals in buf[start, end) (the SA payload's contents). */
export function decodeSaBody(
  buf: Uint8Array,
  view: DataView,
  start: number,
  end: number,
): Result<Proposal[]> {
  if (start === end) return fail("SA", start, "SA payload carries no proposal");
  const proposals: Proposal[] = [];
  let at = start;
  while (at < end) {
    const where = `proposal ${proposals.length + 1}`;
    if (end - at < PROPOSAL_HEADER_BYTES) {
      return fail("SA", at, `${where}: ${end - at} octets left, header needs 8`);
    }
    const length = view.getUint16(at + 2);
    const spiSize = buf[at + 6];
    const transformCount = buf[at + 7];
    if (length < PROPOSAL_HEADER_BYTES + spiSize) {
      return fail(
        "SA",
        at,
        `${where}: length ${length} cannot hold its header and ${spiSize}-octet SPI`,
      );
    }
    if (length > end - at) {
      return fail(
        "SA",
        at,
        `${where}: length ${length} runs past the payload (${end - at} octets left)`,
      );
    }
    const proposalEnd = at + length;
    const expectedLast = proposalEnd === end ? LAST : MORE_PROPOSALS;
    if (buf[at] !== expectedLast) {
      return fail(
        "SA",
        at,
        `${where}: last-substructure field ${buf[at]}, expected ${expectedLast}`,
      );
    }
    if (transformCount === 0) return fail("SA", at, `${where}: carries no transform`);
    const transforms: Transform[] = [];
    let t = at + PROPOSAL_HEADER_BYTES + spiSize;
    for (let i = 0; i < transformCount; i++) {
      const decoded = decodeTransform(
        buf,
        view,
        t,
        proposalEnd,
        i === transformCount - 1,
        `${where} transform ${i + 1}`,
      );
      if (!decoded.ok) return decoded;
      transforms.push(decoded.value.transform);
      t = decoded.value.end;
    }
    if (t !== proposalEnd) {
      return fail(
        "SA",
        t,
        `${where}: ${proposalEnd - t} octets follow its ${transformCount} transforms`,
      );
    }
    proposals.push({
      num: buf[at + 4],
      protocol: buf[at + 5],
      spi: buf.subarray(at + PROPOSAL_HEADER_BYTES, at + PROPOSAL_HEADER_BYTES + spiSize),
      transforms,
    });
    at = proposalEnd;
  }
  return ok(proposals);
}

function decodeTransform(
  buf: Uint8Array,
  view: DataView,
  at: number,
  limit: number,
  isLast: boolean,
  where: string,
): Result<{ transform: Transform; end: number }> {
  if (limit - at < TRANSFORM_HEADER_BYTES) {
    return fail("SA", at, `${where}: ${limit - at} octets left in the proposal, header needs 8`);
  }
  const length = view.getUint16(at + 2);
  if (length < TRANSFORM_HEADER_BYTES) {
    return fail("SA", at, `${where}: length ${length} is below the 8-octet header`);
  }
  if (length > limit - at) {
    return fail(
      "SA",
      at,
      `${where}: length ${length} runs past the proposal (${limit - at} octets left)`,
    );
  }
  const expectedLast = isLast ? LAST : MORE_TRANSFORMS;
  if (buf[at] !== expectedLast) {
    return fail("SA", at, `${where}: last-substructure field ${buf[at]}, expected ${expectedLast}`);
  }
  const transform: Transform = { type: buf[at + 4], id: view.getUint16(at + 6) };
  const end = at + length;
  const other: DataAttribute[] = [];
  let a = at + TRANSFORM_HEADER_BYTES;
  while (a < end) {
    if (end - a < ATTRIBUTE_HEADER_BYTES) {
      return fail("SA", a, `${where}: ${end - a} octets left, an attribute needs at least 4`);
    }
    const type = view.getUint16(a);
    if (type & ATTRIBUTE_FORMAT_TV) {
      if (type === KEY_LENGTH_TV) {
        if (transform.keyLength !== undefined) {
          return fail("SA", a, `${where}: KEY_LENGTH attribute repeated`);
        }
        transform.keyLength = view.getUint16(a + 2);
      } else {
        other.push({ type, value: buf.subarray(a + 2, a + 4) });
      }
      a += ATTRIBUTE_HEADER_BYTES;
      continue;
    }
    if (type === TransformAttribute.KEY_LENGTH) {
      return fail("SA", a, `${where}: KEY_LENGTH attribute must use the TV format`);
    }
    const valueLength = view.getUint16(a + 2);
    if (valueLength > end - a - ATTRIBUTE_HEADER_BYTES) {
      return fail(
        "SA",
        a,
        `${where}: attribute ${type} length ${valueLength} runs past the transform`,
      );
    }
    other.push({ type, value: buf.subarray(a + 4, a + 4 + valueLength) });
    a += ATTRIBUTE_HEADER_BYTES + valueLength;
  }
  if (other.length > 0) transform.otherAttributes = other;
  return ok({ transform, end });
}

/**
 * Appends the proposal substructures of `proposals` to `w`.
 * Throws `RangeError` on a value that does not fit its field, an empty
 * proposal list or proposal, or a TV attribute whose value is not 2 octets.
 */
export function encodeSaBody(w: ByteWriter, proposals: readonly Proposal[]): void {
  if (proposals.length === 0) throw new RangeError("SA payload needs at least one proposal");
  proposals.forEach((p, i) => {
    if (p.transforms.length === 0) throw new RangeError(`SA proposal ${p.num} has no transform`);
    const start = w.length;
    w.u8(i === proposals.length - 1 ? LAST : MORE_PROPOSALS, "proposal last-substructure");
    w.zeros(1);
    w.u16(0, "proposal length");
    w.u8(p.num, "proposal number");
    w.u8(p.protocol, "proposal protocol ID");
    w.u8(p.spi.length, "proposal SPI size");
    w.u8(p.transforms.length, "proposal transform count");
    w.bytes(p.spi);
    p.transforms.forEach((t, j) => encodeTransform(w, t, j === p.transforms.length - 1));
    w.setU16(start + 2, w.length - start, "proposal length");
  });
}

function encodeTransform(w: ByteWriter, t: Transform, isLast: boolean): void {
  const start = w.length;
  w.u8(isLast ? LAST : MORE_TRANSFORMS, "transform last-substructure");
  w.zeros(1);
  w.u16(0, "transform length");
  w.u8(t.type, "transform type");
  w.zeros(1);
  w.u16(t.id, "transform ID");
  if (t.keyLength !== undefined) {
    w.u16(KEY_LENGTH_TV, "attribute type");
    w.u16(t.keyLength, "KEY_LENGTH");
  }
  for (const a of t.otherAttributes ?? []) {
    if ((a.type & ~ATTRIBUTE_FORMAT_TV) === TransformAttribute.KEY_LENGTH) {
      throw new RangeError("KEY_LENGTH belongs in Transform.keyLength, not otherAttributes");
    }
    w.u16(a.type, "transform attribute type");
    if (a.type & ATTRIBUTE_FORMAT_TV) {
      if (a.value.length !== 2) {
        throw new RangeError(`TV attribute ${a.type & 0x7fff} needs a 2-octet value`);
      }
    } else {
      w.u16(a.value.length, "transform attribute length");
    }
    w.bytes(a.value);
  }
  w.setU16(start + 2, w.length - start, "transform length");
}
