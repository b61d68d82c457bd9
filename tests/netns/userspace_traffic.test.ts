/**
 * Real traffic through two swan daemons with `--protostack userspace`:
 *
 * - ping and a TCP echo (random bytes, compared byte for byte) between the
 *   inner subnets before and after Child SA rekeys started from each side,
 *   with a fast ping running across each rekey that must lose nothing (the
 *   SA handover is make-before-break);
 * - a replayed, a corrupted and a wrong-SPI copy of an ESP datagram captured
 *   on the wire are dropped and counted under their reasons, and ping sees
 *   no duplicate;
 * - `--ipsec-max-bytes`: the datapath's soft limit makes the engine rekey,
 *   and traffic goes on without loss across the byte-lifetime rekeys;
 * - the same through a real NAT (an nftables masquerade namespace).
 *
 * Needs root.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Lab, listNamespaces, type Pluto, run, startPluto } from "./lab.ts";
import {
  assertNoLoss,
  assertTcpEcho,
  espDrops,
  injectEsp,
  ping,
  type PingResult,
  startEchoServer,
} from "./traffic.ts";

const SECRETS = '@west @east : PSK "traffic is the only proof a datapath works"\n';
const USERSPACE = ["--protostack", "userspace"];
/** Enough TCP to fill windows and segment at the tunnel MTU, small enough for CI. */
const TCP_BYTES = 2 * 1024 * 1024;

function connection(
  west: { host: string; subnet: string },
  east: { host: string; subnet: string },
  extra: string[] = [],
): string[] {
  return [
    ...["--name", "west-east", "--psk", "--ikev2", ...extra],
    ...["--host", west.host, "--id", "@west", "--subnet", west.subnet, "--to"],
    ...["--host", east.host, "--id", "@east", "--subnet", east.subnet],
  ];
}

async function addBoth(w: Pluto, e: Pluto, westConn: string[], eastConn: string[]): Promise<void> {
  for (const [p, conn] of [[w, westConn], [e, eastConn]] as const) {
    const added = await p.whack(conn);
    assert.equal(added.code, 0, added.stdout + added.stderr);
    assert.equal((await p.whack(["--listen"])).code, 0);
  }
}

/** The SPIs of the established Child SAs of west-east, as `--status` lists them. */
async function childSpis(p: Pluto): Promise<string[]> {
  const status = (await p.whack(["--status"])).stdout;
  return [...status.matchAll(/"west-east"\S* .*?esp[.:]([0-9a-f]+)@/g)].map((m) => m[1]);
}

/**
 * Runs a 2 ms ping (500 packets a second) for `seconds` while `during` runs;
 * returns ping's result. Fails when `during` outlasts the ping: then the ping
 * would not have covered what it is meant to test (a slow CI machine).
 */
async function pingAcross(
  ns: string,
  src: string,
  dst: string,
  during: () => Promise<void>,
  seconds = 3,
): Promise<PingResult> {
  let pingDone = false;
  const pinging = ping(ns, src, dst, { count: seconds * 500, interval: 0.002 }).finally(() => {
    pingDone = true;
  });
  await new Promise((r) => setTimeout(r, 300));
  await during();
  assert.ok(
    !pingDone,
    `the ping (${seconds} s) ended before the operation it should span finished`,
  );
  return await pinging;
}

/**
 * Runs a TCP echo of `bytes` while `during` runs, `during` starting once the
 * transfer is under way (the echo client takes a moment to start).
 */
async function tcpAcross(
  ns: string,
  dst: string,
  bytes: number,
  during: () => Promise<void>,
  diagnostics: () => string,
): Promise<void> {
  const echoing = assertTcpEcho(ns, dst, bytes, diagnostics);
  await new Promise((r) => setTimeout(r, 500));
  await during();
  await echoing;
}

