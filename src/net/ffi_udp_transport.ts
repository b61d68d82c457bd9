/**
 * The IKE sockets through libc FFI: one UDP socket per local address on the
 * IKE port and one on the NAT-T port, where IKE carries a four-byte non-ESP
 * marker and ESP travels in UDP (RFC 3948). Binding per address makes
 * replies leave from the address the peer used; each datagram's local
 * address is still taken from the kernel's pktinfo, not assumed.
 *
 * ESP-in-UDP goes to the kernel (`UDP_ENCAP_ESPINUDP` on the NAT-T sockets)
 * unless a userspace datapath claims it through {@link FfiUdpTransport.onEsp}.
 *
 * Receiving: `poll(2)` on an FFI worker thread waits for any socket (no CPU
 * while idle); the event loop then drains each ready socket with
 * nonblocking `recvmsg`.
 */
import { ErrnoError } from "../../ffi/libc.ts";
import { ReadinessWaiter } from "../../ffi/poll.ts";
import { type Received, UdpSocket } from "../../ffi/udp.ts";
import {
  addressEquals,
  addressKey,
  formatAddress,
  type IpAddress,
  parseAddress,
} from "../config/addresses.ts";
import type { InterfaceStatus } from "../control/status_model.ts";
import type { Endpoint, Transport } from "./transport.ts";

/** A local address pluto may listen on. */
export interface LocalAddress {
  device: string;
  address: IpAddress;
}

interface Bound {
  socket: UdpSocket;
  status: InterfaceStatus;
  address: IpAddress;
  port: number;
}

/** Upper bound of one wait; changes to the socket set wake it earlier. */
const POLL_MS = 1_000;
/** Datagrams read from one socket per round, so a flood on one cannot starve the others. */
const BATCH = 64;
/** Pause after a failed poll (a signal, usually) so a persistent failure cannot spin. */
const POLL_RETRY_MS = 10;
/** Larger than any UDP payload (65,527 bytes over IPv6 without jumbograms). */
const RECEIVE_BYTES = 65_536;

const NON_ESP_MARKER = new Uint8Array(4);
const KEEPALIVE = new Uint8Array([0xff]);

/** The IKE transport on real UDP sockets. */
export class FfiUdpTransport implements Transport {
  #bound = new Map<string, Bound>();
  #waiter: ReadinessWaiter | undefined;
  #loop: Promise<void> | undefined;
  #buffer = new Uint8Array(new ArrayBuffer(RECEIVE_BYTES));
  #onEsp: ((data: Uint8Array, from: Endpoint, to: Endpoint) => void) | undefined;

  constructor(
    private ikePort: number,
    private natPort: number,
    private onPacket: (data: Uint8Array, from: Endpoint, to: Endpoint) => void,
    private log: (text: string, error?: boolean) => void,
  ) {}

  /**
   * Receives ESP-in-UDP datagrams arriving on a NAT-T socket (first four
   * bytes non-zero: an SPI), for a userspace datapath. The bytes are valid
   * only during the call (the receive buffer is reused; a datapath handles
   * a packet at once). Set it before the first {@link update}: NAT-T
   * sockets are bound with the kernel's ESP decapsulation only while nobody
   * claims ESP here.
   */
  get onEsp(): ((data: Uint8Array, from: Endpoint, to: Endpoint) => void) | undefined {
    return this.#onEsp;
  }

  set onEsp(handler: ((data: Uint8Array, from: Endpoint, to: Endpoint) => void) | undefined) {
    if (this.#bound.size > 0) {
      throw new Error("FfiUdpTransport.onEsp must be set before sockets are bound");
    }
    this.#onEsp = handler;
  }

  /** Binds sockets for addresses not yet bound and closes those that vanished. */
  update(addresses: LocalAddress[]): Promise<void> {
    const wanted = new Map<string, { local: LocalAddress; port: number }>();
    for (const local of addresses) {
      for (const port of [this.ikePort, this.natPort]) {
        wanted.set(`${addressKey(local.address)}|${port}`, { local, port });
      }
    }
    for (const [key, b] of this.#bound) {
      if (wanted.has(key)) continue;
      this.log(`shutting down interface ${b.status.device} ${b.status.address}:UDP/${b.port}`);
      this.#bound.delete(key);
      this.#closeSocket(b);
    }
    for (const [key, { local, port }] of wanted) {
      if (this.#bound.has(key)) continue;
      const bound = this.#bind(local, port);
      if (bound) this.#bound.set(key, bound);
    }
    // A running poller picks up the new set (or ends when it is empty).
    this.#waiter?.wake();
    if (this.#bound.size > 0 && this.#waiter === undefined) this.#startPolling();
    return Promise.resolve();
  }

  #startPolling(): void {
    try {
      this.#waiter = ReadinessWaiter.open();
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      this.log(`cannot wait for IKE messages: ${e.message}`, true);
      return;
    }
    this.#loop = this.#run(this.#waiter);
  }

  #bind(local: LocalAddress, port: number): Bound | undefined {
    const nat = port === this.natPort;
    const name = `${local.device} ${formatAddress(local.address)}:UDP/${port}`;
    let socket: UdpSocket;
    try {
      socket = UdpSocket.open({ ...local.address, port });
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      this.log(`adding interface ${name} failed: ${e.message}`, true);
      return undefined;
    }
    if (nat && this.#onEsp === undefined) {
      try {
        socket.enableEspInUdp();
      } catch (e) {
        if (!(e instanceof ErrnoError)) throw e;
        // IKE still works; only a kernel ESP SA with encapsulation will not.
        this.log(`${name}: the kernel will not decapsulate ESP-in-UDP: ${e.message}`, true);
      }
    }
    this.log(`adding interface ${name}${nat ? " (NAT)" : ""}`);
    return {
      socket,
      address: local.address,
      port,
      status: { device: local.device, address: formatAddress(local.address), port, nat },
    };
  }

