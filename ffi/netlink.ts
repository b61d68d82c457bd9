/**
 * Netlink sockets through libc: open and bind, send a request and collect
 * its answer by sequence number, and turn an NLMSG_ERROR into a
 * {@link NetlinkError} that names the operation and the errno
 * (`XFRM_MSG_NEWSA: EPROTONOSUPPORT (errno 93)`).
 *
 * Requests block: the kernel answers a netlink request while handling the
 * send, so the reply is queued before `send` returns; a receive timeout
 * still bounds the wait.
 */

import {
  bind,
  close,
  ErrnoError,
  errnoName,
  MSG_DONTWAIT,
  recv,
  send,
  setsockopt,
  SOCK_CLOEXEC,
  socket,
} from "./libc.ts";
import {
  encodeMessage,
  isParseError,
  type NetlinkMessage,
  NLM_F_ACK,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  parseAck,
  parseMessages,
} from "./netlink_message.ts";

/** Address family of netlink sockets. */
export const AF_NETLINK = 16;
/** Netlink protocol of the IPsec (XFRM) subsystem. */
export const NETLINK_XFRM = 6;
/** Raw socket type; netlink accepts SOCK_RAW or SOCK_DGRAM alike. */
const SOCK_RAW = 3;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const SOL_NETLINK = 270;
/** Trim the request echoed in error messages to its header. */
const NETLINK_CAP_ACK = 10;
/** Ask the kernel for its textual reason in error messages. */
const NETLINK_EXT_ACK = 11;
/** `recv` flag: return the datagram's real length even when it was cut. */
const MSG_TRUNC = 0x20;
/** Large enough for any single XFRM reply (an SA with every attribute is < 1 KiB). */
const RECEIVE_BUFFER = 65536;
/** How long a request waits for its answer before failing with EAGAIN. */
const REPLY_TIMEOUT_SECONDS = 2;

/** The kernel refused a netlink request, or the exchange itself failed. */
export class NetlinkError extends Error {
  /** The request, e.g. `XFRM_MSG_NEWSA`. */
  readonly op: string;
  /** Positive errno, 0 when the failure is not an errno (a malformed reply). */
  readonly errno: number;
  /** The symbolic errno, e.g. `EPROTONOSUPPORT`. */
  readonly code: string;
  /** The kernel's extended-ACK text, when it gave one. */
  readonly detail?: string;

  constructor(op: string, errno: number, detail?: string) {
    const code = errno === 0 ? "malformed reply" : errnoName(errno);
    super(
      `${op}: ${errno === 0 ? code : `${code} (errno ${errno})`}${detail ? `: ${detail}` : ""}`,
    );
    this.name = "NetlinkError";
    this.op = op;
    this.errno = errno;
    this.code = code;
    this.detail = detail;
  }
}

/** `struct sockaddr_nl` (12 bytes): family u16 @0, pad u16 @2, pid u32 @4 (0: kernel assigns), groups u32 @8. */
function sockaddrNl(groups: number): Uint8Array {
  const addr = new Uint8Array(12);
  const v = new DataView(addr.buffer);
  v.setUint16(0, AF_NETLINK, true);
  v.setUint32(8, groups, true);
  return addr;
}

function int32(value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, value, true);
  return b;
}

/** A bound netlink socket of one protocol. */
export class NetlinkSocket {
  readonly #fd: number;
  readonly #what: string;
  #seq: number;
  #closed = false;

  private constructor(fd: number, what: string) {
    this.#fd = fd;
    this.#what = what;
    // Distinct start values keep replies to an earlier, abandoned socket apart in traces.
    this.#seq = Math.floor(Math.random() * 0x7fffffff);
  }

  /**
   * Opens a socket of `protocol` (e.g. {@link NETLINK_XFRM}) subscribed to the
   * multicast `groups` bit mask (bit n-1 for group n); `what` names it in errors.
   */
  static open(protocol: number, what: string, groups = 0): NetlinkSocket {
    const fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol, what);
    try {
      bind(fd, sockaddrNl(groups), what);
      const timeout = new Uint8Array(16); // struct timeval: tv_sec i64 @0, tv_usec i64 @8
      new DataView(timeout.buffer).setBigInt64(0, BigInt(REPLY_TIMEOUT_SECONDS), true);
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeout, `${what} SO_RCVTIMEO`);
      // Both are best effort: kernels before 4.12 lack extended ACKs.
      for (const option of [NETLINK_CAP_ACK, NETLINK_EXT_ACK]) {
        try {
          setsockopt(fd, SOL_NETLINK, option, int32(1), what);
        } catch (e) {
          if (!(e instanceof ErrnoError)) throw e;
        }
      }
    } catch (e) {
      close(fd, what);
      throw e;
    }
    return new NetlinkSocket(fd, what);
  }

  /**
   * Sends one request and returns the kernel's answer. With NLM_F_ACK in
   * `flags` that is `[]` (or a GET's reply) once the ACK arrives; without,
   * the first reply (all parts of a multipart one). `op` names the request
   * in errors. Throws {@link NetlinkError} for an error answer,
   * {@link ErrnoError} when the socket itself fails.
   */
  request(type: number, flags: number, body: Uint8Array, op: string): NetlinkMessage[] {
    const seq = this.#seq = (this.#seq + 1) >>> 0;
    send(this.#fd, encodeMessage(type, flags | NLM_F_REQUEST, seq, body), 0, op);
    const replies: NetlinkMessage[] = [];
    for (;;) {
      for (const msg of this.#receiveBatch(0, op)) {
        if (msg.seq !== seq) continue; // a multicast event or a stale answer
        if (msg.type === NLMSG_ERROR) {
          const ack = parseAck(msg);
          if (isParseError(ack)) throw new NetlinkError(op, 0, ack.error);
          if (ack.errno !== 0) throw new NetlinkError(op, ack.errno, ack.message);
          return replies;
        }
        if (msg.type === NLMSG_DONE) return replies;
        replies.push(msg);
        if (!(flags & NLM_F_ACK) && !(msg.flags & NLM_F_MULTI)) return replies;
      }
    }
  }

  /** Messages already queued (multicast events); `[]` when there are none. Never blocks. */
  poll(): NetlinkMessage[] {
    try {
      return this.#receiveBatch(MSG_DONTWAIT, `${this.#what} receive`);
    } catch (e) {
      if (e instanceof ErrnoError && e.code === "EAGAIN") return [];
      throw e;
    }
  }

  #receiveBatch(flags: number, op: string): NetlinkMessage[] {
    const buf = new Uint8Array(RECEIVE_BUFFER);
    const n = recv(this.#fd, buf, flags | MSG_TRUNC, op);
    if (n > buf.length) throw new NetlinkError(op, 0, `a ${n}-byte reply did not fit`);
    const msgs = parseMessages(buf.subarray(0, n));
    if (isParseError(msgs)) throw new NetlinkError(op, 0, msgs.error);
    return msgs;
  }

  /** Closes the socket; later calls are no-ops. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    close(this.#fd, this.#what);
  }
}
