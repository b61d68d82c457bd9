/**
 * One end of a hand-keyed userspace ESP tunnel, for the namespace tests: a
 * {@link UserspaceKernel} with its TUN device, an ESP-in-UDP socket on the
 * veth address (RFC 3948 demultiplexing: IKE's zero marker and NAT
 * keepalives are ignored), the two SAs from the JSON config in argv[0] and
 * optionally a trap. Prints `ready` once traffic can flow and
 * `acquire {json}` for each acquire; on SIGTERM prints `stats {json}` (SA
 * counters and drops) and exits.
 *
 *     deno run -A esp_peer.ts '{"local":"192.0.2.1", …}'
 */
import dgram from "node:dgram";
import {
  formatAddress,
  formatSelector,
  parseAddress,
  parseSelector,
  type Selector,
} from "../../../src/config/addresses.ts";
import { systemEntropy } from "../../../src/crypto/random.ts";
import type { KernelSa } from "../../../src/kernel/kernel.ts";
import { UserspaceKernel } from "../../../src/kernel/userspace/userspace_kernel.ts";

/** Keys of one SA direction, hex. */
export interface PeerSaKeys {
  spi: number;
  encrKey: string;
  integKey: string;
}

/** The configuration an esp_peer process takes. */
export interface PeerConfig {
  device: string;
  /** Our veth address and the peer's. */
  local: string;
  remote: string;
  port: number;
  localSubnet: string;
  remoteSubnet: string;
  encrId: number;
  encrKeyBits: number;
  integId: number;
  esn: boolean;
  replayWindow: number;
  out: PeerSaKeys;
  in: PeerSaKeys;
  /** A routed connection without SA: local and remote selectors. */
  trap?: { local: string; remote: string };
}

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`esp_peer: bad ${what}`);
  return value;
}

function selector(text: string): Selector {
  const parsed = parseSelector(text);
  if (!parsed.ok) throw new Error(`esp_peer: ${parsed.error}`);
  return parsed.value;
}

async function main(config: PeerConfig): Promise<void> {
  const local = must(parseAddress(config.local), "local");
  const remote = must(parseAddress(config.remote), "remote");
  const kernel = new UserspaceKernel({
    entropy: systemEntropy,
    device: { name: config.device },
  });
  kernel.log = (text) => console.error(text);
  const socket = dgram.createSocket(local.family === 4 ? "udp4" : "udp6");
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(config.port, config.local, () => resolve());
  });
  kernel.sendEsp = (_from, to, packet) => socket.send(packet, to.port, formatAddress(to.address));
  socket.on("message", (msg: Uint8Array) => {
    // RFC 3948 §2.2: a zero first word marks IKE; a lone 0xFF byte is a NAT keepalive.
    if (msg.length < 4 || (msg[0] | msg[1] | msg[2] | msg[3]) === 0) return;
    kernel.receiveEsp(new Uint8Array(msg));
  });
  const base = {
    mode: "tunnel" as const,
    encrId: config.encrId,
    encrKeyBits: config.encrKeyBits,
    integId: config.integId,
    esn: config.esn,
    replayWindow: config.replayWindow,
    encap: { srcPort: config.port, dstPort: config.port },
  };
  const inbound: KernelSa = {
    ...base,
    src: remote,
    dst: local,
    spi: config.in.spi,
    inbound: true,
    encrKey: Uint8Array.fromHex(config.in.encrKey),
    integKey: Uint8Array.fromHex(config.in.integKey),
    srcSelector: selector(config.remoteSubnet),
    dstSelector: selector(config.localSubnet),
  };
  const outbound: KernelSa = {
    ...base,
    src: local,
    dst: remote,
    spi: config.out.spi,
    inbound: false,
    encrKey: Uint8Array.fromHex(config.out.encrKey),
    integKey: Uint8Array.fromHex(config.out.integKey),
    srcSelector: selector(config.localSubnet),
    dstSelector: selector(config.remoteSubnet),
  };
  await kernel.addSa(inbound);
  await kernel.addSa(outbound);
  if (config.trap !== undefined) {
    kernel.onAcquire = (a) =>
      console.log(`acquire ${
        JSON.stringify({
          src: formatAddress(a.packet.src),
          dst: formatAddress(a.packet.dst),
          remote: formatSelector(a.remote),
        })
      }`);
    await kernel.addPolicy({
      dir: "out",
      src: selector(config.trap.local),
      dst: selector(config.trap.remote),
      saSrc: local,
      saDst: remote,
      mode: "tunnel",
      reqid: 0,
    });
  }

  const stop = async () => {
    const stats = {
      device: kernel.deviceName,
      in: kernel.bytes(local, config.in.spi),
      out: kernel.bytes(remote, config.out.spi),
      drops: Object.fromEntries(kernel.drops()),
    };
    console.log(`stats ${JSON.stringify(stats)}`);
    await kernel.close();
    socket.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", () => void stop());
  console.log("ready");
}

await main(JSON.parse(Deno.args[0]) as PeerConfig);
