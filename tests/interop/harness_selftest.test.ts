/**
 * The interop harness proven without swan: charon ↔ charon must establish a
 * tunnel whose keys both charons log identically (which proves the key-log
 * parser and the SPI bookkeeping that the swan tests rely on), and Libreswan
 * 4.10 ↔ charon must establish childless IKE SAs in both directions (the
 * path that works on a kernel without ESP). Needs root and the peers
 * `scripts/install-test-deps.sh` installs.
 */

import assert from "node:assert/strict";
import { eventually, Lab, type NamespaceEnd } from "../netns/lab.ts";
import { compareKeys } from "./keys.ts";
import { startLibreswan } from "./libreswan.ts";
import { type CharonConnection, startCharon } from "./strongswan.ts";

const PSK = "harness self-test pre-shared key";

/** charon's connection from `local` (ID `localId`) to `remote` (ID `remoteId`). */
function charonConn(
  local: NamespaceEnd,
  remote: NamespaceEnd,
  [localId, remoteId]: [string, string],
  extra: Partial<CharonConnection> = {},
): CharonConnection {
  return {
    name: "selftest",
    local: local.v4,
    remote: remote.v4,
    localId,
    remoteId,
    localTs: local.subnet,
    remoteTs: remote.subnet,
    ike: "aes256gcm16-prfsha256-x25519",
    esp: "aes256gcm16",
    psk: PSK,
    ...extra,
  };
}

Deno.test("interop harness: charon ↔ charon establishes; both key logs agree; terminate cleans both", async () => {
  await using lab = await Lab.create();
  const { west, east } = await lab.createPair();
  const a = await startCharon(west.ns, charonConn(west, east, ["west", "east"]));
  try {
    const b = await startCharon(east.ns, charonConn(east, west, ["east", "west"]));
    try {
      const up = await a.initiate();
      assert.equal(up.code, 0, `swanctl --initiate\n${up.stdout}`);
      const [sa] = await a.listSas();
      const [peer] = await eventually(() => b.listSas(), (l) => l.length === 1);
      assert.ok(sa && peer, "both charons list an IKE SA");
      assert.equal(sa.initiator, true);
      assert.equal(peer.initiator, false);
      assert.deepEqual([sa.spiI, sa.spiR], [peer.spiI, peer.spiR], "IKE SPIs");
      assert.deepEqual(
        [sa.children[0].inSpi, sa.children[0].outSpi],
        [peer.children[0].outSpi, peer.children[0].inSpi],
        "Child SA SPIs are crosswise",
      );
      const ka = (await a.keys()).get(sa.uniqueId);
      const kb = (await b.keys()).get(peer.uniqueId);
      assert.ok(ka && kb, "both charons logged keys");
      assert.equal(ka.esp.size, 2, "two ESP SAs logged");
      assert.deepEqual(compareKeys(ka, kb), [], "the two charons' keys differ");
      assert.equal(ka.ike.SK_ei?.length, 2 * 36, "SK_ei of AES-GCM-256 carries the 4-byte salt");

      const down = await a.terminate();
      assert.equal(down.code, 0, `swanctl --terminate\n${down.stdout}`);
      assert.deepEqual(await eventually(() => b.listSas(), (l) => l.length === 0), []);
    } finally {
      await b.stop();
    }
  } finally {
    await a.stop();
  }
});

for (const initiator of ["charon", "pluto"] as const) {
  Deno.test(`interop harness: Libreswan 4.10 ↔ charon, ${initiator} initiates a childless IKE SA`, async () => {
    await using lab = await Lab.create();
    const { west, east } = await lab.createPair();
    const pluto = await startLibreswan(west.ns, `@west @east : PSK "${PSK}"\n`);
    try {
      const charon = await startCharon(
        east.ns,
        charonConn(east, west, ["east", "west"], { childless: "force" }),
      );
      try {
        await pluto.addConnection({
          name: "selftest",
          local: west.v4,
          remote: east.v4,
          localId: "@west",
          remoteId: "@east",
          localSubnet: west.subnet,
          remoteSubnet: east.subnet,
          ike: "aes_gcm256-sha2_256;dh31",
          esp: "aes_gcm256",
        });
        if (initiator === "charon") {
          const up = await charon.initiate({ childless: true });
          assert.equal(up.code, 0, `swanctl --initiate --ike\n${up.stdout}`);
        } else {
          await pluto.impairChildless();
          const up = await pluto.whack(["--name", "selftest", "--initiate"]);
          assert.match(up.stdout, /established IKE SA/, `whack --initiate\n${up.stdout}`);
        }
        const sas = await eventually(() => charon.listSas(), (l) => l[0]?.state === "ESTABLISHED");
        assert.equal(sas.length, 1, "charon: one IKE SA");
        assert.equal(sas[0].state, "ESTABLISHED");
        assert.deepEqual(sas[0].children, [], "charon: no Child SA");
        assert.equal(sas[0].initiator, initiator === "charon");
        const states = await pluto.whack(["--showstates"]);
        assert.match(states.stdout, /#1: "selftest"\S* STATE_V2_ESTABLISHED_IKE_SA/, states.stdout);

        const down = await pluto.whack(["--name", "selftest", "--terminate"]);
        assert.equal(down.code, 0, down.stdout);
        assert.deepEqual(await eventually(() => charon.listSas(), (l) => l.length === 0), []);
      } catch (err) {
        if (err instanceof Error) {
          err.message += `\n${pluto.diagnostics()}\n${await charon.diagnostics()}`;
        }
        throw err;
      } finally {
        await charon.stop();
      }
    } finally {
      await pluto.stop();
    }
  });
}
