/**
 * Interop: swan against Libreswan 4.10's pluto. On this kernel pluto cannot
 * add ESP SAs, so what completes is an IKE SA without a Child SA (RFC 6023):
 * swan initiates one with `--childless`, and pluto initiates one (Libreswan
 * 4.10 needs its `omit-v2-ike-auth-child` impairment for that); either side
 * then deletes it and both must be clean. A Child SA that pluto cannot
 * install must fail cleanly: no Child SA claimed by swan, and nothing left
 * after the delete. Needs root and the peers `scripts/install-test-deps.sh` installs.
 */

import assert from "node:assert/strict";
import { eventually, Lab, type NamespacePair, type Pluto, tail } from "../netns/lab.ts";
import { type LibreswanPluto, startLibreswan } from "./libreswan.ts";
import { addSwanConnection, assertSwanClean, show, swanSas } from "./swan.ts";

const CONN = "lsw";
const PSK = "Libreswan interop pre-shared key";
const IKE = "aes_gcm256-sha2_256;dh31";
const ESP = "aes_gcm256";
const INITIATE_TIMEOUT_MS = 20_000;

interface Peers {
  pair: NamespacePair;
  swan: Pluto;
  lsw: LibreswanPluto;
}

/** swan in west, Libreswan in east, the connection added on both; always cleaned up. */
async function withSwanAndLibreswan(
  { childless }: { childless: boolean },
  body: (peers: Peers) => Promise<void>,
): Promise<void> {
  await using lab = await Lab.create();
  const pair = await lab.createPair();
  const { west, east } = pair;
  const secrets = `@west @east : PSK "${PSK}"\n`;
  const swan = await lab.startPluto(west.ns, { secrets });
  const lsw = await startLibreswan(east.ns, secrets);
  try {
    await addSwanConnection(swan, {
      name: CONN,
      local: west.v4,
      remote: east.v4,
      localId: "@west",
      remoteId: "@east",
      localSubnet: west.subnet,
      remoteSubnet: east.subnet,
      ike: IKE,
      esp: ESP,
      childless,
    });
    await lsw.addConnection({
      name: CONN,
      local: east.v4,
      remote: west.v4,
      localId: "@east",
      remoteId: "@west",
      localSubnet: east.subnet,
      remoteSubnet: west.subnet,
      ike: IKE,
      esp: ESP,
    });
    await body({ pair, swan, lsw });
  } catch (err) {
    if (err instanceof Error) {
      err.message += `\n--- swan pluto stderr ---\n${tail(swan.log())}\n${lsw.diagnostics()}`;
    }
    throw err;
  } finally {
    await lsw.stop();
  }
}

/** Libreswan's state lines for the connection (`#N: "lsw"… STATE_…`). */
async function libreswanStates(lsw: LibreswanPluto): Promise<string[]> {
  const r = await lsw.whack(["--showstates"]);
  assert.equal(r.code, 0, `Libreswan whack --showstates\n${show(r)}`);
  return r.stdout.split("\n").filter((line) => line.includes(`"${CONN}"`));
}

/** Both sides hold one established IKE SA and no Child SA. */
async function assertChildlessIkeSa({ swan, lsw }: Peers): Promise<void> {
  const theirs = await eventually(
    () => libreswanStates(lsw),
    (s) => s.some((line) => line.includes("STATE_V2_ESTABLISHED_IKE_SA")),
  );
  assert.equal(theirs.length, 1, `Libreswan: one state\n${theirs.join("\n")}`);
  assert.match(theirs[0], /STATE_V2_ESTABLISHED_IKE_SA/, "Libreswan: established IKE SA");
  const ours = await swanSas(swan, CONN);
  assert.equal(ours.ikeSerials.length, 1, `swan: one IKE SA\n${ours.states.join("\n")}`);
  assert.deepEqual(ours.children, [], `swan: no Child SA\n${ours.states.join("\n")}`);
}

async function assertLibreswanClean(lsw: LibreswanPluto): Promise<void> {
  const left = await eventually(() => libreswanStates(lsw), (s) => s.length === 0);
  assert.deepEqual(left, [], "Libreswan: states remain");
}

Deno.test("interop: swan → Libreswan 4.10 childless IKE SA establishes; swan deletes; both clean", async () => {
  await withSwanAndLibreswan({ childless: true }, async (peers) => {
    const up = await peers.swan.whack(["--name", CONN, "--initiate"], {
      timeoutMs: INITIATE_TIMEOUT_MS,
    });
    assert.equal(up.code, 0, `swan: --initiate\n${show(up)}`);
    assert.match(up.stdout, /established IKE SA/, show(up));
    assert.doesNotMatch(up.stdout, /Child SA/, show(up));
    await assertChildlessIkeSa(peers);
    const down = await peers.swan.whack(["--name", CONN, "--terminate"]);
    assert.equal(down.code, 0, `swan: --terminate\n${show(down)}`);
    await assertLibreswanClean(peers.lsw);
    await assertSwanClean(peers.swan, CONN);
  });
});

