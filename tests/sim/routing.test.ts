/**
 * Routing in simulation: `--route` traps, ACQUIRE → on-demand initiation,
 * failure shunts, trap restoration when SAs go (dpdaction=hold), EXPIRE,
 * never-negotiate connections, unroute, delete and shutdown cleanup.
 */
import assert from "node:assert/strict";
import { formatAddress, formatSelector, parseAddress } from "../../src/config/addresses.ts";
import type { StatusModel } from "../../src/control/status_model.ts";
import { renderShuntStatus } from "../../src/control/status_text.ts";
import { KernelError, type KernelPolicy, type KernelSa } from "../../src/kernel/kernel.ts";
import { NoKernel } from "../../src/kernel/none.ts";
import { SHUNT_LIFETIME_MS } from "../../src/ike/routing.ts";
import { type Node, PSK, RecordingWhack, Sim, westEast } from "./sim.ts";

/** A policy database keyed as XFRM keys it (direction and selectors); SAs may be refused. */
class PolicyKernel extends NoKernel {
  readonly policies = new Map<string, KernelPolicy>();
  refuseSas = false;

  override addSa(sa: KernelSa): Promise<void> {
    if (this.refuseSas) return Promise.reject(new KernelError("kernel has no ESP support"));
    return super.addSa(sa);
  }

  addPolicy(p: KernelPolicy): Promise<void> {
    this.policies.set(`${p.dir}|${formatSelector(p.src)}|${formatSelector(p.dst)}`, p);
    return Promise.resolve();
  }

  deletePolicy(p: KernelPolicy): Promise<void> {
    this.policies.delete(`${p.dir}|${formatSelector(p.src)}|${formatSelector(p.dst)}`);
    return Promise.resolve();
  }

  /** One line per policy, sorted: what `ip xfrm policy` would show of it. */
  list(): string[] {
    return [...this.policies.values()].map((p) =>
      `${p.dir} ${formatSelector(p.src)} > ${formatSelector(p.dst)} ${
        p.shunt ??
          `esp ${p.mode} ${formatAddress(p.saSrc)} > ${formatAddress(p.saDst)} reqid ${p.reqid}`
      }`
    ).sort();
  }
}

const TRAP = "out 198.51.100.0/24 > 203.0.113.0/24 esp tunnel 192.0.2.1 > 192.0.2.2 reqid";

function pair(over: Record<string, string> = {}, seed = 60) {
  const sim = new Sim();
  const west = sim.node("west", "192.0.2.1", PSK, seed, [], (e) => new PolicyKernel(e));
  const east = sim.node("east", "192.0.2.2", PSK, seed + 1, [], (e) => new PolicyKernel(e));
  sim.add(west, westEast(over));
  sim.add(east, westEast(over));
  return { sim, west, east, kw: west.kernel as PolicyKernel, ke: east.kernel as PolicyKernel };
}

async function route(node: Node, name = "west-east"): Promise<RecordingWhack> {
  const w = new RecordingWhack();
  await node.engine.routing.route(name, w);
  return w;
}

/** The kernel reports that 198.51.100.1 pinged 203.0.113.1 through the trap. */
function ping(node: Node, from = "198.51.100.1", to = "203.0.113.1"): void {
  node.engine.routing.kernelEvent({
    kind: "acquire",
    src: parseAddress(from)!,
    dst: parseAddress(to)!,
    protocol: 1,
  });
}

const story = (node: Node) => node.engine.routing.story(node.engine.connections.get("west-east")!);

Deno.test("routing: --route installs one outbound trap; twice says so; --unroute removes it", async () => {
  const { west, kw } = pair();
  const w = await route(west);
  assert.equal(w.rc, 0, w.lines.join("\n"));
  const reqid = west.engine.connections.get("west-east")!.reqid;
  assert.deepEqual(kw.list(), [`${TRAP} ${reqid}`]);
  assert.equal(story(west), "routed-ondemand");
  const again = await route(west);
  assert.deepEqual(again.lines, ['"west-east": connection is already routed']);
  assert.equal(again.rc, 0);
  const un = new RecordingWhack();
  await west.engine.routing.unroute("west-east", un);
  assert.equal(un.rc, 0);
  assert.deepEqual(kw.list(), []);
  assert.equal(story(west), "unrouted");
  const unknown = await route(west, "nope");
  assert.equal(unknown.rc, 21);
});

