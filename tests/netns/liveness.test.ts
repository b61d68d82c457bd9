/**
 * Liveness with real processes: east's pluto is killed mid-tunnel (SIGKILL,
 * so it sends no Delete) and west must notice through its liveness checks and
 * apply dpdaction within dpddelay + dpdtimeout: clear forgets the SAs;
 * restart negotiates again and succeeds once east is back.
 */
import assert from "node:assert/strict";
import { eventually, Lab, type Pluto } from "./lab.ts";

const SECRETS = '@west @east : PSK "is anybody out there"\n';

function conn(action: string): string[] {
  return [
    "--name",
    "west-east",
    "--psk",
    "--ikev2",
    "--dpddelay",
    "1",
    "--dpdtimeout",
    "4",
    "--dpdaction",
    action,
    "--host",
    "192.0.2.1",
    "--id",
    "@west",
    "--subnet",
    "198.51.100.0/24",
    "--to",
    "--host",
    "192.0.2.2",
    "--id",
    "@east",
    "--subnet",
    "203.0.113.0/24",
  ];
}

async function ready(p: Pluto, action: string): Promise<void> {
  assert.equal((await p.whack(conn(action))).code, 0);
  assert.equal((await p.whack(["--listen"])).code, 0);
}

for (const action of ["clear", "restart"] as const) {
  Deno.test(`liveness: a killed peer is declared dead within dpddelay + dpdtimeout (dpdaction=${action})`, async () => {
    const lab = await Lab.create();
    try {
      const { west, east } = await lab.createPair();
      const w = await lab.startPluto(west.ns, { secrets: SECRETS });
      const e = await lab.startPluto(east.ns, { secrets: SECRETS });
      await ready(w, action);
      await ready(e, action);
      const up = await w.whack(["--name", "west-east", "--initiate"]);
      assert.equal(up.code, 0, up.stdout + w.log());

      Deno.kill(e.pid, "SIGKILL");
      const killed = Date.now();
      const dead = await eventually(
        () => Promise.resolve(w.log().includes(`peer is dead; dpdaction=${action}`)),
        (d) => d,
        { timeoutMs: 12_000 },
      );
      assert.ok(dead, `west never declared east dead:\n${w.log()}`);
      const took = (Date.now() - killed) / 1000;
      // dpddelay + dpdtimeout, plus slack for a loaded CI machine and the 200 ms polling.
      assert.ok(took <= 1 + 4 + 6, `took ${took}s`);

      if (action === "clear") {
        const states = (await w.whack(["--showstates"])).stdout.trim();
        assert.equal(states, "", `west kept states:\n${states}`);
      } else {
        // A rebooted east (new process, no state) accepts west's renewed attempts.
        const e2 = await lab.startPluto(east.ns, { secrets: SECRETS });
        await ready(e2, action);
        const s = await eventually(
          async () => (await w.whack(["--showstates"])).stdout,
          (out) => /established Child SA/.test(out),
          { timeoutMs: 20_000 },
        );
        assert.match(s, /established Child SA/, `west did not restart:\n${w.log()}`);
      }
    } finally {
      await lab.dispose();
    }
  });
}
