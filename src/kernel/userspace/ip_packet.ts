/**
 * What a traffic selector looks at in an IP packet (RFC 4301 §4.4.1.1):
 * addresses, the upper-layer protocol and its ports. ICMP's type and code
 * take the port's place (type in the high byte, code in the low byte), as
 * IKEv2 traffic selectors carry them. Parsing is total: a packet that is not
 * a well-formed IPv4 or IPv6 header gives `undefined`.
 */
import type { Selector } from "../../config/addresses.ts";

/** The selector-relevant fields of one IP packet. */
export interface PacketFlow {
  family: 4 | 6;
  /** Total length from the header: where the packet ends inside a longer buffer (TFC padding). */
  length: number;
  src: Uint8Array;
  dst: Uint8Array;
  /** Upper-layer protocol (after IPv6 extension headers). */
  protocol: number;
  /** Source port (ICMP: type<<8|code), or -1 when not visible (non-initial fragment, other protocols). */
  srcPort: number;
  /** Destination port (ICMP: type<<8|code), or -1 when not visible. */
  dstPort: number;
}

const IPPROTO_ICMP = 1;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_SCTP = 132;
const IPPROTO_ICMPV6 = 58;
const IPPROTO_FRAGMENT = 44;
/** IPv6 extension headers that share the generic (next header, length in 8-byte units) layout. */
const IPV6_GENERIC_EXTENSIONS = new Set([0, 43, 60]);
const IPV4_HEADER_MIN = 20;
const IPV6_HEADER = 40;

/** Reads the ports (or ICMP type/code) at `offset` for `protocol`, -1 when absent. */
function ports(
  packet: Uint8Array,
  offset: number,
  end: number,
  protocol: number,
): [number, number] {
  if (protocol === IPPROTO_TCP || protocol === IPPROTO_UDP || protocol === IPPROTO_SCTP) {
    if (offset + 4 > end) return [-1, -1];
    return [
      (packet[offset] << 8) | packet[offset + 1],
      (packet[offset + 2] << 8) | packet[offset + 3],
    ];
  }
  if (protocol === IPPROTO_ICMP || protocol === IPPROTO_ICMPV6) {
    if (offset + 2 > end) return [-1, -1];
    const typeCode = (packet[offset] << 8) | packet[offset + 1];
    return [typeCode, typeCode];
  }
  return [-1, -1];
}

function parseIpv4(packet: Uint8Array): PacketFlow | undefined {
  if (packet.length < IPV4_HEADER_MIN) return undefined;
  const headerLength = (packet[0] & 0x0f) * 4;
  const length = (packet[2] << 8) | packet[3];
  if (headerLength < IPV4_HEADER_MIN || length < headerLength || length > packet.length) {
    return undefined;
  }
  const protocol = packet[9];
  const fragmentOffset = ((packet[6] & 0x1f) << 8) | packet[7];
  const [srcPort, dstPort] = fragmentOffset === 0
    ? ports(packet, headerLength, length, protocol)
    : [-1, -1];
  return {
    family: 4,
    length,
    src: packet.subarray(12, 16),
    dst: packet.subarray(16, 20),
    protocol,
    srcPort,
    dstPort,
  };
}

function parseIpv6(packet: Uint8Array): PacketFlow | undefined {
  if (packet.length < IPV6_HEADER) return undefined;
  const length = IPV6_HEADER + ((packet[4] << 8) | packet[5]);
  if (length > packet.length) return undefined;
  let protocol = packet[6];
  let offset = IPV6_HEADER;
  let visiblePorts = true;
  // Walk the extension headers to the upper-layer protocol; the chain is bounded by the packet.
  for (;;) {
    if (IPV6_GENERIC_EXTENSIONS.has(protocol)) {
      if (offset + 2 > length) return undefined;
      const next = packet[offset];
      offset += (packet[offset + 1] + 1) * 8;
      protocol = next;
    } else if (protocol === IPPROTO_FRAGMENT) {
      if (offset + 8 > length) return undefined;
      const fragmentOffset = ((packet[offset + 2] << 8) | packet[offset + 3]) >> 3;
      visiblePorts &&= fragmentOffset === 0;
      protocol = packet[offset];
      offset += 8;
    } else {
      break;
    }
  }
  if (offset > length) return undefined;
  const [srcPort, dstPort] = visiblePorts ? ports(packet, offset, length, protocol) : [-1, -1];
  return {
    family: 6,
    length,
    src: packet.subarray(8, 24),
    dst: packet.subarray(24, 40),
    protocol,
    srcPort,
    dstPort,
  };
}

/** The flow of an IPv4 or IPv6 packet (chosen by the version nibble), or undefined when malformed. */
export function parsePacketFlow(packet: Uint8Array): PacketFlow | undefined {
  if (packet.length === 0) return undefined;
  const version = packet[0] >> 4;
  return version === 4 ? parseIpv4(packet) : version === 6 ? parseIpv6(packet) : undefined;
}

function between(value: Uint8Array, start: Uint8Array, end: Uint8Array): boolean {
  let aboveStart = false;
  let belowEnd = false;
  for (let i = 0; i < value.length && !(aboveStart && belowEnd); i++) {
    if (!aboveStart) {
      if (value[i] < start[i]) return false;
      if (value[i] > start[i]) aboveStart = true;
    }
    if (!belowEnd) {
      if (value[i] > end[i]) return false;
      if (value[i] < end[i]) belowEnd = true;
    }
  }
  return true;
}

function portMatches(port: number, s: Selector): boolean {
  // A port that is not visible matches only a selector that does not narrow ports (OPAQUE).
  if (port < 0) return s.startPort === 0 && s.endPort === 65535;
  return s.startPort <= port && port <= s.endPort;
}

/** Whether the packet's source side falls inside `s` (address, protocol, source port). */
export function sourceMatches(flow: PacketFlow, s: Selector): boolean {
  return s.family === flow.family && between(flow.src, s.start, s.end) &&
    (s.protocol === 0 || s.protocol === flow.protocol) && portMatches(flow.srcPort, s);
}

/** Whether the packet's destination side falls inside `s` (address, protocol, destination port). */
export function destinationMatches(flow: PacketFlow, s: Selector): boolean {
  return s.family === flow.family && between(flow.dst, s.start, s.end) &&
    (s.protocol === 0 || s.protocol === flow.protocol) && portMatches(flow.dstPort, s);
}
