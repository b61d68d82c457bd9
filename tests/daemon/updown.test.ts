/**
 * The updown contract (whack-pluto-interface §5): PLUTO_VERB suffixes, the
 * environment of an established Child SA in Libreswan 5.x's order, the
 * verbs two engines run as a tunnel comes up, is rekeyed and goes down,
 * output and exit status relayed to whack, a failing `up` undoing the
 * Child SA, and the built-in default's iproute2 commands.
 *
 * Expected values come from outside the code under test: the connection's
 * addresses and subnets, the peer engine's own SPIs (SPI_IN is what the
 * peer receives on), the virtual clock, and Libreswan's numbering (the
 * first connection's reqid is 16388; its ESP SA uses reqid + 1).
 */
import assert from "node:assert/strict";
import { hostSelector, parseAddress, parseSelector } from "../../src/config/addresses.ts";
import { rekeyConnection } from "../../src/ike/create_child_sa.ts";
import type { ChildSa } from "../../src/ike/ike_sa.ts";
import type { UpdownCall } from "../../src/ike/updown_events.ts";
import { DefaultUpdown, type IpCommands } from "../../src/daemon/default_updown.ts";
import {
  runShell,
  updownEnvironment,
  UpdownRunner,
  type UpdownSite,
  updownVerb,
} from "../../src/daemon/updown.ts";
import { type Node, PSK, RecordingWhack, Sim, westEast } from "../sim/sim.ts";

const addr = (text: string) => parseAddress(text)!;
const sel = (text: string) => {
  const s = parseSelector(text);
  if (!s.ok) throw new Error(s.error);
  return s.value;
};

const SITE: UpdownSite = {
  path: "/usr/sbin:/usr/bin:/sbin:/bin",
  stack: "none",
  device: () => "eth0",
  debug: () => false,
};

/** Only the shell itself adds to the environment we give (dash: PWD). */
const SHELL_ADDED = new Set(["PWD"]);

/** A call for `child`, with its first selector pair; `said` collects what the runner says. */
function callFor(child: ChildSa, verb: UpdownCall["verb"], said: string[] = []): UpdownCall {
  return {
    verb,
    child,
    local: child.localTs[0],
    remote: child.remoteTs[0],
    traffic: { inBytes: 0, outBytes: 0 },
    say: (text, stream) => said.push((stream === "warning" ? "warning: " : "") + text),
  };
}

function established(n: Node): ChildSa[] {
  return [...n.engine.childBySerial.values()].filter((c) => c.established);
}

/** West and east over the simulated network; `updown` per side is its local end's `updown=`. */
function tunnel(over: Record<string, string> = {}, updown: { west?: string; east?: string } = {}) {
  const sim = new Sim();
  const west = sim.node("west", "192.0.2.1", PSK, 5);
  const east = sim.node("east", "192.0.2.2", PSK, 6);
  const ends = (
    side: "west" | "east",
  ): { left: Record<string, string>; right: Record<string, string> } => ({
    left: side === "west" && updown.west !== undefined ? { updown: updown.west } : {},
    right: side === "east" && updown.east !== undefined ? { updown: updown.east } : {},
  });
  assert.equal(sim.add(west, westEast(over, ends("west"))).rc, 0);
  assert.equal(sim.add(east, westEast(over, ends("east"))).rc, 0);
  return { sim, west, east };
}

async function initiate(sim: Sim, west: Node): Promise<RecordingWhack> {
  const w = new RecordingWhack();
  west.engine.initiate("west-east", w, false);
  await sim.run(60_000, () => w.rc !== undefined);
  return w;
}

/** The updown runner a daemon would use, with a default that must not be reached. */
function runner(site: UpdownSite = SITE): UpdownRunner {
  return new UpdownRunner(site, {
    run: () => Promise.reject(new Error("the built-in default ran")),
  });
}

Deno.test("updown verb: -host for the host itself, -client for a subnet, -v6 by family", () => {
  const v4 = addr("192.0.2.1"), v6 = addr("2001:db8::1");
  assert.equal(updownVerb("prepare", hostSelector(v4), v4), "prepare-host");
  assert.equal(updownVerb("up", sel("192.0.2.1/32/tcp/22"), v4), "up-host");
  assert.equal(updownVerb("route", sel("198.51.100.0/24"), v4), "route-client");
  assert.equal(updownVerb("down", sel("192.0.2.0/24"), v4), "down-client");
  assert.equal(updownVerb("unroute", hostSelector(v6), v6), "unroute-host-v6");
  assert.equal(updownVerb("up", sel("2001:db8:1::/64"), v6), "up-client-v6");
  // 6-in-4: the suffix follows the selector for -client.
  assert.equal(updownVerb("up", sel("2001:db8:1::/64"), v4), "up-client-v6");
});

