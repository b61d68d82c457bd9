/**
 * Thin libc bindings through Deno FFI: one dlopen table, errno with names,
 * and a `sockaddr_un` builder. Deno has no stable API for Unix datagram
 * sockets (syslog's `/dev/log`), nor for raw UDP socket options or netlink;
 * those adapters extend the table below rather than opening libc again.
 *
 * Every wrapper throws an {@link ErrnoError} naming the operation and the
 * errno (`connect(/dev/log): ENOENT`) when the call returns -1.
 */

/** The symbols we bind; add new ones here, one line each. */
const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  dup: { parameters: ["i32"], result: "i32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  // On a worker thread: poll(2) waits for a descriptor without stalling the event loop.
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

let library: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** The bound libc symbols; the library is opened on first use so importing this module needs no FFI permission. */
export function libc(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
  library ??= Deno.dlopen("libc.so.6", SYMBOLS);
  return library.symbols;
}

/** Address family for Unix-domain sockets (`<sys/socket.h>`). */
export const AF_UNIX = 1;
/** Datagram socket type. */
export const SOCK_DGRAM = 2;
/** Close the descriptor on exec, so updown scripts never inherit our sockets. */
export const SOCK_CLOEXEC = 0o2000000;
/** `recv`/`send` flag: fail with EAGAIN instead of blocking. */
export const MSG_DONTWAIT = 0x40;
/** `send` flag: return EPIPE instead of raising SIGPIPE. */
export const MSG_NOSIGNAL = 0x4000;

/** Linux errno numbers we expect to meet, by number (asm-generic values, as on x86-64 and arm64). */
export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  20: "ENOTDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  28: "ENOSPC",
  32: "EPIPE",
  36: "ENAMETOOLONG",
  38: "ENOSYS",
  88: "ENOTSOCK",
  89: "EDESTADDRREQ",
  90: "EMSGSIZE",
  91: "EPROTOTYPE",
  92: "ENOPROTOOPT",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  101: "ENETUNREACH",
  104: "ECONNRESET",
  105: "ENOBUFS",
  106: "EISCONN",
  107: "ENOTCONN",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
  114: "EALREADY",
  115: "EINPROGRESS",
};

/** The symbolic name of an errno, or `errno N` for one not in {@link ERRNO_NAMES}. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** A failed libc call: `op` names the call and its object, e.g. `connect(/dev/log)`. */
export class ErrnoError extends Error {
  readonly op: string;
  readonly errno: number;
  /** The symbolic errno, e.g. `ENOENT`. */
  readonly code: string;

  constructor(op: string, errno: number) {
    const code = errnoName(errno);
    super(`${op}: ${code}`);
    this.name = "ErrnoError";
    this.op = op;
    this.errno = errno;
    this.code = code;
  }
}

/** The calling thread's errno; read it straight after the failing call. */
export function lastErrno(): number {
  const where = libc().__errno_location();
  return where === null ? 0 : new Deno.UnsafePointerView(where).getInt32();
}

/** Returns `result` as a number, or throws {@link ErrnoError} for `op` when it is negative. */
function checked(op: string, result: number | bigint): number {
  const n = Number(result);
  if (n < 0) throw new ErrnoError(op, lastErrno());
  return n;
}

/** Longest path a `sockaddr_un` holds, leaving room for the terminating NUL. */
const SUN_PATH_MAX = 107;

/**
 * A `struct sockaddr_un` (family in host byte order, NUL-terminated path),
 * trimmed to the length `bind`/`connect` expect; throws ENAMETOOLONG for a
 * path that does not fit, as the kernel would.
 */
export function sockaddrUn(path: string): Uint8Array {
  const bytes = new TextEncoder().encode(path);
  if (bytes.length > SUN_PATH_MAX) throw new ErrnoError(`sockaddr_un(${path})`, 36);
  const addr = new Uint8Array(2 + bytes.length + 1);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(bytes, 2);
  return addr;
}

/** `socket(2)`; `what` names the socket in errors. */
export function socket(domain: number, type: number, protocol: number, what: string): number {
  return checked(`socket(${what})`, libc().socket(domain, type, protocol));
}

/** `bind(2)` to an encoded address; `what` names the address in errors. */
export function bind(fd: number, addr: Uint8Array, what: string): void {
  checked(`bind(${what})`, libc().bind(fd, addr, addr.length));
}

/** `connect(2)` to an encoded address; `what` names the address in errors. */
export function connect(fd: number, addr: Uint8Array, what: string): void {
  checked(`connect(${what})`, libc().connect(fd, addr, addr.length));
}

/** `send(2)`; returns the bytes sent (a datagram is sent whole or not at all). */
export function send(fd: number, data: Uint8Array, flags: number, what: string): number {
  return checked(`send(${what})`, libc().send(fd, data, BigInt(data.length), flags));
}

/** `recv(2)` into `buf`; returns the number of bytes received. */
export function recv(fd: number, buf: Uint8Array, flags: number, what: string): number {
  return checked(`recv(${what})`, libc().recv(fd, buf, BigInt(buf.length), flags));
}

/** `setsockopt(2)` with an encoded option value; `what` names the option in errors. */
export function setsockopt(
  fd: number,
  level: number,
  name: number,
  value: Uint8Array,
  what: string,
): void {
  checked(`setsockopt(${what})`, libc().setsockopt(fd, level, name, value, value.length));
}

/** `close(2)`. */
export function close(fd: number, what: string): void {
  checked(`close(${what})`, libc().close(fd));
}

/** `getsockopt(2)` of an `int` option; `what` names the option in errors. */
export function getsockoptInt(fd: number, level: number, name: number, what: string): number {
  const value = new Uint8Array(4);
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, 4, true);
  checked(`getsockopt(${what})`, libc().getsockopt(fd, level, name, value, length));
  return new DataView(value.buffer).getInt32(0, true);
}

/**
 * `setns(2)`: moves the calling thread into the namespace `fd` refers to
 * (`nstype` 0 accepts any kind); `what` names the namespace in errors.
 */
export function setns(fd: number, nstype: number, what: string): void {
  checked(`setns(${what})`, libc().setns(fd, nstype));
}
