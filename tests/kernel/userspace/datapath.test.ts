/**
 * Two datapaths wired back to back in memory (no device, no socket): what
 * one encrypts the other delivers unchanged; every packet that must not be
 * delivered (replayed, tampered, unknown SPI, outside the selectors, dummy,
 * wrong next header) is dropped and counted under its reason; outbound
 * lookup prefers the most specific policy; traps raise rate-limited
 * acquires; ESN sequence numbers cross 2^32.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { parseAddress, parseSelector, type Selector } from "../../../src/config/addresses.ts";
import { ENCR_AES_CBC, ENCR_AES_GCM_16 } from "../../../src/crypto/encr.ts";
import { AUTH_HMAC_SHA2_256_128 } from "../../../src/crypto/integ.ts";
import { systemEntropy } from "../../../src/crypto/random.ts";
import type { KernelSa } from "../../../src/kernel/kernel.ts";
import { type Acquire, Datapath } from "../../../src/kernel/userspace/datapath.ts";
import { espHeader, espSeal } from "../../../src/kernel/userspace/esp_codec.ts";
import { espTransform } from "../../../src/kernel/userspace/sa_database.ts";
import type { Endpoint } from "../../../src/net/transport.ts";

const WEST = parseAddress("192.0.2.1")!;
const EAST = parseAddress("192.0.2.2")!;
const TWO_32 = 2 ** 32;

function sel(text: string): Selector {
  const r = parseSelector(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

function ipv4(
  src: string,
  dst: string,
  { protocol = 17, srcPort = 1234, dstPort = 53, body = 12 } = {},
): Uint8Array {
  const p = new Uint8Array(20 + 8 + body);
  p[0] = 0x45;
  new DataView(p.buffer).setUint16(2, p.length);
  p[8] = 64;
  p[9] = protocol;
  p.set(parseAddress(src)!.bytes, 12);
  p.set(parseAddress(dst)!.bytes, 16);
  new DataView(p.buffer).setUint16(20, srcPort);
  new DataView(p.buffer).setUint16(22, dstPort);
  p.set(randomBytes(body), 28);
  return p;
}

/** An IPv6 UDP packet, optionally behind a fragment header at `fragmentOffset` (8-byte units). */
function ipv6(src: string, dst: string, fragmentOffset?: number): Uint8Array {
  const frag = fragmentOffset === undefined ? 0 : 8;
  const p = new Uint8Array(40 + frag + 8 + 4);
  const v = new DataView(p.buffer);
  p[0] = 0x60;
  v.setUint16(4, p.length - 40);
  p[6] = frag ? 44 : 17;
  p[7] = 64;
  p.set(parseAddress(src)!.bytes, 8);
  p.set(parseAddress(dst)!.bytes, 24);
  if (frag) {
    p[40] = 17;
    v.setUint16(42, fragmentOffset! << 3);
  }
  v.setUint16(40 + frag, 5000);
  v.setUint16(40 + frag + 2, 53);
  return p;
}

interface Wire {
  from: Endpoint;
  to: Endpoint;
  packet: Uint8Array;
}

/** A datapath that records what it sends, delivers and acquires. */
function datapath(now = () => 0) {
  const sent: Wire[] = [];
  const delivered: Uint8Array[] = [];
  const acquires: Acquire[] = [];
  const dp = new Datapath({
    entropy: systemEntropy,
    sendEsp: (from, to, packet) => sent.push({ from, to, packet }),
    deliver: (packet) => (delivered.push(new Uint8Array(packet)), true),
    onAcquire: (a) => acquires.push(a),
    now,
  });
  return { dp, sent, delivered, acquires };
}

interface Pair {
  /** West's outbound and east's inbound: the same SA. */
  out: KernelSa;
  in: KernelSa;
}

