/**
 * The FFI UDP transport in a namespace pair, against Node.js's dgram in the
 * other namespace as an independent peer: datagrams in and out on the IKE
 * and NAT-T ports over IPv4 and IPv6, the non-ESP marker stripped and added,
 * keepalive bytes, ESP-in-UDP handed to a userspace datapath or left to the
 * kernel (UDP_ENCAP read back from the kernel), interface changes.
 * Needs root.
 */
import assert from "node:assert/strict";
import { getsockoptInt } from "../../ffi/libc.ts";
import { SOL_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP } from "../../ffi/udp.ts";
import { type IpAddress, parseAddress } from "../../src/config/addresses.ts";
import {
  FfiUdpTransport,
  type LocalAddress,
  localAddresses,
} from "../../src/net/ffi_udp_transport.ts";
import type { Endpoint } from "../../src/net/transport.ts";
import { eventually, Lab, runIn } from "../netns/lab.ts";
import { inNamespace, sendFrom, startRecorder } from "./netns_peer.ts";

const IKE = 500, NATT = 4500;

function ip(text: string): IpAddress {
  const a = parseAddress(text);
  if (!a) throw new Error(`bad address ${text}`);
  return a;
}

/** What the transport handed up, as comparable strings. */
interface Seen {
  packets: string[];
  esp: string[];
  log: string[];
}

