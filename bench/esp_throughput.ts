/**
 * ESP datapath throughput: swan's userspace datapath (swan ↔ swan,
 * `--protostack userspace`) against strongSwan's kernel-libipsec (charon ↔
 * charon), both ESP-in-UDP over a TUN device, on the same machine in the same
 * run, over a lab namespace pair (west 192.0.2.1 ⇄ east 192.0.2.2, inner
 * 198.51.100.1 ⇄ 203.0.113.1, ESP AES-GCM-16/128):
 *
 * - one TCP flow west → east for `--seconds`: Mbit/s of payload at the sink;
 * - small UDP datagrams (`--size` bytes of payload) west → east as fast as the
 *   sender can write them for `--seconds`: datagrams/s received at the sink,
 *   and the share of those sent that arrived.
 *
 *     deno run -A bench/esp_throughput.ts [--seconds 5] [--size 64] [--runs 1]
 *
 * Root is needed (namespaces); strongSwan's charon and kernel-libipsec too
 * (apt-get install strongswan-charon strongswan-swanctl libcharon-extra-plugins).
 *
 * The same file is the traffic source and sink, run inside the namespaces:
 *
 *     esp_throughput.ts tcp-sink ADDR PORT | tcp-source ADDR PORT SECONDS
 *     esp_throughput.ts udp-sink ADDR PORT | udp-source ADDR PORT SECONDS SIZE
 *
 * Sinks print `listening`, then one JSON line when the flow has ended.
 */
import { fileURLToPath } from "node:url";
import { lastErrno, libc } from "../ffi/libc.ts";
import { type Charon, startCharon } from "../tests/interop/strongswan.ts";
import { delay, Lab, type NamespaceDaemon, type Pluto, runIn } from "../tests/netns/lab.ts";

const SELF = fileURLToPath(import.meta.url);
const PORT = 5201;
const PSK = "a benchmark needs keys like anybody else";

// ------------------------------------------------------------------ traffic ends

const AF_INET = 2;
const SOCK_DGRAM = 2;
const MSG_DONTWAIT = 0x40;
const POLLIN = 1;
const EAGAIN = 11;
/** A sink gives up this long after the last packet: the flow is over. */
const IDLE_MS = 1000;

function sockaddrIn(address: string, port: number): Uint8Array {
  const sa = new Uint8Array(16);
  const view = new DataView(sa.buffer);
  view.setUint16(0, AF_INET, true);
  view.setUint16(2, port);
  sa.set(address.split(".").map(Number), 4);
  return sa;
}

/** An IPv4 UDP socket through libc (node:dgram costs more per datagram than the datapath). */
function udpSocket(): number {
  const fd = libc().socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) throw new Error(`socket: errno ${lastErrno()}`);
  return fd;
}

async function tcpSink(address: string, port: number): Promise<void> {
  const listener = Deno.listen({ hostname: address, port });
  console.log("listening");
  const conn = await listener.accept();
  let bytes = 0;
  let first = 0;
  const buf = new Uint8Array(256 * 1024);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    if (bytes === 0) first = performance.now();
    bytes += n;
  }
  const seconds = (performance.now() - first) / 1000;
  console.log(JSON.stringify({ bytes, seconds }));
  conn.close();
  listener.close();
}

async function tcpSource(address: string, port: number, seconds: number): Promise<void> {
  const conn = await Deno.connect({ hostname: address, port });
  const chunk = new Uint8Array(64 * 1024).fill(0x5a);
  const end = performance.now() + seconds * 1000;
  let bytes = 0;
  while (performance.now() < end) bytes += await conn.write(chunk);
  conn.close();
  console.log(JSON.stringify({ bytes }));
}

async function udpSink(address: string, port: number): Promise<void> {
  const lib = libc();
  const fd = udpSocket();
  const addr = sockaddrIn(address, port);
  if (lib.bind(fd, addr, addr.length) < 0) throw new Error(`bind: errno ${lastErrno()}`);
  const pollFd = new Uint8Array(8);
  new DataView(pollFd.buffer).setInt32(0, fd, true);
  new DataView(pollFd.buffer).setInt16(4, POLLIN, true);
  const buf = new Uint8Array(65536);
  console.log("listening");
  let packets = 0;
  let first = 0;
  let last = 0;
  for (;;) {
    await lib.poll(pollFd, 1n, IDLE_MS);
    let got = 0;
    while (Number(lib.recv(fd, buf, BigInt(buf.length), MSG_DONTWAIT)) >= 0) got++;
    if (got === 0) {
      if (packets > 0 && performance.now() - last >= IDLE_MS) break;
      continue;
    }
    if (packets === 0) first = performance.now();
    packets += got;
    last = performance.now();
  }
  lib.close(fd);
  console.log(JSON.stringify({ packets, seconds: (last - first) / 1000 }));
}