/** One SA from west to east, as both ends install it. */
function saPair(
  spi: number,
  { src = "198.51.100.0/24", dst = "203.0.113.0/24", gcm = true, esn = false, window = 64 } = {},
): Pair {
  const common = {
    src: WEST,
    dst: EAST,
    spi,
    mode: "tunnel" as const,
    encrId: gcm ? ENCR_AES_GCM_16 : ENCR_AES_CBC,
    encrKeyBits: 128,
    encrKey: new Uint8Array(randomBytes(gcm ? 20 : 16)),
    integId: gcm ? 0 : AUTH_HMAC_SHA2_256_128,
    integKey: new Uint8Array(randomBytes(gcm ? 0 : 32)),
    esn,
    replayWindow: window,
    srcSelector: sel(src),
    dstSelector: sel(dst),
    encap: { srcPort: 4500, dstPort: 4501 },
  };
  return { out: { ...common, inbound: false }, in: { ...common, inbound: true } };
}

/** West and east datapaths with `pair` installed on both. */
function tunnel(pair: Pair) {
  const west = datapath();
  const east = datapath();
  west.dp.spd.addSa(west.dp.sad.add(pair.out));
  east.dp.sad.add(pair.in);
  return { west, east };
}

function drops(dp: Datapath): Record<string, number> {
  return Object.fromEntries(dp.drops());
}

for (const gcm of [true, false]) {
  Deno.test(`datapath ${gcm ? "AES-GCM" : "AES-CBC/HMAC"}: a packet crosses unchanged, once`, () => {
    const { west, east } = tunnel(saPair(0x2001, { gcm }));
    const packet = ipv4("198.51.100.7", "203.0.113.9");
    assert.ok(west.dp.sendPacket(packet));
    assert.equal(west.sent.length, 1);
    const wire = west.sent[0];
    assert.deepEqual(wire.from, { address: WEST, port: 4500 });
    assert.deepEqual(wire.to, { address: EAST, port: 4501 });
    assert.deepEqual(espHeader(wire.packet), { spi: 0x2001, seqLow: 1 });

    assert.ok(east.dp.receiveEsp(wire.packet));
    assert.deepEqual(east.delivered, [packet]);
    assert.deepEqual(west.dp.sad.find(EAST, 0x2001)!.packets, 1);
    const inbound = east.dp.sad.find(EAST, 0x2001)!;
    assert.deepEqual([inbound.packets, inbound.bytes], [1, packet.length]);

    // Replayed: dropped and counted, never delivered twice.
    assert.equal(east.dp.receiveEsp(wire.packet), false);
    // Tampered: every byte position.
    for (let at = 8; at < wire.packet.length; at += 7) {
      west.dp.sendPacket(packet);
      const fresh = west.sent.at(-1)!.packet;
      fresh[at] ^= 0x80;
      assert.equal(east.dp.receiveEsp(fresh), false, `flipped byte ${at}`);
    }
    // Unknown SPI, and a runt.
    const unknown = new Uint8Array(wire.packet);
    unknown[0] ^= 0xff;
    assert.equal(east.dp.receiveEsp(unknown), false);
    assert.equal(east.dp.receiveEsp(wire.packet.subarray(0, 6)), false);

    assert.equal(east.delivered.length, 1);
    const flips = Math.ceil((wire.packet.length - 8) / 7);
    assert.deepEqual(drops(east.dp), {
      "replay-duplicate": 1,
      integrity: flips,
      "unknown-spi": 1,
      malformed: 1,
    });
  });
}

Deno.test("datapath: the replay window drops what is too old, after the ICV passed for newer ones", () => {
  const { west, east } = tunnel(saPair(0x2002, { window: 32 }));
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    west.dp.sendPacket(ipv4("198.51.100.7", "203.0.113.9"));
    packets.push(west.sent.at(-1)!.packet);
  }
  assert.ok(east.dp.receiveEsp(packets[39])); // seq 40
  assert.equal(east.dp.receiveEsp(packets[7]), false, "seq 8 = T - W is too old");
  assert.ok(east.dp.receiveEsp(packets[8]), "seq 9 = T - W + 1 is the window's bottom");
  assert.deepEqual(drops(east.dp), { "replay-old": 1 });
});

