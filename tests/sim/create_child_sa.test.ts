/**
 * CREATE_CHILD_SA between two engines on the virtual clock: Child SA and IKE
 * SA rekeys (with and without PFS), extra Child SAs, simultaneous rekeys,
 * lifetime-driven rekeys, rekey=no and rekeys under loss. Keys are checked
 * against what the other engine derived on its own, and the IKE rekey's
 * SKEYSEED against the RFC 7296 §2.18 formula computed here.
 */
import assert from "node:assert/strict";
import { PSK, RecordingWhack, Sim, westEast } from "./sim.ts";
import type { Node } from "./sim.ts";
import { deriveIkeSaKeys, type IkeSaKeys, rekeySkeyseed } from "../../src/crypto/ikev2_kdf.ts";
import { encrAlgorithm } from "../../src/crypto/encr.ts";
import { prfAlgorithm } from "../../src/crypto/prf.ts";
import { rekeyChild, rekeyConnection } from "../../src/ike/create_child_sa.ts";
import { rekeyIke } from "../../src/ike/ike_rekey.ts";
import { hex } from "../../src/ike/ike_sa.ts";

const HOUR = 3_600_000;

function live(n: Node) {
  const ike = [...n.engine.ikeBySerial.values()].filter((s) => s.state === "ESTABLISHED_IKE_SA");
  const child = [...n.engine.childBySerial.values()].filter((c) => c.established);
  return { ike, child };
}

function pair(
  opts: {
    loss?: number;
    seed?: number;
    conn?: Record<string, string>;
    east?: Record<string, string>;
    debug?: string[];
  } = {},
) {
  const sim = new Sim({ loss: opts.loss, seed: opts.seed });
  const s = opts.seed ?? 0;
  const west = sim.node("west", "192.0.2.1", PSK, 31 + s, opts.debug);
  const east = sim.node("east", "192.0.2.2", PSK, 47 + s);
  assert.equal(sim.add(west, westEast(opts.conn)).rc, 0);
  assert.equal(sim.add(east, westEast({ ...opts.conn, ...opts.east })).rc, 0);
  return { sim, west, east };
}

async function up(sim: Sim, west: Node, name = "west-east"): Promise<RecordingWhack> {
  const w = new RecordingWhack();
  west.engine.initiate(name, w, false);
  await sim.run(120_000, () => w.rc !== undefined);
  return w;
}

async function rekey(sim: Sim, node: Node, what: "ike" | "child"): Promise<RecordingWhack> {
  const w = new RecordingWhack();
  rekeyConnection(node.engine, "west-east", what, w, false);
  await sim.run(120_000, () => w.rc !== undefined);
  // Let the Delete of the replaced SA complete.
  await sim.run(60_000, () => live(sim.nodes[0]).child.length <= 1 && settled(sim));
  return w;
}

function settled(sim: Sim): boolean {
  return sim.nodes.every((n) =>
    [...n.engine.ikeBySerial.values()].every((s) => !s.outstanding && !s.rekey)
  );
}

/** Both engines hold exactly one Child SA whose SPIs cross-match and whose keys agree; returns its serials. */
function assertOneTunnel(west: Node, east: Node): void {
  const W = live(west), E = live(east);
  assert.equal(W.ike.length, 1, "west IKE SAs");
  assert.equal(E.ike.length, 1, "east IKE SAs");
  assert.equal(W.child.length, 1, "west Child SAs");
  assert.equal(E.child.length, 1, "east Child SAs");
  assert.equal(W.child[0].ike, W.ike[0]);
  assert.equal(E.child[0].ike, E.ike[0]);
  assert.equal(W.child[0].outSpi, E.child[0].inSpi);
  assert.equal(W.child[0].inSpi, E.child[0].outSpi);
  assert.equal(west.kernel.installed.length, 2);
  assert.equal(east.kernel.installed.length, 2);
  for (const sa of west.kernel.installed) {
    const twin = east.kernel.installed.find((e) => e.spi === sa.spi && e.inbound !== sa.inbound);
    assert.ok(twin, `east lacks SPI ${sa.spi}`);
    assert.equal(hex(sa.encrKey), hex(twin.encrKey));
    assert.equal(hex(sa.integKey), hex(twin.integKey));
  }
  const wk = W.ike[0].keys!, ek = E.ike[0].keys!;
  for (const k of ["skD", "skAi", "skAr", "skEi", "skEr", "skPi", "skPr"] as const) {
    assert.equal(hex(wk[k]), hex(ek[k]), k);
  }
  assert.equal(hex(W.ike[0].spiI), hex(E.ike[0].spiI));
  assert.equal(hex(W.ike[0].spiR), hex(E.ike[0].spiR));
}