Deno.test("updown environment: an established subnet-to-subnet Child SA, in Libreswan 5.x order", async () => {
  const { sim, west, east } = tunnel();
  assert.equal((await initiate(sim, west)).rc, 0);
  const [mine] = established(west), [theirs] = established(east);
  const env = updownEnvironment(callFor(mine, "up"), SITE);
  assert.deepEqual(env, [
    ["PATH", "/usr/sbin:/usr/bin:/sbin:/bin"],
    ["PLUTO_VERB", "up-client"],
    ["PLUTO_CONNECTION", "west-east"],
    ["PLUTO_CONNECTION_TYPE", "tunnel"],
    ["PLUTO_VIRT_INTERFACE", "NULL"],
    ["PLUTO_INTERFACE", "eth0"],
    ["PLUTO_XFRMI_ROUTE", ""],
    ["PLUTO_ME", "192.0.2.1"],
    ["PLUTO_MY_ID", "@west"],
    ["PLUTO_CLIENT_FAMILY", "ipv4"],
    ["PLUTO_MY_CLIENT", "198.51.100.0/24"],
    ["PLUTO_MY_CLIENT_NET", "198.51.100.0"],
    ["PLUTO_MY_CLIENT_MASK", "255.255.255.0"],
    ["PLUTO_MY_PORT", "0"],
    ["PLUTO_MY_PROTOCOL", "0"],
    ["PLUTO_SA_REQID", "16389"],
    ["PLUTO_SA_TYPE", "ESP"],
    ["PLUTO_PEER", "192.0.2.2"],
    ["PLUTO_PEER_ID", "@east"],
    ["PLUTO_PEER_CLIENT", "203.0.113.0/24"],
    ["PLUTO_PEER_CLIENT_NET", "203.0.113.0"],
    ["PLUTO_PEER_CLIENT_MASK", "255.255.255.0"],
    ["PLUTO_PEER_PORT", "0"],
    ["PLUTO_PEER_PROTOCOL", "0"],
    ["PLUTO_PEER_CA", ""],
    ["PLUTO_STACK", "none"],
    ["PLUTO_DNS_RESOLVER", "file"],
    ["PLUTO_ADDTIME", String(sim.clock.epochSeconds())],
    ["PLUTO_CONN_POLICY", "IKEv2+PSK+ENCRYPT+TUNNEL+PFS+UP+IKE_FRAG_ALLOW+ESN_NO+ESN_YES"],
    ["PLUTO_CONN_KIND", "CK_PERMANENT"],
    ["PLUTO_CONN_ADDRFAMILY", "ipv4"],
    ["XAUTH_FAILED", "0"],
    ["PLUTO_IS_PEER_CISCO", "0"],
    ["PLUTO_PEER_DNS_INFO", ""],
    ["PLUTO_PEER_DOMAIN_INFO", ""],
    ["PLUTO_PEER_BANNER", ""],
    ["PLUTO_CFG_SERVER", "0"],
    ["PLUTO_CFG_CLIENT", "0"],
    ["PLUTO_NM_CONFIGURED", "0"],
    ["PLUTO_INBYTES", "0"],
    ["PLUTO_OUTBYTES", "0"],
    ["VTI_IFACE", ""],
    ["VTI_ROUTING", "no"],
    ["VTI_SHARED", "no"],
    // Named from the peer's view: SPI_IN is the SPI the peer receives on.
    ["SPI_IN", `0x${theirs.inSpi.toString(16)}`],
    ["SPI_OUT", `0x${theirs.outSpi!.toString(16)}`],
  ]);
});