Deno.test("routing: --protostack none records the route and says that nothing is installed", async () => {
  const sim = new Sim();
  const west = sim.node("west", "192.0.2.1", PSK, 70);
  sim.add(west, westEast());
  const w = await route(west);
  assert.equal(w.rc, 0);
  assert.deepEqual(w.lines, [
    '"west-east": the none kernel interface installs no policies; the route is recorded only',
  ]);
  assert.equal(story(west), "routed-ondemand");
});

Deno.test("routing: ACQUIRE initiates; the tunnel owns the route; unroute is refused while it is up", async () => {
  const { sim, west, kw } = pair();
  await route(west);
  ping(west, "198.51.100.9", "192.0.2.77"); // outside the connection's selectors
  assert.equal(west.engine.ikeBySerial.size, 0);
  ping(west);
  assert.equal(story(west), "routed-negotiation");
  assert.ok(west.log.lines.some((l) =>
    l ===
      '"west-east": initiate on demand from 198.51.100.1:0 to 203.0.113.1:0 proto=1 because: acquire'
  ));
  ping(west); // a second packet while negotiating starts nothing new
  const conn = west.engine.connections.get("west-east")!;
  await sim.run(10_000, () => conn.newestChild !== undefined);
  assert.equal(west.engine.ikeBySerial.size, 1);
  assert.equal(story(west), "routed-tunnel");
  assert.equal(conn.up, false, "on-demand SAs are not UP");
  const un = new RecordingWhack();
  await west.engine.routing.unroute("west-east", un);
  assert.deepEqual(un.lines, ['"west-east": cannot unroute: route busy']);
  assert.equal(un.rc, 26);
  // Terminating the SAs puts the trap back: the next packet negotiates again.
  kw.policies.clear(); // as XFRM does when the SA's policies (which replaced the trap) go
  const t = new RecordingWhack();
  west.engine.terminate("west-east", t);
  await sim.run(10_000, () => t.rc !== undefined);
  assert.equal(story(west), "routed-ondemand");
  assert.deepEqual(kw.list(), [`${TRAP} ${conn.reqid}`]);
  ping(west);
  await sim.run(10_000, () => conn.newestChild !== undefined);
  assert.equal(story(west), "routed-tunnel");
});

Deno.test("routing: a refused Child SA leaves the failure shunt for the flow; it expires", async () => {
  const { sim, west, kw, ke } = pair({ failureshunt: "passthrough" });
  ke.refuseSas = true; // the peer's kernel cannot install ESP, as in the namespace tests
  await route(west);
  ping(west);
  await sim.run(10_000, () => west.engine.routing.shunts().length > 0);
  assert.equal(story(west), "routed-ondemand");
  const conn = west.engine.connections.get("west-east")!;
  assert.deepEqual(renderShuntStatus({ shunts: west.engine.routing.shunts() } as StatusModel), [
    "Bare Shunt list:",
    " ",
    `198.51.100.1/32 -1-> 203.0.113.1/32 => %pass    negotiation failed $${conn.serial}`,
  ]);
  assert.deepEqual(kw.list(), [
    `${TRAP} ${conn.reqid}`,
    "out 198.51.100.1/32/ICMP > 203.0.113.1/32/ICMP pass",
  ]);
  await sim.run(SHUNT_LIFETIME_MS + 1000);
  assert.deepEqual(west.engine.routing.shunts(), []);
  assert.deepEqual(kw.list(), [`${TRAP} ${conn.reqid}`]);
});

Deno.test("routing: failureshunt=drop blocks the flow; failureshunt=none keeps only the trap", async () => {
  const drop = pair({ failureshunt: "drop" }, 80);
  drop.ke.refuseSas = true;
  await route(drop.west);
  ping(drop.west);
  await drop.sim.run(10_000, () => drop.west.engine.routing.shunts().length > 0);
  assert.equal(drop.west.engine.routing.shunts()[0]?.shunt, "%drop");
  assert.ok(drop.kw.list().includes("out 198.51.100.1/32/ICMP > 203.0.113.1/32/ICMP drop"));

  const none = pair({}, 90);
  none.ke.refuseSas = true;
  await route(none.west);
  ping(none.west);
  const failed = () =>
    none.west.log.lines.some((l) => l.includes("on-demand negotiation failed; the trap stays"));
  await none.sim.run(10_000, failed);
  assert.ok(failed(), none.west.log.lines.join("\n"));
  assert.deepEqual(none.west.engine.routing.shunts(), []);
  assert.equal(none.kw.list().length, 1);
  assert.equal(story(none.west), "routed-ondemand");
  // The next packet tries again, on the IKE SA that is still up.
  const children = none.west.engine.counters.get("total.ikev2.child.finished");
  ping(none.west);
  assert.equal(story(none.west), "routed-negotiation");
  await none.sim.run(
    10_000,
    () => none.west.engine.counters.get("total.ikev2.child.finished") !== children,
  );
  assert.equal(story(none.west), "routed-ondemand");
});