function spis(n: Node): Set<number> {
  return new Set(n.kernel.installed.map((s) => s.spi));
}

for (const pfs of ["no", "yes"]) {
  Deno.test(`sim: Child SA rekey with pfs=${pfs}: new keys agree, old SPIs gone`, async () => {
    const { sim, west, east } = pair({ conn: { pfs } });
    assert.equal((await up(sim, west)).rc, 0);
    const oldSpis = new Set([...spis(west), ...spis(east)]);
    const oldKeys = west.kernel.installed.map((s) => hex(s.encrKey));
    const w = await rekey(sim, west, "child");
    assert.equal(w.rc, 0, w.lines.join("\n"));
    const group = live(west).ike[0].chosen!.keId;
    const xfrm = pfs === "yes" ? `AES_GCM_16_256-DH${group}` : "AES_GCM_16_256";
    assert.match(
      w.lines.join("\n"),
      new RegExp(
        `"west-east" #3: initiator rekeyed Child SA #2 using #1; IPsec tunnel \\[198\\.51\\.100\\.0/24===203\\.0\\.113\\.0/24\\] \\{ESP/ESN=>0x[0-9a-f]{8} <0x[0-9a-f]{8} xfrm=${xfrm} DPD=passive\\}`,
      ),
    );
    assert.match(
      east.log.lines.join("\n"),
      /"west-east" #3: responder rekeyed Child SA #2 using #1/,
    );
    assertOneTunnel(west, east);
    assert.equal(live(west).child[0].chosen!.keId, pfs === "yes" ? group : 0);
    for (const spi of [...spis(west), ...spis(east)]) assert.ok(!oldSpis.has(spi), "old SPI kept");
    for (const k of west.kernel.installed) assert.ok(!oldKeys.includes(hex(k.encrKey)));
    assert.equal(west.engine.connections.get("west-east")!.newestChild, 3);
    assert.equal(east.engine.connections.get("west-east")!.newestChild, 3);
  });
}

Deno.test("sim: Child SA rekey with PFS follows INVALID_KE_PAYLOAD to the responder's group", async () => {
  const { sim, west, east } = pair({
    conn: { esp: "aes_gcm256;dh19+dh20" },
    east: { esp: "aes_gcm256;dh20" },
  });
  assert.equal((await up(sim, west)).rc, 0);
  const w = await rekey(sim, west, "child");
  assert.equal(w.rc, 0, w.lines.join("\n"));
  assert.match(
    w.lines.join("\n"),
    /received INVALID_KE_PAYLOAD suggesting KE DH20 instead of DH19/,
  );
  assertOneTunnel(west, east);
  assert.equal(live(west).child[0].chosen!.keId, 20);
});

