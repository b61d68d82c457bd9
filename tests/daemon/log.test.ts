/**
 * pluto's logger and its sinks: line format (`%b %e %T.%06ld: ` stamp,
 * stream and object prefixes), debug gating and aliases, whack observers,
 * file/stderr sinks, and syslog datagrams read back from a real Unix
 * datagram socket bound here through the same libc FFI table.
 */

import assert from "node:assert/strict";
import {
  DEBUG_FLAGS,
  fileSink,
  Logger,
  type LogSink,
  type LogStream,
} from "../../src/daemon/log.ts";
import { formatSyslogMessage, openSyslogSink } from "../../src/daemon/syslog.ts";
import {
  AF_UNIX,
  bind,
  close,
  connect,
  ErrnoError,
  errnoName,
  MSG_DONTWAIT,
  recv,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  sockaddrUn,
  socket,
} from "../../ffi/libc.ts";

/** 7 March, 09:05:03.123 local time: local getters give these fields in any time zone. */
const FIXED = new Date(2024, 2, 7, 9, 5, 3, 123);
const fixedClock = () => FIXED;

function memorySink(): { sink: LogSink; lines: string[]; streams: (LogStream | undefined)[] } {
  const lines: string[] = [];
  const streams: (LogStream | undefined)[] = [];
  return {
    lines,
    streams,
    sink: {
      write(line, stream) {
        lines.push(line);
        streams.push(stream);
      },
    },
  };
}

function logger(sink: LogSink, opts: { time?: boolean; debug?: string[] } = {}): Logger {
  return new Logger({
    sink,
    time: opts.time ?? true,
    clock: fixedClock,
    debug: new Set(opts.debug ?? []),
    logIp: true,
  });
}

Deno.test("timestamp is %b %e %T.%06ld with a space-padded day; time=false omits it", () => {
  const m = memorySink();
  logger(m.sink).log("", "Pluto is up");
  assert.deepEqual(m.lines, ["Mar  7 09:05:03.123000: Pluto is up"]);

  const late = memorySink();
  new Logger({
    sink: late.sink,
    time: true,
    clock: () => new Date(2024, 11, 25, 23, 59, 58, 7),
    debug: new Set(),
    logIp: true,
  }).log("", "x");
  assert.deepEqual(late.lines, ["Dec 25 23:59:58.007000: x"]);

  const bare = memorySink();
  logger(bare.sink, { time: false }).log("", "x");
  assert.deepEqual(bare.lines, ["x"]);
});

Deno.test("without an injected clock the stamp is the current time with microseconds", () => {
  const m = memorySink();
  const before = new Date();
  new Logger({ sink: m.sink, time: true, debug: new Set(), logIp: true }).log("", "x");
  const after = new Date();
  const match = /^(.{15})\.\d{6}: x$/.exec(m.lines[0]);
  assert.ok(match, m.lines[0]);
  // The same stamp a Date of that second gets through the injected-clock path.
  const secondOf = (d: Date) => {
    const probe = memorySink();
    new Logger({ sink: probe.sink, time: true, clock: () => d, debug: new Set(), logIp: true })
      .log("", "");
    return probe.lines[0].slice(0, 15);
  };
  assert.ok([secondOf(before), secondOf(after)].includes(match[1]), m.lines[0]);
});

Deno.test("stream prefix comes before the object prefix; sinks learn the stream", () => {
  const m = memorySink();
  const l = logger(m.sink, { time: false });
  l.log(`"west" #1: `, "established IKE SA");
  l.log(`"west": `, "ignoring", "warning");
  l.log("", "netlink failed", "error");
  assert.deepEqual(m.lines, [
    `"west" #1: established IKE SA`,
    `warning: "west": ignoring`,
    "ERROR: netlink failed",
  ]);
  assert.deepEqual(m.streams, ["normal", "warning", "error"]);
});

Deno.test("text with newlines becomes one line per part, each prefixed", () => {
  const m = memorySink();
  logger(m.sink, { time: false }).log(`"c": `, "a\nb");
  assert.deepEqual(m.lines, [`"c": a`, `"c": b`]);
});

Deno.test("debug lines only when the flag is on; '| ' prefix; object prefix only with add-prefix", () => {
  const m = memorySink();
  const l = logger(m.sink);
  l.debug("base", `"c" #1: `, "hidden");
  assert.deepEqual(m.lines, []);
  assert.equal(l.setDebug(["base"], []), undefined);
  l.debug("base", `"c" #1: `, "shown");
  l.debug("crypt", "", "still hidden");
  l.setDebug(["add-prefix"], []);
  l.debug("base", `"c" #1: `, "with prefix");
  assert.deepEqual(m.lines, [
    "Mar  7 09:05:03.123000: | shown",
    `Mar  7 09:05:03.123000: | "c" #1: with prefix`,
  ]);
  assert.deepEqual(m.streams, ["debug", "debug"]);
});