Deno.test("updown environment: IPv6 host-to-host transport with --debug updown", async () => {
  const sim = new Sim();
  const west = sim.node("west", "2001:db8::1", PSK, 9);
  const east = sim.node("east", "2001:db8::2", PSK, 10);
  // No subnets: each end's client is the host itself.
  const def = {
    name: "west-east",
    left: { host: "2001:db8::1", id: "@west" },
    right: { host: "2001:db8::2", id: "@east" },
    conn: { authby: "secret", keyexchange: "ikev2", type: "transport" },
  };
  assert.equal(sim.add(west, def).rc, 0);
  assert.equal(sim.add(east, def).rc, 0);
  assert.equal((await initiate(sim, west)).rc, 0);
  const [mine] = established(west);
  const env = new Map(
    updownEnvironment(callFor(mine, "route"), { ...SITE, debug: () => true, path: undefined }),
  );
  assert.equal(env.get("PLUTO_VERB"), "route-host-v6");
  assert.equal(env.get("PLUTO_CONNECTION_TYPE"), "transport");
  assert.equal(env.get("PLUTO_CLIENT_FAMILY"), "ipv6");
  assert.equal(env.get("PLUTO_CONN_ADDRFAMILY"), "ipv6");
  assert.equal(env.get("PLUTO_MY_CLIENT"), "2001:db8::1/128");
  assert.equal(env.get("PLUTO_MY_CLIENT_NET"), "2001:db8::1");
  assert.equal(env.get("PLUTO_MY_CLIENT_MASK"), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  assert.equal(env.get("PLUTO_PEER_CLIENT"), "2001:db8::2/128");
  assert.equal(
    env.get("PLUTO_CONN_POLICY"),
    "IKEv2+PSK+ENCRYPT+PFS+UP+IKE_FRAG_ALLOW+ESN_NO+ESN_YES",
  );
  assert.equal(env.get("UPDOWN_DEBUG"), "yes");
  assert.ok(env.get("PATH")!.includes("/usr/sbin"), "a PATH even when pluto has none");
});

Deno.test("updown environment: nexthop and srcip appear where Libreswan puts them", async () => {
  const sim = new Sim();
  const west = sim.node("west", "192.0.2.1", PSK, 7);
  const east = sim.node("east", "192.0.2.2", PSK, 8);
  const def = (side: string) =>
    westEast({}, {
      left: side === "west" ? { nexthop: "192.0.2.254", sourceip: "198.51.100.1" } : {},
    });
  assert.equal(sim.add(west, def("west")).rc, 0);
  assert.equal(sim.add(east, def("east")).rc, 0);
  assert.equal((await initiate(sim, west)).rc, 0);
  const names = updownEnvironment(callFor(established(west)[0], "up"), SITE);
  const at = (name: string) => names.findIndex(([n]) => n === name);
  assert.deepEqual(names[at("PLUTO_NEXT_HOP")], ["PLUTO_NEXT_HOP", "192.0.2.254"]);
  assert.equal(at("PLUTO_NEXT_HOP"), at("PLUTO_XFRMI_ROUTE") + 1);
  assert.equal(at("PLUTO_ME"), at("PLUTO_NEXT_HOP") + 1);
  assert.deepEqual(names[at("PLUTO_MY_SOURCEIP")], ["PLUTO_MY_SOURCEIP", "198.51.100.1"]);
  assert.equal(at("PLUTO_MY_SOURCEIP"), at("XAUTH_FAILED") + 1);
  assert.deepEqual(names[at("PLUTO_MY_SOURCEIP") + 1], ["PLUTO_MOBIKE_EVENT", ""]);
});

Deno.test("updown: up runs prepare, route, up; a rekey runs nothing; terminate runs down, unroute", async () => {
  const script = 'echo "$PLUTO_VERB $PLUTO_CONNECTION $SPI_OUT"';
  const { sim, west, east } = tunnel({}, { west: script, east: script });
  west.engine.deps.updown = runner();
  east.engine.deps.updown = runner();
  const up = await initiate(sim, west);
  assert.equal(up.rc, 0, up.lines.join("\n"));
  const child = established(west)[0];
  const spiOut = `0x${child.inSpi.toString(16)}`;
  const outputs = (lines: string[]) => lines.filter((l) => l.includes(" output: "));
  const expectUp = ["prepare", "route", "up"].map((v) =>
    `"west-east" #2: command "${v}" output: ${v}-client west-east ${spiOut}`
  );
  assert.deepEqual(outputs(up.lines), expectUp, up.lines.join("\n"));
  // The runs precede the Child SA's "established" line, as they happen during its installation.
  assert.match(up.lines.at(-1)!, /#2: initiator established Child SA/);
  assert.deepEqual(outputs(west.log.lines), expectUp);
  assert.deepEqual(
    outputs(east.log.lines).map((l) => l.replace(/ 0x[0-9a-f]+$/, "")),
    ["prepare", "route", "up"].map((v) =>
      `"west-east" #2: command "${v}" output: ${v}-client west-east`
    ),
  );

  const rekey = new RecordingWhack();
  rekeyConnection(west.engine, "west-east", "child", rekey, false);
  await sim.run(60_000, () => rekey.rc !== undefined && established(west).length === 1);
  assert.equal(rekey.rc, 0, rekey.lines.join("\n"));
  await sim.run(10_000, () => established(east).length === 1);
  assert.equal(outputs(west.log.lines).length, 3, "a rekey ran updown on west");
  assert.equal(outputs(east.log.lines).length, 3, "a rekey ran updown on east");

  const down = new RecordingWhack();
  west.engine.terminate("west-east", down);
  await sim.run(60_000, () => down.rc !== undefined);
  assert.equal(down.rc, 0);
  assert.deepEqual(
    outputs(down.lines).map((l) => l.replace(/ 0x[0-9a-f]+$/, "")),
    [
      `"west-east" #3: command "down" output: down-client west-east`,
      `"west-east" #3: command "unroute" output: unroute-client west-east`,
    ],
    down.lines.join("\n"),
  );
  await sim.run(10_000, () => outputs(east.log.lines).length === 5);
  assert.deepEqual(
    outputs(east.log.lines).slice(3).map((l) => l.replace(/ 0x[0-9a-f]+$/, "")),
    [
      `"west-east" #3: command "down" output: down-client west-east`,
      `"west-east" #3: command "unroute" output: unroute-client west-east`,
    ],
  );
});

Deno.test("updown: a failing up undoes the Child SA with down and unroute; the peer is told", async () => {
  const script =
    'echo "ran $PLUTO_VERB"; [ "$PLUTO_VERB" != up-client ] || { echo nope >&2; exit 3; }';
  const { sim, west, east } = tunnel({}, { west: script });
  west.engine.deps.updown = runner();
  const up = await initiate(sim, west);
  assert.notEqual(up.rc, 0, "initiate succeeded although up failed");
  const text = up.lines.join("\n");
  for (
    const line of [
      `"west-east" #2: command "up" output: ran up-client`,
      `"west-east" #2: command "up" output: nope`,
      `warning: "west-east" #2: command "up": exited with status 3`,
      `"west-east" #2: command "down" output: ran down-client`,
      `"west-east" #2: command "unroute" output: ran unroute-client`,
      `"west-east" #2: cannot install Child SA: updown command "up" failed`,
    ]
  ) assert.ok(up.lines.includes(line), `missing ${line}\n${text}`);
  assert.equal(established(west).length, 0);
  assert.equal(west.kernel.installed.length, 0, "kernel SAs left behind");
  await sim.run(10_000, () => established(east).length === 0);
  assert.equal(established(east).length, 0, `east kept the Child SA\n${east.log.lines.join("\n")}`);
});

Deno.test("updown: updown=%disabled runs nothing", async () => {
  const { sim, west } = tunnel({}, { west: "%disabled" });
  west.engine.deps.updown = runner();
  const up = await initiate(sim, west);
  assert.equal(up.rc, 0);
  assert.ok(!up.lines.some((l) => l.includes("command")), up.lines.join("\n"));
});

Deno.test("updown: the script gets only PATH and the PLUTO_* environment; a signal is reported", async () => {
  const said: string[] = [];
  const env: [string, string][] = [["PATH", "/usr/bin:/bin"], ["PLUTO_VERB", "up-client"]];
  assert.ok(await runShell("env", "up", env, (t) => said.push(t)));
  const seen = said.map((l) => l.replace(/^command "up" output: /, "").split("=")[0])
    .filter((name) => !SHELL_ADDED.has(name));
  assert.deepEqual(seen.sort(), ["PATH", "PLUTO_VERB"]);
  const killed: string[] = [];
  assert.equal(
    await runShell("kill -9 $$", "down", env, (t, s) => killed.push(`${s ?? ""}${t}`)),
    false,
  );
  assert.deepEqual(killed, ['warningcommand "down": terminated with signal SIGKILL (9)']);
});

/** iproute2 as the default sees it: records commands, answers `route get` and `addr`. */
class FakeIp implements IpCommands {
  commands: string[] = [];
  constructor(private have: string[] = ["192.0.2.1"], private routes = "") {}
  ip(args: string[]): Promise<string> {
    this.commands.push(`ip ${args.join(" ")}`);
    if (args[0] === "-j") return Promise.resolve('[{"dst":"192.0.2.2","dev":"eth0"}]');
    if (args[0] === "route" && args[1] === "show") return Promise.resolve(this.routes);
    return Promise.resolve("");
  }
  addresses() {
    return Promise.resolve(this.have.map(addr));
  }
}

Deno.test("default updown: xfrm routes the peer client with the source IP; unroute undoes it", async () => {
  const fake = new FakeIp();
  const builtin = new DefaultUpdown(() => {}, fake);
  const said: string[] = [];
  const env = (verb: string) =>
    new Map([
      ["PLUTO_VERB", verb],
      ["PLUTO_CONNECTION", "west-east"],
      ["PLUTO_INTERFACE", "eth0"],
      ["PLUTO_PEER", "192.0.2.2"],
      ["PLUTO_PEER_CLIENT", "203.0.113.0/24"],
      ["PLUTO_STACK", "xfrm"],
      ["PLUTO_MY_SOURCEIP", "198.51.100.1"],
    ]);
  for (const verb of ["prepare-client", "route-client", "up-client"]) {
    assert.ok(await builtin.run(env(verb), (t) => said.push(t)));
  }
  assert.deepEqual(fake.commands, [
    "ip addr add 198.51.100.1/32 dev lo",
    "ip -j route get 192.0.2.2",
    "ip route show 203.0.113.0/24",
    "ip route add 203.0.113.0/24 dev eth0 src 198.51.100.1",
  ]);
  assert.deepEqual(said, [
    "default updown route-client: ip addr add 198.51.100.1/32 dev lo",
    "default updown route-client: ip route add 203.0.113.0/24 dev eth0 src 198.51.100.1",
  ]);
  fake.commands = [];
  for (const verb of ["down-client", "unroute-client"]) {
    assert.ok(await builtin.run(env(verb), () => {}));
  }
  assert.deepEqual(fake.commands, [
    "ip route del 203.0.113.0/24 dev eth0 src 198.51.100.1",
    "ip addr del 198.51.100.1/32 dev lo",
  ]);
});

Deno.test("default updown: an existing route and source address are kept, and left in place", async () => {
  const fake = new FakeIp(["192.0.2.1", "198.51.100.1"], "203.0.113.0/24 via 192.0.2.2 dev eth0");
  const builtin = new DefaultUpdown(() => {}, fake);
  const said: string[] = [];
  const env = (verb: string) =>
    new Map([
      ["PLUTO_VERB", verb],
      ["PLUTO_INTERFACE", "eth0"],
      ["PLUTO_PEER", "192.0.2.2"],
      ["PLUTO_PEER_CLIENT", "203.0.113.0/24"],
      ["PLUTO_STACK", "xfrm"],
      ["PLUTO_MY_SOURCEIP", "198.51.100.1"],
    ]);
  assert.ok(await builtin.run(env("route-client"), (t) => said.push(t)));
  assert.ok(await builtin.run(env("unroute-client"), (t) => said.push(t)));
  assert.deepEqual(fake.commands, ["ip -j route get 192.0.2.2", "ip route show 203.0.113.0/24"]);
  assert.deepEqual(said, [
    "default updown route-client: keeping the existing route 203.0.113.0/24 via 192.0.2.2 dev eth0",
  ]);
});

Deno.test("default updown: --protostack none and host-to-host do nothing, and say so in debug", async () => {
  const fake = new FakeIp();
  const debug: string[] = [];
  const builtin = new DefaultUpdown((t) => debug.push(t), fake);
  const said: string[] = [];
  const base = [["PLUTO_CONNECTION", "west-east"], ["PLUTO_PEER", "192.0.2.2"], [
    "PLUTO_PEER_CLIENT",
    "192.0.2.2/32",
  ]] as [string, string][];
  assert.ok(
    await builtin.run(
      new Map([...base, ["PLUTO_VERB", "route-host"], ["PLUTO_STACK", "none"]]),
      (t) => said.push(t),
    ),
  );
  assert.ok(
    await builtin.run(
      new Map([...base, ["PLUTO_VERB", "route-host"], ["PLUTO_STACK", "xfrm"]]),
      (t) => said.push(t),
    ),
  );
  assert.deepEqual(fake.commands, []);
  assert.deepEqual(said, []);
  assert.deepEqual(debug, [
    'default updown route-host for "west-east": nothing to do with --protostack none',
    'default updown route-host for "west-east": nothing to do (host-to-host)',
  ]);
});