Deno.test("sim: IKE SA rekey: new SPIs and keys (§2.18), Child SA moves, old IKE SA gone", async () => {
  const { sim, west, east } = pair({ debug: ["private"] });
  assert.equal((await up(sim, west)).rc, 0);
  const old = live(west).ike[0];
  const oldKeys: IkeSaKeys = old.keys!;
  const oldSpiI = hex(old.spiI), oldSpiR = hex(old.spiR);
  const w = await rekey(sim, west, "ike");
  assert.equal(w.rc, 0, w.lines.join("\n"));
  assert.match(
    w.lines.join("\n"),
    /"west-east" #3: initiator rekeyed IKE SA #1 \{cipher=AES_GCM_16_256 integ=n\/a prf=HMAC_SHA2_\d+ ke=DH\d+\}/,
  );
  assert.match(east.log.lines.join("\n"), /"west-east" #3: responder rekeyed IKE SA #1 \{cipher=/);
  assertOneTunnel(west, east);
  const W = live(west).ike[0], E = live(east).ike[0];
  assert.equal(W.serial, 3);
  assert.ok(W.initiator && !E.initiator);
  assert.notEqual(hex(W.spiI), oldSpiI);
  assert.notEqual(hex(W.spiR), oldSpiR);
  assert.ok(!west.engine.ikeBySerial.has(1) && !east.engine.ikeBySerial.has(1));
  assert.equal(live(west).child[0].serial, 2);
  // SKEYSEED = prf(SK_d(old), g^ir(new) | Ni | Nr), then the usual prf+ (RFC 7296 §2.18).
  const gir = west.log.lines.filter((l) => l.includes("#3: g^ir: ")).at(-1)!.split(": ").at(-1)!;
  const prf = prfAlgorithm(W.chosen!.prfId)!;
  const seed = rekeySkeyseed(prf, oldKeys.skD, fromHex(gir), W.ni!, W.nr!);
  const expect = deriveIkeSaKeys(
    prf,
    encrAlgorithm(W.chosen!.encrId, W.chosen!.encrKeyBits)!,
    undefined,
    seed,
    W.ni!,
    W.nr!,
    W.spiI,
    W.spiR,
  );
  assert.equal(hex(W.keys!.skD), hex(expect.skD));
  assert.equal(hex(W.keys!.skEi), hex(expect.skEi));
  assert.notEqual(hex(W.keys!.skD), hex(oldKeys.skD));
  // The new IKE SA carries further exchanges from message ID 0, and its SK_d keys the next Child SA.
  assert.equal(W.nextRequestId, 0); // the Delete of #1 went on #1
  const c = await rekey(sim, west, "child");
  assert.equal(c.rc, 0, c.lines.join("\n"));
  assert.match(c.lines.join("\n"), /initiator rekeyed Child SA #2 using #3/);
  assertOneTunnel(west, east);
  // CREATE_CHILD_SA was message 0 of #3, the Delete of the old Child SA message 1.
  assert.equal(W.nextRequestId, 2);
  assert.equal(E.expectedRequestId, 2);
});

function fromHex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
}

Deno.test("sim: a second connection to the same peer adds a Child SA to the existing IKE SA", async () => {
  const { sim, west, east } = pair();
  const second = westEast({}, {
    left: { subnet: "192.0.2.64/26" },
    right: { subnet: "192.0.2.128/26" },
  });
  second.name = "west-east-2";
  sim.add(west, second);
  sim.add(east, second);
  assert.equal((await up(sim, west)).rc, 0);
  const w = await up(sim, west, "west-east-2");
  assert.equal(w.rc, 0, w.lines.join("\n"));
  assert.match(w.lines.join("\n"), /"west-east-2" #3: initiating Child SA using IKE SA #1/);
  assert.match(
    w.lines.join("\n"),
    /"west-east-2" #3: initiator established Child SA using #1; IPsec tunnel \[192\.0\.2\.64\/26===192\.0\.2\.128\/26\]/,
  );
  for (const n of [west, east]) {
    const L = live(n);
    assert.equal(L.ike.length, 1);
    assert.equal(L.child.length, 2);
    assert.deepEqual(L.child.map((c) => c.conn.name).sort(), ["west-east", "west-east-2"]);
    assert.ok(L.child.every((c) => c.ike === L.ike[0]));
  }
  assert.equal(east.kernel.installed.length, 4);
});

Deno.test("sim: simultaneous Child SA rekey: one redundant SA is deleted by its creator", async () => {
  const { sim, west, east } = pair();
  assert.equal((await up(sim, west)).rc, 0);
  const oldSpis = new Set([...spis(west), ...spis(east)]);
  rekeyChild(west.engine, live(west).child[0]);
  rekeyChild(east.engine, live(east).child[0]);
  await sim.run(60_000, () => settled(sim) && live(west).child.length === 1);
  await sim.run(5_000);
  assertOneTunnel(west, east);
  for (const spi of [...spis(west), ...spis(east)]) assert.ok(!oldSpis.has(spi), "old SPI kept");
  const logs = [west, east].map((n) => n.log.lines.join("\n"));
  const loser = logs.filter((l) => /Child SA #2: this one has the lowest nonce/.test(l));
  const winner = logs.filter((l) => /Child SA #2: the peer deletes its redundant/.test(l));
  assert.equal(loser.length, 1, "exactly one side deletes its redundant Child SA");
  assert.equal(winner.length, 1, "exactly one side keeps its Child SA");
  const surviving = live(west).child[0].serial;
  assert.equal(west.engine.connections.get("west-east")!.newestChild, surviving);
});

Deno.test("sim: simultaneous IKE SA rekey: one new IKE SA survives on both sides", async () => {
  const { sim, west, east } = pair();
  assert.equal((await up(sim, west)).rc, 0);
  rekeyIke(west.engine, live(west).ike[0]);
  rekeyIke(east.engine, live(east).ike[0]);
  await sim.run(60_000, () => settled(sim) && live(west).ike.length === 1);
  await sim.run(5_000);
  assertOneTunnel(west, east);
  assert.ok(!west.engine.ikeBySerial.has(1) && !east.engine.ikeBySerial.has(1));
  const logs = [west, east].map((n) => n.log.lines.join("\n"));
  assert.equal(logs.filter((l) => /IKE SA #1: this one has the lowest nonce/.test(l)).length, 1);
  assert.equal(logs.filter((l) => /IKE SA #1: the peer deletes its redundant/.test(l)).length, 1);
  // The survivor works: a Child SA rekey goes through on it.
  const w = await rekey(sim, west, "child");
  assert.equal(w.rc, 0, w.lines.join("\n"));
  assertOneTunnel(west, east);
});

Deno.test("sim: lifetimes: the initiator rekeys both SAs inside the fuzzed margin, again and again", async () => {
  const { sim, west, east } = pair();
  const seen: { text: string; at: number }[] = [];
  const log = west.log.log.bind(west.log);
  west.log.log = (p, t, s) => {
    if (/initiator rekeyed/.test(t)) seen.push({ text: t, at: sim.clock.now() });
    log(p, t, s);
  };
  assert.equal((await up(sim, west)).rc, 0);
  const t0 = sim.clock.now();
  await sim.run(8 * HOUR + 60_000);
  const ike = seen.filter((s) => /IKE SA #1 /.test(s.text));
  const child = seen.filter((s) => /Child SA #2 /.test(s.text));
  assert.equal(ike.length, 1, seen.map((s) => s.text).join("\n"));
  assert.equal(child.length, 1);
  // REKEY at lifetime − margin·(1 + fuzz·r): 28800 − 540·(1..2) s (plus a few ms of exchange).
  for (const s of [...ike, ...child]) {
    const secs = (s.at - t0) / 1000;
    assert.ok(secs >= 27_720 && secs <= 28_261, `rekey after ${secs}s`);
  }
  assert.ok(!/initiator rekeyed/.test(east.log.lines.join("\n")), "east rekeyed");
  assertOneTunnel(west, east);
  assert.ok(live(west).ike[0].events.has("REKEY") && live(west).ike[0].events.has("REPLACE"));
  assert.ok(live(east).ike[0].events.has("EXPIRE"));
  await sim.run(8 * HOUR);
  assert.ok(seen.length >= 4, `only ${seen.length} rekeys in 16 hours`);
  assertOneTunnel(west, east);
});

Deno.test("sim: rekey=no: nothing is rekeyed and the SAs expire at their lifetime", async () => {
  const { sim, west, east } = pair({ conn: { rekey: "no", ikelifetime: "1h" } });
  assert.equal((await up(sim, west)).rc, 0);
  const sa = live(west).ike[0];
  assert.ok(!sa.events.has("REKEY") && !sa.events.has("REPLACE") && sa.events.has("EXPIRE"));
  await sim.run(HOUR - 60_000);
  assertOneTunnel(west, east);
  await sim.run(120_000);
  assert.equal(live(west).ike.length + live(east).ike.length, 0);
  assert.equal(west.kernel.installed.length + east.kernel.installed.length, 0);
  assert.ok(!/rekeyed/.test(west.log.lines.join("\n") + east.log.lines.join("\n")));
});

Deno.test("sim: Child SA and IKE SA rekeys complete under 30% loss", async () => {
  let done = 0, tried = 0;
  for (let seed = 1; seed <= 6; seed++) {
    const { sim, west, east } = pair({ loss: 0.3, seed });
    if ((await up(sim, west)).rc !== 0) continue;
    tried++;
    const c = await rekey(sim, west, "child");
    const i = await rekey(sim, west, "ike");
    await sim.run(60_000, () => settled(sim));
    if (c.rc === 0 && i.rc === 0) {
      done++;
      await sim.run(120_000); // retransmitted Deletes finish
      assertOneTunnel(west, east);
    }
  }
  assert.ok(tried >= 4, `only ${tried}/6 runs established`);
  assert.ok(done >= tried - 1, `only ${done}/${tried} runs rekeyed`);
});