Deno.test("datapath: inner packets outside the SA's selectors are dropped (RFC 4301 §5.2)", () => {
  const pair = saPair(0x2003);
  const { east } = tunnel(pair);
  // A peer that encrypts traffic its SA does not cover: sealed with the SA's own keys.
  const t = espTransform(pair.out);
  assert.ok(typeof t !== "string");
  const seal = (seq: number, inner: Uint8Array, nextHeader = 4) =>
    espSeal(t, 0x2003, seq, new Uint8Array(8).fill(seq), inner, nextHeader);
  assert.equal(east.dp.receiveEsp(seal(1, ipv4("198.51.101.7", "203.0.113.9"))), false);
  assert.equal(east.dp.receiveEsp(seal(2, ipv4("198.51.100.7", "192.0.2.99"))), false);
  assert.equal(east.dp.receiveEsp(seal(3, ipv6("2001:db8:1::1", "2001:db8:2::1"), 41)), false);
  // Dummy (TFC) packets, other next headers and garbage inner packets.
  assert.equal(east.dp.receiveEsp(seal(4, new Uint8Array(0), 59)), false);
  assert.equal(east.dp.receiveEsp(seal(5, ipv4("198.51.100.7", "203.0.113.9"), 6)), false);
  assert.equal(east.dp.receiveEsp(seal(6, new Uint8Array(30).fill(0x45), 4)), false);
  assert.equal(east.dp.receiveEsp(seal(7, ipv4("198.51.100.7", "203.0.113.9"), 41)), false);
  assert.equal(east.delivered.length, 0);
  assert.deepEqual(drops(east.dp), {
    selector: 3,
    dummy: 1,
    "next-header": 1,
    "inner-malformed": 2,
  });
  // TFC padding after the inner packet is cut off; the packet itself is delivered.
  const inner = ipv4("198.51.100.7", "203.0.113.9");
  const padded = new Uint8Array(inner.length + 100);
  padded.set(inner);
  assert.ok(east.dp.receiveEsp(seal(8, padded)));
  assert.deepEqual(east.delivered, [inner]);
});

Deno.test("datapath: outbound lookup takes the most specific policy; misses are counted", () => {
  const wide = saPair(0x3001, { dst: "203.0.113.0/24" });
  const narrow = saPair(0x3002, { dst: "203.0.113.128/25" });
  const port = saPair(0x3003, { dst: "203.0.113.128/25/udp/53" });
  const { dp, sent } = datapath();
  for (const p of [wide, narrow, port]) dp.spd.addSa(dp.sad.add(p.out));
  const spiFor = (dst: string, dstPort = 53) => {
    dp.sendPacket(ipv4("198.51.100.7", dst, { dstPort }));
    return espHeader(sent.at(-1)!.packet)!.spi;
  };
  assert.equal(spiFor("203.0.113.200"), 0x3003);
  assert.equal(spiFor("203.0.113.200", 54), 0x3002);
  assert.equal(spiFor("203.0.113.5"), 0x3001);
  assert.equal(dp.sendPacket(ipv4("198.51.100.7", "192.0.2.77")), false);
  assert.equal(dp.sendPacket(new Uint8Array([0x45, 0, 0])), false);
  assert.deepEqual(drops(dp), { "no-policy": 1, "not-ip": 1 });

  // After a rekey the newest SA carries the traffic; deleting it falls back to the older one.
  const rekeyed = saPair(0x3004, { dst: "203.0.113.0/24" });
  const newest = dp.sad.add(rekeyed.out);
  dp.spd.addSa(newest);
  assert.equal(spiFor("203.0.113.5"), 0x3004);
  dp.spd.removeSa(newest);
  assert.equal(spiFor("203.0.113.5"), 0x3001);
});

