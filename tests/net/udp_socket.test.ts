/**
 * ffi/udp.ts and ffi/poll.ts: sockaddr and control-message codecs against
 * the Linux struct layouts, pktinfo on wildcard sockets (the kernel says
 * which of several local addresses a datagram was sent to), UDP_ENCAP read
 * back and its effect (the kernel takes ESP, IKE still arrives), and the
 * poll-based waiter. Namespace tests need root; the peer is Node.js's dgram.
 */
import assert from "node:assert/strict";
import { ReadinessWaiter } from "../../ffi/poll.ts";
import {
  decodeSockaddr,
  encodeSockaddr,
  pktinfoDestination,
  type Received,
  SOL_UDP,
  UDP_ENCAP,
  UDP_ENCAP_ESPINUDP,
  UdpSocket,
} from "../../ffi/udp.ts";
import { parseAddress } from "../../src/config/addresses.ts";
import { eventually, Lab, runIn } from "../netns/lab.ts";
import { inNamespace, sendFrom } from "./netns_peer.ts";

function bytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

function address(text: string): { family: 4 | 6; bytes: Uint8Array } {
  const a = parseAddress(text);
  if (!a) throw new Error(`bad address ${text}`);
  return a;
}

/** One control message: cmsg_len (u64), level, type (i32, little-endian), data padded to 8. */
function cmsg(level: number, type: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + ((data.length + 7) & ~7));
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(16 + data.length), true);
  view.setInt32(8, level, true);
  view.setInt32(12, type, true);
  out.set(data, 16);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("sockaddr_in and sockaddr_in6 bytes", () => {
  const v4 = { ...address("192.0.2.1"), port: 500 };
  assert.deepEqual(encodeSockaddr(v4), bytes("020001f4c0000201" + "00".repeat(8)));
  const v6 = { ...address("2001:db8::1"), port: 4500 };
  assert.deepEqual(
    encodeSockaddr(v6),
    bytes("0a001194" + "00000000" + "20010db8000000000000000000000001" + "00000000"),
  );
  assert.deepEqual(decodeSockaddr(encodeSockaddr(v4), 16), v4);
  assert.deepEqual(decodeSockaddr(encodeSockaddr(v6), 28), v6);
  assert.equal(decodeSockaddr(encodeSockaddr(v6), 20), undefined); // cut short
  assert.equal(decodeSockaddr(bytes("0100"), 2), undefined); // AF_UNIX
  assert.equal(decodeSockaddr(new Uint8Array(0), 0), undefined);
});

Deno.test("pktinfo control messages: found among others, malformed ones refused", () => {
  // struct in_pktinfo: ifindex 2, spec_dst 192.0.2.1, addr 198.51.100.1 (the header's destination).
  const in4 = cmsg(0, 8, bytes("02000000" + "c0000201" + "c6336401"));
  // struct in6_pktinfo: addr 2001:db8::1, ifindex 3.
  const in6 = cmsg(41, 50, bytes("20010db8000000000000000000000001" + "03000000"));
  const timestamp = cmsg(1, 29, new Uint8Array(16)); // SOL_SOCKET SO_TIMESTAMP first
  assert.deepEqual(pktinfoDestination(in4, in4.length), address("198.51.100.1"));
  assert.deepEqual(pktinfoDestination(in6, in6.length), address("2001:db8::1"));
  const both = concat(timestamp, in6);
  assert.deepEqual(pktinfoDestination(both, both.length), address("2001:db8::1"));
  assert.equal(pktinfoDestination(in4, 0), undefined);
  assert.equal(pktinfoDestination(in4, in4.length - 8), undefined); // cmsg_len beyond the data
  const tooShort = in4.slice();
  new DataView(tooShort.buffer).setBigUint64(0, 8n, true); // below a cmsghdr: must not loop
  assert.equal(pktinfoDestination(tooShort, tooShort.length), undefined);
  const small = cmsg(0, 8, new Uint8Array(8)); // in_pktinfo needs 12 bytes
  assert.equal(pktinfoDestination(small, small.length), undefined);
});

/** Reads from `socket` until `count` datagrams came (or 5 s passed): each with its payload as hex. */
async function receiveAll(
  socket: UdpSocket,
  count: number,
): Promise<{ got: Received; hex: string }[]> {
  const buf = new Uint8Array(new ArrayBuffer(65_536));
  const out: { got: Received; hex: string }[] = [];
  await eventually(
    () => {
      for (let got = socket.receive(buf); got !== undefined; got = socket.receive(buf)) {
        const hex = Array.from(buf.subarray(0, got.length), (x) => x.toString(16).padStart(2, "0"));
        out.push({ got, hex: hex.join("") });
      }
      return Promise.resolve(out.length);
    },
    (n) => n >= count,
    { timeoutMs: 5_000, intervalMs: 20 },
  );
  return out;
}

