/**
 * A Linux TUN device through libc: `open("/dev/net/tun")`, `TUNSETIFF` with
 * `IFF_TUN | IFF_NO_PI` (bare IP packets, no packet-information prefix), and
 * nonblocking reads and writes. Deno cannot wrap a raw descriptor in a
 * `Deno.FsFile` and the `TUNSETIFF` ioctl needs one, so all I/O goes through
 * FFI. Reading is {@link readTunPacket} on the descriptor, by whichever
 * thread waits for packets (the userspace stack's outbound worker).
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
const EAGAIN = 11;
const EINTR = 4;

/**
 * Reads one packet from TUN descriptor `fd` into `buf` without blocking: its
 * length, or 0 when none is queued. A packet longer than `buf` is truncated
 * by the kernel, so size `buf` above the device MTU. Throws {@link ErrnoError} naming `name`
 * on other failures (the device was deleted under us).
 */
export function readTunPacket(fd: number, buf: Uint8Array, name: string): number {
  const n = Number(libc().read(fd, buf, BigInt(buf.length)));
  if (n >= 0) return n;
  const errno = lastErrno();
  if (errno === EAGAIN || errno === EINTR) return 0;
  throw new ErrnoError(`read(${name})`, errno);
}

/** An open TUN device: its kernel-assigned name, its descriptor and nonblocking writes. */
export class TunFd {
  /** The interface name the kernel gave the device (e.g. `ipsec0`). */
  readonly name: string;
  #fd: number;
  #closed = false;

  private constructor(name: string, fd: number) {
    this.name = name;
    this.#fd = fd;
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
    const end = ifreq.indexOf(0);
    const given = new TextDecoder().decode(
      ifreq.subarray(0, end < 0 || end > IFNAMSIZ ? IFNAMSIZ : end),
    );
    return new TunFd(given, fd);
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
   * The device's descriptor, for a datapath thread that reads it directly
   * (descriptors are process-wide); it stays valid until {@link close}.
   */
  get fd(): number {
    return this.#fd;
  }

  /**
   * Closes the device (the kernel removes a non-persistent TUN interface with
   * its routes). Whoever reads the descriptor must have stopped first: a
   * closed descriptor number is soon reused.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    libc().close(this.#fd);
  }
}
