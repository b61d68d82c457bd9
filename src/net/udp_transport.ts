/**
 * The IKE sockets: one UDP socket per local address on the IKE port and one on
 * the NAT-T port (RFC 3948: IKE there carries a four-byte non-ESP marker).
 * Built on node:dgram, which Deno provides without flags; binding per address
 * makes replies leave from the address the peer used.
 */
import dgram from "node:dgram";
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
  socket: dgram.Socket;
  status: InterfaceStatus;
  address: IpAddress;
}

const NON_ESP_MARKER = new Uint8Array(4);

export class UdpTransport implements Transport {
  #bound = new Map<string, Bound>();
  /** Receives ESP-in-UDP datagrams arriving on a NAT-T socket. */
  onEsp?: (data: Uint8Array, from: Endpoint, to: Endpoint) => void;

  constructor(
    private ikePort: number,
    private natPort: number,
    private onPacket: (data: Uint8Array, from: Endpoint, to: Endpoint) => void,
    private log: (text: string, error?: boolean) => void,
  ) {}

  /** Binds sockets for addresses not yet bound and closes those that vanished. */
  async update(addresses: LocalAddress[]): Promise<void> {
    const wanted = new Map<string, LocalAddress>();
    for (const a of addresses) {
      for (const port of [this.ikePort, this.natPort]) {
        wanted.set(`${addressKey(a.address)}|${port}`, a);
      }
    }
    for (const [key, b] of this.#bound) {
      if (!wanted.has(key)) {
        this.log(
          `shutting down interface ${b.status.device} ${
            formatAddress(b.address)
          }:UDP/${b.status.port}`,
        );
        b.socket.close();
        this.#bound.delete(key);
      }
    }
    for (const [key, a] of wanted) {
      if (this.#bound.has(key)) continue;
      const port = Number(key.slice(key.lastIndexOf("|") + 1));
      try {
        const socket = await this.#bind(a.address, port);
        const status = {
          device: a.device,
          address: formatAddress(a.address),
          port,
          nat: port === this.natPort,
        };
        this.#bound.set(key, { socket, status, address: a.address });
        this.log(
          `adding interface ${a.device} ${formatAddress(a.address)}:UDP/${port}${
            status.nat ? " (NAT)" : ""
          }`,
        );
      } catch (e) {
        this.log(
          `adding interface ${a.device} ${formatAddress(a.address)}:UDP/${port} failed: ${
            (e as Error).message
          }`,
          true,
        );
      }
    }
  }

  #bind(address: IpAddress, port: number): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({
        type: address.family === 4 ? "udp4" : "udp6",
        ipv6Only: true,
      });
      const local: Endpoint = { address, port };
      socket.once("error", reject);
      socket.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
        const from = parseAddress(rinfo.address.replace(/%.*$/, ""));
        if (!from) return;
        let data = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
        if (port === this.natPort) {
          if (data.length === 1 && data[0] === 0xff) return; // NAT-T keepalive (RFC 3948 §2.3)
          if (data.length < 4) return;
          if (data[0] | data[1] | data[2] | data[3]) {
            // ESP in UDP (RFC 3948): for a userspace datapath, if there is one.
            this.onEsp?.(data, { address: from, port: rinfo.port }, local);
            return;
          }
          data = data.subarray(4);
        }
        this.onPacket(data, { address: from, port: rinfo.port }, local);
      });
      socket.bind(port, formatAddress(address), () => {
        socket.off("error", reject);
        socket.on(
          "error",
          (e: Error) => this.log(`socket ${formatAddress(address)}:${port}: ${e.message}`, true),
        );
        resolve(socket);
      });
    });
  }

  send(from: Endpoint, to: Endpoint, data: Uint8Array): void {
    const b = this.#bound.get(`${addressKey(from.address)}|${from.port}`);
    if (!b) {
      this.log(
        `cannot send from ${formatAddress(from.address)}:${from.port}: no socket bound there`,
        true,
      );
      return;
    }
    let out = data;
    if (from.port === this.natPort) {
      out = new Uint8Array(4 + data.length);
      out.set(NON_ESP_MARKER);
      out.set(data, 4);
    }
    b.socket.send(out, to.port, formatAddress(to.address));
  }

  /** Sends an ESP-in-UDP datagram from our NAT-T socket (no non-ESP marker: ESP starts with its SPI). */
  sendEsp(from: Endpoint, to: Endpoint, packet: Uint8Array): void {
    const b = this.#bound.get(`${addressKey(from.address)}|${from.port}`);
    b?.socket.send(packet, to.port, formatAddress(to.address));
  }

  sendKeepalive(from: Endpoint, to: Endpoint): void {
    const b = this.#bound.get(`${addressKey(from.address)}|${from.port}`);
    b?.socket.send(new Uint8Array([0xff]), to.port, formatAddress(to.address));
  }

  /** The bound sockets, as `--status` lists them. */
  interfaces(): InterfaceStatus[] {
    return [...this.#bound.values()].map((b) => b.status);
  }

  addresses(): IpAddress[] {
    return [...this.#bound.values()].filter((b) => b.status.port === this.ikePort).map((b) =>
      b.address
    );
  }

  close(): void {
    for (const b of this.#bound.values()) b.socket.close();
    this.#bound.clear();
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
