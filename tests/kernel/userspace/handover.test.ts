/**
 * The datapath's SA handover and byte/packet limits, two datapaths back to
 * back in memory with a hand-driven clock:
 *
 * - the initiator of a rekey sends on the new SA at once; the responder's
 *   new pair (inbound, then outbound, as a Child SA is installed) carries
 *   nothing until the peer has proved it has the keys (its first packet on
 *   the new inbound SA), the old SA is gone, or HANDOVER_MAX_MS passed — so
 *   no packet ever reaches a peer that cannot open it;
 * - soft and hard limits are reported once each, at the packet that reaches
 *   them; a hard-expired SA carries nothing more in either direction.
 */
import assert from "node:assert/strict";
import { parseAddress, parseSelector, type Selector } from "../../../src/config/addresses.ts";
import { ENCR_AES_GCM_16 } from "../../../src/crypto/encr.ts";
import { systemEntropy } from "../../../src/crypto/random.ts";
import type { KernelSa } from "../../../src/kernel/kernel.ts";
import { Datapath, HANDOVER_MAX_MS } from "../../../src/kernel/userspace/datapath.ts";
import { espHeader } from "../../../src/kernel/userspace/esp_codec.ts";
import type { EspSa } from "../../../src/kernel/userspace/sa_database.ts";

const WEST = parseAddress("192.0.2.1")!;
const EAST = parseAddress("192.0.2.2")!;
const WEST_NET = "198.51.100.0/24";
const EAST_NET = "203.0.113.0/24";

