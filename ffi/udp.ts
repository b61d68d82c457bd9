/**
 * UDP sockets through libc, for what node:dgram cannot do: learn the local
 * address each datagram arrived on (`IP_PKTINFO` / `IPV6_RECVPKTINFO`, read
 * from `recvmsg` control messages) and let the kernel decapsulate ESP-in-UDP
 * (`UDP_ENCAP_ESPINUDP`, RFC 3948). Sockets are nonblocking; waiting for
 * them is {@link ReadinessWaiter}'s job (`ffi/poll.ts`).
 *
 * Struct layouts are those of 64-bit little-endian Linux (x86-64, arm64),
 * as in the rest of `ffi/`.
 */
import {
  bind,
  close,
  ErrnoError,
  getsockoptInt,
  lastErrno,
  libc,
  setsockopt,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  socket,
} from "./libc.ts";

/** Address families (`<sys/socket.h>`). */
export const AF_INET = 2;
export const AF_INET6 = 10;
const SOCK_NONBLOCK = 0o4000;

const IPPROTO_IP = 0;
/** `IPPROTO_IPV6`, the level of IPv6 socket options and control messages. */
const IPPROTO_IPV6 = 41;
/** Both the option enabling it and the control message type (`<linux/in.h>`). */
const IP_PKTINFO = 8;
const IPV6_V6ONLY = 26;
const IPV6_RECVPKTINFO = 49;
/** The control message type `IPV6_RECVPKTINFO` produces (`<linux/in6.h>`). */
const IPV6_PKTINFO = 50;

/** `SOL_UDP` (= `IPPROTO_UDP`), the level of `UDP_ENCAP`. */
export const SOL_UDP = 17;
/** `<linux/udp.h>`: the socket option selecting UDP encapsulation. */
export const UDP_ENCAP = 100;
/** `<linux/udp.h>`: RFC 3948 ESP-in-UDP with the non-ESP marker for IKE. */
export const UDP_ENCAP_ESPINUDP = 2;

/** `msg_flags`: the datagram (or the control data) did not fit the buffer. */
const MSG_CTRUNC = 0x8;
const MSG_TRUNC = 0x20;
const EAGAIN = 11;
const EINTR = 4;

/** `sizeof(struct msghdr)` and `struct iovec`; `struct sockaddr_storage` is 128 bytes. */
const MSGHDR_BYTES = 56;
const IOVEC_BYTES = 16;
const SOCKADDR_STORAGE_BYTES = 128;
/** Room for one `in6_pktinfo` or `in_pktinfo` control message, with slack. */
const CONTROL_BYTES = 64;
/** `sizeof(struct cmsghdr)`: length (size_t), level, type; data follows, 8-byte aligned. */
const CMSGHDR_BYTES = 16;

/** An IP address (4 or 16 bytes, network order) and a UDP port. */
export interface SocketAddress {
  family: 4 | 6;
  bytes: Uint8Array;
  port: number;
}

/** `struct sockaddr_in` (16 bytes) or `struct sockaddr_in6` (28 bytes) for `a`. */
export function encodeSockaddr(a: SocketAddress): Uint8Array {
  const out = new Uint8Array(a.family === 4 ? 16 : 28);
  const view = new DataView(out.buffer);
  view.setUint16(0, a.family === 4 ? AF_INET : AF_INET6, true);
  view.setUint16(2, a.port, false);
  out.set(a.bytes, a.family === 4 ? 4 : 8);
  return out;
}

/**
 * Decodes the first `length` bytes of a `sockaddr_in`/`sockaddr_in6`; an
 * IPv6 scope id is dropped (IKE peers are never link-local). Undefined for
 * any other family or a short buffer.
 */
