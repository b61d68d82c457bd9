/**
 * Netlink framing (`<linux/netlink.h>`), pure: the 16-byte `nlmsghdr`,
 * 4-byte aligned attributes (`nlattr`), and the `nlmsgerr` the kernel sends
 * as ACK or error. All integers are in host byte order (little-endian on
 * every platform swan runs on). Parsing is total: malformed input gives a
 * {@link NetlinkParseError}, never an exception.
 */

/** `struct nlmsghdr` is 16 bytes: len u32 @0, type u16 @4, flags u16 @6, seq u32 @8, pid u32 @12. */
export const NLMSG_HDRLEN = 16;
/** `struct nlattr` is 4 bytes: len u16 @0 (header included, padding excluded), type u16 @2. */
export const NLA_HDRLEN = 4;

/** The request expects a reply (always set on requests to the kernel). */
export const NLM_F_REQUEST = 0x1;
/** One of several messages that end with NLMSG_DONE. */
export const NLM_F_MULTI = 0x2;
/** Ask for an ACK (an NLMSG_ERROR with error 0) on success. */
export const NLM_F_ACK = 0x4;
/** NLMSG_ERROR flag: the echoed request was trimmed to its header (NETLINK_CAP_ACK). */
export const NLM_F_CAPPED = 0x100;
/** NLMSG_ERROR flag: extended-ACK attributes follow (NETLINK_EXT_ACK). */
export const NLM_F_ACK_TLVS = 0x200;

/** Error or ACK: the body is `struct nlmsgerr` (int error @0, the request's nlmsghdr @4, …). */
export const NLMSG_ERROR = 2;
/** End of a multipart reply. */
export const NLMSG_DONE = 3;
/** Extended-ACK attribute holding the kernel's human-readable reason (NUL-terminated). */
const NLMSGERR_ATTR_MSG = 1;

/** Rounds a length up to netlink's 4-byte alignment. */
export function nlAlign(n: number): number {
  return (n + 3) & ~3;
}

/** One netlink message; `body` is what follows the header, without trailing padding. */
export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  body: Uint8Array;
}

/** One attribute: its type (flag bits such as NLA_F_NESTED kept) and payload. */
export interface NetlinkAttribute {
  type: number;
  payload: Uint8Array;
}

/** Bytes that do not frame as netlink; `offset` is where the bad length was read. */
export interface NetlinkParseError {
  error: string;
  offset: number;
}

/** True for a {@link NetlinkParseError}. */
export function isParseError(x: unknown): x is NetlinkParseError {
  return typeof x === "object" && x !== null && "error" in x && "offset" in x;
}

/** Encodes one message: header (with the total length) then `body`, padded to 4 bytes. */
export function encodeMessage(
  type: number,
  flags: number,
  seq: number,
  body: Uint8Array,
  pid = 0,
): Uint8Array {
  const out = new Uint8Array(nlAlign(NLMSG_HDRLEN + body.length));
  const v = new DataView(out.buffer);
  v.setUint32(0, NLMSG_HDRLEN + body.length, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq, true);
  v.setUint32(12, pid, true);
  out.set(body, NLMSG_HDRLEN);
  return out;
}

/** Splits a datagram into messages; a length that overruns or underruns the header is an error. */
export function parseMessages(data: Uint8Array): NetlinkMessage[] | NetlinkParseError {
  const out: NetlinkMessage[] = [];
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = 0;
  while (at + NLMSG_HDRLEN <= data.length) {
    const len = v.getUint32(at, true);
    if (len < NLMSG_HDRLEN || at + len > data.length) {
      return { error: `nlmsghdr length ${len} does not fit`, offset: at };
    }
    out.push({
      type: v.getUint16(at + 4, true),
      flags: v.getUint16(at + 6, true),
      seq: v.getUint32(at + 8, true),
      pid: v.getUint32(at + 12, true),
      body: data.subarray(at + NLMSG_HDRLEN, at + len),
    });
    at += nlAlign(len);
  }
  return out;
}

/** Encodes one attribute, padded to 4 bytes. */
export function encodeAttribute(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(nlAlign(NLA_HDRLEN + payload.length));
  const v = new DataView(out.buffer);
  v.setUint16(0, NLA_HDRLEN + payload.length, true);
  v.setUint16(2, type, true);
  out.set(payload, NLA_HDRLEN);
  return out;
}

/** Concatenates byte strings (a fixed struct followed by its attributes). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Splits an attribute area; `base` is its offset in the message, for error reports. */
export function parseAttributes(
  data: Uint8Array,
  base = 0,
): NetlinkAttribute[] | NetlinkParseError {
  const out: NetlinkAttribute[] = [];
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = 0;
  while (at + NLA_HDRLEN <= data.length) {
    const len = v.getUint16(at, true);
    if (len < NLA_HDRLEN || at + len > data.length) {
      return { error: `nlattr length ${len} does not fit`, offset: base + at };
    }
    out.push({
      type: v.getUint16(at + 2, true),
      payload: data.subarray(at + NLA_HDRLEN, at + len),
    });
    at += nlAlign(len);
  }
  return out;
}

/** An NLMSG_ERROR body: `errno` 0 is an ACK; `message` is the kernel's extended-ACK text, if any. */
export interface NetlinkAck {
  errno: number;
  /** Sequence number of the request this answers. */
  seq: number;
  message?: string;
}

/**
 * Decodes `struct nlmsgerr`: int error @0 (a negative errno, 0 for an ACK),
 * then the request's nlmsghdr @4 followed by its body unless NLM_F_CAPPED,
 * then extended-ACK attributes when NLM_F_ACK_TLVS.
 */
export function parseAck(msg: NetlinkMessage): NetlinkAck | NetlinkParseError {
  if (msg.body.length < 4 + NLMSG_HDRLEN) {
    return { error: `nlmsgerr of ${msg.body.length} bytes is too short`, offset: NLMSG_HDRLEN };
  }
  const v = new DataView(msg.body.buffer, msg.body.byteOffset, msg.body.byteLength);
  const errno = -v.getInt32(0, true);
  const requestLength = v.getUint32(4, true);
  const seq = v.getUint32(12, true);
  if (!(msg.flags & NLM_F_ACK_TLVS)) return { errno, seq };
  const tlvStart = 4 + (msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : nlAlign(requestLength));
  if (tlvStart > msg.body.length) {
    return { error: "nlmsgerr echoed request overruns the message", offset: NLMSG_HDRLEN + 4 };
  }
  const attrs = parseAttributes(msg.body.subarray(tlvStart), NLMSG_HDRLEN + tlvStart);
  if (isParseError(attrs)) return attrs;
  const text = attrs.find((a) => a.type === NLMSGERR_ATTR_MSG);
  if (text === undefined) return { errno, seq };
  const end = text.payload.indexOf(0);
  const message = new TextDecoder().decode(end < 0 ? text.payload : text.payload.subarray(0, end));
  return { errno, seq, message };
}
