/**
 * The netns lab on its own, without swan: namespaces and addresses exist,
 * the veth link carries IPv4 and IPv6, daemons are started and stopped by
 * PID, and cleanup leaves nothing behind. Needs root.
 */

import assert from "node:assert/strict";
import { type CommandResult, Lab, listNamespaces, type NamespacePair, run, runIn } from "./lab.ts";

/** One echo request with a 2 s reply timeout; exit 0 means a reply came back. */
function ping(ns: string, address: string): Promise<CommandResult> {
  const family = address.includes(":") ? "-6" : "-4";
  return runIn(ns, ["ping", family, "-n", "-c", "1", "-W", "2", address]);
}

function assertReply(result: CommandResult, what: string): void {
  assert.equal(result.code, 0, `${what}: ping failed\n${result.stdout}${result.stderr}`);
  assert.match(result.stdout, /1 packets transmitted, 1 received/, what);
}

/** `ip -br addr` of one device inside `ns`, e.g. `lo UNKNOWN 127.0.0.1/8 198.51.100.1/24 ::1/128`. */
async function addresses(ns: string, dev: string): Promise<string> {
  const result = await run(["ip", "-n", ns, "-br", "addr", "show", "dev", dev]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

async function assertGone(pair: NamespacePair): Promise<void> {
  const left = await listNamespaces();
  assert.ok(!left.includes(pair.west.ns), `${pair.west.ns} still exists: ${left.join(", ")}`);
  assert.ok(!left.includes(pair.east.ns), `${pair.east.ns} still exists: ${left.join(", ")}`);
}

/** Whether a process with this PID exists (the lab reaps its children, so no zombies linger). */
function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

Deno.test("lab: an IPv4 pair has the planned addresses, pings across the veth, and is removed", async () => {
  let pair: NamespacePair;
  {
    await using lab = await Lab.create();
    pair = await lab.createPair();
    const names = await listNamespaces();
    assert.ok(names.includes(pair.west.ns), `${pair.west.ns} missing from ${names.join(", ")}`);
    assert.ok(names.includes(pair.east.ns), `${pair.east.ns} missing from ${names.join(", ")}`);
    assert.notEqual(pair.west.ns, pair.east.ns);

    assert.match(await addresses(pair.west.ns, "eth0"), /\bUP\b.* 192\.0\.2\.1\/24\b/);
    assert.match(await addresses(pair.east.ns, "eth0"), /\bUP\b.* 192\.0\.2\.2\/24\b/);
    assert.match(await addresses(pair.west.ns, "lo"), / 198\.51\.100\.1\/24\b/);
    assert.match(await addresses(pair.east.ns, "lo"), / 203\.0\.113\.1\/24\b/);
    assert.deepEqual(
      [pair.west.v4, pair.east.v4, pair.west.subnet, pair.east.subnet],
      ["192.0.2.1", "192.0.2.2", "198.51.100.0/24", "203.0.113.0/24"],
    );
    assert.equal(pair.west.v6, undefined);

    assertReply(await ping(pair.west.ns, "192.0.2.2"), "west → east");
    assertReply(await ping(pair.east.ns, "192.0.2.1"), "east → west");
    // The negative control: an address nobody holds must not answer, or the checks above prove nothing.
    const unanswered = await ping(pair.west.ns, "192.0.2.99");
    assert.notEqual(unanswered.code, 0, `192.0.2.99 answered:\n${unanswered.stdout}`);
  }
  await assertGone(pair);
});

Deno.test("lab: an IPv6 pair pings 2001:db8::1 → 2001:db8::2 with no DAD wait", async () => {
  let pair: NamespacePair;
  {
    await using lab = await Lab.create();
    pair = await lab.createPair({ v6: true });
    assert.equal(pair.west.v6, "2001:db8::1");
    assert.equal(pair.east.v6, "2001:db8::2");
    const westEth = await addresses(pair.west.ns, "eth0");
    assert.match(westEth, / 2001:db8::1\/64\b/);
    assert.doesNotMatch(westEth, /tentative/);
    assertReply(await ping(pair.west.ns, "2001:db8::2"), "west → east over IPv6");
    assertReply(await ping(pair.west.ns, "192.0.2.2"), "west → east over IPv4 in a v6 pair");
  }
  await assertGone(pair);
});

Deno.test("lab: cleanup happens when the test body throws", async () => {
  let pair: NamespacePair | undefined;
  await assert.rejects(async () => {
    await using lab = await Lab.create();
    pair = await lab.createPair();
    throw new Error("deliberate failure inside the lab");
  }, /deliberate failure/);
  assert.ok(pair, "the pair was never created");
  await assertGone(pair);
});

Deno.test("lab: daemons are waited for, stopped by PID, and reaped on dispose", async () => {
  const lab = await Lab.create();
  try {
    const pair = await lab.createPair();
    const ready = await lab.spawnDaemon(
      pair.west.ns,
      ["sh", "-c", "echo starting; echo >&2 a log line; echo ready; exec sleep 60"],
      { label: "sleeper", readyLine: "ready", readyTimeoutMs: 5_000 },
    );
    assert.ok(alive(ready.pid), `pid ${ready.pid} is not running`);
    assert.match(ready.stdout(), /^starting\nready\n/);
    const status = await ready.stop();
    assert.equal(status.signal, "SIGTERM");
    assert.ok(!alive(ready.pid), `pid ${ready.pid} survived stop()`);
    assert.match(ready.log(), /a log line/);
    assert.deepEqual(await ready.stop(), status, "a second stop() reports the same exit");

    // A daemon ignoring SIGTERM gets SIGKILL after the grace period.
    const stubborn = await lab.spawnDaemon(
      pair.west.ns,
      ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"],
      { label: "stubborn", readyLine: "ready", readyTimeoutMs: 5_000 },
    );
    assert.equal((await stubborn.stop()).signal, "SIGKILL");

    await assert.rejects(
      lab.spawnDaemon(pair.west.ns, ["sh", "-c", "echo >&2 cannot start; exit 3"], {
        label: "crasher",
        readyLine: "ready",
        readyTimeoutMs: 5_000,
      }),
      /crasher in netns swan-.* exited \(code 3\) before printing "ready"\nstderr:\ncannot start/,
    );
    await assert.rejects(
      lab.spawnDaemon(pair.west.ns, ["sh", "-c", "echo almost; exec sleep 60"], {
        label: "mute",
        readyLine: "ready",
        readyTimeoutMs: 300,
      }),
      /mute in netns swan-.* \(pid \d+\) did not print "ready" within 300 ms\nstdout:\nalmost/,
    );

    // Whatever is still running at dispose time is stopped there.
    const leftover = await lab.spawnDaemon(
      pair.east.ns,
      ["sh", "-c", "echo ready; exec sleep 60"],
      { label: "leftover", readyLine: "ready", readyTimeoutMs: 5_000 },
    );
    await lab.dispose();
    assert.ok(!alive(leftover.pid), `pid ${leftover.pid} survived dispose()`);
    assert.equal(leftover.exitStatus()?.signal, "SIGTERM");
    await assertGone(pair);
  } finally {
    await lab.dispose();
  }
});

Deno.test("lab: run() reports exit codes and bounds hangs", async () => {
  const ok = await run(["sh", "-c", "echo out; echo err >&2; exit 7"]);
  assert.deepEqual(ok, { code: 7, stdout: "out\n", stderr: "err\n" });
  await assert.rejects(
    run(["sleep", "30"], { timeoutMs: 200 }),
    /`sleep 30` did not exit within 200 ms \(killed pid \d+\)/,
  );
  await assert.rejects(run(["/nonexistent/swan-no-such-program"]), /cannot run \/nonexistent/);
});