export function decodeSockaddr(buf: Uint8Array, length: number): SocketAddress | undefined {
  const view = new DataView(buf.buffer, buf.byteOffset, Math.min(length, buf.length));
  if (view.byteLength < 2) return undefined;
  const family = view.getUint16(0, true);
  if (family === AF_INET && view.byteLength >= 8) {
    return { family: 4, bytes: buf.slice(4, 8), port: view.getUint16(2, false) };
  }
  if (family === AF_INET6 && view.byteLength >= 24) {
    return { family: 6, bytes: buf.slice(8, 24), port: view.getUint16(2, false) };
  }
  return undefined;
}

/**
 * The destination address of a received datagram from its `recvmsg` control
 * data: `in_pktinfo.ipi_addr` (the header's destination) or
 * `in6_pktinfo.ipi6_addr`. Undefined when no well-formed pktinfo is present;
 * walks the messages with bounds checks, never past `length`.
 */
export function pktinfoDestination(
  control: Uint8Array,
  length: number,
): { family: 4 | 6; bytes: Uint8Array } | undefined {
  const end = Math.min(length, control.length);
  const view = new DataView(control.buffer, control.byteOffset, end);
  let offset = 0;
  while (offset + CMSGHDR_BYTES <= end) {
    const cmsgLen = Number(view.getBigUint64(offset, true));
    if (cmsgLen < CMSGHDR_BYTES || offset + cmsgLen > end) return undefined;
    const level = view.getInt32(offset + 8, true);
    const type = view.getInt32(offset + 12, true);
    const data = offset + CMSGHDR_BYTES;
    const dataLen = cmsgLen - CMSGHDR_BYTES;
    // in_pktinfo: ifindex, spec_dst, addr; in6_pktinfo: addr, ifindex.
    if (level === IPPROTO_IP && type === IP_PKTINFO && dataLen >= 12) {
      return { family: 4, bytes: control.slice(data + 8, data + 12) };
    }
    if (level === IPPROTO_IPV6 && type === IPV6_PKTINFO && dataLen >= 20) {
      return { family: 6, bytes: control.slice(data, data + 16) };
    }
    offset += (cmsgLen + 7) & ~7;
  }
  return undefined;
}

/** One datagram {@link UdpSocket.receive} read. */
export interface Received {
  /** Bytes placed at the start of the caller's buffer. */
  length: number;
  from: SocketAddress;
  /** The address the datagram was sent to (from pktinfo), when the kernel said. */
  to: { family: 4 | 6; bytes: Uint8Array } | undefined;
}