Deno.test("userspace traffic swan↔swan: ping and TCP across rekeys from both ends, none lost; injected ESP dropped", async () => {
  await using lab = await Lab.create();
  const { west, east } = await lab.createPair();
  const w = await lab.startPluto(west.ns, { secrets: SECRETS, extraArgs: USERSPACE });
  const e = await lab.startPluto(east.ns, { secrets: SECRETS, extraArgs: USERSPACE });
  const ends = {
    west: { host: west.v4, subnet: west.subnet },
    east: { host: east.v4, subnet: east.subnet },
  };
  await addBoth(w, e, connection(ends.west, ends.east), connection(ends.west, ends.east));
  const up = await w.whack(["--name", "west-east", "--initiate"]);
  assert.equal(up.code, 0, up.stdout + w.log());
  await startEchoServer(lab, east.ns, east.inner);
  const logs = () => `--- west ---\n${w.log()}\n--- east ---\n${e.log()}`;

  assertNoLoss(await ping(west.ns, west.inner, east.inner), "ping before any rekey", logs());
  await assertTcpEcho(west.ns, east.inner, TCP_BYTES, logs);

  // Rekeys from the initiator, then from the responder: swan is each time once each role.
  // A fast ping across one rekey must lose nothing; a TCP transfer saturating the tunnel
  // across another leaves no datapath drop behind (a packet sent on keys its receiver
  // does not have yet would be an unknown SPI there).
  const rekey = (who: string, p: Pluto) => async () => {
    const r = await p.whack(["--name", "west-east", "--rekey-child"]);
    assert.equal(r.code, 0, `${who} --rekey-child\n${r.stdout}\n${logs()}`);
  };
  for (const [who, p] of [["west", w], ["east", e]] as const) {
    const before = await childSpis(w);
    const pinged = await pingAcross(west.ns, west.inner, east.inner, rekey(who, p));
    assertNoLoss(pinged, `ping across a Child SA rekey from ${who}`, logs());
    await tcpAcross(west.ns, east.inner, 4 * TCP_BYTES, rekey(who, p), logs);
    const after = await childSpis(w);
    assert.ok(
      after.length > 0 && !after.some((spi) => before.includes(spi)),
      `${who}'s rekeys: SPIs before ${before}, after ${after}`,
    );
    assert.deepEqual(await espDrops(w), {}, `west dropped packets across ${who}'s rekeys`);
    assert.deepEqual(await espDrops(e), {}, `east dropped packets across ${who}'s rekeys`);
  }

  // Packets off the wire that must not be delivered; the ping running meanwhile must see no duplicate.
  const dropsBefore = await espDrops(e);
  let injected: Awaited<ReturnType<typeof injectEsp>> | undefined;
  // Long enough to outlast the injector's start-up: it needs a datagram to capture.
  const pinged = await pingAcross(west.ns, west.inner, east.inner, async () => {
    injected = await injectEsp(west.ns, west.v4, east.v4);
  }, 12);
  assertNoLoss(pinged, "ping while ESP was injected", logs());
  const drops = await espDrops(e);
  const grew = (reason: string) => (drops[reason] ?? 0) - (dropsBefore[reason] ?? 0);
  const seen = `injected ${JSON.stringify(injected)}; east drops ${JSON.stringify(drops)}`;
  assert.equal(grew("replay-duplicate"), 1, seen);
  assert.equal(grew("integrity"), 1, seen);
  assert.equal(grew("unknown-spi"), 1, seen);
});