Deno.test("datapath: a non-initial IPv6 fragment matches only selectors without ports", () => {
  const withPort = saPair(0x3101, { src: "2001:db8:1::/64", dst: "2001:db8:2::/64/udp/53" });
  const { dp, sent } = datapath();
  dp.spd.addSa(dp.sad.add(withPort.out));
  assert.ok(dp.sendPacket(ipv6("2001:db8:1::1", "2001:db8:2::1")));
  assert.ok(dp.sendPacket(ipv6("2001:db8:1::1", "2001:db8:2::1", 0)), "first fragment has ports");
  assert.equal(dp.sendPacket(ipv6("2001:db8:1::1", "2001:db8:2::1", 100)), false);
  assert.equal(sent.length, 2);
  assert.deepEqual(drops(dp), { "no-policy": 1 });
});

Deno.test("datapath: a trap raises one acquire per second and drops the packet", () => {
  let clock = 0;
  const { dp, acquires, sent } = datapath(() => clock);
  dp.spd.trap(sel("198.51.100.0/24"), sel("203.0.113.0/24"));
  for (let i = 0; i < 5; i++) dp.sendPacket(ipv4("198.51.100.7", "203.0.113.9", { protocol: 6 }));
  assert.equal(acquires.length, 1);
  assert.deepEqual(acquires[0].packet, {
    src: parseAddress("198.51.100.7"),
    dst: parseAddress("203.0.113.9"),
    protocol: 6,
    srcPort: 1234,
    dstPort: 53,
  });
  assert.deepEqual(acquires[0].remote, sel("203.0.113.0/24"));
  clock = 999;
  dp.sendPacket(ipv4("198.51.100.7", "203.0.113.9"));
  assert.equal(acquires.length, 1);
  clock = 1000;
  dp.sendPacket(ipv4("198.51.100.7", "203.0.113.9"));
  assert.equal(acquires.length, 2);
  assert.equal(sent.length, 0);
  assert.deepEqual(drops(dp), { "no-sa": 7 });
  // The SA arrives: traffic flows, no more acquires.
  dp.spd.addSa(dp.sad.add(saPair(0x4001).out));
  assert.ok(dp.sendPacket(ipv4("198.51.100.7", "203.0.113.9")));
  dp.spd.untrap(sel("198.51.100.0/24"), sel("203.0.113.0/24"));
  assert.ok(dp.sendPacket(ipv4("198.51.100.7", "203.0.113.9")), "the SA keeps its entry");
});

Deno.test("datapath ESN: sequence numbers cross 2^32 on both ends; without ESN the SA stops", () => {
  const { west, east } = tunnel(saPair(0x5001, { esn: true, gcm: false }));
  west.dp.sad.find(EAST, 0x5001)!.seq = TWO_32 - 3;
  east.dp.sad.inbound(0x5001)!.replay!.accept(TWO_32 - 10);
  for (let i = 0; i < 5; i++) {
    assert.ok(west.dp.sendPacket(ipv4("198.51.100.7", "203.0.113.9")));
    assert.ok(east.dp.receiveEsp(west.sent.at(-1)!.packet), `packet ${i}`);
  }
  assert.deepEqual(espHeader(west.sent.at(-1)!.packet)!.seqLow, 2);
  assert.equal(east.dp.sad.inbound(0x5001)!.replay!.top, TWO_32 + 2);
  assert.deepEqual(drops(east.dp), {});

  const plain = tunnel(saPair(0x5002));
  plain.west.dp.sad.find(EAST, 0x5002)!.seq = TWO_32 - 2;
  assert.ok(plain.west.dp.sendPacket(ipv4("198.51.100.7", "203.0.113.9")));
  assert.equal(plain.west.dp.sendPacket(ipv4("198.51.100.7", "203.0.113.9")), false);
  assert.deepEqual(drops(plain.west.dp), { "seq-exhausted": 1 });
});
