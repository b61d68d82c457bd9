/**
 * `--protostack userspace`: ESP in this process, over a TUN device, carried
 * in UDP (RFC 3948) on the daemon's NAT-T socket — for kernels without ESP,
 * like strongSwan's kernel-libipsec. The daemon plugs in the socket:
 *
 *   - ESP-in-UDP datagrams arriving on port 4500 (first four bytes non-zero)
 *     go to {@link UserspaceKernel.receiveEsp};
 *   - {@link UserspaceKernel.sendEsp} is set to send from that same socket.
 *
 * Outbound SAs install an SPD entry from their selectors and a route for the
 * remote selector into the device; {@link UserspaceKernel.addPolicy} does
 * the same without an SA for routed connections, whose packets then raise
 * {@link UserspaceKernel.onAcquire} and an ACQUIRE event. SAs reaching their
 * byte or packet limits raise EXPIRE events ({@link UserspaceKernel.subscribe}).
 *
 * Inbound packets are processed on the daemon's thread, as they arrive on
 * its socket. Outbound packets never touch it: a worker thread
 * (outbound_worker.ts) reads the device, seals and sends, from its own
 * descriptor of the NAT-T socket when {@link UserspaceKernel.espSocket}
 * names one. The tables here stay authoritative; every outbound SA and
 * trap is mirrored there, and its counters are read from shared memory.
 *
 * A deleted inbound SA keeps accepting packets for {@link INBOUND_GRACE_MS}:
 * after a rekey the peer may still send on the old SA until it has processed
 * the Delete, and those packets are authentic.
 */
import {
  formatAddress,
  hostSelector,
  type IpAddress,
  selectorContains,
} from "../../config/addresses.ts";
import type { Entropy } from "../../crypto/random.ts";
import type { Endpoint } from "../../net/transport.ts";
import { type Kernel, KernelError, type KernelPolicy, type KernelSa } from "../kernel.ts";
import type { KernelEvent, KernelSubscription } from "../kernel_events.ts";
import { libc } from "../../../ffi/libc.ts";
import { type Acquire, Datapath, type DropReason } from "./datapath.ts";
import type { OutboundReport } from "./outbound_messages.ts";
import { OutboundThread } from "./outbound_thread.ts";
import type { EspSa } from "./sa_database.ts";
import { TunDevice, type TunOptions } from "./tun_device.ts";
import { TunRoutes } from "./tun_routes.ts";

/** Options of {@link UserspaceKernel}. */
export interface UserspaceKernelOptions {
  /** CBC IVs and SPIs. */
  entropy: Entropy;
  /** The TUN device (default `ipsec0`, MTU for ESP-in-UDP over Ethernet). */
  device?: TunOptions;
}

/**
 * How long a deleted inbound SA still accepts packets: a Delete exchange
 * takes a round trip, and packets the peer sent on the old SA before it
 * processed our Delete (or we processed its Delete) are still in flight.
 */
export const INBOUND_GRACE_MS = 2000;

/** The userspace ESP stack as a {@link Kernel}. */
export class UserspaceKernel implements Kernel {
  readonly name = "userspace";
  readonly requiresEncapsulation = true;
  /** Sends one ESP packet in UDP from `from` (our NAT-T port) to `to`; set by the daemon. */
  sendEsp: ((from: Endpoint, to: Endpoint, packet: Uint8Array) => void) | undefined;
  /**
   * The descriptor of the socket bound to `from` (our NAT-T port), if the
   * outbound thread may send from it directly; set by the daemon. Without
   * one, outbound packets come back to this thread for {@link sendEsp}.
   */
  espSocket: ((from: Endpoint) => number | undefined) | undefined;
  /** Told when a packet hits a trap (see {@link addPolicy}); set by the daemon. */
  onAcquire: ((acquire: Acquire) => void) | undefined;
  /** Told when the datapath stops (the device vanished under us); set by the daemon. */
  log: ((text: string) => void) | undefined;
  /** The packet-processing core, with its SA and policy tables. */
  readonly datapath: Datapath;
  #options: UserspaceKernelOptions;
  #device: Promise<{ tun: TunDevice; routes: TunRoutes }> | undefined;
  /** The open device, for the synchronous inbound path. */
  #tun: TunDevice | undefined;
  #closed = false;
  #listeners = new Set<(event: KernelEvent) => void>();
  /** Removals of deleted inbound SAs waiting out their grace period. */
  #graceTimers = new Set<ReturnType<typeof setTimeout>>();
  /** The outbound datapath thread, started with the device. */
  readonly #outbound = new OutboundThread((report) => this.#report(report));
  /** Each outbound SA's counter slot in {@link OutboundThread}. */
  readonly #slots = new Map<EspSa, number>();