Deno.test("wildcard sockets learn each datagram's local address from pktinfo", async () => {
  await using lab = await Lab.create();
  const { west, east } = await lab.createPair({ v6: true });
  // east reaches west's inner (lo) addresses through the veth.
  for (const [net, via] of [[west.subnet, west.v4], [west.subnet6!, west.v6!]]) {
    const r = await runIn(east.ns, ["ip", "route", "add", net, "via", via], { timeoutMs: 5_000 });
    assert.equal(r.code, 0, r.stderr);
  }
  const v4 = inNamespace(west.ns, () => UdpSocket.open({ ...address("0.0.0.0"), port: 500 }));
  const v6 = inNamespace(west.ns, () => UdpSocket.open({ ...address("::"), port: 500 }));
  try {
    await sendFrom(east.ns, [
      { from: east.v4, fromPort: 501, to: west.v4, port: 500, hex: "01" },
      { from: east.v4, fromPort: 501, to: west.inner, port: 500, hex: "02" },
      { from: east.v6!, fromPort: 501, to: west.v6!, port: 500, hex: "03" },
      { from: east.v6!, fromPort: 501, to: west.inner6!, port: 500, hex: "04" },
    ]);
    const got4 = await receiveAll(v4, 2), got6 = await receiveAll(v6, 2);
    assert.deepEqual(got4.map((r) => [r.got.to, r.got.from, r.hex]), [
      [address(west.v4), { ...address(east.v4), port: 501 }, "01"],
      [address(west.inner), { ...address(east.v4), port: 501 }, "02"],
    ]);
    assert.deepEqual(got6.map((r) => [r.got.to, r.got.from, r.hex]), [
      [address(west.v6!), { ...address(east.v6!), port: 501 }, "03"],
      [address(west.inner6!), { ...address(east.v6!), port: 501 }, "04"],
    ]);
  } finally {
    v4.close();
    v6.close();
  }
});

Deno.test("UDP_ENCAP_ESPINUDP: set and read back; the kernel then takes ESP, IKE still arrives", async () => {
  await using lab = await Lab.create();
  const { west, east } = await lab.createPair({ v6: true });
  const sockets = inNamespace(west.ns, () => ({
    encap4: UdpSocket.open({ ...address(west.v4), port: 4500 }),
    plain4: UdpSocket.open({ ...address(west.v4), port: 4501 }),
    encap6: UdpSocket.open({ ...address(west.v6!), port: 4500 }),
  }));
  try {
    sockets.encap4.enableEspInUdp();
    sockets.encap6.enableEspInUdp();
    assert.equal(sockets.encap4.intOption(SOL_UDP, UDP_ENCAP), UDP_ENCAP_ESPINUDP);
    assert.equal(sockets.encap6.intOption(SOL_UDP, UDP_ENCAP), UDP_ENCAP_ESPINUDP);
    assert.equal(sockets.plain4.intOption(SOL_UDP, UDP_ENCAP), 0);
    const esp = "0000100100000001" + "aa".repeat(16), ike = "00000000" + "bb".repeat(8);
    await sendFrom(east.ns, [
      { from: east.v4, to: west.v4, port: 4500, hex: esp },
      { from: east.v4, to: west.v4, port: 4500, hex: "ff" },
      { from: east.v4, to: west.v4, port: 4500, hex: ike },
      { from: east.v4, to: west.v4, port: 4501, hex: esp },
      { from: east.v4, to: west.v4, port: 4501, hex: "ff" },
      { from: east.v4, to: west.v4, port: 4501, hex: ike },
      { from: east.v6!, to: west.v6!, port: 4500, hex: esp },
      { from: east.v6!, to: west.v6!, port: 4500, hex: ike },
    ]);
    // Only IKE (marker intact) reaches an encapsulating socket; a plain one gets everything.
    const hexes = async (s: UdpSocket, n: number) => (await receiveAll(s, n)).map((r) => r.hex);
    assert.deepEqual(await hexes(sockets.encap4, 1), [ike]);
    assert.deepEqual(await hexes(sockets.encap6, 1), [ike]);
    assert.deepEqual(await hexes(sockets.plain4, 3), [esp, "ff", ike]);
  } finally {
    for (const s of Object.values(sockets)) s.close();
  }
});

Deno.test("ReadinessWaiter: reports the readable descriptor, wakes early, closes cleanly", async () => {
  await using lab = await Lab.create();
  const { west } = await lab.createPair();
  const [a, b] = inNamespace(west.ns, () => [
    UdpSocket.open({ ...address(west.v4), port: 600 }),
    UdpSocket.open({ ...address(west.v4), port: 601 }),
  ]);
  const waiter = ReadinessWaiter.open();
  try {
    a.sendTo(Uint8Array.of(1), { ...address(west.v4), port: 601 });
    assert.deepEqual(await waiter.wait([a.fd, b.fd], 5_000), [false, true]);
    const started = performance.now();
    const pending = waiter.wait([a.fd], 5_000);
    waiter.wake();
    assert.deepEqual(await pending, [false]);
    assert.ok(performance.now() - started < 1_000, "wake() ended the wait");
  } finally {
    await waiter.close();
    a.close();
    b.close();
  }
});
