/**
 * Traffic through a tunnel between two lab namespaces, for the userspace
 * datapath tests: ping (with loss and duplicate counts as ping itself
 * reports them), a TCP echo of random bytes compared byte for byte, the
 * datapath's drop counters from `whack --globalstatus`, and an injector that
 * captures a real ESP-in-UDP datagram on the wire and sends it again as it
 * was (a replay), with a later sequence number and a flipped bit (corrupted)
 * and with another SPI.
 *
 * Run as a script inside a namespace, this file is the injector:
 *
 *     deno run -A traffic.ts inject FROM TO    captures one ESP-in-UDP datagram FROM → TO:4500
 *                                              leaving this namespace, sends the three variants
 *                                              from FROM (another port) to TO:4500, prints JSON
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { fileURLToPath } from "node:url";
import { ErrnoError, lastErrno, libc } from "../../ffi/libc.ts";
import { type CommandResult, delay, type Lab, type Pluto, runIn } from "./lab.ts";

const SELF = fileURLToPath(import.meta.url);
const ECHO = fileURLToPath(new URL("../kernel/userspace/tcp_echo.ts", import.meta.url));
/** The TCP echo server's port on the inner address. */
export const ECHO_PORT = 7777;
const NAT_T_PORT = 4500;

/** What ping said. */
export interface PingResult {
  transmitted: number;
  received: number;
  /** Replies seen more than once: a replay the datapath let through would show here. */
  duplicates: number;
  output: string;
}

/**
 * `ping -c count -i interval [-s size] -I src dst` inside `ns`; parses the
 * summary rather than trusting the exit code (a lost reply is a result).
 */
export async function ping(
  ns: string,
  src: string,
  dst: string,
  { count = 3, interval = 0.2, size = 56 } = {},
): Promise<PingResult> {
  const r = await runIn(ns, [
    ...["ping", "-n", "-c", String(count), "-i", String(interval), "-W", "2"],
    ...["-s", String(size), "-I", src, dst],
  ], { timeoutMs: (count * interval + 10) * 1000 });
  const m = /(\d+) packets transmitted, (\d+) received(?:, \+(\d+) duplicates)?/.exec(r.stdout);
  assert.ok(m, `ping printed no summary:\n${r.stdout}${r.stderr}`);
  return {
    transmitted: Number(m[1]),
    received: Number(m[2]),
    duplicates: Number(m[3] ?? 0),
    output: r.stdout + r.stderr,
  };
}

/** Asserts that every echo request got exactly one reply. */
export function assertNoLoss(p: PingResult, what: string, diagnostics = ""): void {
  assert.ok(
    p.received === p.transmitted && p.duplicates === 0 && p.transmitted > 0,
    `${what}: ${p.transmitted} sent, ${p.received} received, ${p.duplicates} duplicates\n` +
      `${p.output}\n${diagnostics}`,
  );
}

/** Starts the TCP echo server on `address`:{@link ECHO_PORT} in `ns`, tracked by the lab. */
export async function startEchoServer(lab: Lab, ns: string, address: string): Promise<void> {
  await lab.spawnDaemon(
    ns,
    [Deno.execPath(), "run", "-A", ECHO, "server", address, String(ECHO_PORT)],
    { label: "tcp echo", readyLine: "listening", readyTimeoutMs: 15_000 },
  );
}

/**
 * Sends `bytes` random bytes from `ns` to the echo server at `address` and
 * asserts they came back unchanged (the echo client compares every byte).
 */
export async function assertTcpEcho(
  ns: string,
  address: string,
  bytes: number,
  diagnostics: () => string = () => "",
): Promise<void> {
  const r = await runIn(
    ns,
    [Deno.execPath(), "run", "-A", ECHO, "client", address, String(ECHO_PORT), String(bytes)],
    { timeoutMs: 30_000 },
  );
  assert.ok(
    r.code === 0 && r.stdout.includes(`echoed ${bytes} bytes`),
    `TCP echo of ${bytes} bytes to ${address}: exit ${r.code}\n${r.stdout}${r.stderr}\n${diagnostics()}`,
  );
}