Deno.test("setDebug: aliases base/all/tmi, clearing, none, unknown names reported and skipped", () => {
  const l = logger(memorySink().sink);
  l.setDebug(["base"], []);
  assert.deepEqual(l.debugFlags, ["routing", "base"]);
  l.setDebug(["all"], []);
  assert.deepEqual(l.debugFlags, ["routing", "base", "cpu-usage", "refcnt"]);
  l.setDebug(["private", "tmi"], []);
  assert.deepEqual(l.debugFlags, ["routing", "base", "cpu-usage", "refcnt", "tmi", "private"]);
  l.setDebug([], ["all"]);
  assert.deepEqual(l.debugFlags, ["tmi", "private"]);
  assert.equal(l.isDebug("private"), true);
  l.setDebug(["none", "crypt"], []);
  assert.deepEqual(l.debugFlags, ["crypt"]);
  assert.equal(
    l.setDebug(["bogus", "updown"], ["nope"]),
    "unrecognized --debug 'bogus', 'nope' options ignored",
  );
  assert.deepEqual(l.debugFlags, ["updown", "crypt"]);
  assert.equal(l.setDebug(["x"], []), "unrecognized --debug 'x' option ignored");
  assert.equal(DEBUG_FLAGS.length, 11);
});

Deno.test("unknown initial debug names are logged as a warning, known ones applied", () => {
  const m = memorySink();
  const l = logger(m.sink, { debug: ["base", "bogus"], time: false });
  assert.deepEqual(m.lines, ["warning: unrecognized --debug 'bogus' option ignored"]);
  assert.equal(l.isDebug("base"), true);
});

Deno.test("observers get every non-debug line without timestamp; detach and failing observers", () => {
  const m = memorySink();
  const l = logger(m.sink, { debug: ["base"] });
  const seen: string[] = [];
  const detach = l.attach((line) => seen.push(line));
  let failures = 0;
  l.attach(() => {
    failures++;
    throw new Error("whack went away");
  });
  l.log(`"c" #2: `, "up");
  l.debug("base", "", "not for whack");
  l.log("", "bad", "error");
  detach();
  l.log("", "after detach");
  assert.deepEqual(seen, [`"c" #2: up`, "ERROR: bad"]);
  assert.equal(failures, 1, "a throwing observer is detached after its first failure");
  assert.equal(m.lines.length, 4, "the log itself got everything");
});

Deno.test("address() honours logip", () => {
  const m = memorySink().sink;
  assert.equal(logger(m).address("192.0.2.1"), "192.0.2.1");
  const hidden = new Logger({ sink: m, time: false, debug: new Set(), logIp: false });
  assert.equal(hidden.address("192.0.2.1"), "<address>");
});