async function udpSource(address: string, port: number, seconds: number, size: number) {
  const lib = libc();
  const fd = udpSocket();
  const addr = sockaddrIn(address, port);
  if (lib.connect(fd, addr, addr.length) < 0) throw new Error(`connect: errno ${lastErrno()}`);
  const payload = new Uint8Array(size).fill(0xa5);
  const end = performance.now() + seconds * 1000;
  let sent = 0;
  while (performance.now() < end) {
    // Bursts, then a turn of the event loop: the sender is a busy loop, not a pacer.
    for (let i = 0; i < 256; i++) {
      if (Number(lib.send(fd, payload, BigInt(size), MSG_DONTWAIT)) >= 0) sent++;
      else if (lastErrno() === EAGAIN) break;
    }
    await delay(0);
  }
  lib.close(fd);
  console.log(JSON.stringify({ sent }));
}

// ------------------------------------------------------------------ the stacks

interface Tunnel {
  label: string;
  lab: Lab;
  westNs: string;
  eastNs: string;
  /** Processes whose CPU time is the datapath's. */
  pids(): number[];
  close(): Promise<void>;
}

const WEST = { v4: "192.0.2.1", inner: "198.51.100.1", subnet: "198.51.100.0/24" };
const EAST = { v4: "192.0.2.2", inner: "203.0.113.1", subnet: "203.0.113.0/24" };

async function swanTunnel(): Promise<Tunnel> {
  const lab = await Lab.create();
  const { west, east } = await lab.createPair();
  const secrets = `@west @east : PSK "${PSK}"\n`;
  const plutos: Pluto[] = [];
  for (const ns of [west.ns, east.ns]) {
    plutos.push(await lab.startPluto(ns, { secrets, extraArgs: ["--protostack", "userspace"] }));
  }
  const conn = [
    ...["--name", "bench", "--psk", "--ikev2", "--esp", "aes_gcm128"],
    ...["--host", WEST.v4, "--id", "@west", "--subnet", WEST.subnet, "--to"],
    ...["--host", EAST.v4, "--id", "@east", "--subnet", EAST.subnet],
  ];
  for (const p of plutos) {
    await p.whack(conn);
    await p.whack(["--listen"]);
  }
  const up = await plutos[0].whack(["--name", "bench", "--initiate"]);
  if (up.code !== 0) throw new Error(`swan: tunnel did not come up\n${up.stdout}`);
  return {
    label: "swan ↔ swan (userspace)",
    lab,
    westNs: west.ns,
    eastNs: east.ns,
    pids: () => plutos.map((p) => p.pid),
    close: () => lab.dispose(),
  };
}

async function charonTunnel(): Promise<Tunnel> {
  const lab = await Lab.create();
  const { west, east } = await lab.createPair();
  const charons: Charon[] = [];
  const common = {
    name: "bench",
    ike: "aes128gcm16-prfsha256-x25519",
    esp: "aes128gcm16",
    psk: PSK,
  };
  try {
    charons.push(
      await startCharon(west.ns, {
        ...common,
        local: WEST.v4,
        remote: EAST.v4,
        localId: "west",
        remoteId: "east",
        localTs: WEST.subnet,
        remoteTs: EAST.subnet,
      }),
      await startCharon(east.ns, {
        ...common,
        local: EAST.v4,
        remote: WEST.v4,
        localId: "east",
        remoteId: "west",
        localTs: EAST.subnet,
        remoteTs: WEST.subnet,
      }),
    );
    const up = await charons[0].initiate();
    if (up.code !== 0) throw new Error(`charon: tunnel did not come up\n${up.stdout}`);
  } catch (err) {
    for (const c of charons) await c.stop();
    await lab.dispose();
    throw err;
  }
  return {
    label: "charon ↔ charon (kernel-libipsec)",
    lab,
    westNs: west.ns,
    eastNs: east.ns,
    pids: () => charons.map((c) => c.pid),
    close: async () => {
      for (const c of charons) await c.stop();
      await lab.dispose();
    },
  };
}

