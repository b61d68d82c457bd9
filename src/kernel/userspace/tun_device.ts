/**
 * The userspace stack's network device: a TUN interface (strongSwan's
 * kernel-libipsec calls it `ipsec0` too) brought up with an MTU small
 * enough that an inner packet of that size still fits one outer packet
 * after ESP-in-UDP encapsulation, and a read loop that hands every packet
 * the host routes into it to a callback. Waiting runs on an FFI worker
 * thread (poll); packets are processed in batches on the event loop.
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
/** Packets read per wake-up before yielding to the event loop (IKE must not starve). */
const BATCH = 64;
/** Upper bound of one poll; close() wakes it earlier. */
const POLL_MS = 1000;
/** Read buffer: the largest IP packet. */
const READ_BUFFER_BYTES = 65535;

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
  #loop: Promise<void> | undefined;

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
      await fd.close();
      throw err;
    }
    return new TunDevice(fd, mtu);
  }

  /**
   * Starts reading: `onPacket` gets each packet the host sends into the
   * device. The array is reused for the next packet, so it is valid only
   * during the call. A read error (the device was deleted under us) ends
   * the loop and is passed to `onError`. Calling again has no effect.
   */
  start(onPacket: (packet: Uint8Array) => void, onError: (err: Error) => void): void {
    this.#loop ??= this.#read(onPacket).catch(onError);
  }

  async #read(onPacket: (packet: Uint8Array) => void): Promise<void> {
    const buf = new Uint8Array(READ_BUFFER_BYTES);
    while (!this.#fd.closed) {
      await this.#fd.waitReadable(POLL_MS);
      for (let i = 0; i < BATCH; i++) {
        const n = this.#fd.read(buf);
        if (n === 0) break;
        onPacket(buf.subarray(0, n));
      }
    }
  }

  /** Writes one decrypted packet to the host; false when the kernel refused it. */
  write(packet: Uint8Array): boolean {
    return this.#fd.write(packet);
  }

  /** Stops reading and closes the device; the kernel removes it with its routes. */
  async close(): Promise<void> {
    await this.#fd.close();
    await this.#loop;
  }
}
