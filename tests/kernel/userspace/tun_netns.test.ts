/**
 * Two userspace ESP datapaths in two network namespaces, keyed by hand (no
 * IKE): each namespace runs esp_peer.ts (a TUN device plus an ESP-in-UDP
 * socket on its veth address). ping and a TCP echo between the inner
 * addresses must work, nftables counters on the veth must see ESP-in-UDP
 * and no clear ICMP, and both ends must count the traffic with no drops.
 * Needs root.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { ENCR_AES_CBC, ENCR_AES_GCM_16 } from "../../../src/crypto/encr.ts";
import { AUTH_HMAC_SHA2_256_128 } from "../../../src/crypto/integ.ts";
import {
  type CommandResult,
  eventually,
  Lab,
  type NamespaceDaemon,
  type NamespacePair,
  runIn,
} from "../../netns/lab.ts";
import type { PeerConfig } from "./esp_peer.ts";

const PEER = fileURLToPath(new URL("./esp_peer.ts", import.meta.url));
const ECHO = fileURLToPath(new URL("./tcp_echo.ts", import.meta.url));
const NAT_T_PORT = 4500;
const ECHO_PORT = 7777;
const READY_MS = 15_000;

function key(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

/**
 * Counts, with nftables `counter` rules, what leaves eth0: ESP-in-UDP, and
 * anything addressed to the protected remote subnet in the clear.
 */
async function installCounters(ns: string, remoteSubnet: string): Promise<void> {
  const family = remoteSubnet.includes(":") ? "ip6" : "ip";
  const script = [
    "table inet swan_esp_test {",
    "  chain out {",
    "    type filter hook output priority 0;",
    `    oifname "eth0" udp dport ${NAT_T_PORT} counter comment "esp"`,
    `    oifname "eth0" ${family} daddr ${remoteSubnet} counter comment "clear"`,
    "  }",
    "}",
  ].join("\n");
  const file = await Deno.makeTempFile({ prefix: "swan-nft-" });
  try {
    await Deno.writeTextFile(file, script);
    const r = await runIn(ns, ["nft", "-f", file], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, `nft -f: ${r.stderr}`);
  } finally {
    await Deno.remove(file);
  }
}

async function counters(ns: string): Promise<{ esp: number; clear: number }> {
  const r = await runIn(ns, ["nft", "list", "table", "inet", "swan_esp_test"], {
    timeoutMs: 10_000,
  });
  assert.equal(r.code, 0, r.stderr);
  const count = (name: string) =>
    Number(r.stdout.match(new RegExp(`counter packets (\\d+) bytes \\d+ comment "${name}"`))?.[1]);
  return { esp: count("esp"), clear: count("clear") };
}

