/**
 * Routing against the kernel's own XFRM tables, with two `swan pluto
 * --protostack xfrm` in a namespace pair: `--route` puts a trap in `ip xfrm
 * policy`; a ping through it makes the kernel ACQUIRE; the daemons negotiate;
 * the Child SA cannot be installed (this kernel has no ESP) so the failure
 * shunt (`--failpass`) lets the ping through in the clear and is listed by
 * `--shuntstatus`; `--terminate`, `--delete` and `--shutdown` leave nothing of
 * ours in `ip xfrm policy` / `ip xfrm state`. Needs root (see lab.ts).
 */

import assert from "node:assert/strict";
import { type CommandResult, eventually, Lab, type Pluto, runIn, tail } from "./lab.ts";

const CONN = "west-east";
const PSK = '@west @east : PSK "a long pre-shared key for the xfrm route test"';

function show(r: CommandResult): string {
  return `exit ${r.code}\nstdout:\n${tail(r.stdout)}\nstderr:\n${tail(r.stderr)}`;
}

async function ok(pluto: Pluto, args: string[]): Promise<CommandResult> {
  const r = await pluto.whack(args);
  assert.equal(r.code, 0, `whack ${args.join(" ")}\n${show(r)}`);
  return r;
}

async function xfrm(ns: string, what: "policy" | "state"): Promise<string> {
  const r = await runIn(ns, ["ip", "xfrm", what], { timeoutMs: 10_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** States of ours: every one but the kernel's own larval ACQUIRE entries (SPI 0, which it expires). */
function ourStates(state: string): string[] {
  return state.split(/\n(?=src )/).filter((s) => s.trim() !== "" && !/spi 0x00000000\b/.test(s));
}

/** One ping from our inner address; true when answered. */
async function ping(ns: string, from: string, to: string): Promise<boolean> {
  const r = await runIn(ns, ["ping", "-n", "-c", "1", "-W", "1", "-I", from, to], {
    timeoutMs: 10_000,
  });
  return r.code === 0;
}

Deno.test("xfrm route: trap → ACQUIRE → IKE → failed install → %pass shunt; cleanup", async () => {
  await using lab = await Lab.create();
  const { west, east } = await lab.createPair();
  // The inner subnets are reached over the veth, as a gateway's would be.
  for (const [from, to] of [[west, east], [east, west]]) {
    const r = await runIn(from.ns, ["ip", "route", "add", to.subnet, "via", to.v4]);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.equal(
    await ping(west.ns, west.inner, east.inner),
    true,
    "the lab routes the inner subnets",
  );
  const options = { secrets: PSK, extraArgs: ["--protostack", "xfrm"] };
  const wp = await lab.startPluto(west.ns, options);
  const ep = await lab.startPluto(east.ns, options);
  const add = [
    "--name",
    CONN,
    "--psk",
    "--ikev2",
    "--failpass",
    "--host",
    west.v4,
    "--id",
    "@west",
    "--subnet",
    west.subnet,
    "--to",
    "--host",
    east.v4,
    "--id",
    "@east",
    "--subnet",
    east.subnet,
  ];
  await ok(wp, add);
  await ok(ep, add);

  await ok(wp, ["--route", "--name", CONN]);
  const again = await ok(wp, ["--route", "--name", CONN]);
  assert.match(again.stdout, /"west-east": connection is already routed/);
  const trap = await xfrm(west.ns, "policy");
  assert.match(
    trap,
    /src 198\.51\.100\.0\/24 dst 203\.0\.113\.0\/24 \n\s+dir out priority \d+ ptype main \n\s+tmpl src 192\.0\.2\.1 dst 192\.0\.2\.2\n\s+proto esp reqid \d+ mode tunnel/,
    trap,
  );
  assert.match((await ok(wp, ["--status"])).stdout, /"west-east": .*; routed-ondemand;/);

  // The first packet is held by the kernel and ACQUIREs; the negotiation fails on ESP.
  assert.equal(await ping(west.ns, west.inner, east.inner), false);
  const shunts = await eventually(
    () => wp.whack(["--shuntstatus"]),
    (r) => r.stdout.includes("=> %pass"),
    { timeoutMs: 20_000 },
  );
  assert.deepEqual(
    shunts.stdout.split("\n").filter((l) => l !== ""),
    [
      "Bare Shunt list:",
      " ",
      "198.51.100.1/32 -1-> 203.0.113.1/32 => %pass    negotiation failed $1",
    ],
    `${show(shunts)}\nwest log:\n${tail(wp.log())}`,
  );
  assert.match(wp.log(), /initiate on demand from 198\.51\.100\.1:0 to 203\.0\.113\.1:0 proto=1/);
  assert.match(ep.log(), /cannot install Child SA/);
  const pass = await xfrm(west.ns, "policy");
  assert.match(pass, /src 198\.51\.100\.1\/32 dst 203\.0\.113\.1\/32 proto icmp \n\s+dir out/);
  // The %pass shunt lets the flow through in the clear; the trap still covers the rest.
  // East's updown removed its route to our subnet when its Child SA failed (`unroute`): restore it.
  const back = await runIn(east.ns, ["ip", "route", "replace", west.subnet, "via", west.v4]);
  assert.equal(back.code, 0, back.stderr);
  assert.equal(await ping(west.ns, west.inner, east.inner), true, pass);
  assert.match((await ok(wp, ["--status"])).stdout, /; routed-ondemand;/);

  // --terminate keeps the route, and no SA of ours (no larval SPI) is left.
  await ok(wp, ["--terminate", "--name", CONN]);
  assert.deepEqual(ourStates(await xfrm(west.ns, "state")), []);
  assert.match(await xfrm(west.ns, "policy"), /tmpl src 192\.0\.2\.1 dst 192\.0\.2\.2/);
  const busyFree = await wp.whack(["--unroute", "--name", CONN]);
  assert.equal(busyFree.code, 0, show(busyFree));
  assert.equal((await xfrm(west.ns, "policy")).includes("tmpl"), false);
  await ok(wp, ["--route", "--name", CONN]);
  // --delete removes the route and the shunt.
  await ok(wp, ["--delete", "--name", CONN]);
  assert.equal(await xfrm(west.ns, "policy"), "");
  assert.deepEqual(ourStates(await xfrm(west.ns, "state")), []);

  // --shutdown removes east's route; east's failed responder SA left no SPI either.
  await ok(ep, ["--route", "--name", CONN]);
  assert.match(await xfrm(east.ns, "policy"), /dir out/);
  await ep.whack(["--shutdown"]);
  assert.equal((await ep.waitExit(10_000)).code, 0, tail(ep.log()));
  assert.equal(await xfrm(east.ns, "policy"), "");
  assert.deepEqual(ourStates(await xfrm(east.ns, "state")), []);
});
