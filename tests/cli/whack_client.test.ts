/**
 * End to end: cli/whack.ts run as its own process against a fake pluto
 * listening on a Unix socket in a temporary directory. Checks what whack
 * sends, what it prints and its exit code (reference §2.2, §2.4).
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { DEBUG_HELP } from "../../cli/usage.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface WhackRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The request line pluto received, parsed; undefined when none arrived. */
  request?: unknown;
}

/** A script that runs whack in its own process, so stdout, stderr and exit code are real. */
async function writeRunner(dir: string): Promise<string> {
  const path = `${dir}/run_whack.ts`;
  const whack = new URL("../../cli/whack.ts", import.meta.url).href;
  await Deno.writeTextFile(
    path,
    `import { runWhack } from "${whack}";\nDeno.exit(await runWhack(Deno.args));\n`,
  );
  return path;
}

async function spawnWhack(runner: string, args: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", runner, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
}

/**
 * Runs `whack --ctlsocket <fake> ...args` while a fake pluto answers the
 * request with `chunks`, written one by one with a pause between them so
 * whack sees them as separate reads.
 */
async function whackAgainst(args: string[], chunks: (string | Uint8Array)[]): Promise<WhackRun> {
  const dir = await Deno.makeTempDir({ prefix: "swan-whack-test-" });
  try {
    const socketPath = `${dir}/pluto.ctl`;
    const listener = Deno.listen({ transport: "unix", path: socketPath });
    const server = (async () => {
      const conn = await listener.accept();
      let received = new Uint8Array(0);
      const buf = new Uint8Array(4096);
      while (!received.includes(0x0a)) {
        const n = await conn.read(buf);
        if (n === null) break;
        received = new Uint8Array([...received, ...buf.subarray(0, n)]);
      }
      try {
        for (const chunk of chunks) {
          const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
          // write() may take only part of a large buffer.
          for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
          await new Promise((resolve) => setTimeout(resolve, 30));
        }
      } catch {
        // whack may hang up early (that is what some cases test).
      }
      conn.close();
      return JSON.parse(decoder.decode(received));
    })();
    const runner = await writeRunner(dir);
    const output = await spawnWhack(runner, ["--ctlsocket", socketPath, ...args]);
    const request = await server;
    listener.close();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
      request,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs whack with no pluto involved. */
async function whackAlone(args: string[]): Promise<WhackRun> {
  const dir = await Deno.makeTempDir({ prefix: "swan-whack-test-" });
  try {
    const output = await spawnWhack(await writeRunner(dir), args);
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("whack client: sends the request as one JSON line and prints text lines", async () => {
  const run = await whackAgainst(["--listen"], [
    "000 listening for IKE messages\n000 \n000 adding interface eth0 192.0.2.1:UDP/500\n",
  ]);
  deepStrictEqual(run.request, { magic: "swan-whack-1", command: { kind: "listen" } });
  // Code 000 is always printed, even with empty text.
  equal(run.stdout, "listening for IKE messages\n\nadding interface eth0 192.0.2.1:UDP/500\n");
  equal(run.stderr, "");
  equal(run.code, 0);
});

Deno.test("whack client: the first code in [20,100) is the exit code", async () => {
  const run = await whackAgainst(["--name", "west", "--initiate"], [
    '000 no connection or alias named "west"\n021 \n000 more\n056 \n',
  ]);
  deepStrictEqual(run.request, {
    magic: "swan-whack-1",
    command: { kind: "initiate", name: "west" },
  });
  // Empty lines with a non-zero code are bare status and are not printed.
  equal(run.stdout, 'no connection or alias named "west"\nmore\n');
  equal(run.code, 21);
});

Deno.test("whack client: a non-zero code with text prints the text", async () => {
  const run = await whackAgainst(["--name", "c", "--route"], ['025 "c": could not route\n']);
  equal(run.stdout, '"c": could not route\n');
  equal(run.code, 25);
});

Deno.test("whack client: codes below 20 or from 100 on do not set the exit code", async () => {
  const run = await whackAgainst(["--name", "c", "--initiate"], [
    "001 one\n019 two\n100 three\n150 four\n",
  ]);
  equal(run.stdout, "one\ntwo\nthree\nfour\n");
  equal(run.code, 0);
});

Deno.test("whack client: status-type commands always exit 0", async () => {
  for (const args of [["--status"], ["--trafficstatus"], ["--showstates"], ["--listpsks"]]) {
    const run = await whackAgainst(args, ["000 something\n021 \n"]);
    equal(run.stdout, "something\n", args[0]);
    equal(run.code, 0, args[0]);
  }
});

Deno.test("whack client: a line without NNN prefix stops whack with 33", async () => {
  const run = await whackAgainst(["--listen"], ["000 fine\nnot a reply line\n000 after\n"]);
  equal(run.stdout, "fine\n");
  equal(run.stderr, "whack: log line missing NNN prefix: not a reply line\n");
  equal(run.code, 33);
});

Deno.test("whack client: an unterminated last line is an error", async () => {
  const run = await whackAgainst(["--listen"], ["000 fine\n000 cut off"]);
  equal(run.stdout, "fine\n");
  equal(run.stderr, "whack: last line from pluto too long or unterminated\n");
  equal(run.code, 33);
});

Deno.test("whack client: lines and UTF-8 characters split across reads are reassembled", async () => {
  const eAcute = encoder.encode("é"); // two bytes: c3 a9
  const run = await whackAgainst(["--name", "c", "--initiate"], [
    "00",
    "0 caf",
    eAcute.subarray(0, 1),
    new Uint8Array([...eAcute.subarray(1), 0x0a]),
    "02",
    "9 \n",
  ]);
  equal(run.stdout, "café\n");
  equal(run.code, 29);
});

Deno.test("whack client: large output is relayed completely", async () => {
  const lines = Array.from({ length: 20000 }, (_, i) => `000 #${i}: "conn${i}" state line`);
  const run = await whackAgainst(["--status"], [lines.join("\n") + "\n"]);
  const printed = run.stdout.split("\n");
  equal(printed.length, 20001);
  equal(printed[19999], '#19999: "conn19999" state line');
  equal(run.code, 0);
});

Deno.test("whack client: no socket means pluto is not running (33)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swan-whack-test-" });
  try {
    const run = await whackAlone(["--rundir", dir, "--status"]);
    equal(
      run.stderr,
      `whack: ERROR: Pluto is not running (no "${dir}/pluto.ctl"): No such file or directory (errno 2)\n`,
    );
    equal(run.stdout, "");
    equal(run.code, 33);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("whack client: a file that is not a listening socket is refused (33)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swan-whack-test-" });
  try {
    await Deno.writeTextFile(`${dir}/pluto.ctl`, "");
    const run = await whackAlone(["--ctlsocket", `${dir}/pluto.ctl`, "--status"]);
    equal(run.stderr, "whack: ERROR: connect(pluto_ctl) failed: Connection refused (errno 111)\n");
    equal(run.code, 33);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "whack client: a socket we may not use is refused (33)",
  // root passes every permission check, so only a normal user can see this.
  ignore: Deno.uid() === 0,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "swan-whack-test-" });
    const socketPath = `${dir}/pluto.ctl`;
    const listener = Deno.listen({ transport: "unix", path: socketPath });
    try {
      await Deno.chmod(socketPath, 0o000);
      const run = await whackAlone(["--ctlsocket", socketPath, "--status"]);
      equal(
        run.stderr,
        `whack: ERROR: no right to communicate with pluto (access("${socketPath}")): Permission denied (errno 13)\n`,
      );
      equal(run.code, 33);
    } finally {
      listener.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("whack client: help, version, debug help and errors need no pluto", async () => {
  const help = await whackAlone(["--help"]);
  ok(help.stdout.startsWith("usage: whack"), help.stdout);
  equal(help.code, 0);
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  );
  const version = await whackAlone(["--version"]);
  equal(version.stdout, `swan ${config.version}\n`);
  equal(version.code, 0);
  const debugHelp = await whackAlone(["--debug", "help"]);
  equal(debugHelp.stdout, DEBUG_HELP);
  equal(debugHelp.code, 1);
  const bad = await whackAlone(["--bogus"]);
  equal(bad.stderr, "whack: unrecognized option '--bogus'\nFor usage information: whack --help\n");
  equal(bad.stdout, "");
  equal(bad.code, 1);
  const noName = await whackAlone(["--initiate"]);
  equal(noName.stderr, "whack error: missing --name <connection_name>\n");
  equal(noName.code, 33);
});