Deno.test("fileSink appends or truncates, one line per record", () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/pluto.log`;
  try {
    Deno.writeTextFileSync(path, "old line\n");
    const appending = fileSink(path, true);
    logger(appending, { time: false }).log("", "new line");
    appending.close?.();
    assert.equal(Deno.readTextFileSync(path), "old line\nnew line\n");

    const truncating = fileSink(path, false);
    const l = logger(truncating);
    l.log("", "first");
    l.log(`"c": `, "second", "warning");
    truncating.close?.();
    assert.equal(
      Deno.readTextFileSync(path),
      `Mar  7 09:05:03.123000: first\nMar  7 09:05:03.123000: warning: "c": second\n`,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("stderrSink writes whole lines to standard error", async () => {
  const module = new URL("../../src/daemon/log.ts", import.meta.url).href;
  const code = `import { Logger, stderrSink } from ${JSON.stringify(module)};
const l = new Logger({ sink: stderrSink(), time: false, debug: new Set(), logIp: true });
l.log("", "one");
l.log('"c": ', "two", "error");`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0);
  assert.equal(new TextDecoder().decode(out.stdout), "");
  assert.equal(new TextDecoder().decode(out.stderr), `one\nERROR: "c": two\n`);
});

// ------------------------------------------------------------------ FFI

Deno.test("sockaddrUn: family, path, NUL; over-long paths fail with ENAMETOOLONG", () => {
  assert.deepEqual(
    [...sockaddrUn("/dev/log")],
    [1, 0, 0x2f, 0x64, 0x65, 0x76, 0x2f, 0x6c, 0x6f, 0x67, 0],
  );
  assert.throws(
    () => sockaddrUn("/" + "x".repeat(107)),
    (e: unknown) => e instanceof ErrnoError && e.code === "ENAMETOOLONG",
  );
  assert.equal(sockaddrUn("/" + "x".repeat(106)).length, 2 + 107 + 1);
});

Deno.test("errno names, and a real failing connect names the operation and errno", () => {
  assert.equal(errnoName(2), "ENOENT");
  assert.equal(errnoName(111), "ECONNREFUSED");
  assert.equal(errnoName(4095), "errno 4095");
  const dir = Deno.makeTempDirSync();
  const fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, "test");
  try {
    const path = `${dir}/absent`;
    assert.throws(
      () => connect(fd, sockaddrUn(path), path),
      (e: unknown) =>
        e instanceof ErrnoError && e.message === `connect(${path}): ENOENT` && e.errno === 2,
    );
  } finally {
    close(fd, "test");
    Deno.removeSync(dir, { recursive: true });
  }
});

// --------------------------------------------------------------- syslog

/** A datagram socket bound at `path`, standing in for the syslog daemon. */
function receiver(path: string): number {
  const fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, path);
  bind(fd, sockaddrUn(path), path);
  return fd;
}

/** Every datagram queued on `fd`, without blocking. */
function drain(fd: number): string[] {
  const out: string[] = [];
  const buf = new Uint8Array(8192);
  for (;;) {
    try {
      const n = recv(fd, buf, MSG_DONTWAIT, "test");
      out.push(new TextDecoder().decode(buf.subarray(0, n)));
    } catch (e) {
      if (e instanceof ErrnoError && e.code === "EAGAIN") return out;
      throw e;
    }
  }
}

Deno.test("formatSyslogMessage: RFC 3164 as glibc sends it locally", () => {
  assert.equal(
    formatSyslogMessage(84, FIXED, "pluto", 4242, "Pluto is up"),
    "<84>Mar  7 09:05:03 pluto[4242]: Pluto is up",
  );
});

Deno.test("syslog sink: authpriv datagrams with WARNING/ERR/DEBUG severities, no logger stamp", () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/log`;
  const rx = receiver(path);
  const fallback = memorySink();
  try {
    const sink = openSyslogSink({
      path,
      pid: 4242,
      clock: fixedClock,
      fallback: () => fallback.sink,
    });
    const l = logger(sink, { debug: ["base"] });
    l.log(`"west" #1: `, "established IKE SA");
    l.log("", "careful", "warning");
    l.log("", "netlink failed", "error");
    l.debug("base", "", "details");
    sink.close?.();
    assert.deepEqual(drain(rx), [
      `<84>Mar  7 09:05:03 pluto[4242]: "west" #1: established IKE SA`,
      "<84>Mar  7 09:05:03 pluto[4242]: warning: careful",
      "<83>Mar  7 09:05:03 pluto[4242]: ERROR: netlink failed",
      "<87>Mar  7 09:05:03 pluto[4242]: | details",
    ]);
    assert.deepEqual(fallback.lines, []);
  } finally {
    close(rx, path);
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("syslog sink: no socket → fallback sink, one warning, logger stamps again", () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/nosuch`;
  const fallback = memorySink();
  try {
    const sink = openSyslogSink({ path, pid: 1, clock: fixedClock, fallback: () => fallback.sink });
    const l = logger(sink);
    l.log("", "one");
    l.log("", "two");
    assert.deepEqual(fallback.lines, [
      `warning: cannot log to syslog (connect(${path}): ENOENT); logging to stderr instead`,
      "Mar  7 09:05:03.123000: one",
      "Mar  7 09:05:03.123000: two",
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("syslog sink: reconnects once after a syslog restart, then falls back", () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/log`;
  const fallback = memorySink();
  let rx = receiver(path);
  try {
    const sink = openSyslogSink({ path, pid: 7, clock: fixedClock, fallback: () => fallback.sink });
    sink.write("before", "normal");
    assert.deepEqual(drain(rx), ["<84>Mar  7 09:05:03 pluto[7]: before"]);

    // The syslog daemon restarts: a new socket at the same path.
    close(rx, path);
    Deno.removeSync(path);
    rx = receiver(path);
    sink.write("after restart", "error");
    assert.deepEqual(drain(rx), ["<83>Mar  7 09:05:03 pluto[7]: after restart"]);

    // The syslog daemon is gone for good.
    close(rx, path);
    Deno.removeSync(path);
    rx = -1;
    sink.write("orphan", "normal");
    sink.write("still orphan", "normal");
    assert.equal(fallback.lines.length, 3);
    assert.match(fallback.lines[0], /^warning: cannot log to syslog \(connect\(.*\): ENOENT\)/);
    assert.deepEqual(fallback.lines.slice(1), ["orphan", "still orphan"]);
  } finally {
    if (rx >= 0) close(rx, path);
    Deno.removeSync(dir, { recursive: true });
  }
});
