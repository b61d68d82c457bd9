/**
 * Traffic, not just keys: swan with --protostack userspace and strongSwan's
 * charon with kernel-libipsec carry ping between the inner subnets through
 * their TUN devices as ESP-in-UDP, with swan as initiator and as responder.
 * The peer's own datapath decrypting our packets (and ours decrypting its) is
 * the proof; --trafficstatus counters confirm which SAs carried it.
 */
import assert from "node:assert/strict";
import { Lab, run } from "../netns/lab.ts";
import { startCharon } from "./strongswan.ts";
import { addSwanConnection, show } from "./swan.ts";

const PSK = "userspace ESP meets kernel-libipsec";

for (const initiator of ["swan", "charon"] as const) {
  Deno.test(`interop: ping through swan (userspace ESP) ↔ charon (kernel-libipsec), ${initiator} initiates`, async () => {
    await using lab = await Lab.create();
    const { west, east } = await lab.createPair();
    const swan = await lab.startPluto(west.ns, {
      secrets: `@west @east : PSK "${PSK}"\n`,
      extraArgs: ["--protostack", "userspace"],
    });
    const charon = await startCharon(east.ns, {
      name: "ping",
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
        name: "ping",
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
        const up = await swan.whack(["--name", "ping", "--initiate"]);
        assert.equal(up.code, 0, show(up) + swan.log());
      } else {
        const up = await charon.initiate();
        assert.equal(up.code, 0, up.stdout + up.stderr);
      }
      const ping = await run([
        "ip",
        "netns",
        "exec",
        west.ns,
        "ping",
        "-c",
        "3",
        "-i",
        "0.2",
        "-w",
        "6",
        "-I",
        west.inner,
        east.inner,
      ]);
      assert.equal(
        ping.code,
        0,
        `ping failed\n${ping.stdout}${ping.stderr}\n${swan.log()}\n${await charon.charonLog()}`,
      );
      assert.match(ping.stdout, /3 received/);
      const traffic = (await swan.whack(["--trafficstatus"])).stdout;
      assert.match(traffic, /inBytes=[1-9]\d*, outBytes=[1-9]\d*/, traffic);
    } finally {
      await charon.stop().catch(() => {});
    }
  });
}