Deno.test("routing: dpdaction=hold puts the trap back when the peer dies; traffic re-triggers", async () => {
  const { sim, west, east, kw } = pair({ dpddelay: "10s", dpdtimeout: "30s", dpdaction: "hold" });
  await route(west);
  ping(west);
  const conn = west.engine.connections.get("west-east")!;
  await sim.run(10_000, () => conn.newestChild !== undefined);
  kw.policies.clear(); // the SA's policies replaced the trap in XFRM
  sim.net.detach(east.address);
  sim.nodes.splice(sim.nodes.indexOf(east), 1);
  await sim.run(120_000, () => west.engine.ikeBySerial.size === 0);
  assert.ok(west.log.lines.some((l) => l.includes("peer is dead; dpdaction=hold")));
  assert.equal(story(west), "routed-ondemand");
  assert.deepEqual(kw.list(), [`${TRAP} ${conn.reqid}`]);
  ping(west);
  assert.equal(west.engine.ikeBySerial.size, 1, "traffic starts a new negotiation");
});

Deno.test("routing: EXPIRE soft rekeys the Child SA, hard deletes it", async () => {
  const { sim, west } = pair();
  const w = new RecordingWhack();
  west.engine.initiate("west-east", w, false);
  const conn = west.engine.connections.get("west-east")!;
  await sim.run(10_000, () => w.rc !== undefined);
  const first = west.engine.childBySerial.get(conn.newestChild!)!;
  west.engine.routing.kernelEvent({
    kind: "expire",
    hard: false,
    dst: west.address,
    spi: first.inSpi,
  });
  await sim.run(10_000, () => conn.newestChild !== first.serial);
  const second = west.engine.childBySerial.get(conn.newestChild!)!;
  assert.ok(second.established && second.serial !== first.serial);
  west.engine.routing.kernelEvent({
    kind: "expire",
    hard: true,
    dst: parseAddress("192.0.2.2")!,
    spi: second.outSpi!,
  });
  await sim.run(10_000, () => !west.engine.childBySerial.has(second.serial));
  assert.equal(conn.newestChild, undefined);
  assert.equal(west.engine.ikeBySerial.size, 1, "the IKE SA stays");
});

Deno.test("routing: --pass and --drop connections route to shunts both ways and never negotiate", async () => {
  for (const type of ["passthrough", "drop"] as const) {
    const { west, kw } = pair({ type }, 100);
    const w = await route(west);
    assert.equal(w.rc, 0, w.lines.join("\n"));
    const action = type === "passthrough" ? "pass" : "drop";
    assert.deepEqual(kw.list(), [
      `fwd 203.0.113.0/24 > 198.51.100.0/24 ${action}`,
      `in 203.0.113.0/24 > 198.51.100.0/24 ${action}`,
      `out 198.51.100.0/24 > 203.0.113.0/24 ${action}`,
    ]);
    assert.equal(story(west), "routed-never-negotiate");
    ping(west);
    assert.equal(west.engine.ikeBySerial.size, 0);
  }
});

Deno.test("routing: --delete and --shutdown leave no policy of ours behind", async () => {
  const a = pair({ failureshunt: "drop" }, 110);
  a.ke.refuseSas = true;
  await route(a.west);
  ping(a.west);
  await a.sim.run(10_000, () => a.west.engine.routing.shunts().length > 0);
  const d = new RecordingWhack();
  a.west.engine.deleteConnection("west-east", d);
  await a.sim.run(10_000, () => d.rc !== undefined);
  await a.sim.settle();
  assert.deepEqual(a.kw.list(), []);
  assert.deepEqual(a.west.engine.routing.shunts(), []);

  const b = pair({ failureshunt: "drop" }, 120);
  await route(b.west);
  ping(b.west);
  const conn = b.west.engine.connections.get("west-east")!;
  await b.sim.run(10_000, () => conn.newestChild !== undefined);
  await b.west.engine.shutdown(false);
  assert.deepEqual(b.kw.list(), [], "the SA going away must not bring the trap back");
  assert.deepEqual(b.kw.installed, []);
});