function hex(data: Uint8Array): string {
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

function describe(data: Uint8Array, from: Endpoint, to: Endpoint): string {
  return `${hex(data)} ${addr(from)} > ${addr(to)}`;
}

function addr(e: Endpoint): string {
  if (e.address.family === 4) return `${e.address.bytes.join(".")}:${e.port}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    groups.push(((e.address.bytes[i] << 8) | e.address.bytes[i + 1]).toString(16));
  }
  return `[${groups.join(":")}]:${e.port}`;
}

function newTransport(seen: Seen): FfiUdpTransport {
  return new FfiUdpTransport(
    IKE,
    NATT,
    (data, from, to) => seen.packets.push(describe(data, from, to)),
    (line, error) => seen.log.push(error ? `ERROR ${line}` : line),
  );
}

/**
 * This process's UDP sockets in `ns` by local port: inodes from the
 * namespace's /proc/net/udp, matched against our /proc/self/fd links.
 */
async function udpSocketsByPort(ns: string): Promise<Map<number, number>> {
  const r = await runIn(ns, ["cat", "/proc/net/udp"], { timeoutMs: 5_000 });
  assert.equal(r.code, 0, r.stderr);
  const portByInode = new Map<string, number>();
  for (const line of r.stdout.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 9) portByInode.set(f[9], parseInt(f[1].split(":")[1], 16));
  }
  const out = new Map<number, number>();
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    let link: string;
    try {
      link = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
    } catch {
      continue; // the descriptor readDir itself used, closed by now
    }
    const port = portByInode.get(link.match(/^socket:\[(\d+)\]$/)?.[1] ?? "");
    if (port !== undefined) out.set(port, Number(entry.name));
  }
  return out;
}

async function waitFor(what: () => boolean, description: () => string): Promise<void> {
  const ok = await eventually(() => Promise.resolve(what()), (v) => v, {
    timeoutMs: 5_000,
    intervalMs: 20,
  });
  assert.ok(ok, description());
}

/** Full IPv6 text as {@link addr} prints it. */
const WEST6 = "[2001:db8:0:0:0:0:0:1]", EAST6 = "[2001:db8:0:0:0:0:0:2]";

Deno.test("ffi udp transport: IKE and NAT-T over IPv4 and IPv6, marker, keepalives, userspace ESP", async () => {
  await using lab = await Lab.create();
  const { west, east } = await lab.createPair({ v6: true });
  const seen: Seen = { packets: [], esp: [], log: [] };
  const transport = newTransport(seen);
  transport.onEsp = (data, from, to) => seen.esp.push(describe(data, from, to));
  try {
    const locals: LocalAddress[] = [
      { device: "eth0", address: ip(west.v4) },
      { device: "eth0", address: ip(west.v6!) },
    ];
    await inNamespace(west.ns, () => transport.update(locals));
    assert.deepEqual(seen.log, [
      "adding interface eth0 192.0.2.1:UDP/500",
      "adding interface eth0 192.0.2.1:UDP/4500 (NAT)",
      "adding interface eth0 2001:db8::1:UDP/500",
      "adding interface eth0 2001:db8::1:UDP/4500 (NAT)",
    ]);
    const recorder = await startRecorder(lab, east.ns, [
      [east.v4, IKE],
      [east.v4, NATT],
      [east.v6!, IKE],
      [east.v6!, NATT],
    ]);
    for (
      const [w, e, wText, eText] of [[west.v4, east.v4, west.v4, east.v4], [
        west.v6!,
        east.v6!,
        WEST6,
        EAST6,
      ]]
    ) {
      seen.packets.length = 0;
      seen.esp.length = 0;
      await sendFrom(east.ns, [
        { from: e, fromPort: 5000, to: w, port: IKE, hex: "aa01" },
        { from: e, fromPort: 5001, to: w, port: NATT, hex: "00000000bb02" },
        { from: e, fromPort: 5001, to: w, port: NATT, hex: "ff" }, // keepalive: dropped
        { from: e, fromPort: 5001, to: w, port: NATT, hex: "000000" }, // runt: dropped
        { from: e, fromPort: 5001, to: w, port: NATT, hex: "0000100100000001cc03" }, // ESP
        { from: e, fromPort: 5001, to: w, port: NATT, hex: "00000000ee04" },
      ]);
      await waitFor(() => seen.packets.length >= 3, () => JSON.stringify(seen));
      assert.deepEqual(seen.packets, [
        `aa01 ${eText}:5000 > ${wText}:500`,
        `bb02 ${eText}:5001 > ${wText}:4500`,
        `ee04 ${eText}:5001 > ${wText}:4500`,
      ]);
      assert.deepEqual(seen.esp, [`0000100100000001cc03 ${eText}:5001 > ${wText}:4500`]);

      const westIke = { address: ip(w), port: IKE }, westNat = { address: ip(w), port: NATT };
      transport.send(westIke, { address: ip(e), port: IKE }, Uint8Array.of(0xdd, 0x04));
      transport.send(westNat, { address: ip(e), port: NATT }, Uint8Array.of(0xdd, 0x05));
      transport.sendKeepalive(westNat, { address: ip(e), port: NATT });
      transport.sendEsp(westNat, { address: ip(e), port: NATT }, Uint8Array.of(1, 2, 3, 4, 0xdd));
      const mine = () =>
        recorder.received().filter((r) => r.local === e).map((r) =>
          `${r.localPort} ${r.from}:${r.port} ${r.hex}`
        );
      await waitFor(() => mine().length >= 4, () => JSON.stringify(recorder.received()));
      assert.deepEqual(mine().sort(), [
        `4500 ${w}:4500 00000000dd05`,
        `4500 ${w}:4500 01020304dd`,
        `4500 ${w}:4500 ff`,
        `500 ${w}:500 dd04`,
      ]);
    }
    assert.deepEqual(seen.log.filter((l) => l.startsWith("ERROR")), []);
  } finally {
    await transport.close();
  }
});

Deno.test("ffi udp transport: without a userspace datapath the kernel decapsulates ESP", async () => {
  await using lab = await Lab.create();
  const { west, east } = await lab.createPair();
  const seen: Seen = { packets: [], esp: [], log: [] };
  const transport = newTransport(seen);
  try {
    await inNamespace(west.ns, () => transport.update([{ device: "eth0", address: ip(west.v4) }]));
    // Find our sockets by the kernel's own table and ask the kernel for their UDP_ENCAP.
    const encap = new Map<number, number>();
    for (const [port, fd] of await udpSocketsByPort(west.ns)) {
      encap.set(port, getsockoptInt(fd, SOL_UDP, UDP_ENCAP, `UDP_ENCAP port ${port}`));
    }
    assert.deepEqual(encap, new Map([[IKE, 0], [NATT, UDP_ENCAP_ESPINUDP]]));
    await sendFrom(east.ns, [
      { from: east.v4, fromPort: 4500, to: west.v4, port: NATT, hex: "0000200200000001cc03" },
      { from: east.v4, fromPort: 4500, to: west.v4, port: NATT, hex: "00000000ee04" },
    ]);
    // IKE still arrives, its marker stripped.
    await waitFor(() => seen.packets.length >= 1, () => JSON.stringify(seen));
    assert.deepEqual(seen.packets, [`ee04 ${east.v4}:4500 > ${west.v4}:4500`]);
    assert.deepEqual(seen.log.filter((l) => l.startsWith("ERROR")), []);
  } finally {
    await transport.close();
  }
});

Deno.test("ffi udp transport: interface changes, errors with errno names, local addresses", async () => {
  await using lab = await Lab.create();
  const { west } = await lab.createPair({ v6: true });
  const seen: Seen = { packets: [], esp: [], log: [] };
  const transport = newTransport(seen);
  const rivalSeen: Seen = { packets: [], esp: [], log: [] };
  const rival = newTransport(rivalSeen);
  try {
    const found = inNamespace(west.ns, () => localAddresses(undefined, []));
    const shown = found.map((l) => `${l.device} ${addr({ address: l.address, port: 0 })}`);
    // Link-local fe80:: addresses are left out; everything else `ip addr` would list is there.
    for (const want of ["lo 127.0.0.1", `lo ${west.inner}`, `eth0 ${west.v4}`, `eth0 ${WEST6}`]) {
      assert.ok(shown.includes(`${want}:0`), `${want} in ${shown.join(", ")}`);
    }
    assert.ok(!shown.some((s) => s.includes("[fe80:")), shown.join(", "));
    const onlyLo = inNamespace(west.ns, () => localAddresses(undefined, ["lo"]));
    assert.ok(onlyLo.length > 0 && onlyLo.every((l) => l.device === "lo"));
    const listen = inNamespace(west.ns, () => localAddresses(west.v4, []));
    assert.deepEqual(listen, [{ device: "eth0", address: ip(west.v4) }]);

    const v4 = { device: "eth0", address: ip(west.v4) };
    const inner = { device: "lo", address: ip(west.inner) };
    await inNamespace(west.ns, () => transport.update([v4]));
    await inNamespace(west.ns, () => transport.update([v4, inner]));
    assert.deepEqual(transport.interfaces().map((i) => `${i.device} ${i.address}:${i.port}`), [
      "eth0 192.0.2.1:500",
      "eth0 192.0.2.1:4500",
      "lo 198.51.100.1:500",
      "lo 198.51.100.1:4500",
    ]);
    // A second transport cannot take the same ports; the error names call, socket and errno.
    await inNamespace(west.ns, () => rival.update([v4]));
    assert.deepEqual(rival.interfaces(), []);
    assert.deepEqual(rivalSeen.log, [
      "ERROR adding interface eth0 192.0.2.1:UDP/500 failed: bind(192.0.2.1:500): EADDRINUSE",
      "ERROR adding interface eth0 192.0.2.1:UDP/4500 failed: bind(192.0.2.1:4500): EADDRINUSE",
    ]);
    await inNamespace(west.ns, () => transport.update([inner]));
    assert.deepEqual(transport.addresses(), [ip(west.inner)]);
    // The vanished address's sockets are closed: the ports are free again.
    await inNamespace(west.ns, () => rival.update([v4]));
    assert.equal(rival.interfaces().length, 2);
    // An address the namespace does not have.
    await inNamespace(
      west.ns,
      () => transport.update([inner, { device: "eth0", address: ip("203.0.113.99") }]),
    );
    assert.deepEqual(seen.log.slice(4), [
      "shutting down interface eth0 192.0.2.1:UDP/500",
      "shutting down interface eth0 192.0.2.1:UDP/4500",
      "ERROR adding interface eth0 203.0.113.99:UDP/500 failed: bind(203.0.113.99:500): EADDRNOTAVAIL",
      "ERROR adding interface eth0 203.0.113.99:UDP/4500 failed: bind(203.0.113.99:4500): EADDRNOTAVAIL",
    ]);
    assert.throws(() => transport.onEsp = () => {}, /before sockets are bound/);
  } finally {
    await transport.close();
    await rival.close();
  }
});
