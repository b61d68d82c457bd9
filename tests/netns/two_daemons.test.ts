/**
 * Acceptance test: two real `swan pluto` processes in two namespaces,
 * driven only through `swan whack`, negotiate an IKEv2 PSK tunnel, refuse a
 * wrong PSK and an unacceptable proposal, and report whack errors with
 * Libreswan's texts and exit codes. Needs root (see lab.ts).
 *
 * Expected texts come from the CLI contract: Libreswan 5.x whack output
 * (reply text without the `NNN ` prefix; exit code = first reply code in
 * [20,100)), shared/reference/whack-pluto-interface.md §1, §2, §4.2, §4.5.
 */

import assert from "node:assert/strict";
import { type CommandResult, eventually, Lab, type NamespaceEnd, type Pluto, tail } from "./lab.ts";

const CONN = "west-east";
const PSK = '"a long pre-shared key for the west-east netns test"';
/** `--initiate` may legitimately wait through retransmissions; anything longer is a hang. */
const INITIATE_TIMEOUT_MS = 60_000;

/** One end of the connection as whack's `--host/--id/--subnet` give it. */
interface EndSpec {
  host: string;
  id: string;
  subnet: string;
}

/** The connection's two ends in the lab's address plan; the IPv6 variant is 6-in-6. */
function ends(
  west: NamespaceEnd,
  east: NamespaceEnd,
  v6: boolean,
): { west: EndSpec; east: EndSpec } {
  const spec = (end: NamespaceEnd, id: string): EndSpec => {
    if (!v6) return { host: end.v4, id, subnet: end.subnet };
    assert.ok(end.v6 && end.subnet6, `${end.ns} has no IPv6 addresses`);
    return { host: end.v6, id, subnet: end.subnet6 };
  };
  return { west: spec(west, "@west"), east: spec(east, "@east") };
}

/** `--name west-east --psk --host … --to --host … --ikev2 [--ike …]`, identical on both daemons. */
function addArgs({ west, east }: { west: EndSpec; east: EndSpec }, ike?: string): string[] {
  return [
    "--name",
    CONN,
    "--psk",
    "--host",
    west.host,
    "--id",
    west.id,
    "--subnet",
    west.subnet,
    "--to",
    "--host",
    east.host,
    "--id",
    east.id,
    "--subnet",
    east.subnet,
    "--ikev2",
    ...(ike === undefined ? [] : ["--ike", ike]),
  ];
}

