/** Liveness (IKEv2 DPD): a peer that stops answering triggers dpdaction within dpddelay + dpdtimeout. */
import assert from "node:assert/strict";
import { PSK, RecordingWhack, Sim, westEast } from "./sim.ts";

async function upPair(action: string) {
  const sim = new Sim();
  const west = sim.node("west", "192.0.2.1", PSK, 41);
  const east = sim.node("east", "192.0.2.2", PSK, 42);
  const over = { dpddelay: "10s", dpdtimeout: "30s", dpdaction: action };
  sim.add(west, westEast(over));
  sim.add(east, westEast(over));
  const w = new RecordingWhack();
  west.engine.initiate("west-east", w, false);
  await sim.run(60_000, () => w.rc !== undefined);
  assert.equal(w.rc, 0, w.lines.join("\n"));
  return { sim, west, east };
}

Deno.test("liveness: an idle but alive peer answers checks; the SA stays", async () => {
  const { sim, west } = await upPair("clear");
  await sim.run(120_000);
  assert.equal(west.engine.ikeBySerial.size, 1);
  assert.ok((west.engine.counters.get("total.ike.dpd.recv") ?? 0) >= 5);
});

for (const action of ["clear", "hold", "restart"] as const) {
  Deno.test(`liveness: a dead peer triggers dpdaction=${action} within dpddelay + dpdtimeout`, async () => {
    const { sim, west, east } = await upPair(action);
    const crashedAt = sim.clock.now();
    sim.net.detach(east.address);
    sim.nodes.splice(sim.nodes.indexOf(east), 1); // the crashed peer's timers stop with it
    const dead = () => west.log.lines.some((l) => l.includes(`peer is dead; dpdaction=${action}`));
    await sim.run(120_000, dead);
    assert.ok(dead(), west.log.lines.slice(-5).join("\n"));
    const took = (sim.clock.now() - crashedAt) / 1000;
    assert.ok(took <= 10 + 30 + 2, `took ${took}s`);
    assert.ok(took >= 30, `declared dead after only ${took}s`);
    const conn = west.engine.connections.get("west-east")!;
    if (action === "restart") {
      // A rebooted peer (fresh state, same address) lets the restart succeed.
      const reborn = sim.node("east", "192.0.2.2", PSK, 43);
      sim.add(reborn, westEast({ dpddelay: "10s", dpdtimeout: "30s", dpdaction: action }));
      await sim.run(120_000, () => conn.newestChild !== undefined);
      assert.ok(conn.newestChild !== undefined, west.log.lines.slice(-8).join("\n"));
      assert.equal(reborn.engine.childBySerial.size, 1);
    } else {
      await sim.run(60_000);
      assert.equal(west.engine.ikeBySerial.size, 0, "no new attempt expected");
      assert.equal(conn.up, action === "hold");
    }
  });
}
