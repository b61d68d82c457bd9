/**
 * The updown contract end to end (whack-pluto-interface §5): two real
 * `swan pluto` processes (`--protostack none`) in namespaces, each running
 * a recording updown script that writes its verb and environment to a file
 * per call. Initiating records prepare-client, route-client, up-client on
 * both sides with the environment the tunnel implies (addresses, IDs,
 * subnets, the veth device, SPIs as `--status` shows them); terminating
 * records down-client, unroute-client; the script's output reaches whack.
 *
 * Also the built-in default's xfrm route, against the kernel's own routing
 * table in a namespace. Needs root (see lab.ts).
 */
import assert from "node:assert/strict";
import { parseAddress } from "../../src/config/addresses.ts";
import { DefaultUpdown } from "../../src/daemon/default_updown.ts";
import { type CommandResult, eventually, Lab, type Pluto, runIn, tail } from "./lab.ts";

const CONN = "west-east";
const PSK = '@west @east : PSK "a long pre-shared key for the updown netns test"\n';
const INITIATE_TIMEOUT_MS = 60_000;

/** Writes `<n>-<verb>` (n counts this side's calls) holding the environment; prints one line. */
const RECORDER = `#!/bin/sh
dir="$(dirname "$0")/\${PLUTO_MY_ID#@}"
mkdir -p "$dir"
n=$(ls "$dir" | wc -l)
env > "$dir/$n-$PLUTO_VERB"
echo "recorded $PLUTO_VERB"
`;

/** The variables the script may see: ours, plus what the shell adds itself (dash: PWD). */
const ALLOWED = /^(PATH|PWD|PLUTO_[A-Z_]+|XAUTH_FAILED|VTI_[A-Z]+|SPI_IN|SPI_OUT)$/;

function show(r: CommandResult): string {
  return `exit ${r.code}\nstdout:\n${tail(r.stdout)}\nstderr:\n${tail(r.stderr)}`;
}

