/**
 * Body codec of the Traffic Selector payloads TSi/TSr (RFC 7296 §3.13).
 * Only the address-range selector types are understood; any other TS type
 * (e.g. TS_SECLABEL) is rejected with an error naming it.
 */

import { ByteWriter } from "./byte_writer.ts";
import { TsType } from "./constants.ts";
import type { TrafficSelector } from "./payload_types.ts";
import { fail, ok, type Result } from "./result.ts";

const TS_PAYLOAD_HEADER_BYTES = 4;
const SELECTOR_HEADER_BYTES = 8;

/** Octets per address for each supported TS type. */
function addressBytes(tsType: number): number | undefined {
  switch (tsType) {
    case TsType.TS_IPV4_ADDR_RANGE:
      return 4;
    case TsType.TS_IPV6_ADDR_RANGE:
      return 16;
    default:
      return undefined;
  }
}

/** Decodes the selectors in buf[start, end); `name` is "TSi" or "TSr" for errors. */
export function decodeTsBody(
  buf: Uint8Array,
  view: DataView,
  start: number,
  end: number,
  name: string,
): Result<TrafficSelector[]> {
  if (end - start < TS_PAYLOAD_HEADER_BYTES) {
    return fail(name, start, `${end - start} octets, the selector count header needs 4`);
  }
  const count = buf[start];
  const selectors: TrafficSelector[] = [];
  let at = start + TS_PAYLOAD_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const where = `selector ${i + 1} of ${count}`;
    if (end - at < SELECTOR_HEADER_BYTES) {
      return fail(name, at, `${where}: ${end - at} octets left, header needs 8`);
    }
    const tsType = buf[at];
    const size = addressBytes(tsType);
    if (size === undefined) return fail(name, at, `${where}: unsupported TS type ${tsType}`);
    const length = view.getUint16(at + 2);
    const expected = SELECTOR_HEADER_BYTES + 2 * size;
    if (length !== expected) {
      return fail(name, at, `${where}: length ${length}, TS type ${tsType} needs ${expected}`);
    }
    if (length > end - at) {
      return fail(
        name,
        at,
        `${where}: length ${length} runs past the payload (${end - at} octets left)`,
      );
    }
    const addresses = at + SELECTOR_HEADER_BYTES;
    selectors.push({
      tsType,
      ipProtocol: buf[at + 1],
      startPort: view.getUint16(at + 4),
      endPort: view.getUint16(at + 6),
      startAddress: buf.subarray(addresses, addresses + size),
      endAddress: buf.subarray(addresses + size, addresses + 2 * size),
    });
    at += length;
  }
  if (at !== end) return fail(name, at, `${end - at} octets follow the ${count} selectors`);
  return ok(selectors);
}

/**
 * Appends the TS payload contents for `selectors` to `w`. Throws
 * `RangeError` on an unsupported TS type or an address of the wrong size.
 */
export function encodeTsBody(w: ByteWriter, selectors: readonly TrafficSelector[]): void {
  w.u8(selectors.length, "TS count");
  w.zeros(3);
  for (const ts of selectors) {
    const size = addressBytes(ts.tsType);
    if (size === undefined) throw new RangeError(`unsupported TS type ${ts.tsType}`);
    if (ts.startAddress.length !== size || ts.endAddress.length !== size) {
      throw new RangeError(`TS type ${ts.tsType} needs ${size}-octet addresses`);
    }
    w.u8(ts.tsType, "TS type");
    w.u8(ts.ipProtocol, "TS IP protocol");
    w.u16(SELECTOR_HEADER_BYTES + 2 * size, "selector length");
    w.u16(ts.startPort, "TS start port");
    w.u16(ts.endPort, "TS end port");
    w.bytes(ts.startAddress);
    w.bytes(ts.endAddress);
  }
}