function show(result: CommandResult): string {
  return `exit ${result.code}\nstdout:\n${tail(result.stdout)}\nstderr:\n${tail(result.stderr)}`;
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

function assertExit(result: CommandResult, code: number, what: string): void {
  assert.equal(result.code, code, `${what}: expected exit ${code}\n${show(result)}`);
}

/** A failed negotiation must exit with a pluto reply code (whack's exit rule), not whack's own 1 or 33. */
function assertNegotiationFailed(result: CommandResult, what: string): void {
  assert.ok(
    result.code >= 20 && result.code < 100 && result.code !== 33,
    `${what}: expected a pluto error code in [20,100), not 33\n${show(result)}`,
  );
}

/** State lines (`#N: …`) of a `--status` output. */
function stateLines(status: string): string[] {
  return lines(status).filter((line) => /^#\d+: /.test(line));
}

/**
 * The SAs of one established Child SA, from its `#N: "conn" esp.OUT@peer esp.IN@us tun.0@… tun.0@…` line
 * (Libreswan writes SA IDs with `:` instead of `.` for IPv6: `esp:OUT@2001:db8::2`).
 */
interface ChildSaids {
  serial: number;
  outSpi: number;
  outDst: string;
  inSpi: number;
  inDst: string;
  tunRemote: string;
  tunLocal: string;
}

const SAID_LINE = new RegExp(
  `^#(\\d+): "${CONN}"(?: used \\d+s ago;)? esp[.:]([0-9a-f]{1,8})@(\\S+) esp[.:]([0-9a-f]{1,8})@(\\S+) ` +
    `tun[.:]0@(\\S+) tun[.:]0@(\\S+)(?: |$)`,
);

function childSaids(status: string): ChildSaids[] {
  return lines(status).flatMap((line) => {
    const m = SAID_LINE.exec(line);
    return m
      ? [{
        serial: Number(m[1]),
        outSpi: parseInt(m[2], 16),
        outDst: m[3],
        inSpi: parseInt(m[4], 16),
        inDst: m[5],
        tunRemote: m[6],
        tunLocal: m[7],
      }]
      : [];
  });
}

/** Status of one daemon: serials of its established IKE SA and Child SA, and the Child SA's SAs. */
interface Established {
  ikeSerial: number;
  childSerial: number;
  saids: ChildSaids;
}

function assertEstablished(status: CommandResult, side: string): Established {
  assertExit(status, 0, `${side} --status`);
  const states = stateLines(status.stdout).join("\n");
  const ike = new RegExp(`^#(\\d+): "${CONN}":500 established IKE SA;`, "m").exec(states);
  assert.ok(ike, `${side}: no "established IKE SA" state line\n${states}`);
  const child = new RegExp(
    `^#(\\d+): "${CONN}":500 established Child SA;.* IKE SA #(\\d+);`,
    "m",
  ).exec(states);
  assert.ok(child, `${side}: no "established Child SA" state line\n${states}`);
  assert.equal(child[2], ike[1], `${side}: the Child SA's parent is not the IKE SA\n${states}`);
  const saids = childSaids(status.stdout);
  assert.equal(saids.length, 1, `${side}: expected one esp.…@… line\n${states}`);
  assert.equal(saids[0].serial, Number(child[1]), `${side}: SA line for another state\n${states}`);
  return { ikeSerial: Number(ike[1]), childSerial: Number(child[1]), saids: saids[0] };
}

const hex8 = (spi: number) => spi.toString(16).padStart(8, "0");

/** Rethrows a failure with both daemons' logs attached: a netns failure is undiagnosable without them. */
async function withLogs(plutos: () => Pluto[], body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const logs = plutos().map((p) => `--- ${p.ns} pluto stderr ---\n${tail(p.log())}`).join("\n");
    if (err instanceof Error) err.message += `\n${logs}`;
    throw err;
  }
}

/** A lab with a pair and a pluto in each namespace, given the PSK each side believes in. */
async function twoDaemons(
  lab: Lab,
  { v6 = false, westPsk = PSK, eastPsk = PSK }: {
    v6?: boolean;
    westPsk?: string;
    eastPsk?: string;
  } = {},
) {
  const pair = await lab.createPair({ v6 });
  const west = await lab.startPluto(pair.west.ns, { secrets: `@west @east : PSK ${westPsk}\n` });
  const east = await lab.startPluto(pair.east.ns, { secrets: `@west @east : PSK ${eastPsk}\n` });
  return { pair, west, east, spec: ends(pair.west, pair.east, v6) };
}

/** Adds the connection on both daemons (optionally with per-side `--ike`) and makes both listen. */
async function addAndListen(
  west: Pluto,
  east: Pluto,
  spec: { west: EndSpec; east: EndSpec },
  ike: { west?: string; east?: string } = {},
): Promise<void> {
  for (
    const [side, pluto, proposal] of [["west", west, ike.west], ["east", east, ike.east]] as const
  ) {
    const added = await pluto.whack(addArgs(spec, proposal));
    assertExit(added, 0, `${side}: add connection`);
    assert.ok(
      lines(added.stdout).includes(`"${CONN}": added oriented IKEv2 connection`),
      `${side}: add connection\n${show(added)}`,
    );
    assertExit(await pluto.whack(["--listen"]), 0, `${side}: --listen`);
  }
}

/**
 * Initiates from west and checks everything the contract promises about an
 * established tunnel: whack's lines, both `--status` outputs, crosswise SPIs
 * and `--trafficstatus`.
 */
async function establishAndVerify(
  west: Pluto,
  east: Pluto,
  spec: { west: EndSpec; east: EndSpec },
) {
  const up = await west.whack(["--name", CONN, "--initiate"], { timeoutMs: INITIATE_TIMEOUT_MS });
  assertExit(up, 0, "west: --initiate");
  const out = lines(up.stdout);
  assert.ok(
    out.includes(`"${CONN}" #1: initiating IKEv2 connection to ${spec.east.host} using UDP`),
    `west: --initiate did not report initiating\n${show(up)}`,
  );
  assert.ok(
    out.includes(
      `"${CONN}" #1: initiator established IKE SA; authenticated peer using authby=secret and FQDN '@east'`,
    ),
    `west: --initiate did not report the IKE SA\n${show(up)}`,
  );
  const last = out.at(-1) ?? "";
  const tunnel = new RegExp(
    `^"${CONN}" #2: initiator established Child SA using #1; IPsec tunnel ` +
      `\\[${regexLiteral(spec.west.subnet)}===${regexLiteral(spec.east.subnet)}\\] ` +
      `\\{ESP(?:/ESN)?=>0x([0-9a-f]{8}) <0x([0-9a-f]{8}) xfrm=\\S+ DPD=passive\\}$`,
  ).exec(last);
  assert.ok(tunnel, `west: --initiate did not end with the Child SA line\n${show(up)}`);

  const w = assertEstablished(await west.whack(["--status"]), "west");
  const e = assertEstablished(await east.whack(["--status"]), "east");

  // Initiator's view: outbound SPI goes to east, inbound one is ours; the responder's is the mirror image.
  assert.deepEqual(
    [hex8(w.saids.outSpi), hex8(w.saids.inSpi)],
    [tunnel[1], tunnel[2]],
    "west: --status SPIs differ from the ones --initiate announced",
  );
  assert.deepEqual(
    [w.saids.outDst, w.saids.inDst, w.saids.tunRemote, w.saids.tunLocal],
    [spec.east.host, spec.west.host, spec.east.host, spec.west.host],
    "west: SA destinations",
  );
  assert.deepEqual(
    [e.saids.outDst, e.saids.inDst, e.saids.tunRemote, e.saids.tunLocal],
    [spec.west.host, spec.east.host, spec.west.host, spec.east.host],
    "east: SA destinations",
  );
  assert.equal(
    hex8(e.saids.inSpi),
    hex8(w.saids.outSpi),
    "west's outbound SPI is not east's inbound",
  );
  assert.equal(
    hex8(e.saids.outSpi),
    hex8(w.saids.inSpi),
    "east's outbound SPI is not west's inbound",
  );

  for (
    const [side, pluto, state, peer] of [["west", west, w, "@east"], [
      "east",
      east,
      e,
      "@west",
    ]] as const
  ) {
    const traffic = await pluto.whack(["--trafficstatus"]);
    assertExit(traffic, 0, `${side}: --trafficstatus`);
    const expected = new RegExp(
      `^#${state.childSerial}: "${CONN}", type=ESP, add_time=\\d+` +
        `(?:, inBytes=\\d+)?(?:, outBytes=\\d+(?:, maxBytes=\\S+B)?)?, id='${peer}'$`,
    );
    assert.ok(
      lines(traffic.stdout).some((line) => expected.test(line)),
      `${side}: --trafficstatus does not list Child SA #${state.childSerial}\n${show(traffic)}`,
    );
  }
}

/** Escapes a literal (an address or subnet) for use inside a RegExp. */
function regexLiteral(literal: string): string {
  return literal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Polls `--status` until no state line matches `unwanted` (bounded), then asserts it. */
async function assertNoStates(pluto: Pluto, side: string, unwanted: RegExp): Promise<void> {
  const status = await eventually(
    () => pluto.whack(["--status"]),
    (r) => r.code === 0 && !stateLines(r.stdout).some((line) => unwanted.test(line)),
  );
  assertExit(status, 0, `${side}: --status`);
  const left = stateLines(status.stdout).filter((line) => unwanted.test(line));
  assert.deepEqual(left, [], `${side}: states remain`);
}

Deno.test("two daemons: IKEv2 PSK tunnel comes up, matches crosswise, terminates, shuts down", async () => {
  await using lab = await Lab.create();
  const { west, east, spec } = await twoDaemons(lab);
  await withLogs(() => [west, east], async () => {
    await addAndListen(west, east, spec);
    await establishAndVerify(west, east, spec);

    assertExit(await west.whack(["--name", CONN, "--terminate"]), 0, "west: --terminate");
    await assertNoStates(west, "west", /./);
    await assertNoStates(east, "east", /./);

    const shutdown = await west.whack(["--shutdown"]);
    assertExit(shutdown, 0, "west: --shutdown");
    assert.equal((await west.waitExit(10_000)).code, 0, "west pluto exit code after --shutdown");
    assert.equal((await east.stop()).code, 0, "east pluto exit code after SIGTERM");
  });
});

Deno.test("two daemons: the IPv6 variant (hosts 2001:db8::1 and ::2) establishes", async () => {
  await using lab = await Lab.create();
  const { west, east, spec } = await twoDaemons(lab, { v6: true });
  await withLogs(() => [west, east], async () => {
    assert.equal(spec.west.host, "2001:db8::1");
    await addAndListen(west, east, spec);
    await establishAndVerify(west, east, spec);
  });
});

Deno.test("two daemons: a wrong PSK fails the initiate and leaves no established state", async () => {
  await using lab = await Lab.create();
  const { west, east, spec } = await twoDaemons(lab, {
    eastPsk: '"a different pre-shared key that east believes in"',
  });
  await withLogs(() => [west, east], async () => {
    await addAndListen(west, east, spec);
    const up = await west.whack(["--name", CONN, "--initiate"], { timeoutMs: INITIATE_TIMEOUT_MS });
    assertNegotiationFailed(up, "west: --initiate with a wrong PSK");
    assert.ok(!up.stdout.includes("established Child SA"), `west claimed a Child SA\n${show(up)}`);
    await assertNoStates(west, "west", /established/);
    await assertNoStates(east, "east", /established/);
  });
});

Deno.test("two daemons: an unacceptable IKE proposal fails the initiate and leaves no state", async () => {
  await using lab = await Lab.create();
  const { west, east, spec } = await twoDaemons(lab);
  await withLogs(() => [west, east], async () => {
    await addAndListen(west, east, spec, {
      west: "aes256-sha2_512;dh21",
      east: "aes128-sha2_256;dh19",
    });
    const up = await west.whack(["--name", CONN, "--initiate"], { timeoutMs: INITIATE_TIMEOUT_MS });
    assertNegotiationFailed(up, "west: --initiate with no common proposal");
    await assertNoStates(west, "west", /./);
    await assertNoStates(east, "east", /./);
  });
});

Deno.test("two daemons: whack reports a bad option and an unknown connection", async () => {
  await using lab = await Lab.create();
  const { west, east, spec } = await twoDaemons(lab);
  await withLogs(() => [west, east], async () => {
    await addAndListen(west, east, spec);

    const bogus = await west.whack(["--name", "x", "--initiate", "--bogus"]);
    assertExit(bogus, 1, "whack --name x --initiate --bogus");
    assert.match(bogus.stderr, /--bogus/, `the error does not name the bad option\n${show(bogus)}`);

    const nosuch = await west.whack(["--name", "nosuch", "--initiate"]);
    assertExit(nosuch, 21, "whack --name nosuch --initiate");
    assert.ok(
      lines(nosuch.stdout).includes('no connection or alias named "nosuch"'),
      `missing the Libreswan message\n${show(nosuch)}`,
    );
    // Neither mistake may have disturbed the daemon.
    await assertNoStates(west, "west", /./);
    assertExit(await west.whack(["--status"]), 0, "west: --status after the errors");
  });
});
