/**
 * NAT traversal through a real NAT: west (198.51.100.10) sits behind a
 * namespace that masquerades it (nftables) to 192.0.2.254 on the way to east
 * (192.0.2.2). swan must detect the NAT, float IKE to 4500, mark ESP as
 * UDP-encapsulated, keep the mapping alive and rekey through it; the NAT's own
 * nftables counters are the witness for the keepalives.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { eventually, listNamespaces, run, startPluto } from "./lab.ts";
import type { Pluto } from "./lab.ts";

const SECRETS = '@west @east : PSK "a NAT does not change the secret"\n';

async function sh(...argv: string[]): Promise<string> {
  const r = await run(argv);
  if (r.code !== 0) throw new Error(`\`${argv.join(" ")}\` failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

Deno.test("NAT: a tunnel through an nftables masquerade floats to 4500, encapsulates ESP and keeps alive", async () => {
  const id = `swan-${Deno.pid}-${randomBytes(4).toString("hex")}`;
  const [west, nat, east] = ["west", "nat", "east"].map((r) => `${id}-${r}`);
  const daemons: Pluto[] = [];
  try {
    for (const ns of [west, nat, east]) {
      await sh("ip", "netns", "add", ns);
      await sh("ip", "-n", ns, "link", "set", "lo", "up");
    }
    await sh(
      "ip",
      "-n",
      west,
      "link",
      "add",
      "eth0",
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      nat,
    );
    await sh(
      "ip",
      "-n",
      east,
      "link",
      "add",
      "eth0",
      "type",
      "veth",
      "peer",
      "name",
      "eth1",
      "netns",
      nat,
    );
    await sh("ip", "-n", west, "addr", "add", "198.51.100.10/24", "dev", "eth0");
    await sh("ip", "-n", nat, "addr", "add", "198.51.100.1/24", "dev", "eth0");
    await sh("ip", "-n", nat, "addr", "add", "192.0.2.254/24", "dev", "eth1");
    await sh("ip", "-n", east, "addr", "add", "192.0.2.2/24", "dev", "eth0");
    for (const [ns, dev] of [[west, "eth0"], [nat, "eth0"], [nat, "eth1"], [east, "eth0"]]) {
      await sh("ip", "-n", ns, "link", "set", dev, "up");
    }
    await sh("ip", "-n", west, "route", "add", "default", "via", "198.51.100.1");
    await sh("ip", "netns", "exec", nat, "sysctl", "-qw", "net.ipv4.ip_forward=1");
    const ruleset = `
table ip swan_nat {
  chain postrouting { type nat hook postrouting priority srcnat; oifname "eth1" masquerade; }
  chain forwarding {
    type filter hook forward priority filter;
    iifname "eth0" udp dport 4500 udp length 9 counter comment "keepalive";
    iifname "eth0" udp dport 4500 counter comment "natt";
  }
}`;
    await Deno.writeTextFile(`/tmp/${id}.nft`, ruleset);
    await sh("ip", "netns", "exec", nat, "nft", "-f", `/tmp/${id}.nft`);

    const w = await startPluto(west, { secrets: SECRETS, extraArgs: ["--keep-alive", "1"] });
    daemons.push(w);
    const e = await startPluto(east, { secrets: SECRETS });
    daemons.push(e);
    const conn = (left: string[]) => [
      "--name",
      "west-east",
      "--psk",
      "--ikev2",
      ...left,
      "--id",
      "@west",
      "--to",
      "--host",
      "192.0.2.2",
      "--id",
      "@east",
    ];
    assert.equal((await w.whack(conn(["--host", "198.51.100.10"]))).code, 0);
    // East sees west as the NAT's address; west's own address travels in its traffic selector.
    assert.equal(
      (await e.whack(conn(["--host", "192.0.2.254", "--subnet", "198.51.100.10/32"]))).code,
      0,
    );
    for (const p of [w, e]) assert.equal((await p.whack(["--listen"])).code, 0);

    const up = await w.whack(["--name", "west-east", "--initiate"]);
    assert.equal(up.code, 0, up.stdout + up.stderr + w.log());
    assert.match(up.stdout, /sent IKE_SA_INIT request to 192\.0\.2\.2:UDP\/500/);
    assert.match(up.stdout, /sent IKE_AUTH request to 192\.0\.2\.2:UDP\/4500/);
    assert.match(
      up.stdout,
      /initiator established Child SA using #1; IPsec tunnel \[198\.51\.100\.10\/32===192\.0\.2\.2\/32\] \{ESPinUDP/,
    );

    const ws = (await w.whack(["--status"])).stdout;
    const es = (await e.whack(["--status"])).stdout;
    assert.match(ws, /#1: "west-east":4500 established IKE SA/);
    assert.match(es, /#1: "west-east":4500 established IKE SA/);
    assert.match(
      e.log(),
      /responder established Child SA using #1; IPsec tunnel \[192\.0\.2\.2\/32===198\.51\.100\.10\/32\] \{ESPinUDP/,
    );

    // Keepalives cross the NAT every second (the kernel's counter says so).
    const keepalives = async () => {
      const out = await sh("ip", "netns", "exec", nat, "nft", "list", "table", "ip", "swan_nat");
      const m = /udp length 9 counter packets (\d+)/.exec(out);
      return m ? Number(m[1]) : 0;
    };
    const k0 = await keepalives();
    const k1 = await eventually(keepalives, (k) => k - k0 >= 2, { timeoutMs: 6000 });
    assert.ok(k1 - k0 >= 2, `only ${k1 - k0} keepalives crossed the NAT`);

    // Rekeys through the NAT: the new SAs stay on 4500 and encapsulated.
    const rekeyChild = await w.whack(["--name", "west-east", "--rekey-child"]);
    assert.equal(rekeyChild.code, 0, rekeyChild.stdout + w.log());
    assert.match(rekeyChild.stdout, /rekeyed Child SA #2 using #1; IPsec tunnel .* \{ESPinUDP/);
    const rekeyIke = await e.whack(["--name", "west-east", "--rekey-ike"]);
    assert.equal(rekeyIke.code, 0, rekeyIke.stdout + e.log());
    assert.match(rekeyIke.stdout, /rekeyed IKE SA #1/);
    const after = (await w.whack(["--showstates"])).stdout;
    assert.match(after, /established IKE SA/);
    assert.doesNotMatch(after, /"west-east":500 /, "an SA fell back to port 500");
    const ikeSerial = /#(\d+): "west-east":4500 established IKE SA/.exec(after)?.[1];
    assert.ok(ikeSerial && ikeSerial !== "1", `west's IKE SA was not replaced:\n${after}`);

    // Delete from the responder reaches west through the NAT's mapping.
    const eastIke = /#(\d+): "west-east":4500 established IKE SA/.exec(
      (await e.whack(["--showstates"])).stdout,
    )?.[1];
    const down = await e.whack(["--deletestate", eastIke ?? "0"]);
    assert.equal(down.code, 0, down.stdout + e.log());
    const left = await eventually(
      async () => (await w.whack(["--showstates"])).stdout.trim(),
      (s) => s === "",
      { timeoutMs: 10_000 },
    );
    assert.equal(left, "", "west still has states after east deleted the IKE SA");
  } finally {
    for (const d of daemons.reverse()) await d.stop().catch(() => {});
    const present = await listNamespaces();
    for (const ns of [west, nat, east]) {
      if (present.includes(ns)) await run(["ip", "netns", "del", ns]);
    }
    await Deno.remove(`/tmp/${id}.nft`).catch(() => {});
  }
});