Deno.test("interop: Libreswan 4.10 → swan childless IKE SA establishes; Libreswan deletes; both clean", async () => {
  await withSwanAndLibreswan({ childless: false }, async (peers) => {
    await peers.lsw.impairChildless();
    const up = await peers.lsw.whack(["--name", CONN, "--initiate"], INITIATE_TIMEOUT_MS);
    assert.match(up.stdout, /initiator established IKE SA/, `Libreswan: --initiate\n${show(up)}`);
    await assertChildlessIkeSa(peers);
    const down = await peers.lsw.whack(["--name", CONN, "--terminate"]);
    assert.equal(down.code, 0, `Libreswan: --terminate\n${show(down)}`);
    await assertSwanClean(peers.swan, CONN);
    await assertLibreswanClean(peers.lsw);
  });
});

Deno.test("interop: swan → Libreswan 4.10 with a Child SA Libreswan cannot install fails cleanly", async () => {
  await withSwanAndLibreswan({ childless: false }, async (peers) => {
    const up = await peers.swan.whack(["--name", CONN, "--initiate"], {
      timeoutMs: INITIATE_TIMEOUT_MS,
    });
    // Libreswan refuses the Child SA in its IKE_AUTH response (it has no
    // kernel ESP to offer); the IKE SA stands, swan must not claim a Child SA.
    assert.match(up.stdout, /initiator established IKE SA/, `swan: --initiate\n${show(up)}`);
    assert.match(up.stdout, /rejected Child SA/, `swan: --initiate\n${show(up)}`);
    assert.doesNotMatch(up.stdout, /established Child SA/, `swan: --initiate\n${show(up)}`);
    await assertChildlessIkeSa(peers);
    const down = await peers.swan.whack(["--name", CONN, "--terminate"]);
    assert.equal(down.code, 0, `swan: --terminate\n${show(down)}`);
    await assertLibreswanClean(peers.lsw);
    await assertSwanClean(peers.swan, CONN);
  });
});

Deno.test("interop: IKE SA rekey with Libreswan 4.10 from either side; one IKE SA remains on both", async () => {
  await withSwanAndLibreswan({ childless: true }, async (peers) => {
    const up = await peers.swan.whack(["--name", CONN, "--initiate"], {
      timeoutMs: INITIATE_TIMEOUT_MS,
    });
    assert.equal(up.code, 0, `swan: --initiate\n${show(up)}`);
    await assertChildlessIkeSa(peers);
    const serialsBefore = (await swanSas(peers.swan, CONN)).ikeSerials;

    const byUs = await peers.swan.whack(["--name", CONN, "--rekey-ike"], {
      timeoutMs: INITIATE_TIMEOUT_MS,
    });
    assert.equal(byUs.code, 0, `swan: --rekey-ike\n${show(byUs)}`);
    assert.match(byUs.stdout, /rekeyed IKE SA/, show(byUs));
    // The old IKE SA is deleted by the rekey initiator; both end with exactly one.
    await eventually(() => libreswanStates(peers.lsw), (s) => s.length === 1);
    await assertChildlessIkeSa(peers);
    const serialsAfterUs = (await swanSas(peers.swan, CONN)).ikeSerials;
    assert.notDeepEqual(serialsAfterUs, serialsBefore, "swan: the IKE SA was not replaced");
    const theirsAfterUs = (await libreswanStates(peers.lsw))[0];

    const byThem = await peers.lsw.whack(["--name", CONN, "--rekey-ike"], INITIATE_TIMEOUT_MS);
    assert.equal(byThem.code, 0, `Libreswan: --rekey-ike\n${show(byThem)}`);
    await eventually(
      () => libreswanStates(peers.lsw),
      (s) => s.length === 1 && s[0].split(":")[0] !== theirsAfterUs.split(":")[0],
    );
    await assertChildlessIkeSa(peers);
    const serialsAfterThem = (await swanSas(peers.swan, CONN)).ikeSerials;
    assert.notDeepEqual(
      serialsAfterThem,
      serialsAfterUs,
      "swan: Libreswan's rekey did not replace our IKE SA",
    );

    const down = await peers.swan.whack(["--name", CONN, "--terminate"]);
    assert.equal(down.code, 0, `swan: --terminate\n${show(down)}`);
    await assertLibreswanClean(peers.lsw);
    await assertSwanClean(peers.swan, CONN);
  });
});
