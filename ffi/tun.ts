/**
 * A Linux TUN device through libc: `open("/dev/net/tun")`, `TUNSETIFF` with
 * `IFF_TUN | IFF_NO_PI` (bare IP packets, no packet-information prefix), and
 * nonblocking reads and writes. Deno cannot wrap a raw descriptor in a
 * `Deno.FsFile` and the `TUNSETIFF` ioctl needs one, so all I/O goes through
 * FFI. Waiting for packets runs `poll(2)` on an FFI worker thread together
 * with an eventfd, so {@link TunFd.close} wakes a pending wait at once.
 */
import { ErrnoError, lastErrno, libc } from "./libc.ts";

/** `open(2)` flags (asm-generic values, as on x86-64 and arm64). */
const O_RDWR = 2;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
/** `_IOW('T', 202, int)` from `<linux/if_tun.h>`. */
const TUNSETIFF = 0x400454ca;
/** Layer-3 device: reads and writes carry IP packets. */
const IFF_TUN = 0x0001;
/** No 4-byte flags/protocol prefix before each packet. */
const IFF_NO_PI = 0x1000;
/** `IFNAMSIZ`: interface names are at most 15 bytes plus NUL. */
const IFNAMSIZ = 16;
/** `sizeof(struct ifreq)` on 64-bit Linux. */
const IFREQ_BYTES = 40;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const POLLIN = 0x1;
const EAGAIN = 11;
const EINTR = 4;

/** An open TUN device: its kernel-assigned name and nonblocking packet I/O. */
export class TunFd {
  /** The interface name the kernel gave the device (e.g. `ipsec0`). */
  readonly name: string;
  #fd: number;
  #wakeFd: number;
  /** `struct pollfd[2]`: the device, then the wake-up eventfd. */
  #pollFds = new Uint8Array(16);
  #closed = false;
  #waiting: Promise<unknown> | undefined;

  private constructor(name: string, fd: number, wakeFd: number) {
    this.name = name;
    this.#fd = fd;
    this.#wakeFd = wakeFd;
    const view = new DataView(this.#pollFds.buffer);
    view.setInt32(0, fd, true);
    view.setInt16(4, POLLIN, true);
    view.setInt32(8, wakeFd, true);
    view.setInt16(12, POLLIN, true);
  }

  /**
   * Creates (or attaches to) TUN device `name`; an empty name lets the kernel
   * pick `tunN`. Throws {@link ErrnoError} (`TUNSETIFF(ipsec0): EPERM`) on failure.
   */
  static open(name: string): TunFd {
    const nameBytes = new TextEncoder().encode(name);
    if (nameBytes.length >= IFNAMSIZ) throw new ErrnoError(`TUNSETIFF(${name})`, 36);
    const lib = libc();
    const fd = lib.open(
      new TextEncoder().encode("/dev/net/tun\0"),
      O_RDWR | O_NONBLOCK | O_CLOEXEC,
    );
    if (fd < 0) throw new ErrnoError("open(/dev/net/tun)", lastErrno());
    const ifreq = new Uint8Array(IFREQ_BYTES);
    ifreq.set(nameBytes);
    new DataView(ifreq.buffer).setInt16(IFNAMSIZ, IFF_TUN | IFF_NO_PI, true);
    if (lib.ioctl(fd, BigInt(TUNSETIFF), ifreq) < 0) {
      const errno = lastErrno();
      lib.close(fd);
      throw new ErrnoError(`TUNSETIFF(${name || "tun%d"})`, errno);
    }
    const wakeFd = lib.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeFd < 0) {
      const errno = lastErrno();
      lib.close(fd);
      throw new ErrnoError("eventfd", errno);
    }
    const end = ifreq.indexOf(0);
    const given = new TextDecoder().decode(
      ifreq.subarray(0, end < 0 || end > IFNAMSIZ ? IFNAMSIZ : end),
    );
    return new TunFd(given, fd, wakeFd);
  }

  /**
   * Reads one packet into `buf` without blocking: its length, or 0 when
   * none is queued (or the device is closed). A packet longer than `buf`
   * is truncated by the kernel, so size `buf` above the device MTU.
   */
  read(buf: Uint8Array): number {
    if (this.#closed) return 0;
    const n = Number(libc().read(this.#fd, buf, BigInt(buf.length)));
    if (n >= 0) return n;
    const errno = lastErrno();
    if (errno === EAGAIN || errno === EINTR) return 0;
    throw new ErrnoError(`read(${this.name})`, errno);
  }

  /**
   * Hands one IP packet to the kernel. Returns false when the kernel refuses
   * it (no room in the queue, malformed header, device down): the caller
   * counts a drop; datapaths never stop for one bad packet.
   */
  write(packet: Uint8Array): boolean {
    if (this.#closed) return false;
    return Number(libc().write(this.#fd, packet, BigInt(packet.length))) === packet.length;
  }

  /**
   * Resolves once a packet may be read, after `timeoutMs` at the latest, or
   * when the device is closed. The wait runs on an FFI worker thread.
   */
  async waitReadable(timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    const waiting = libc().poll(this.#pollFds, 2n, timeoutMs);
    this.#waiting = waiting;
    await waiting;
    this.#waiting = undefined;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Closes the device (the kernel removes a non-persistent TUN interface with
   * its routes). A pending {@link waitReadable} is woken and awaited first, so
   * no worker thread polls a closed descriptor.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const one = new Uint8Array(8);
    new DataView(one.buffer).setBigUint64(0, 1n, true);
    libc().write(this.#wakeFd, one, 8n);
    await this.#waiting;
    libc().close(this.#fd);
    libc().close(this.#wakeFd);
  }
}
