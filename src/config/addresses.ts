/**
 * IP addresses and traffic selectors as written in ipsec.conf / whack
 * (`192.0.2.1`, `2001:db8::1`, `192.0.2.0/24/tcp/22`) and as printed in
 * status output. Parsing is total: bad text gives `undefined` or a typed
 * error, never an exception.
 */

import type { ValueResult } from "./values.ts";

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address in network byte order. */
export interface IpAddress {
  family: 4 | 6;
  bytes: Uint8Array;
}

const IPV4_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9A-Fa-f]{1,4}$/;

function parseIpv4Bytes(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    // Leading zeros are refused: "010" means 8 to inet_aton and 10 to people.
    if (!IPV4_OCTET.test(parts[i])) return undefined;
    const value = Number(parts[i]);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

/** Parses one side of a "::" split into 16-bit groups (a trailing dotted quad counts as two). */
function parseIpv6Groups(text: string, allowDottedTail: boolean): number[] | undefined {
  if (text === "") return [];
  const parts = text.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (allowDottedTail && i === parts.length - 1 && part.includes(".")) {
      const v4 = parseIpv4Bytes(part);
      if (v4 === undefined) return undefined;
      groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else if (IPV6_GROUP.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

function parseIpv6Bytes(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const head = parseIpv6Groups(halves[0], false);
    const tail = parseIpv6Groups(halves[1], true);
    if (head === undefined || tail === undefined) return undefined;
    // "::" stands for at least one zero group (RFC 4291 §2.2).
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    const all = parseIpv6Groups(text, true);
    if (all === undefined || all.length !== 8) return undefined;
    groups = all;
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/**
 * Parses a literal address: an IPv4 dotted quad, or IPv6 text in any RFC
 * 4291 §2.2 form (`::` compression, embedded dotted quad such as
 * `::ffff:192.0.2.1`). Returns `undefined` for anything else (DNS names,
 * zone suffixes, brackets, prefixes).
 */
export function parseAddress(text: string): IpAddress | undefined {
  if (text.includes(":")) {
    const bytes = parseIpv6Bytes(text);
    return bytes === undefined ? undefined : { family: 6, bytes };
  }
  const bytes = parseIpv4Bytes(text);
  return bytes === undefined ? undefined : { family: 4, bytes };
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/**
 * Formats an address: dotted quad for IPv4, RFC 5952 canonical text for
 * IPv6 (lower case, no leading zeros, the longest — first on a tie — run
 * of two or more zero groups as `::`, IPv4-mapped addresses as
 * `::ffff:a.b.c.d` per RFC 5952 §5).
 */
export function formatAddress(a: IpAddress): string {
  const b = a.bytes;
  if (a.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (isV4Mapped(b)) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[2 * i] << 8) | b[2 * i + 1]);
  let bestStart = -1;
  let bestLength = 1; // a lone zero group is never compressed (RFC 5952 §4.2.2)
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when both addresses are the same family and bytes. */
export function addressEquals(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && bytesEqual(a.bytes, b.bytes);
}

/** A string that is equal for equal addresses and different otherwise (for `Map` keys). */
export function addressKey(a: IpAddress): string {
  return formatAddress(a);
}

/** True for 0.0.0.0 and :: (the "any" address). */
export function addressIsAny(a: IpAddress): boolean {
  return a.bytes.every((x) => x === 0);
}

/**
 * A traffic selector (RFC 7296 §3.13.1): an inclusive address range, an IP
 * protocol (0 = any) and an inclusive port range (0-65535 = any).
 */
export interface Selector {
  family: 4 | 6;
  start: Uint8Array;
  end: Uint8Array;
  protocol: number;
  startPort: number;
  endPort: number;
}

/** IP protocol numbers (IANA "Assigned Internet Protocol Numbers") known by name, as Libreswan prints them. */
const PROTOCOL_NAMES: ReadonlyMap<number, string> = new Map([
  [1, "ICMP"],
  [6, "TCP"],
  [17, "UDP"],
  [47, "GRE"],
  [50, "ESP"],
  [51, "AH"],
  [58, "IPv6-ICMP"],
  [108, "IPCOMP"],
  [132, "SCTP"],
]);

/** Extra spellings accepted on input (lower-cased). */
const PROTOCOL_ALIASES: ReadonlyMap<string, number> = new Map([
  ["icmpv6", 58],
  ["ipv6-icmp", 58],
  ["icmp6", 58],
]);

function parseProtocol(text: string): number | undefined {
  if (text === "%any") return 0;
  if (/^[0-9]{1,3}$/.test(text)) {
    const n = Number(text);
    return n <= 255 ? n : undefined;
  }
  const lower = text.toLowerCase();
  const alias = PROTOCOL_ALIASES.get(lower);
  if (alias !== undefined) return alias;
  for (const [number, name] of PROTOCOL_NAMES) {
    if (name.toLowerCase() === lower) return number;
  }
  return undefined;
}

function parsePortNumber(text: string): number | undefined {
  if (text === "%any") return 0;
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

/** The address with all bits after the first `prefix` cleared (`fill` 0) or set (`fill` 1). */
function applyPrefix(bytes: Uint8Array, prefix: number, fill: 0 | 1): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - 8 * i));
    const hostMask = 0xff >> keep;
    out[i] = fill === 0 ? out[i] & ~hostMask & 0xff : out[i] | hostMask;
  }
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return 0;
}

/**
 * Parses `addr`, `addr/len`, `addr/len/proto` or `addr/len/proto/port`.
 * The protocol is a number (0-255), a name (`tcp`, `udp`, `icmp`,
 * `icmpv6`, …) or `%any`; the port a number or `%any` (0 = all ports),
 * and requires a protocol. An address with bits set after the prefix is
 * refused (the fix is printed) rather than silently masked.
 */
export function parseSelector(text: string): ValueResult<Selector> {
  const parts = text.split("/");
  if (parts.length > 4) {
    return { ok: false, error: `"${text}" is not a selector (addr[/len[/proto[/port]]])` };
  }
  const address = parseAddress(parts[0]);
  if (address === undefined) {
    return { ok: false, error: `"${text}": "${parts[0]}" is not an IP address` };
  }
  const bits = address.family === 4 ? 32 : 128;
  let prefix = bits;
  if (parts.length > 1) {
    if (!/^[0-9]{1,3}$/.test(parts[1]) || Number(parts[1]) > bits) {
      return {
        ok: false,
        error: `"${text}": prefix length "${parts[1]}" is not a number from 0 to ${bits}`,
      };
    }
    prefix = Number(parts[1]);
  }
  const start = applyPrefix(address.bytes, prefix, 0);
  if (!bytesEqual(start, address.bytes)) {
    const network = formatAddress({ family: address.family, bytes: start });
    return {
      ok: false,
      error: `"${text}" has host bits set; did you mean "${network}/${prefix}"?`,
    };
  }
  let protocol = 0;
  if (parts.length > 2) {
    const p = parseProtocol(parts[2]);
    if (p === undefined) {
      return { ok: false, error: `"${text}": "${parts[2]}" is not an IP protocol` };
    }
    protocol = p;
  }
  let startPort = 0;
  let endPort = 65535;
  if (parts.length > 3) {
    const port = parsePortNumber(parts[3]);
    if (port === undefined) {
      return { ok: false, error: `"${text}": "${parts[3]}" is not a port (0-65535 or %any)` };
    }
    if (port !== 0 && protocol === 0) {
      return { ok: false, error: `"${text}": a port needs a protocol (e.g. tcp or udp)` };
    }
    if (port !== 0) {
      startPort = port;
      endPort = port;
    }
  }
  return {
    ok: true,
    value: {
      family: address.family,
      start,
      end: applyPrefix(address.bytes, prefix, 1),
      protocol,
      startPort,
      endPort,
    },
  };
}

/** The selector covering exactly one address, all protocols and ports (`/32` or `/128`). */
export function hostSelector(a: IpAddress): Selector {
  return {
    family: a.family,
    start: new Uint8Array(a.bytes),
    end: new Uint8Array(a.bytes),
    protocol: 0,
    startPort: 0,
    endPort: 65535,
  };
}

/** The prefix length when [start, end] is exactly one CIDR block, else undefined. */
export function rangePrefix(start: Uint8Array, end: Uint8Array): number | undefined {
  if (start.length !== end.length) return undefined;
  // The only candidate is the number of leading bits both share; it runs per
  // logged selector, so without allocating.
  let i = 0;
  while (i < start.length && start[i] === end[i]) i++;
  const prefix = 8 * i + (i < start.length ? Math.clz32(start[i] ^ end[i]) - 24 : 0);
  for (let j = 0; j < start.length; j++) {
    const hostMask = 0xff >> Math.max(0, Math.min(8, prefix - 8 * j));
    if ((start[j] & hostMask) !== 0 || (end[j] & hostMask) !== hostMask) return undefined;
  }
  return prefix;
}

/**
 * Formats a selector the way Libreswan's status output does:
 * `192.0.2.0/24` when the range is one prefix, else `lo-hi`; then
 * `/PROTO` when a protocol is set and `/port` (or `/lo-hi`) when ports are
 * narrowed, e.g. `192.0.2.1/32/UDP/1701`, `10.0.0.0/8/TCP`.
 */
export function formatSelector(s: Selector): string {
  const prefix = rangePrefix(s.start, s.end);
  let text = prefix !== undefined
    ? `${formatAddress({ family: s.family, bytes: s.start })}/${prefix}`
    : `${formatAddress({ family: s.family, bytes: s.start })}-${
      formatAddress({ family: s.family, bytes: s.end })
    }`;
  const allPorts = s.startPort === 0 && s.endPort === 65535;
  if (s.protocol !== 0 || !allPorts) {
    text += `/${PROTOCOL_NAMES.get(s.protocol) ?? String(s.protocol)}`;
  }
  if (!allPorts) {
    text += s.startPort === s.endPort ? `/${s.startPort}` : `/${s.startPort}-${s.endPort}`;
  }
  return text;
}

/** True when every packet `inner` matches is also matched by `outer`. */
export function selectorContains(outer: Selector, inner: Selector): boolean {
  return outer.family === inner.family &&
    compareBytes(outer.start, inner.start) <= 0 &&
    compareBytes(inner.end, outer.end) <= 0 &&
    (outer.protocol === 0 || outer.protocol === inner.protocol) &&
    outer.startPort <= inner.startPort &&
    inner.endPort <= outer.endPort;
}

/** The traffic matched by both selectors (RFC 7296 §2.9 narrowing), or undefined when none is. */
export function selectorIntersection(a: Selector, b: Selector): Selector | undefined {
  if (a.family !== b.family) return undefined;
  if (a.protocol !== 0 && b.protocol !== 0 && a.protocol !== b.protocol) return undefined;
  const start = compareBytes(a.start, b.start) >= 0 ? a.start : b.start;
  const end = compareBytes(a.end, b.end) <= 0 ? a.end : b.end;
  if (compareBytes(start, end) > 0) return undefined;
  const startPort = Math.max(a.startPort, b.startPort);
  const endPort = Math.min(a.endPort, b.endPort);
  if (startPort > endPort) return undefined;
  return {
    family: a.family,
    start: new Uint8Array(start),
    end: new Uint8Array(end),
    protocol: a.protocol !== 0 ? a.protocol : b.protocol,
    startPort,
    endPort,
  };
}

/** True when both selectors match exactly the same traffic. */
export function selectorEquals(a: Selector, b: Selector): boolean {
  return a.family === b.family && bytesEqual(a.start, b.start) && bytesEqual(a.end, b.end) &&
    a.protocol === b.protocol && a.startPort === b.startPort && a.endPort === b.endPort;
}
