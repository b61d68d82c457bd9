/**
 * The outbound half of the userspace datapath, on its own thread: reads the
 * packets the host routes into the TUN device, seals each into its SA and
 * sends it from the NAT-T socket — so a flow's encryption and syscalls run
 * beside, not on, the daemon's event loop (strongSwan's kernel-libipsec
 * splits its threads the same way). The daemon's thread keeps IKE, the
 * inbound half and the authoritative tables, and mirrors every outbound SA
 * and trap here (`outbound_messages.ts`); this thread reports acquires and
 * expiries back and publishes its counters in shared memory.
 *
 * Started by `OutboundThread` (outbound_thread.ts); not meant to be imported.
 */
/// <reference lib="deno.worker" />
import { libc } from "../../../ffi/libc.ts";
import { ReadinessWaiter } from "../../../ffi/poll.ts";
import { readTunPacket } from "../../../ffi/tun.ts";
import { encodeSockaddr } from "../../../ffi/udp.ts";
import { systemEntropy } from "../../crypto/random.ts";
import type { Endpoint } from "../../net/transport.ts";
import { Datapath } from "./datapath.ts";
import {
  OUTBOUND_DROPS,
  type OutboundCommand,
  type OutboundReport,
  type OutboundSetup,
  slotIndex,
} from "./outbound_messages.ts";
import type { EspSa } from "./sa_database.ts";

/** Packets read per wake-up; commands from the daemon are handled between batches. */
const BATCH = 256;
/** Upper bound of one poll; a stop wakes it earlier. */
const POLL_MS = 1000;
/** Pause after a failed poll (a signal, usually) so a persistent failure cannot spin. */
const POLL_RETRY_MS = 10;
/** Read buffer: the largest IP packet. */
const READ_BUFFER_BYTES = 65535;
const SEND_DROP = OUTBOUND_DROPS.indexOf("send");

/** Where an SA's packets leave: our own descriptor of the NAT-T socket and the peer's sockaddr. */
interface Route {
  socket: number;
  to: Uint8Array;
}

class OutboundDatapath {
  readonly #counters: Float64Array;
  readonly #datapath: Datapath;
  readonly #slots = new Map<EspSa, number>();
  readonly #routes = new Map<EspSa, Route>();
  #reports: OutboundReport[] = [];
  #sendFailures = 0;
  #waiter: ReadinessWaiter | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;

  constructor(setup: OutboundSetup) {
    this.#counters = new Float64Array(setup.counters);
    this.#datapath = new Datapath({
      entropy: systemEntropy,
      sendEsp: (from, to, packet, sa) => this.#send(from, to, packet, sa),
      // Never called: inbound packets are the daemon thread's.
      deliver: () => false,
      onAcquire: (acquire) => this.#reports.push({ kind: "acquire", acquire }),
      onExpire: (sa, hard) =>
        this.#reports.push({ kind: "expire", hard, dst: sa.config.dst, spi: sa.config.spi }),
    });
  }

  handle(command: OutboundCommand): void {
    const dp = this.#datapath;
    switch (command.kind) {
      case "device":
        if (this.#loop === undefined && !this.#stopping) this.#start(command.fd, command.name);
        return;
      case "install": {
        const sa = dp.install(command.sa);
        this.#slots.set(sa, command.slot);
        const at = slotIndex(command.slot);
        this.#counters[at] = 0;
        this.#counters[at + 1] = 0;
        if (command.socket !== undefined) {
          const to = encodeSockaddr({ ...sa.config.dst, port: sa.config.encap?.dstPort ?? 0 });
          this.#routes.set(sa, { socket: command.socket, to });
        }
        return;
      }
      case "uninstall": {
        const sa = dp.uninstall(command.dst, command.spi);
        if (sa === undefined) return;
        this.#slots.delete(sa);
        const route = this.#routes.get(sa);
        if (route !== undefined) libc().close(route.socket);
        this.#routes.delete(sa);
        return;
      }
      case "ready":
        dp.peerReady(command.dst, command.spi);
        return;
      case "trap":
        dp.spd.trap(command.src, command.dst);
        return;
      case "untrap":
        dp.spd.untrap(command.src, command.dst);
        return;
      case "stop":
        this.#stop();
        return;
    }
  }

  #start(fd: number, name: string): void {
    const waiter = ReadinessWaiter.open();
    this.#waiter = waiter;
    this.#loop = this.#read(waiter, fd, name).catch((err: Error) => {
      this.#reports.push({ kind: "failed", message: err.message });
    }).finally(() => this.#flush());
  }

  async #read(waiter: ReadinessWaiter, fd: number, name: string): Promise<void> {
    const buf = new Uint8Array(new ArrayBuffer(READ_BUFFER_BYTES));
    while (!this.#stopping) {
      const ready = await waiter.wait([fd], POLL_MS);
      if (this.#stopping) return;
      if (ready === undefined) {
        await new Promise((resolve) => setTimeout(resolve, POLL_RETRY_MS));
        continue;
      }
      if (!ready[0]) continue;
      for (let i = 0; i < BATCH; i++) {
        const n = readTunPacket(fd, buf, name);
        if (n === 0) break;
        this.#datapath.sendPacket(buf.subarray(0, n));
      }
      this.#flush();
    }
  }

  #send(from: Endpoint, to: Endpoint, packet: Uint8Array, sa: EspSa): void {
    const route = this.#routes.get(sa);
    if (route === undefined) {
      this.#reports.push({ kind: "esp", from, to, packet });
      return;
    }
    const n = libc().sendto(
      route.socket,
      packet,
      BigInt(packet.length),
      0,
      route.to,
      route.to.length,
    );
    if (n < 0) this.#sendFailures++;
  }

  /** Publishes the counters and sends what there is to report. */
  #flush(): void {
    const c = this.#counters;
    const drops = this.#datapath.drops();
    OUTBOUND_DROPS.forEach((reason, i) => {
      if (i !== SEND_DROP) c[i] = drops.get(reason) ?? 0;
    });
    c[SEND_DROP] = this.#sendFailures;
    for (const [sa, slot] of this.#slots) {
      const at = slotIndex(slot);
      c[at] = sa.bytes;
      c[at + 1] = sa.packets;
    }
    if (this.#reports.length === 0) return;
    self.postMessage(this.#reports);
    this.#reports = [];
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    await this.#waiter?.close();
    await this.#loop;
    for (const route of this.#routes.values()) libc().close(route.socket);
    this.#routes.clear();
    this.#reports.push({ kind: "stopped" });
    this.#flush();
  }
}

let datapath: OutboundDatapath | undefined;

self.onmessage = (event: MessageEvent<OutboundSetup | OutboundCommand[]>) => {
  if (datapath === undefined) {
    datapath = new OutboundDatapath(event.data as OutboundSetup);
    return;
  }
  for (const command of event.data as OutboundCommand[]) datapath.handle(command);
};
