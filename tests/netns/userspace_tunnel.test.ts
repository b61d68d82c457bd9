/**
 * --protostack userspace end to end: two swan daemons negotiate a tunnel and
 * carry real traffic through their TUN devices as ESP-in-UDP. The witnesses
 * are ping itself and the veth's nftables counters: ESP is seen on 4500 and
 * no packet between the inner subnets crosses the wire in the clear.
 * ping runs with a deadline (-w) so a datagram lost to a loaded CI machine is
 * made up by the next one: this proves traffic flows; zero loss across a
 * rekey is userspace_traffic.test.ts's job.
 */
import assert from "node:assert/strict";
import { Lab, run } from "./lab.ts";

const SECRETS = '@west @east : PSK "userspace datapaths need keys too"\n';

async function nft(ns: string, ...args: string[]): Promise<string> {
  const r = await run(["ip", "netns", "exec", ns, "nft", ...args]);
  if (r.code !== 0) throw new Error(`nft ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

Deno.test("userspace ESP: ping and a rekey between two swan daemons", async () => {
  const lab = await Lab.create();
  try {
    const { west, east } = await lab.createPair();
    await Deno.writeTextFile(
      `/tmp/${west.ns}.nft`,
      `table inet witness {
  chain out { type filter hook output priority 0;
    oifname "eth0" udp dport 4500 counter comment "natt";
    oifname "eth0" ip saddr 198.51.100.0/24 ip daddr 203.0.113.0/24 counter comment "clear"; }
}`,
    );
    await nft(west.ns, "-f", `/tmp/${west.ns}.nft`);
    await Deno.remove(`/tmp/${west.ns}.nft`);
    const extra = ["--protostack", "userspace"];
    const w = await lab.startPluto(west.ns, { secrets: SECRETS, extraArgs: extra });
    const e = await lab.startPluto(east.ns, { secrets: SECRETS, extraArgs: extra });
    const conn = [
      "--name",
      "west-east",
      "--psk",
      "--ikev2",
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
    for (const p of [w, e]) {
      assert.equal((await p.whack(conn)).code, 0);
      assert.equal((await p.whack(["--listen"])).code, 0);
    }
    const up = await w.whack(["--name", "west-east", "--initiate"]);
    assert.equal(up.code, 0, up.stdout + w.log());
    assert.match(up.stdout, /initiator established Child SA using #1; IPsec tunnel .* \{ESPinUDP/);

    const ping = async () =>
      await run([
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
        "198.51.100.1",
        "203.0.113.1",
      ]);
    const p1 = await ping();
    assert.equal(p1.code, 0, `ping failed: ${p1.stdout}${p1.stderr}\n${w.log()}`);
    assert.match(p1.stdout, /3 received/);

    const rekey = await w.whack(["--name", "west-east", "--rekey-child"]);
    assert.equal(rekey.code, 0, rekey.stdout + w.log());
    const p2 = await ping();
    assert.equal(p2.code, 0, `ping after rekey failed: ${p2.stdout}${w.log()}`);

    const traffic = (await w.whack(["--trafficstatus"])).stdout;
    assert.match(traffic, /inBytes=[1-9]\d*, outBytes=[1-9]\d*/);
    const counters = await nft(west.ns, "list", "table", "inet", "witness");
    const natt = Number(/dport 4500 counter packets (\d+)/.exec(counters)?.[1] ?? 0);
    const clear = Number(/203\.0\.113\.0\/24 counter packets (\d+)/.exec(counters)?.[1] ?? -1);
    assert.ok(natt >= 6, `only ${natt} ESP-in-UDP packets left west`);
    assert.equal(clear, 0, "inner traffic left west in the clear");
  } finally {
    await lab.dispose();
  }
});
