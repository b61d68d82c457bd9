/**
 * Live memory per IKE SA + Child SA, without sockets or a kernel: two engines
 * over the simulator's in-memory network establish N IKE SAs with one Child SA
 * each; after forced full GCs it prints the JS heap and external memory per SA
 * per side, then forgets the initiator's SAs and prints what the responder
 * alone holds per SA. With `--snapshot FILE` it writes V8 heap snapshots
 * before and after (FILE.0, FILE) and prints the object kinds that grew.
 *
 *     deno run -A --v8-flags=--expose-gc bench/sim_memory.ts [--n 3000] [--snapshot /tmp/s.heapsnapshot]
 */
import { writeHeapSnapshot } from "node:v8";
import { startIkeSaInit } from "../src/ike/ike_sa_init.ts";
import { NoKernel } from "../src/kernel/none.ts";
import { PSK, Sim, westEast } from "../tests/sim/sim.ts";

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");

function collect(): Deno.MemoryUsage {
  gc!();
  gc!();
  return Deno.memoryUsage();
}

/** Node counts and self sizes by `type:name` from a V8 heap snapshot file. */
function snapshotCensus(path: string): Map<string, { count: number; size: number }> {
  const snap = JSON.parse(Deno.readTextFileSync(path));
  const fields: string[] = snap.snapshot.meta.node_fields;
  const types: string[] = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const ti = fields.indexOf("type"), ni = fields.indexOf("name"), si = fields.indexOf("self_size");
  const ec = fields.indexOf("edge_count");
  const edgeFields: string[] = snap.snapshot.meta.edge_fields;
  const edgeTypes: string[] = snap.snapshot.meta.edge_types[0];
  const ew = edgeFields.length,
    et = edgeFields.indexOf("type"),
    en = edgeFields.indexOf("name_or_index");
  const edges: number[] = snap.edges;
  const census = new Map<string, { count: number; size: number }>();
  const nodes: number[] = snap.nodes;
  let edge = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + ti]];
    let name = type === "string" || type === "concatenated string" || type === "sliced string"
      ? "(string)"
      : type === "code" || type === "hidden" || type === "array"
      ? `(${type})`
      : snap.strings[nodes[i + ni]];
    const first = edge;
    edge += nodes[i + ec] * ew;
    // Plain objects are told apart by their property names.
    if (type === "object" && name === "Object") {
      const props: string[] = [];
      for (let e = first; e < edge; e += ew) {
        if (edgeTypes[edges[e + et]] === "property") props.push(snap.strings[edges[e + en]]);
      }
      name = `{${props.slice(0, 6).join(",")}}`;
    }
    const key = `${type}:${String(name).slice(0, 70)}`;
    const e = census.get(key) ?? { count: 0, size: 0 };
    e.count++;
    e.size += nodes[i + si];
    census.set(key, e);
  }
  return census;
}

async function establish(sim: Sim, n: number) {
  const [west] = sim.nodes;
  const conn = west.engine.connections.get("west-east")!;
  let done = 0, failed = 0;
  const batch = 64;
  for (let started = 0; started < n;) {
    const k = Math.min(batch, n - started);
    for (let i = 0; i < k; i++) {
      startIkeSaInit(west.engine, conn, {
        line: () => {},
        finish: (rc) => rc === 0 ? done++ : failed++,
      }, undefined);
    }
    started += k;
    await sim.run(60_000, () => done + failed === started);
  }
  return { done, failed };
}

const n = Number(arg("n", "3000"));
const snapshot = arg("snapshot", "");
const sim = new Sim();
// As swan pluto's `--protostack none`: SPIs only, no keys kept.
const west = sim.node("west", "192.0.2.1", PSK, 11, [], (e) => new NoKernel(e));
const east = sim.node("east", "192.0.2.2", PSK, 22, [], (e) => new NoKernel(e));
sim.add(west, westEast());
sim.add(east, westEast());
// The logs would otherwise hold every line of the run.
west.log.log = east.log.log = () => {};

const warm = await establish(sim, 50);
const before = collect();
let census0: Map<string, { count: number; size: number }> | undefined;
if (snapshot) census0 = snapshotCensus(writeHeapSnapshot(snapshot + ".0"));
const t0 = performance.now();
const r = await establish(sim, n);
const ms = performance.now() - t0;
const after = collect();
const perSide = (a: number, b: number) => Math.round((a - b) / r.done / 2);
console.log(
  `sim_memory: ${r.done} established (${r.failed} failed, warm-up ${warm.done}) in ${
    Math.round(ms)
  } ms; ` +
    `per SA per side: heapUsed ${perSide(after.heapUsed, before.heapUsed)} B, external ${
      perSide(after.external, before.external)
    } B; heapTotal/heapUsed ${(after.heapTotal / after.heapUsed).toFixed(2)}`,
);
// Forget the initiator's SAs locally (no Delete reaches east): what is left is the responder's.
let deleting = 0;
for (const sa of [...west.engine.ikeBySerial.values()]) {
  deleting++;
  west.engine.deleteIkeSa(sa, false, () => deleting--);
}
await sim.run(1_000, () => deleting === 0);
const responder = collect();
console.log(
  `sim_memory: responder alone per SA: heapUsed ${
    Math.round((responder.heapUsed - before.heapUsed) / r.done)
  } B, external ${Math.round((responder.external - before.external) / r.done)} B; ` +
    `east still holds ${east.engine.ikeBySerial.size} IKE SAs, west ${west.engine.ikeBySerial.size}`,
);
if (snapshot && census0) {
  const census1 = snapshotCensus(writeHeapSnapshot(snapshot));
  const rows = [...census1].map(([k, v]) => {
    const b = census0!.get(k) ?? { count: 0, size: 0 };
    return { k, count: (v.count - b.count) / r.done, size: (v.size - b.size) / r.done };
  }).filter((x) => x.size > 8).sort((a, b) => b.size - a.size);
  console.log("responder, per SA: count  bytes  kind");
  let total = 0;
  for (const x of rows) total += x.size;
  for (const x of rows.slice(0, 40)) {
    console.log(`${x.count.toFixed(2).padStart(8)} ${x.size.toFixed(0).padStart(7)}  ${x.k}`);
  }
  console.log(`total ${total.toFixed(0)} B per SA (responder)`);
}
