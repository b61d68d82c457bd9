/**
 * Traffic between swan's userspace datapath and strongSwan's kernel-libipsec
 * (charon 5.9.8), each decrypting what the other encrypted: ping and a TCP
 * echo (random bytes compared byte for byte) between the inner subnets,
 * with swan as initiator and as responder, before and after a Child SA
 * rekey started by swan (`whack --rekey-child`) and one started by charon
 * (`swanctl --rekey --child`). A fast ping runs across each rekey and must
 * lose nothing; swan's datapath must drop nothing along the way.
 * Needs root and the peers `scripts/install-test-deps.sh` installs.
 */
import assert from "node:assert/strict";
import { eventually, Lab } from "../netns/lab.ts";
import { assertNoLoss, assertTcpEcho, espDrops, ping, startEchoServer } from "../netns/traffic.ts";
import { type Charon, startCharon } from "./strongswan.ts";
import { addSwanConnection, show, swanSas } from "./swan.ts";

const PSK = "two datapaths, one tunnel";
const TCP_BYTES = 2 * 1024 * 1024;

/** The SPIs of the installed Child SA `net` charon lists (there may briefly be two). */
async function charonSpis(charon: Charon): Promise<string[]> {
  const sas = await charon.listSas();
  return sas.flatMap((sa) =>
    sa.children.filter((c) => c.state === "INSTALLED").map((c) => c.inSpi)
  );
}

for (const initiator of ["swan", "charon"] as const) {
  Deno.test(`interop traffic: swan (userspace) ↔ charon (kernel-libipsec), ${initiator} initiates; ping and TCP across rekeys from both`, async () => {
    await using lab = await Lab.create();
    const { west, east } = await lab.createPair();
    const swan = await lab.startPluto(west.ns, {
      secrets: `@west @east : PSK "${PSK}"\n`,
      extraArgs: ["--protostack", "userspace"],
    });
    const charon = await startCharon(east.ns, {
      name: "traffic",
      local: east.v4,
      remote: west.v4,
      localId: "east",
      remoteId: "west",
      localTs: east.subnet,
      remoteTs: west.subnet,
      ike: "aes128gcm16-prfsha256-x25519",
      esp: "aes128gcm16",
      psk: PSK,
    });
    try {
      await addSwanConnection(swan, {
        name: "traffic",
        local: west.v4,
        remote: east.v4,
        localId: "@west",
        remoteId: "@east",
        localSubnet: west.subnet,
        remoteSubnet: east.subnet,
        ike: "aes_gcm128-sha2_256;dh31",
        esp: "aes_gcm128",
        pfs: false,
      });
      if (initiator === "swan") {
        const up = await swan.whack(["--name", "traffic", "--initiate"]);
        assert.equal(up.code, 0, show(up) + swan.log());
      } else {
        const up = await charon.initiate();
        assert.equal(up.code, 0, up.stdout + up.stderr);
      }
      await startEchoServer(lab, east.ns, east.inner);
      const logs = async () => `${swan.log()}\n${await charon.diagnostics()}`;

      assertNoLoss(await ping(west.ns, west.inner, east.inner), "ping before rekeys", await logs());
      await assertTcpEcho(west.ns, east.inner, TCP_BYTES, () => swan.log());

      const rekeys: Record<"swan" | "charon", () => Promise<void>> = {
        swan: async () => {
          const r = await swan.whack(["--name", "traffic", "--rekey-child"]);
          assert.equal(r.code, 0, show(r) + swan.log());
        },
        charon: async () => {
          const r = await charon.rekeyChild();
          assert.equal(r.code, 0, r.stdout + r.stderr);
        },
      };
      for (const who of ["swan", "charon"] as const) {
        const before = (await swanSas(swan, "traffic")).children.map((c) => c.inSpi);
        const pinging = ping(west.ns, west.inner, east.inner, { count: 500, interval: 0.002 });
        await new Promise((r) => setTimeout(r, 300));
        await rekeys[who]();
        // Both ends settle on one new Child SA (charon's rekey runs in the background).
        const after = await eventually(
          async () => ({
            swan: (await swanSas(swan, "traffic")).children.map((c) => c.inSpi),
            charon: await charonSpis(charon),
          }),
          (s) => s.swan.length === 1 && !before.includes(s.swan[0]) && s.charon.length === 1,
          { timeoutMs: 10_000 },
        );
        const pinged = await pinging;
        const diagnostics = await logs();
        assert.ok(
          after.swan.length === 1 && !before.includes(after.swan[0]),
          `after ${who}'s rekey: swan ${after.swan}, charon ${after.charon}, before ${before}\n${diagnostics}`,
        );
        assertNoLoss(pinged, `ping across a Child SA rekey by ${who}`, diagnostics);
        await assertTcpEcho(west.ns, east.inner, TCP_BYTES, () => swan.log());
      }
      assert.deepEqual(await espDrops(swan), {}, "swan's datapath dropped packets");
    } finally {
      await charon.stop().catch(() => {});
    }
  });
}