function sel(text: string): Selector {
  const r = parseSelector(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/** An IPv4 UDP packet of `size` bytes from `src` to `dst`. */
function packet(src: string, dst: string, size = 100): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = 0x45;
  new DataView(p.buffer).setUint16(2, size);
  p[8] = 64;
  p[9] = 17;
  p.set(parseAddress(src)!.bytes, 12);
  p.set(parseAddress(dst)!.bytes, 16);
  return p;
}

/** One side: its datapath, the ESP it sent (by SPI), what it delivered, its limit reports. */
function side(clock: { now: number }) {
  const wire: Uint8Array[] = [];
  const expired: { spi: number; hard: boolean }[] = [];
  let delivered = 0;
  const dp = new Datapath({
    entropy: systemEntropy,
    sendEsp: (_from, _to, esp) => wire.push(esp),
    deliver: () => (delivered++, true),
    onExpire: (sa: EspSa, hard) => expired.push({ spi: sa.config.spi, hard }),
    now: () => clock.now,
  });
  return { dp, wire, expired, delivered: () => delivered };
}

type Side = ReturnType<typeof side>;

/** The two directions of one Child SA between west and east, as `us` installs them. */
function childSa(
  us: "west" | "east",
  spiToEast: number,
  spiToWest: number,
  key: number,
  { limits, peerReady }: Pick<KernelSa, "limits" | "peerReady"> = {},
): { inbound: KernelSa; outbound: KernelSa } {
  const common = {
    mode: "tunnel" as const,
    encrId: ENCR_AES_GCM_16,
    encrKeyBits: 128,
    integId: 0,
    integKey: new Uint8Array(0),
    esn: false,
    replayWindow: 64,
    encap: { srcPort: 4500, dstPort: 4500 },
    limits,
    peerReady,
  };
  const toEast: KernelSa = {
    ...common,
    src: WEST,
    dst: EAST,
    spi: spiToEast,
    inbound: us === "east",
    encrKey: new Uint8Array(20).fill(key),
    srcSelector: sel(WEST_NET),
    dstSelector: sel(EAST_NET),
  };
  const toWest: KernelSa = {
    ...common,
    src: EAST,
    dst: WEST,
    spi: spiToWest,
    inbound: us === "west",
    encrKey: new Uint8Array(20).fill(key + 1),
    srcSelector: sel(EAST_NET),
    dstSelector: sel(WEST_NET),
  };
  return us === "west"
    ? { inbound: toWest, outbound: toEast }
    : { inbound: toEast, outbound: toWest };
}

/** Installs a Child SA as the engine does: inbound first, then outbound. */
function install(s: Side, sa: { inbound: KernelSa; outbound: KernelSa }): void {
  s.dp.install(sa.inbound);
  s.dp.install(sa.outbound);
}

/** Sends one packet from `from` to `to` and returns the SPI it went out with (and whether `to` took it). */
function send(from: Side, to: Side, fromWest: boolean): { spi: number; delivered: boolean } {
  const inner = fromWest
    ? packet("198.51.100.1", "203.0.113.1")
    : packet("203.0.113.1", "198.51.100.1");
  assert.ok(from.dp.sendPacket(inner), "the packet was not sent");
  const esp = from.wire.at(-1)!;
  return { spi: espHeader(esp)!.spi, delivered: to.dp.receiveEsp(esp) };
}

Deno.test("handover: a rekeyed SA carries traffic only once the peer has its keys", () => {
  const clock = { now: 0 };
  const west = side(clock);
  const east = side(clock);
  install(west, childSa("west", 0x1001, 0x2001, 1));
  install(east, childSa("east", 0x1001, 0x2001, 1));
  assert.deepEqual(send(west, east, true), { spi: 0x1001, delivered: true });

  // West rekeys. East answers: it has the new pair, west does not yet, so east keeps the old one.
  install(east, childSa("east", 0x1002, 0x2002, 7));
  assert.deepEqual(send(east, west, false), { spi: 0x2001, delivered: true });
  // West processes the answer: east is ready, west moves on at once …
  install(west, childSa("west", 0x1002, 0x2002, 7, { peerReady: true }));
  assert.deepEqual(send(west, east, true), { spi: 0x1002, delivered: true });
  // … and that packet proves to east that west has the keys.
  assert.deepEqual(send(east, west, false), { spi: 0x2002, delivered: true });
  // West's Delete of the old Child SA: both ends remove both directions.
  for (const s of [west, east]) {
    s.dp.uninstall(EAST, 0x1001);
    s.dp.uninstall(WEST, 0x2001);
  }

  // Another rekey, and east sends first after answering: still the old SA, until east's
  // Delete of the old outbound SA (the peer deleted the old Child SA) lets it move on.
  install(east, childSa("east", 0x1003, 0x2003, 9));
  assert.deepEqual(send(east, west, false), { spi: 0x2002, delivered: true });
  install(west, childSa("west", 0x1003, 0x2003, 9, { peerReady: true }));
  east.dp.uninstall(WEST, 0x2002);
  assert.deepEqual(send(east, west, false), { spi: 0x2003, delivered: true });
  assert.deepEqual(Object.fromEntries(west.dp.drops()), {});
  assert.deepEqual(Object.fromEntries(east.dp.drops()), {});
});

Deno.test("handover: a silent peer gets the new SA after HANDOVER_MAX_MS, and a sole SA is used at once", () => {
  const clock = { now: 1000 };
  const west = side(clock);
  const east = side(clock);
  install(west, childSa("west", 0x1001, 0x2001, 1));
  install(east, childSa("east", 0x1001, 0x2001, 1));
  install(west, childSa("west", 0x1002, 0x2002, 7));
  install(east, childSa("east", 0x1002, 0x2002, 7));
  clock.now += HANDOVER_MAX_MS - 1;
  assert.equal(send(west, east, true).spi, 0x1001);
  clock.now += 1;
  assert.deepEqual(send(west, east, true), { spi: 0x1002, delivered: true });

  // A Child SA with no older one to wait for carries traffic at once.
  const other = side(clock);
  install(other, childSa("west", 0x1003, 0x2003, 3));
  assert.equal(send(other, east, true).spi, 0x1003);
});

Deno.test("limits: soft and hard reported once each; a hard-expired SA carries nothing", () => {
  const clock = { now: 0 };
  const west = side(clock);
  const east = side(clock);
  // 100-byte packets: soft after 3 packets (300 bytes), hard after 5.
  const limits = { softBytes: 300n, hardBytes: 500n, softPackets: 1000n, hardPackets: 1000n };
  install(west, childSa("west", 0x1001, 0x2001, 1, { limits }));
  install(east, childSa("east", 0x1001, 0x2001, 1, { limits }));
  for (let i = 0; i < 2; i++) send(west, east, true);
  assert.deepEqual(west.expired, []);
  send(west, east, true);
  assert.deepEqual(west.expired, [{ spi: 0x1001, hard: false }]);
  assert.deepEqual(east.expired, [{ spi: 0x1001, hard: false }]);
  send(west, east, true);
  send(west, east, true);
  assert.deepEqual(west.expired, [{ spi: 0x1001, hard: false }, { spi: 0x1001, hard: true }]);
  assert.equal(east.delivered(), 5);

  // Expired outbound: nothing to send with; an injected packet on the expired inbound is refused.
  assert.equal(west.dp.sendPacket(packet("198.51.100.1", "203.0.113.1")), false);
  assert.equal(east.dp.receiveEsp(west.wire.at(-1)!), false);
  assert.deepEqual(Object.fromEntries(west.dp.drops()), { expired: 1 });
  assert.deepEqual(Object.fromEntries(east.dp.drops()), { expired: 1 });

  // The rekeyed SA takes over at once: nothing older is usable.
  install(west, childSa("west", 0x1002, 0x2002, 7, { limits }));
  install(east, childSa("east", 0x1002, 0x2002, 7, { limits }));
  assert.deepEqual(send(west, east, true), { spi: 0x1002, delivered: true });
  assert.equal(west.expired.length, 2, "no report for the new SA yet");
});

Deno.test("limits: a packet limit counts packets, whatever their size", () => {
  const clock = { now: 0 };
  const west = side(clock);
  const east = side(clock);
  const limits = { softBytes: 1n << 62n, hardBytes: 1n << 62n, softPackets: 2n, hardPackets: 3n };
  install(west, childSa("west", 0x1001, 0x2001, 1, { limits }));
  install(east, childSa("east", 0x1001, 0x2001, 1, { limits }));
  for (let i = 0; i < 3; i++) send(east, west, false);
  assert.deepEqual(east.expired, [{ spi: 0x2001, hard: false }, { spi: 0x2001, hard: true }]);
  assert.deepEqual(west.expired, [{ spi: 0x2001, hard: false }, { spi: 0x2001, hard: true }]);
});