  /** Creates the stack; the device is opened by {@link open} or by the first SA or trap. */
  constructor(options: UserspaceKernelOptions) {
    this.#options = options;
    this.datapath = new Datapath({
      entropy: options.entropy,
      // Never called: outbound packets are the outbound thread's (its reports come to #report).
      sendEsp: () => {},
      deliver: (packet) => this.#delivered(packet),
      onExpire: (sa, hard) =>
        this.#emit({ kind: "expire", hard, dst: sa.config.dst, spi: sa.config.spi }),
      onPeerReady: (sa) =>
        this.#outbound.post({ kind: "ready", dst: sa.config.dst, spi: sa.config.spi }),
    });
  }

  /** What the outbound thread raised, as if this thread's datapath had. */
  #report(report: OutboundReport): void {
    switch (report.kind) {
      case "acquire": {
        this.onAcquire?.(report.acquire);
        const { src, dst, protocol } = report.acquire.packet;
        this.#emit({ kind: "acquire", src, dst, protocol });
        return;
      }
      case "expire":
        this.#emit({ kind: "expire", hard: report.hard, dst: report.dst, spi: report.spi });
        return;
      case "esp":
        this.sendEsp?.(report.from, report.to, report.packet);
        return;
      case "failed":
        this.log?.(`userspace ESP: ${this.#tun?.name} stopped: ${report.message}`);
        return;
    }
  }

  #emit(event: KernelEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  /** Delivers ACQUIRE and EXPIRE events until the subscription is closed. */
  subscribe(listener: (event: KernelEvent) => void): KernelSubscription {
    // A wrapper, so subscribing the same function twice gives two independent subscriptions.
    const own = (event: KernelEvent) => listener(event);
    this.#listeners.add(own);
    return { close: () => this.#listeners.delete(own) };
  }

  /**
   * `whack --globalstatus` counters: packets dropped by the datapath, one
   * `total.esp.drop.<reason>` per reason seen.
   */
  counters(): ReadonlyMap<string, number> {
    return new Map(
      [...this.drops()].map(([reason, n]) => [`total.esp.drop.${reason}`, n]),
    );
  }

  #delivered(packet: Uint8Array): boolean {
    return this.#tun?.write(packet) ?? false;
  }

  /**
   * Opens the TUN device and starts reading it; idempotent. Throws
   * KernelError naming the device and the cause (`TUNSETIFF(ipsec0): EBUSY`).
   */
  async open(): Promise<void> {
    await this.#openDevice();
  }

  #openDevice(): Promise<{ tun: TunDevice; routes: TunRoutes }> {
    if (this.#closed) return Promise.reject(new KernelError("the userspace stack is shut down"));
    this.#device ??= (async () => {
      try {
        const tun = await TunDevice.open(this.#options.device);
        this.#tun = tun;
        this.#outbound.start(tun.fd, tun.name);
        return { tun, routes: new TunRoutes(tun.name) };
      } catch (err) {
        this.#device = undefined;
        throw new KernelError(`cannot open the userspace ESP device: ${(err as Error).message}`);
      }
    })();
    return this.#device;
  }

  /** The device if it was opened (undoing needs no new device). */
  async #openedDevice(): Promise<{ tun: TunDevice; routes: TunRoutes } | undefined> {
    return await this.#device?.catch(() => undefined);
  }

  /** The TUN device's name once open. */
  get deviceName(): string | undefined {
    return this.#tun?.name;
  }

  /** Processes one ESP packet received in UDP (bytes after the UDP header). Returns whether it was delivered. */
  receiveEsp(packet: Uint8Array): boolean {
    return this.datapath.receiveEsp(packet);
  }

  allocateSpi(_src: IpAddress, dst: IpAddress): Promise<number> {
    return Promise.resolve(this.datapath.sad.allocateSpi(dst));
  }

  async addSa(sa: KernelSa): Promise<void> {
    if (sa.mode !== "tunnel") {
      throw new KernelError("the userspace stack carries tunnel mode only");
    }
    if (sa.encap === undefined) {
      throw new KernelError(
        "the userspace stack sends ESP only in UDP (RFC 3948); the SA needs encapsulation",
      );
    }
    if (!sa.inbound && this.sendEsp === undefined) {
      throw new KernelError("the userspace stack has no ESP-in-UDP socket to send from");
    }
    // Routing the peer's own address into the device would send the ESP-in-UDP
    // (and IKE) packets to the peer through the tunnel itself: a loop.
    if (!sa.inbound && selectorContains(sa.dstSelector, hostSelector(sa.dst))) {
      throw new KernelError(
        `the userspace stack cannot protect traffic to the peer's own address ${
          formatAddress(sa.dst)
        } (its IKE and ESP packets would loop through the tunnel); use --subnet on both ends, or --protostack xfrm`,
      );
    }
    // Refuses unsupported algorithms and keys before any device is touched.
    const esp = this.datapath.install(sa);
    try {
      const { routes } = await this.#openDevice();
      if (sa.inbound) return;
      const slot = this.#outbound.allocateSlot();
      this.#slots.set(esp, slot);
      this.#outbound.post({ kind: "install", sa, slot, socket: this.#dupSocket(sa) });
      await routes.add(sa.srcSelector, sa.dstSelector).catch((err: Error) => {
        throw new KernelError(`cannot route into the userspace stack: ${err.message}`);
      });
    } catch (err) {
      this.#uninstall(sa.dst, sa.spi);
      throw err;
    }
  }

  /**
   * A descriptor of our own for the socket `sa` leaves from, for the
   * outbound thread to send from and close: the daemon may close its
   * descriptor (an interface went away) while the thread still sends.
   */
  #dupSocket(sa: KernelSa): number | undefined {
    const fd = this.espSocket?.({ address: sa.src, port: sa.encap?.srcPort ?? 0 });
    if (fd === undefined) return undefined;
    const own = libc().dup(fd);
    return own < 0 ? undefined : own;
  }

  /** Removes an SA here and, when outbound, from the outbound thread. */
  #uninstall(dst: IpAddress, spi: number): EspSa | undefined {
    const esp = this.datapath.uninstall(dst, spi);
    const slot = esp === undefined ? undefined : this.#slots.get(esp);
    if (esp !== undefined && slot !== undefined) {
      this.#slots.delete(esp);
      this.#outbound.freeSlot(slot);
      this.#outbound.post({ kind: "uninstall", dst, spi });
    }
    return esp;
  }

  async deleteSa(dst: IpAddress, spi: number): Promise<void> {
    const esp = this.datapath.sad.find(dst, spi);
    if (esp?.config.inbound && !this.#closed) {
      const timer = setTimeout(() => {
        this.#graceTimers.delete(timer);
        this.#uninstall(dst, spi);
      }, INBOUND_GRACE_MS);
      // A daemon shutting down does not wait for the grace period.
      Deno.unrefTimer(timer);
      this.#graceTimers.add(timer);
      return;
    }
    // Unknown SAs still release an SPI reserved for a negotiation that failed.
    this.#uninstall(dst, spi);
    if (esp === undefined || esp.config.inbound) return;
    await (await this.#openedDevice())?.routes.remove(esp.config.dstSelector);
  }

  bytes(dst: IpAddress, spi: number): { bytes: number; packets: number } {
    const esp = this.datapath.sad.find(dst, spi);
    if (esp === undefined) return { bytes: 0, packets: 0 };
    const slot = this.#slots.get(esp);
    // Outbound SAs count on the outbound thread.
    return slot !== undefined
      ? this.#outbound.counts(slot)
      : { bytes: esp.bytes, packets: esp.packets };
  }

  /**
   * An outbound policy without an SA (a routed connection's trap): its
   * remote selector is routed into the stack, and packets from `src` to
   * `dst` with no SA yet raise {@link onAcquire} and are dropped. Inbound
   * and forward policies need nothing here: every inbound SA checks its
   * inner packets against its own selectors. A `pass` shunt needs nothing
   * either (traffic not routed into the device goes out in the clear); a
   * `drop` shunt is refused.
   */
  async addPolicy(policy: KernelPolicy): Promise<void> {
    if (policy.dir !== "out" || policy.shunt === "pass") return;
    if (policy.shunt === "drop") {
      // Refused rather than ignored: ignoring it would let the traffic out in the clear.
      throw new KernelError("the userspace stack has no drop shunts; use failureshunt=none");
    }
    const { routes } = await this.#openDevice();
    if (!this.datapath.spd.trap(policy.src, policy.dst)) return;
    this.#outbound.post({ kind: "trap", src: policy.src, dst: policy.dst });
    try {
      await routes.add(policy.src, policy.dst);
    } catch (err) {
      this.datapath.spd.untrap(policy.src, policy.dst);
      this.#outbound.post({ kind: "untrap", src: policy.src, dst: policy.dst });
      throw new KernelError(`cannot route into the userspace stack: ${(err as Error).message}`);
    }
  }

  /** Undoes {@link addPolicy}; routes stay while SAs still use them. */
  async deletePolicy(policy: KernelPolicy): Promise<void> {
    if (policy.dir !== "out" || policy.shunt !== undefined) return;
    if (!this.datapath.spd.untrap(policy.src, policy.dst)) return;
    this.#outbound.post({ kind: "untrap", src: policy.src, dst: policy.dst });
    await (await this.#openedDevice())?.routes.remove(policy.dst);
  }

  /** Packets dropped so far, by reason, both ways. */
  drops(): ReadonlyMap<DropReason, number> {
    const all = new Map<DropReason, number>(this.datapath.drops());
    for (const [reason, n] of this.#outbound.drops()) all.set(reason, (all.get(reason) ?? 0) + n);
    return all;
  }

  /** Closes the device (the kernel removes it and its routes); the stack carries nothing after. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#graceTimers) clearTimeout(timer);
    this.#graceTimers.clear();
    this.#listeners.clear();
    // The thread lets go of the device and its sockets before they close.
    await this.#outbound.stop();
    (await this.#openedDevice())?.tun.close();
  }
}