/** The datapath's drop counters (`total.esp.drop.<reason>`) from `whack --globalstatus`. */
export async function espDrops(pluto: Pluto): Promise<Record<string, number>> {
  const r = await pluto.whack(["--globalstatus"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const drops: Record<string, number> = {};
  for (const m of r.stdout.matchAll(/^total\.esp\.drop\.([\w-]+)=(\d+)$/gm)) {
    drops[m[1]] = Number(m[2]);
  }
  return drops;
}

/** What the injector sent (SPIs as 8 hex digits). */
export interface Injected {
  /** The captured datagram's SPI and sequence number. */
  spi: string;
  seq: number;
  /** The SPI the wrong-SPI copy carried. */
  wrongSpi: string;
}

/**
 * Captures one ESP-in-UDP datagram `from` → `to`:4500 leaving `ns` and
 * injects its replay, a corrupted copy and a wrong-SPI copy (see the module
 * comment). Traffic must be flowing meanwhile; gives up after 10 s.
 */
export async function injectEsp(ns: string, from: string, to: string): Promise<Injected> {
  const r: CommandResult = await runIn(
    ns,
    [Deno.execPath(), "run", "-A", SELF, "inject", from, to],
    { timeoutMs: 20_000 },
  );
  assert.equal(r.code, 0, `injector: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout) as Injected;
}

// ------------------------------------------------------------------ the injector

const AF_PACKET = 17;
const SOCK_DGRAM = 2;
/**
 * htons(ETH_P_ALL): every packet, without its link-layer header. Only
 * ETH_P_ALL taps see outgoing packets too; ETH_P_IP ones get incoming only.
 */
const ETH_P_ALL_BE = 0x0300;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const IPPROTO_UDP = 17;
const CAPTURE_MS = 10_000;

function ipv4(text: string): Uint8Array {
  return new Uint8Array(text.split(".").map(Number));
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The UDP payload (starting with the SPI) of the first ESP-in-UDP datagram
 * `from` → `to`:4500 a packet socket sees in this namespace.
 */
async function capture(from: Uint8Array, to: Uint8Array): Promise<Uint8Array> {
  const lib = libc();
  const fd = lib.socket(AF_PACKET, SOCK_DGRAM, ETH_P_ALL_BE);
  if (fd < 0) throw new ErrnoError("socket(AF_PACKET)", lastErrno());
  try {
    const buf = new Uint8Array(65536);
    const deadline = Date.now() + CAPTURE_MS;
    while (Date.now() < deadline) {
      const n = Number(lib.recv(fd, buf, BigInt(buf.length), MSG_DONTWAIT));
      if (n < 0) {
        if (lastErrno() !== EAGAIN) throw new ErrnoError("recv(AF_PACKET)", lastErrno());
        await delay(5);
        continue;
      }
      const p = buf.subarray(0, n);
      const ihl = (p[0] & 0x0f) * 4;
      if (p[0] >> 4 !== 4 || n < ihl + 8 + 8 || p[9] !== IPPROTO_UDP) continue;
      if (!equal(p.subarray(12, 16), from) || !equal(p.subarray(16, 20), to)) continue;
      const udp = new DataView(p.buffer, p.byteOffset + ihl);
      if (udp.getUint16(2) !== NAT_T_PORT) continue;
      const payload = p.slice(ihl + 8);
      // A zero first word is the non-ESP marker of IKE (RFC 3948 §2.2); one byte 0xff a keepalive.
      if (new DataView(payload.buffer).getUint32(0) === 0) continue;
      return payload;
    }
    throw new Error(`no ESP-in-UDP datagram seen within ${CAPTURE_MS} ms`);
  } finally {
    lib.close(fd);
  }
}

async function inject(fromText: string, toText: string): Promise<void> {
  const esp = await capture(ipv4(fromText), ipv4(toText));
  const view = new DataView(esp.buffer);
  const spi = view.getUint32(0);
  const seq = view.getUint32(4);
  // Corrupted: a sequence number the receiver has not seen (so the ICV is what fails) and a flipped bit.
  const corrupted = esp.slice();
  new DataView(corrupted.buffer).setUint32(4, seq + 1000);
  corrupted[corrupted.length - 1] ^= 0x01;
  const wrong = esp.slice();
  const wrongSpi = (spi ^ 0x5a5a5a5a) >>> 0;
  new DataView(wrong.buffer).setUint32(0, wrongSpi);
  const socket = createSocket("udp4");
  try {
    await new Promise<void>((resolve) => socket.bind(0, fromText, resolve));
    for (const datagram of [esp, corrupted, wrong]) {
      await new Promise<void>((resolve, reject) =>
        socket.send(datagram, NAT_T_PORT, toText, (err) => err ? reject(err) : resolve())
      );
    }
  } finally {
    socket.close();
  }
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  console.log(JSON.stringify({ spi: hex(spi), seq, wrongSpi: hex(wrongSpi) } satisfies Injected));
}

if (import.meta.main) {
  const [mode, from, to] = Deno.args;
  if (mode !== "inject" || to === undefined) {
    console.error("usage: traffic.ts inject FROM TO");
    Deno.exit(2);
  }
  await inject(from, to);
}