/** The calls recorded for one side, in order: verb and environment. */
async function recorded(
  dir: string,
  side: string,
): Promise<{ verb: string; env: Map<string, string> }[]> {
  const entries: { n: number; verb: string; file: string }[] = [];
  try {
    for await (const e of Deno.readDir(`${dir}/${side}`)) {
      const m = /^(\d+)-(.+)$/.exec(e.name);
      if (m) entries.push({ n: Number(m[1]), verb: m[2], file: `${dir}/${side}/${e.name}` });
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  entries.sort((a, b) => a.n - b.n);
  return await Promise.all(entries.map(async ({ verb, file }) => {
    const env = new Map<string, string>();
    for (const line of (await Deno.readTextFile(file)).split("\n")) {
      const i = line.indexOf("=");
      if (i > 0) env.set(line.slice(0, i), line.slice(i + 1));
    }
    return { verb, env };
  }));
}

/** Inbound and outbound SPI of the one Child SA in a `--status` (`esp.OUT@peer esp.IN@us`). */
function statusSpis(status: string): { out: string; in: string } {
  const m = / esp[.:]([0-9a-f]+)@\S+ esp[.:]([0-9a-f]+)@\S+ tun/.exec(status);
  assert.ok(m, `no esp.…@… line in\n${status}`);
  return {
    out: `0x${parseInt(m[1], 16).toString(16)}`,
    in: `0x${parseInt(m[2], 16).toString(16)}`,
  };
}

async function withLogs(plutos: () => Pluto[], body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const logs = plutos().map((p) => `--- ${p.ns} pluto stderr ---\n${tail(p.log())}`).join("\n");
    if (err instanceof Error) err.message += `\n${logs}`;
    throw err;
  }
}

Deno.test("netns updown: a recording script sees prepare, route, up and down, unroute with the tunnel's environment", async () => {
  await using lab = await Lab.create();
  const dir = await Deno.makeTempDir({ prefix: "swan-updown-" });
  try {
    const script = `${dir}/record.sh`;
    await Deno.writeTextFile(script, RECORDER, { mode: 0o755 });
    await Deno.chmod(script, 0o755);
    const pair = await lab.createPair();
    const west = await lab.startPluto(pair.west.ns, { secrets: PSK });
    const east = await lab.startPluto(pair.east.ns, { secrets: PSK });
    await withLogs(() => [west, east], async () => {
      const add = [
        "--name",
        CONN,
        "--psk",
        "--ikev2",
        "--host",
        pair.west.v4,
        "--id",
        "@west",
        "--subnet",
        pair.west.subnet,
        "--updown",
        script,
        "--to",
        "--host",
        pair.east.v4,
        "--id",
        "@east",
        "--subnet",
        pair.east.subnet,
        "--updown",
        script,
      ]; // deno-fmt-ignore
      for (const pluto of [west, east]) {
        const r = await pluto.whack(add);
        assert.equal(r.code, 0, show(r));
        assert.equal((await pluto.whack(["--listen"])).code, 0);
      }
      const up = await west.whack(["--name", CONN, "--initiate"], {
        timeoutMs: INITIATE_TIMEOUT_MS,
      });
      assert.equal(up.code, 0, show(up));
      for (const verb of ["prepare", "route", "up"]) {
        assert.ok(
          up.stdout.includes(`"${CONN}" #2: command "${verb}" output: recorded ${verb}-client\n`),
          `whack did not relay the ${verb} output\n${show(up)}`,
        );
      }
      const spis = {
        west: statusSpis((await west.whack(["--status"])).stdout),
        east: statusSpis((await east.whack(["--status"])).stdout),
      };
      const plan = {
        west: { me: pair.west, peer: pair.east, id: "@west", peerId: "@east" },
        east: { me: pair.east, peer: pair.west, id: "@east", peerId: "@west" },
      };
      for (const side of ["west", "east"] as const) {
        const calls = await eventually(() => recorded(dir, side), (c) => c.length >= 3);
        assert.deepEqual(
          calls.map((c) => c.verb),
          ["prepare-client", "route-client", "up-client"],
          `${side}: verbs after --initiate`,
        );
        const p = plan[side];
        for (const { verb, env } of calls) {
          const stray = [...env.keys()].filter((k) => !ALLOWED.test(k));
          assert.deepEqual(stray, [], `${side} ${verb}: variables pluto did not set`);
          const expected: Record<string, string> = {
            PLUTO_VERB: verb,
            PLUTO_CONNECTION: CONN,
            PLUTO_CONNECTION_TYPE: "tunnel",
            PLUTO_INTERFACE: "eth0",
            PLUTO_ME: p.me.v4,
            PLUTO_MY_ID: p.id,
            PLUTO_MY_CLIENT: p.me.subnet,
            PLUTO_MY_CLIENT_NET: p.me.subnet.split("/")[0],
            PLUTO_MY_CLIENT_MASK: "255.255.255.0",
            PLUTO_PEER: p.peer.v4,
            PLUTO_PEER_ID: p.peerId,
            PLUTO_PEER_CLIENT: p.peer.subnet,
            PLUTO_SA_TYPE: "ESP",
            PLUTO_STACK: "none",
            PLUTO_CONN_ADDRFAMILY: "ipv4",
            // SPI_IN names the peer's inbound SA: our outbound one (§5.3).
            SPI_IN: spis[side].out,
            SPI_OUT: spis[side].in,
          };
          for (const [name, value] of Object.entries(expected)) {
            assert.equal(env.get(name), value, `${side} ${verb}: ${name}`);
          }
          assert.ok(env.get("PATH"), `${side} ${verb}: no PATH`);
        }
      }

      const down = await west.whack(["--name", CONN, "--terminate"]);
      assert.equal(down.code, 0, show(down));
      for (const verb of ["down", "unroute"]) {
        assert.ok(
          down.stdout.includes(`"${CONN}" #2: command "${verb}" output: recorded ${verb}-client\n`),
          `whack did not relay the ${verb} output\n${show(down)}`,
        );
      }
      for (const side of ["west", "east"] as const) {
        const calls = await eventually(() => recorded(dir, side), (c) => c.length >= 5);
        assert.deepEqual(
          calls.slice(3).map((c) => c.verb),
          ["down-client", "unroute-client"],
          `${side}: verbs after --terminate`,
        );
        assert.equal(calls.length, 5, `${side}: extra calls`);
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("netns updown: the built-in default routes the peer client with --srcip, and unroute removes it", async () => {
  await using lab = await Lab.create();
  const pair = await lab.createPair();
  const ns = pair.west.ns;
  const inNs = async (args: string[]) => {
    const r = await runIn(ns, args, { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`${args.join(" ")}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const builtin = new DefaultUpdown(() => {}, {
    ip: (args) => inNs(["ip", ...args]),
    addresses: async () =>
      (JSON.parse(await inNs(["ip", "-j", "addr", "show"])) as { addr_info: { local: string }[] }[])
        .flatMap((l) => l.addr_info.map((a) => parseAddress(a.local)!)),
  });
  const source = "198.51.100.77";
  const env = (verb: string) =>
    new Map([
      ["PLUTO_VERB", verb],
      ["PLUTO_CONNECTION", CONN],
      ["PLUTO_INTERFACE", "eth0"],
      ["PLUTO_PEER", pair.east.v4],
      ["PLUTO_PEER_CLIENT", pair.east.subnet],
      ["PLUTO_STACK", "xfrm"],
      ["PLUTO_MY_SOURCEIP", source],
    ]);
  const said: string[] = [];
  assert.ok(await builtin.run(env("route-client"), (t) => said.push(t)), said.join("\n"));
  const route = await inNs(["ip", "route", "show", pair.east.subnet]);
  assert.match(route, new RegExp(`dev eth0 .*src ${source.replaceAll(".", "\\.")}`), route);
  assert.match(await inNs(["ip", "addr", "show", "dev", "lo"]), new RegExp(`inet ${source}/32`));

  assert.ok(await builtin.run(env("unroute-client"), (t) => said.push(t)), said.join("\n"));
  assert.equal((await inNs(["ip", "route", "show", pair.east.subnet])).trim(), "");

  // A route the operator made is neither replaced nor removed.
  await inNs(["ip", "route", "add", pair.east.subnet, "via", pair.east.v4]);
  assert.ok(await builtin.run(env("route-client"), (t) => said.push(t)), said.join("\n"));
  assert.ok(await builtin.run(env("unroute-client"), (t) => said.push(t)), said.join("\n"));
  assert.match(
    await inNs(["ip", "route", "show", pair.east.subnet]),
    new RegExp(`via ${pair.east.v4.replaceAll(".", "\\.")} dev eth0`),
  );
  assert.doesNotMatch(
    await inNs(["ip", "addr", "show", "dev", "lo"]),
    new RegExp(`inet ${source}/`),
  );
});