Deno.test("userspace traffic: --ipsec-max-bytes rekeys the Child SA at its soft limit, traffic goes on", async () => {
  await using lab = await Lab.create();
  const { west, east } = await lab.createPair();
  const w = await lab.startPluto(west.ns, { secrets: SECRETS, extraArgs: USERSPACE });
  const e = await lab.startPluto(east.ns, { secrets: SECRETS, extraArgs: USERSPACE });
  // 1000-byte pings every 10 ms carry ~100 kB/s each way: the soft limit (80 %) comes after ~1 s.
  const limit = ["--ipsec-max-bytes", "125000"];
  const ends = {
    west: { host: west.v4, subnet: west.subnet },
    east: { host: east.v4, subnet: east.subnet },
  };
  await addBoth(
    w,
    e,
    connection(ends.west, ends.east, limit),
    connection(ends.west, ends.east, limit),
  );
  const up = await w.whack(["--name", "west-east", "--initiate"]);
  assert.equal(up.code, 0, up.stdout + w.log());
  const first = await childSpis(w);
  const logs = () => `--- west ---\n${w.log()}\n--- east ---\n${e.log()}`;

  const pinged = await ping(west.ns, west.inner, east.inner, {
    count: 250,
    interval: 0.01,
    size: 1000,
  });
  assertNoLoss(pinged, "ping across byte-lifetime rekeys", logs());
  const rekeys = [...w.log().matchAll(/rekeyed Child SA #\d+/g)].length;
  assert.ok(rekeys >= 2, `west rekeyed ${rekeys} times for 250 kB each way\n${logs()}`);
  assert.match(w.log(), /soft limit reached; rekeying/);
  assert.doesNotMatch(w.log() + e.log(), /hard limit reached/);
  const now = await childSpis(w);
  assert.ok(!now.some((spi) => first.includes(spi)), `SPIs ${first} still in use: ${now}`);
  assert.deepEqual(await espDrops(e), {}, "east dropped packets across the rekeys");
});

async function sh(...argv: string[]): Promise<void> {
  const r = await run(argv);
  if (r.code !== 0) throw new Error(`\`${argv.join(" ")}\` failed (${r.code}): ${r.stderr}`);
}

Deno.test("userspace traffic through a real NAT: ping and TCP between subnets", async () => {
  const id = `swan-${Deno.pid}-${randomBytes(4).toString("hex")}`;
  const [west, nat, east] = ["west", "nat", "east"].map((r) => `${id}-${r}`);
  const daemons: Pluto[] = [];
  const lab = await Lab.create();
  try {
    for (const ns of [west, nat, east]) {
      await sh("ip", "netns", "add", ns);
      await sh("ip", "-n", ns, "link", "set", "lo", "up");
    }
    await sh("ip", "-n", west, ..."link add eth0 type veth peer name eth0 netns".split(" "), nat);
    await sh("ip", "-n", east, ..."link add eth0 type veth peer name eth1 netns".split(" "), nat);
    // west: outside 198.51.100.10/25 behind the NAT, inside 198.51.100.129/26 (on lo).
    await sh("ip", "-n", west, "addr", "add", "198.51.100.10/25", "dev", "eth0");
    await sh("ip", "-n", west, "addr", "add", "198.51.100.129/26", "dev", "lo");
    await sh("ip", "-n", nat, "addr", "add", "198.51.100.1/25", "dev", "eth0");
    await sh("ip", "-n", nat, "addr", "add", "192.0.2.254/24", "dev", "eth1");
    await sh("ip", "-n", east, "addr", "add", "192.0.2.2/24", "dev", "eth0");
    await sh("ip", "-n", east, "addr", "add", "203.0.113.1/24", "dev", "lo");
    for (const [ns, dev] of [[west, "eth0"], [nat, "eth0"], [nat, "eth1"], [east, "eth0"]]) {
      await sh("ip", "-n", ns, "link", "set", dev, "up");
    }
    await sh("ip", "-n", west, "route", "add", "default", "via", "198.51.100.1");
    await sh("ip", "netns", "exec", nat, "sysctl", "-qw", "net.ipv4.ip_forward=1");
    const rules = `table ip ${id.replaceAll("-", "_")} {
  chain postrouting { type nat hook postrouting priority srcnat; oifname "eth1" masquerade; }
}`;
    await Deno.writeTextFile(`/tmp/${id}.nft`, rules);
    await sh("ip", "netns", "exec", nat, "nft", "-f", `/tmp/${id}.nft`);

    const w = await startPluto(west, { secrets: SECRETS, extraArgs: USERSPACE });
    daemons.push(w);
    const e = await startPluto(east, { secrets: SECRETS, extraArgs: USERSPACE });
    daemons.push(e);
    const inside = { subnet: "198.51.100.128/26" };
    const eastEnd = { host: "192.0.2.2", subnet: "203.0.113.0/24" };
    // East knows west only as the NAT's address.
    await addBoth(
      w,
      e,
      connection({ host: "198.51.100.10", ...inside }, eastEnd),
      connection({ host: "192.0.2.254", ...inside }, eastEnd),
    );
    const up = await w.whack(["--name", "west-east", "--initiate"]);
    assert.equal(up.code, 0, up.stdout + w.log());
    assert.match(up.stdout, /\{ESPinUDP/);
    await lab.spawnDaemon(east, [
      ...[Deno.execPath(), "run", "-A"],
      new URL("../kernel/userspace/tcp_echo.ts", import.meta.url).pathname,
      ...["server", "203.0.113.1", "7777"],
    ], { label: "tcp echo", readyLine: "listening", readyTimeoutMs: 15_000 });
    const logs = () => `--- west ---\n${w.log()}\n--- east ---\n${e.log()}`;

    assertNoLoss(await ping(west, "198.51.100.129", "203.0.113.1"), "ping through the NAT", logs());
    await assertTcpEcho(west, "203.0.113.1", TCP_BYTES, logs);
    const r = await e.whack(["--name", "west-east", "--rekey-child"]);
    assert.equal(r.code, 0, r.stdout + logs());
    assertNoLoss(
      await ping(west, "198.51.100.129", "203.0.113.1"),
      "ping through the NAT after east rekeyed",
      logs(),
    );
  } finally {
    await lab.dispose().catch(() => {});
    for (const d of daemons.reverse()) await d.stop().catch(() => {});
    const present = await listNamespaces();
    for (const ns of [west, nat, east]) {
      if (present.includes(ns)) await run(["ip", "netns", "del", ns]);
    }
    await Deno.remove(`/tmp/${id}.nft`).catch(() => {});
  }
});