function assertOk(result: CommandResult, what: string): void {
  assert.equal(result.code, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`);
}

interface PeerStats {
  device: string;
  in: { bytes: number; packets: number };
  out: { bytes: number; packets: number };
  drops: Record<string, number>;
}

async function stopPeer(peer: NamespaceDaemon): Promise<PeerStats> {
  await peer.stop();
  const line = peer.stdout().split("\n").find((l) => l.startsWith("stats "));
  assert.ok(line, `${peer.label} printed no stats; stderr:\n${peer.log()}`);
  return JSON.parse(line.slice("stats ".length));
}

interface TunnelCase {
  v6: boolean;
  encrId: number;
  encrKeyBits: number;
  integId: number;
  esn: boolean;
}

/** The algorithms' key material sizes: AEAD key + 4-byte salt, or CBC key + HMAC key. */
function keys(c: TunnelCase, spi: number) {
  const aead = c.integId === 0;
  return {
    spi,
    encrKey: key(c.encrKeyBits / 8 + (aead ? 4 : 0)),
    integKey: aead ? "" : key(32),
  };
}

/** Starts an esp_peer on both ends of `pair` with matching hand-made SAs. */
async function startPeers(lab: Lab, pair: NamespacePair, c: TunnelCase, trap?: PeerConfig["trap"]) {
  const { west, east } = pair;
  const westToEast = keys(c, 0x1000_0001);
  const eastToWest = keys(c, 0x1000_0002);
  const common = {
    device: "ipsec0",
    port: NAT_T_PORT,
    encrId: c.encrId,
    encrKeyBits: c.encrKeyBits,
    integId: c.integId,
    esn: c.esn,
    replayWindow: 128,
  };
  const side = (me: typeof west, peer: typeof east) => ({
    ...common,
    local: c.v6 ? me.v6! : me.v4,
    remote: c.v6 ? peer.v6! : peer.v4,
    localSubnet: c.v6 ? me.subnet6! : me.subnet,
    remoteSubnet: c.v6 ? peer.subnet6! : peer.subnet,
  });
  const westConfig: PeerConfig = { ...side(west, east), out: westToEast, in: eastToWest, trap };
  const eastConfig: PeerConfig = { ...side(east, west), out: eastToWest, in: westToEast };
  const peer = (ns: string, config: PeerConfig, label: string) =>
    lab.spawnDaemon(ns, [Deno.execPath(), "run", "-A", PEER, JSON.stringify(config)], {
      label,
      readyLine: "ready",
      readyTimeoutMs: READY_MS,
    });
  return await Promise.all([
    peer(west.ns, westConfig, "esp_peer west"),
    peer(east.ns, eastConfig, "esp_peer east"),
  ]);
}

function ping(ns: string, address: string, count: number): Promise<CommandResult> {
  const family = address.includes(":") ? "-6" : "-4";
  return runIn(ns, ["ping", family, "-n", "-c", String(count), "-i", "0.2", "-W", "2", address]);
}

/** Stops both peers and checks that each received exactly what the other sent, dropping nothing. */
async function assertClean(
  westPeer: NamespaceDaemon,
  eastPeer: NamespaceDaemon,
  minPackets: number,
) {
  const westStats = await stopPeer(westPeer);
  const eastStats = await stopPeer(eastPeer);
  assert.equal(westStats.device, "ipsec0");
  assert.ok(westStats.out.packets >= minPackets, `west sent ${westStats.out.packets} packets`);
  assert.ok(eastStats.out.packets >= minPackets, `east sent ${eastStats.out.packets} packets`);
  assert.deepEqual(westStats.in, eastStats.out, "west received everything east sent");
  assert.deepEqual(eastStats.in, westStats.out, "east received everything west sent");
  assert.deepEqual(westStats.drops, {});
  assert.deepEqual(eastStats.drops, {});
  return { westStats, eastStats };
}

Deno.test("userspace ESP over TUN, IPv4, AES-GCM-16 in UDP: ping and a TCP transfer", async () => {
  await using lab = await Lab.create();
  const pair = await lab.createPair();
  const { west, east } = pair;
  const [westPeer, eastPeer] = await startPeers(lab, pair, {
    v6: false,
    encrId: ENCR_AES_GCM_16,
    encrKeyBits: 128,
    integId: 0,
    esn: false,
  });
  await installCounters(west.ns, east.subnet);
  await lab.spawnDaemon(
    east.ns,
    [Deno.execPath(), "run", "-A", ECHO, "server", east.inner, String(ECHO_PORT)],
    { label: "tcp echo", readyLine: "listening", readyTimeoutMs: READY_MS },
  );

  const pinged = await ping(west.ns, east.inner, 3);
  assertOk(pinged, `ping ${east.inner} from ${west.ns}`);
  assert.match(pinged.stdout, /3 packets transmitted, 3 received/);

  const bytes = 256 * 1024;
  const echo = await runIn(
    west.ns,
    [Deno.execPath(), "run", "-A", ECHO, "client", east.inner, String(ECHO_PORT), String(bytes)],
    { timeoutMs: 20_000 },
  );
  assertOk(echo, "TCP echo through the tunnel");
  assert.match(echo.stdout, new RegExp(`echoed ${bytes} bytes`));

  const wire = await counters(west.ns);
  assert.ok(wire.esp >= 3, `ESP-in-UDP packets on west eth0: ${wire.esp}`);
  assert.equal(wire.clear, 0, "traffic to east's subnet left west on eth0 in the clear");

  const { westStats } = await assertClean(westPeer, eastPeer, 3);
  assert.ok(westStats.out.bytes > bytes, `west sent ${westStats.out.bytes} inner bytes`);
});

Deno.test("userspace ESP over TUN, IPv6, AES-CBC/HMAC-SHA2-256 with ESN: ping; a trap acquires", async () => {
  await using lab = await Lab.create();
  const pair = await lab.createPair({ v6: true });
  const { west, east } = pair;
  const trapped = "2001:db8:3::/64";
  const [westPeer, eastPeer] = await startPeers(lab, pair, {
    v6: true,
    encrId: ENCR_AES_CBC,
    encrKeyBits: 256,
    integId: AUTH_HMAC_SHA2_256_128,
    esn: true,
  }, { local: west.subnet6!, remote: trapped });
  await installCounters(west.ns, east.subnet6!);

  const pinged = await ping(west.ns, east.inner6!, 3);
  assertOk(pinged, `ping ${east.inner6} from ${west.ns}`);
  assert.match(pinged.stdout, /3 packets transmitted, 3 received/);

  // The trap's route leads into the device; with no SA the packet becomes an acquire.
  const sent = await runIn(west.ns, ["bash", "-c", "echo x > /dev/udp/2001:db8:3::1/9"]);
  assertOk(sent, "a UDP packet into the trap");
  const acquire = await eventually(
    () => Promise.resolve(westPeer.stdout().split("\n").find((l) => l.startsWith("acquire "))),
    (line) => line !== undefined,
    { timeoutMs: 5_000, intervalMs: 50 },
  );
  assert.ok(acquire, `no acquire; stdout:\n${westPeer.stdout()}`);
  assert.deepEqual(JSON.parse(acquire.slice("acquire ".length)), {
    src: west.inner6,
    dst: "2001:db8:3::1",
    remote: trapped,
  });

  const wire = await counters(west.ns);
  assert.ok(wire.esp >= 3, `ESP-in-UDP packets on west eth0: ${wire.esp}`);
  assert.equal(wire.clear, 0, "traffic to east's subnet left west on eth0 in the clear");

  const westStats = await stopPeer(westPeer);
  const eastStats = await stopPeer(eastPeer);
  assert.deepEqual(westStats.in, eastStats.out);
  assert.deepEqual(eastStats.in, westStats.out);
  assert.deepEqual(westStats.drops, { "no-sa": 1 });
  assert.deepEqual(eastStats.drops, {});
});