/** utime + stime of `pid` in clock ticks (/proc/<pid>/stat fields 14 and 15). */
function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

interface FlowResult {
  /** TCP: Mbit/s of payload; UDP: datagrams/s received. */
  rate: number;
  /** UDP: share of the datagrams sent that arrived. */
  delivered?: number;
  /** CPU seconds the two daemons spent per second of the flow (200 % = both cores busy). */
  cpu: number;
}

async function flow(
  t: Tunnel,
  kind: "tcp" | "udp",
  seconds: number,
  size: number,
): Promise<FlowResult> {
  const sink: NamespaceDaemon = await t.lab.spawnDaemon(
    t.eastNs,
    [Deno.execPath(), "run", "-A", SELF, `${kind}-sink`, EAST.inner, String(PORT)],
    { label: `${kind} sink`, readyLine: "listening", readyTimeoutMs: 15_000 },
  );
  const ticks0 = t.pids().reduce((sum, pid) => sum + cpuTicks(pid), 0);
  const source = await runIn(t.westNs, [
    ...[Deno.execPath(), "run", "-A", SELF, `${kind}-source`, EAST.inner, String(PORT)],
    String(seconds),
    ...(kind === "udp" ? [String(size)] : []),
  ], { timeoutMs: (seconds + 30) * 1000 });
  if (source.code !== 0) throw new Error(`${kind} source: ${source.stderr}`);
  await sink.waitExit(IDLE_MS + 15_000);
  const ticks = t.pids().reduce((sum, pid) => sum + cpuTicks(pid), 0) - ticks0;
  const sent = JSON.parse(source.stdout);
  const got = JSON.parse(sink.stdout().split("\n").find((l) => l.startsWith("{"))!);
  const cpu = ticks / 100 / seconds;
  return kind === "tcp"
    ? { rate: (got.bytes * 8) / got.seconds / 1e6, cpu }
    : { rate: got.packets / got.seconds, delivered: got.packets / sent.sent, cpu };
}

function option(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const seconds = option("seconds", 5);
  const size = option("size", 64);
  const runs = option("runs", 1);
  const results = new Map<string, { tcp: FlowResult[]; udp: FlowResult[] }>();
  for (let run = 0; run < runs; run++) {
    for (const make of [swanTunnel, charonTunnel]) {
      const t = await make();
      try {
        const r = results.get(t.label) ?? { tcp: [], udp: [] };
        results.set(t.label, r);
        r.tcp.push(await flow(t, "tcp", seconds, size));
        r.udp.push(await flow(t, "udp", seconds, size));
        const tcp = r.tcp.at(-1)!, udp = r.udp.at(-1)!;
        console.log(
          `${t.label}: TCP ${tcp.rate.toFixed(1)} Mbit/s (CPU ${(tcp.cpu * 100).toFixed(0)} %), ` +
            `UDP ${size} B ${udp.rate.toFixed(0)} pkt/s, ${
              (udp.delivered! * 100).toFixed(1)
            } % of sent (CPU ${(udp.cpu * 100).toFixed(0)} %)`,
        );
      } finally {
        await t.close();
      }
    }
  }
  const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)];
  const [swan, charon] = [...results.values()];
  const tcp = median(swan.tcp.map((r) => r.rate)) / median(charon.tcp.map((r) => r.rate));
  const pps = median(swan.udp.map((r) => r.rate)) / median(charon.udp.map((r) => r.rate));
  console.log(`swan / strongSwan: TCP ${tcp.toFixed(2)}, UDP packets/s ${pps.toFixed(2)}`);
}

if (import.meta.main) {
  const [mode, address, port, seconds, size] = Deno.args;
  switch (mode) {
    case "tcp-sink":
      await tcpSink(address, Number(port));
      break;
    case "tcp-source":
      await tcpSource(address, Number(port), Number(seconds));
      break;
    case "udp-sink":
      await udpSink(address, Number(port));
      break;
    case "udp-source":
      await udpSource(address, Number(port), Number(seconds), Number(size));
      break;
    default:
      await main();
  }
}
