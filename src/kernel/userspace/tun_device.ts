/**
 * The userspace stack's network device: a TUN interface (strongSwan's
 * kernel-libipsec calls it `ipsec0` too) brought up with an MTU small
 * enough that an inner packet of that size still fits one outer packet
 * after ESP-in-UDP encapsulation. Packets are written here; the outbound
 * datapath thread reads the descriptor itself (outbound_worker.ts).
 */
import { TunFd } from "../../../ffi/tun.ts";
import { runIp } from "./ip_command.ts";

/**
 * The largest ESP-in-UDP overhead swan produces: outer IPv6 header 40, UDP 8,
 * ESP header 8, IV 16 (CBC), padding 15, pad length and next header 2,
 * ICV 32 (HMAC-SHA2-512-256).
 */
export const MAX_ESP_UDP_OVERHEAD = 40 + 8 + 8 + 16 + 15 + 2 + 32;
/** The outer path MTU assumed when none is given (Ethernet). */
const DEFAULT_LINK_MTU = 1500;

/** Options of {@link TunDevice.open}. */
export interface TunOptions {
  /** Interface name; default `ipsec0`. */
  name?: string;
  /** Device MTU; default the Ethernet MTU minus {@link MAX_ESP_UDP_OVERHEAD}. */
  mtu?: number;
}

/** An open, up TUN device. */
export class TunDevice {
  /** The interface name. */
  readonly name: string;
  /** The MTU it was given. */
  readonly mtu: number;
  #fd: TunFd;

  private constructor(fd: TunFd, mtu: number) {
    this.#fd = fd;
    this.name = fd.name;
    this.mtu = mtu;
  }

  /** Creates the device and brings it up; throws (ErrnoError or an `ip` failure) when it cannot. */
  static async open(options: TunOptions = {}): Promise<TunDevice> {
    const fd = TunFd.open(options.name ?? "ipsec0");
    const mtu = options.mtu ?? DEFAULT_LINK_MTU - MAX_ESP_UDP_OVERHEAD;
    try {
      // No IPv6 link-local address: the device has no neighbours, and without one the host
      // sends no router solicitations or MLD reports into the tunnel.
      // (Its own command: set together with `up`, the kernel brings the link up first.)
      await runIp(["link", "set", "dev", fd.name, "addrgenmode", "none"]);
      await runIp(["link", "set", "dev", fd.name, "mtu", String(mtu), "up"]);
    } catch (err) {
      fd.close();
      throw err;
    }
    return new TunDevice(fd, mtu);
  }

  /** The descriptor, for the thread that reads it; valid until {@link close}. */
  get fd(): number {
    return this.#fd.fd;
  }

  /** Writes one decrypted packet to the host; false when the kernel refused it. */
  write(packet: Uint8Array): boolean {
    return this.#fd.write(packet);
  }

  /** Closes the device; the kernel removes it with its routes. Its reader must have stopped. */
  close(): void {
    this.#fd.close();
  }
}