  #closeSocket(b: Bound): void {
    try {
      b.socket.close();
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      this.log(`closing ${b.socket.what}: ${e.message}`, true);
    }
  }

  /** Waits for and drains the sockets until none is left. */
  async #run(waiter: ReadinessWaiter): Promise<void> {
    while (this.#bound.size > 0) {
      const sockets = [...this.#bound.values()];
      const ready = await waiter.wait(sockets.map((b) => b.socket.fd), POLL_MS);
      if (ready === undefined) {
        await new Promise((resolve) => setTimeout(resolve, POLL_RETRY_MS));
        continue;
      }
      sockets.forEach((b, i) => {
        if (ready[i]) this.#drain(b);
      });
    }
    this.#waiter = undefined;
    this.#loop = undefined;
    await waiter.close();
  }

  #drain(b: Bound): void {
    for (let i = 0; i < BATCH; i++) {
      let got: Received | undefined;
      try {
        got = b.socket.receive(this.#buffer);
      } catch (e) {
        if (!(e instanceof ErrnoError)) throw e;
        this.log(e.message, true);
        return;
      }
      if (got === undefined) return;
      this.#deliver(b, got);
    }
  }

  #deliver(b: Bound, got: Received): void {
    const from: Endpoint = {
      address: { family: got.from.family, bytes: got.from.bytes },
      port: got.from.port,
    };
    const to: Endpoint = { address: got.to ?? b.address, port: b.port };
    const received = this.#buffer.subarray(0, got.length);
    if (b.port === this.natPort) {
      if (received.length === 1 && received[0] === 0xff) return; // NAT-T keepalive (RFC 3948 §2.3)
      if (received.length < 4) return;
      if (received[0] | received[1] | received[2] | received[3]) {
        // ESP in UDP (RFC 3948): for a userspace datapath, if there is one; no copy.
        this.#onEsp?.(received, from, to);
        return;
      }
    }
    // A copy: the engine keeps datagrams across awaits, the buffer is reused at once.
    this.onPacket(received.slice(b.port === this.natPort ? 4 : 0), from, to);
  }

  #sendFrom(from: Endpoint, to: Endpoint, data: Uint8Array, what: string): void {
    const b = this.#bound.get(`${addressKey(from.address)}|${from.port}`);
    if (!b) {
      this.log(
        `cannot send ${what} from ${
          formatAddress(from.address)
        }:${from.port}: no socket bound there`,
        true,
      );
      return;
    }
    try {
      b.socket.sendTo(data, { ...to.address, port: to.port });
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      this.log(`${what}: ${e.message}`, true);
    }
  }

  send(from: Endpoint, to: Endpoint, data: Uint8Array): void {
    let out = data;
    if (from.port === this.natPort) {
      out = new Uint8Array(4 + data.length);
      out.set(NON_ESP_MARKER);
      out.set(data, 4);
    }
    this.#sendFrom(from, to, out, "IKE message");
  }

  /** Sends an ESP-in-UDP datagram from our NAT-T socket (no non-ESP marker: ESP starts with its SPI). */
  sendEsp(from: Endpoint, to: Endpoint, packet: Uint8Array): void {
    this.#sendFrom(from, to, packet, "ESP packet");
  }

  /**
   * The descriptor of the socket bound to `from`, for a datapath thread
   * that sends ESP from it (it should `dup` it: the socket closes when its
   * address goes away); undefined when none is bound there.
   */
  socketFd(from: Endpoint): number | undefined {
    return this.#bound.get(`${addressKey(from.address)}|${from.port}`)?.socket.fd;
  }

  sendKeepalive(from: Endpoint, to: Endpoint): void {
    this.#sendFrom(from, to, KEEPALIVE, "NAT-T keepalive");
  }

  /** The bound sockets, as `--status` lists them. */
  interfaces(): InterfaceStatus[] {
    return [...this.#bound.values()].map((b) => b.status);
  }

  /** The local addresses with an IKE socket. */
  addresses(): IpAddress[] {
    return [...this.#bound.values()].filter((b) => b.port === this.ikePort).map((b) => b.address);
  }

  /** Closes every socket; resolves once the poller has stopped. */
  async close(): Promise<void> {
    for (const b of this.#bound.values()) this.#closeSocket(b);
    this.#bound.clear();
    this.#waiter?.wake();
    await this.#loop;
  }
}

/**
 * The machine's addresses pluto should use: all, or those named by
 * `--listen` / `--interface`. IPv6 link-local addresses are left out (they
 * need a scope that IKE peers cannot name).
 */
export function localAddresses(listen: string | undefined, interfaces: string[]): LocalAddress[] {
  const out: LocalAddress[] = [];
  const only = listen !== undefined ? parseAddress(listen) : undefined;
  for (const ni of Deno.networkInterfaces()) {
    const address = parseAddress(ni.address);
    if (!address) continue;
    if (address.family === 6 && address.bytes[0] === 0xfe && (address.bytes[1] & 0xc0) === 0x80) {
      continue;
    }
    if (interfaces.length > 0 && !interfaces.includes(ni.name)) continue;
    if (only && !addressEquals(only, address)) continue;
    out.push({ device: ni.name, address });
  }
  return out;
}
