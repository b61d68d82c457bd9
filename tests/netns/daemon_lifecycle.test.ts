/**
 * The life of one real `swan pluto` process in a network namespace: its pid
 * lock and control socket (modes and owner as the kernel reports them), a
 * second pluto refused while the first lives, a stale lock taken over after
 * SIGKILL, SIGHUP ignored, SIGTERM cleaning up, backgrounding without
 * --nofork, a refused kernel interface, and whack's replies and exit codes
 * for the usual mistakes. Needs root.
 */
import assert from "node:assert/strict";
import {
  type CommandResult,
  delay,
  eventually,
  Lab,
  type Pluto,
  runIn,
  SWAN_MAIN,
  tail,
  whack,
} from "./lab.ts";

const SECRETS = '@west @east : PSK "lifecycle tests only, never a real key"\n';
const READY = "Pluto initialized";

function show(result: CommandResult): string {
  return `exit ${result.code}\nstdout:\n${tail(result.stdout)}\nstderr:\n${tail(result.stderr)}`;
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

function assertExit(result: CommandResult, code: number, what: string): void {
  assert.equal(result.code, code, `${what}: expected exit ${code}\n${show(result)}`);
}

/** `swan pluto …` as a command line, run by the deno that runs us. */
function plutoCommand(...args: string[]): string[] {
  return [Deno.execPath(), "run", "-A", SWAN_MAIN, "pluto", ...args];
}

/** The foreground pluto options the lab uses, for a given run directory. */
function foreground(rundir: string, secretsFile: string): string[] {
  return [
    "--nofork",
    "--stderrlog",
    "--rundir",
    rundir,
    "--secretsfile",
    secretsFile,
    "--protostack",
    "none",
  ];
}

/** Whether a process with this PID exists. */
function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

async function withLog<T>(plutos: () => Pluto[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    const logs = plutos().map((p) => `--- pluto ${p.pid} stderr ---\n${tail(p.log())}`).join("\n");
    if (err instanceof Error) err.message += `\n${logs}`;
    throw err;
  }
}

/** A connection definition whack accepts (west's view of the lab pair). */
function addArgs(name: string, ...extra: string[]): string[] {
  return [
    "--name",
    name,
    "--psk",
    "--host",
    "192.0.2.1",
    "--id",
    "@west",
    "--to",
    "--host",
    "192.0.2.2",
    "--id",
    "@east",
    "--ikev2",
    ...extra,
  ];
}

Deno.test("pluto lifecycle: pid lock and socket modes, a second pluto refused, SIGHUP ignored, SIGTERM cleans up", async () => {
  await using lab = await Lab.create();
  const { west } = await lab.createPair();
  const pluto = await lab.startPluto(west.ns, { secrets: SECRETS });
  await withLog(() => [pluto], async () => {
    const pidFile = `${pluto.rundir}/pluto.pid`;
    assert.equal(Deno.readTextFileSync(pidFile), `${pluto.pid}\n`, "pluto.pid holds the pid");
    const pidStat = Deno.statSync(pidFile);
    assert.equal((pidStat.mode! & 0o777).toString(8), "444", "pluto.pid mode");

    const ctl = Deno.lstatSync(pluto.ctl);
    assert.ok(ctl.isSocket, `${pluto.ctl} is not a socket`);
    assert.equal((ctl.mode! & 0o777).toString(8), "700", "control socket mode (srwx------)");
    assert.equal(ctl.uid, 0, "control socket owner");
    // The same facts as ls shows them, from outside the process.
    const ls = await runIn(west.ns, ["ls", "-ln", pluto.ctl]);
    assert.match(ls.stdout, /^srwx------ +\d+ 0 +0 /, show(ls));

    // A second pluto on the same run directory must leave the first alone.
    const second = await runIn(
      west.ns,
      plutoCommand(...foreground(pluto.rundir, pluto.secretsFile)),
      { timeoutMs: 20_000 },
    );
    assertExit(second, 10, "second pluto with the same --rundir");
    assert.match(
      second.stderr,
      new RegExp(
        `lock file "${pidFile}" already exists: pluto pid ${pluto.pid} is running \\(stop it with whack --shutdown\\)`,
      ),
      show(second),
    );
    assert.ok(!second.stdout.includes(READY), `the second pluto initialized\n${show(second)}`);
    assert.equal(pluto.exitStatus(), undefined, "the first pluto died");
    assert.equal(Deno.readTextFileSync(pidFile), `${pluto.pid}\n`, "pluto.pid was overwritten");
    assert.ok(Deno.lstatSync(pluto.ctl).isSocket, "the second pluto removed the control socket");
    assertExit(await pluto.whack(["--status"]), 0, "whack --status after the refused second pluto");

    Deno.kill(pluto.pid, "SIGHUP");
    const hup = 'Pluto ignores SIGHUP -- perhaps you want "whack --listen"';
    const logged = await eventually(
      () => Promise.resolve(pluto.log()),
      (log) => log.includes(hup),
      {
        timeoutMs: 5_000,
        intervalMs: 50,
      },
    );
    assert.ok(logged.includes(hup), "no SIGHUP line in the log");
    assert.equal(pluto.exitStatus(), undefined, "SIGHUP stopped pluto");
    assertExit(await pluto.whack(["--status"]), 0, "whack --status after SIGHUP");

    Deno.kill(pluto.pid, "SIGTERM");
    const status = await pluto.waitExit(10_000);
    assert.equal(status.code, 0, "exit code after SIGTERM");
    assert.equal(status.signal, null);
    assert.ok(!exists(pidFile), "pluto.pid left behind after SIGTERM");
    assert.ok(!exists(pluto.ctl), "control socket left behind after SIGTERM");
    assert.match(pluto.log(), /exiting pluto/);
  });
});

Deno.test("pluto lifecycle: after SIGKILL the stale lock is taken over by a new pluto", async () => {
  await using lab = await Lab.create();
  const { west } = await lab.createPair();
  const first = await lab.startPluto(west.ns, { secrets: SECRETS });
  const pidFile = `${first.rundir}/pluto.pid`;
  Deno.kill(first.pid, "SIGKILL");
  assert.equal((await first.waitExit(10_000)).signal, "SIGKILL");
  assert.equal(Deno.readTextFileSync(pidFile), `${first.pid}\n`, "SIGKILL left no stale lock");

  const next = await lab.spawnDaemon(
    west.ns,
    plutoCommand(...foreground(first.rundir, first.secretsFile)),
    { label: "swan pluto (after SIGKILL)", readyLine: READY, readyTimeoutMs: 15_000 },
  );
  assert.ok(
    next.log().includes(`removed stale lock file "${pidFile}" of dead pid ${first.pid}`),
    `no stale-lock line\n${tail(next.log())}`,
  );
  assert.equal(Deno.readTextFileSync(pidFile), `${next.pid}\n`);
  assertExit(await whack(west.ns, first.ctl, ["--status"]), 0, "whack --status to the new pluto");
  assert.equal((await next.stop()).code, 0);
});

Deno.test("pluto lifecycle: --protostack pfkeyv2 is refused, naming the alternatives, when the kernel lacks PF_KEY", async () => {
  // xfrm works now; PF_KEY (af_key) is the kernel interface a kernel may lack, and
  // /proc/net/pfkey is the kernel's own word on whether it has it.
  await using lab = await Lab.create();
  const { west } = await lab.createPair();
  const rundir = await Deno.makeTempDir({ prefix: "swan-lifecycle-" });
  try {
    const argv = plutoCommand(
      ...foreground(rundir, `${rundir}/ipsec.secrets`).slice(0, -1),
      "pfkeyv2",
    );
    const outcome = await lab.spawnDaemon(west.ns, argv, {
      label: "swan pluto --protostack pfkeyv2",
      readyLine: READY,
      readyTimeoutMs: 15_000,
    }).catch((err: Error) => err);
    if (outcome instanceof Error) {
      assert.ok(
        !exists("/proc/net/pfkey"),
        `pluto refused PF_KEY the kernel has:\n${outcome.message}`,
      );
      assert.match(outcome.message, /exited \(code 5\) before printing "Pluto initialized"/);
      assert.match(
        outcome.message,
        /pluto: --protostack pfkeyv2: .+; use --protostack xfrm, or --protostack none /,
      );
      assert.ok(!exists(`${rundir}/pluto.pid`), "a refused pluto took the lock");
      assert.ok(!exists(`${rundir}/pluto.ctl`), "a refused pluto opened the control socket");
    } else {
      assert.ok(
        exists("/proc/net/pfkey"),
        "pluto runs PF_KEY, the kernel lists no /proc/net/pfkey",
      );
      assert.match(outcome.log(), /using kernel interface: pfkeyv2/);
      assert.equal((await outcome.stop()).code, 0);
    }
  } finally {
    await Deno.remove(rundir, { recursive: true });
  }
});

Deno.test("pluto lifecycle: without --nofork pluto returns 0 once a daemon serves the socket", async () => {
  await using lab = await Lab.create();
  const { west } = await lab.createPair();
  const rundir = await Deno.makeTempDir({ prefix: "swan-lifecycle-" });
  const pidFile = `${rundir}/pluto.pid`, ctl = `${rundir}/pluto.ctl`;
  let daemonPid: number | undefined;
  try {
    await Deno.writeTextFile(`${rundir}/ipsec.secrets`, SECRETS, { mode: 0o600 });
    const started = await runIn(west.ns, [
      ...plutoCommand(
        "--rundir",
        rundir,
        "--secretsfile",
        `${rundir}/ipsec.secrets`,
        "--protostack",
        "none",
        "--logfile",
        `${rundir}/pluto.log`,
      ),
    ], { timeoutMs: 30_000 });
    // Read the pid first, so the finally block can stop the daemon even if an assertion fails.
    daemonPid = exists(pidFile) ? parseInt(Deno.readTextFileSync(pidFile), 10) : undefined;
    assertExit(started, 0, "pluto without --nofork");
    assert.ok(Deno.lstatSync(ctl).isSocket, "no control socket when pluto returned");
    assert.ok(daemonPid !== undefined && alive(daemonPid), `no daemon runs (pid ${daemonPid})`);
    const status = await whack(west.ns, ctl, ["--status"]);
    assertExit(status, 0, "whack --status to the background daemon");
    assert.match(status.stdout, /using kernel interface: none/);

    Deno.kill(daemonPid, "SIGTERM");
    const gone = await eventually(() => Promise.resolve(alive(daemonPid!)), (running) => !running, {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    assert.equal(gone, false, `daemon ${daemonPid} survived SIGTERM`);
    assert.ok(!exists(pidFile) && !exists(ctl), "the daemon left its pid file or socket");
    daemonPid = undefined;
  } finally {
    if (daemonPid !== undefined && alive(daemonPid)) {
      Deno.kill(daemonPid, "SIGKILL");
      for (let i = 0; i < 50 && alive(daemonPid); i++) await delay(20);
    }
    await Deno.remove(rundir, { recursive: true });
  }
});

Deno.test("pluto lifecycle: whack's replies and exit codes for secrets, mistakes and status", async () => {
  await using lab = await Lab.create();
  const { west } = await lab.createPair();
  const pluto = await lab.startPluto(west.ns, { secrets: SECRETS });
  await withLog(() => [pluto], async () => {
    // Status renders with no connection at all.
    const [status, global] = await Promise.all([
      pluto.whack(["--status"]),
      pluto.whack(["--globalstatus"]),
    ]);
    assertExit(status, 0, "--status with no connections");
    const statusLines = lines(status.stdout);
    assert.equal(statusLines[0], "using kernel interface: none", show(status));
    assert.ok(statusLines.includes("Connection list:"), show(status));
    assert.ok(!statusLines.some((l) => /^"/.test(l)), `a connection is listed\n${show(status)}`);
    assertExit(global, 0, "--globalstatus");
    const globalLines = lines(global.stdout);
    assert.ok(globalLines.length > 5, show(global));
    for (const line of globalLines) {
      assert.match(line, /^[a-z0-9_.]+(\.[A-Za-z0-9_]+)*=\S+$/, `not key=value: ${line}`);
    }
    const kv = new Map(globalLines.map((l) => l.split("=") as [string, string]));
    assert.equal(kv.get("current.states.all"), "0");
    assert.equal(kv.get("current.states.ike"), "0");

    // Secrets: reread, then again with a file others can read.
    const reread = await pluto.whack(["--rereadsecrets"]);
    assertExit(reread, 0, "--rereadsecrets");
    assert.deepEqual(lines(reread.stdout).slice(0, 2), [
      "forgetting secrets",
      `loading secrets from "${pluto.secretsFile}"`,
    ]);
    assert.ok(!/readable by others/.test(reread.stdout), show(reread));
    await Deno.chmod(pluto.secretsFile, 0o644);
    const loose = await pluto.whack(["--rereadsecrets"]);
    assertExit(loose, 0, "--rereadsecrets with mode 0644");
    assert.match(
      loose.stdout,
      new RegExp(`"${pluto.secretsFile}" is readable by others; chmod 600 it`),
      show(loose),
    );
    assert.match(pluto.log(), /is readable by others/, "the warning is not in pluto's log");
    await Deno.chmod(pluto.secretsFile, 0o600);

    // Connections: add, redefine, route, a bad keyword value.
    const added = await pluto.whack(addArgs("x"));
    assertExit(added, 0, "adding x");
    assert.ok(lines(added.stdout).includes('"x": added oriented IKEv2 connection'), show(added));
    const again = await pluto.whack(addArgs("x"));
    assertExit(again, 20, "adding x twice");
    assert.ok(
      lines(again.stdout).includes('"x": attempt to redefine connection "x"'),
      show(again),
    );
    const route = await pluto.whack(["--name", "x", "--route"]);
    assertExit(route, 0, "--name x --route");
    assert.match(
      route.stdout,
      /^"x": the none kernel interface installs no policies;/m,
      show(route),
    );
    const deleteState = await pluto.whack(["--deletestate", "99"]);
    assertExit(deleteState, 21, "--deletestate 99");
    assert.ok(lines(deleteState.stdout).includes("no state #99 to delete"), show(deleteState));

    const bad = await pluto.whack(addArgs("bad-lifetime", "--ikelifetime", "8x"));
    assertExit(bad, 56, "--ikelifetime 8x");
    assert.match(bad.stdout, /^"bad-lifetime": failed to add connection: .*8x/m, show(bad));
    const after = await pluto.whack(["--status"]);
    assertExit(after, 0, "--status after the failed add");
    assert.ok(after.stdout.includes('"x":'), `x is not listed\n${show(after)}`);
    assert.ok(!after.stdout.includes("bad-lifetime"), `the failed add is listed\n${show(after)}`);
    assert.equal(pluto.exitStatus(), undefined, "a whack mistake stopped pluto");
  });
});