function formatSocketAddress(a: SocketAddress): string {
  if (a.family === 4) return `${a.bytes.join(".")}:${a.port}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((a.bytes[i] << 8) | a.bytes[i + 1]).toString(16));
  return `[${groups.join(":")}]:${a.port}`;
}

/** Where `buf`'s bytes are, for pointers inside structs. */
function address(buf: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
}

function intOption(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value, true);
  return out;
}

/**
 * A nonblocking, close-on-exec UDP socket bound to one local address and
 * port, reporting each datagram's destination address. IPv6 sockets are
 * IPv6-only so an IPv4 socket on the same port can coexist.
 */
export class UdpSocket {
  /** The descriptor, for polling. */
  readonly fd: number;
  /** The address and port bound, as given to {@link open}. */
  readonly local: SocketAddress;
  /** `192.0.2.1:500` or `[2001:db8:0:0:0:0:0:1]:500`, naming the socket in errors. */
  readonly what: string;
  // recvmsg's buffers point at each other, so they must never move: a typed
  // array over its own ArrayBuffer has an off-heap store (small typed arrays
  // made from a length may live on V8's moving heap).
  #msghdr = new Uint8Array(new ArrayBuffer(MSGHDR_BYTES));
  #iovec = new Uint8Array(new ArrayBuffer(IOVEC_BYTES));
  #name = new Uint8Array(new ArrayBuffer(SOCKADDR_STORAGE_BYTES));
  #control = new Uint8Array(new ArrayBuffer(CONTROL_BYTES));
  #closed = false;

  private constructor(fd: number, local: SocketAddress, what: string) {
    this.fd = fd;
    this.local = local;
    this.what = what;
    const header = new DataView(this.#msghdr.buffer);
    header.setBigUint64(0, address(this.#name), true);
    header.setBigUint64(16, address(this.#iovec), true);
    header.setBigUint64(24, 1n, true);
    header.setBigUint64(32, address(this.#control), true);
  }

  /**
   * Opens a socket on `local` with destination-address reporting on. Throws
   * {@link ErrnoError} naming the step (`bind(192.0.2.1:500): EADDRINUSE`).
   */
  static open(local: SocketAddress): UdpSocket {
    const what = formatSocketAddress(local);
    const fd = socket(
      local.family === 4 ? AF_INET : AF_INET6,
      SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
      0,
      what,
    );
    try {
      if (local.family === 4) {
        setsockopt(fd, IPPROTO_IP, IP_PKTINFO, intOption(1), `IP_PKTINFO ${what}`);
      } else {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, intOption(1), `IPV6_V6ONLY ${what}`);
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, intOption(1), `IPV6_RECVPKTINFO ${what}`);
      }
      bind(fd, encodeSockaddr(local), what);
    } catch (e) {
      libc().close(fd);
      throw e;
    }
    return new UdpSocket(fd, local, what);
  }

  /**
   * Has the kernel take ESP-in-UDP arriving here (RFC 3948): datagrams whose
   * first four bytes are non-zero go to the kernel's ESP states, keepalives
   * are dropped, and only IKE (non-ESP marker) still reaches {@link receive}.
   */
  enableEspInUdp(): void {
    setsockopt(
      this.fd,
      SOL_UDP,
      UDP_ENCAP,
      intOption(UDP_ENCAP_ESPINUDP),
      `UDP_ENCAP ${this.what}`,
    );
  }

  /** Reads an `int` socket option (tests check `UDP_ENCAP` with it). */
  intOption(level: number, name: number): number {
    return getsockoptInt(this.fd, level, name, `${level}/${name} ${this.what}`);
  }

  /**
   * Reads one queued datagram into `buf` without blocking; undefined when
   * none is queued. A datagram longer than `buf` is dropped (not truncated)
   * and the next one read. Throws {@link ErrnoError} on other failures.
   */
  receive(buf: Uint8Array): Received | undefined {
    for (;;) {
      if (this.#closed) return undefined;
      const iov = new DataView(this.#iovec.buffer);
      iov.setBigUint64(0, address(buf), true);
      iov.setBigUint64(8, BigInt(buf.length), true);
      const header = new DataView(this.#msghdr.buffer);
      header.setUint32(8, SOCKADDR_STORAGE_BYTES, true);
      header.setBigUint64(40, BigInt(CONTROL_BYTES), true);
      header.setInt32(48, 0, true);
      const n = Number(libc().recvmsg(this.fd, this.#msghdr, 0));
      if (n < 0) {
        const errno = lastErrno();
        if (errno === EAGAIN || errno === EINTR) return undefined;
        throw new ErrnoError(`recvmsg(${this.what})`, errno);
      }
      const flags = header.getInt32(48, true);
      const from = decodeSockaddr(this.#name, header.getUint32(8, true));
      if ((flags & MSG_TRUNC) !== 0 || from === undefined) continue;
      const controlLength = (flags & MSG_CTRUNC) !== 0 ? 0 : Number(header.getBigUint64(40, true));
      return { length: n, from, to: pktinfoDestination(this.#control, controlLength) };
    }
  }

  /** Sends one datagram to `to`; throws {@link ErrnoError} (`sendto(…): ENETUNREACH`). */
  sendTo(data: Uint8Array, to: SocketAddress): void {
    const addr = encodeSockaddr(to);
    const n = Number(libc().sendto(this.fd, data, BigInt(data.length), 0, addr, addr.length));
    if (n < 0) {
      throw new ErrnoError(`sendto(${this.what} → ${formatSocketAddress(to)})`, lastErrno());
    }
  }

  /** Closes the descriptor; later calls to {@link receive} return undefined. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    close(this.fd, this.what);
  }
}
