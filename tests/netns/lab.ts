/**
 * A network-namespace lab for end-to-end tests of real `swan pluto` processes.
 *
 * It builds pairs of namespaces joined by a veth link, starts daemons inside
 * them, runs `swan whack` against their control sockets, and tears all of it
 * down again by name and PID. Everything it creates carries a per-process,
 * random suffix so that test files running in parallel never collide.
 *
 * Usage:
 *
 *     await using lab = await Lab.create();
 *     const pair = await lab.createPair({ v6: true });
 *     const west = await lab.startPluto(pair.west.ns, { secrets: '@west @east : PSK "…"' });
 *     const r = await west.whack(["--status"]);
 *
 * Needs root and iproute2; anything missing is reported by a thrown error,
 * never by silently skipping.
 */

import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";

/** The repository root, derived from this file so callers may run from anywhere. */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** The `swan` entry point (`swan pluto …`, `swan whack …`). */
export const SWAN_MAIN: string = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));

/** One side of a namespace pair and the addresses the lab gave it. */
export interface NamespaceEnd {
  /** The namespace name, as `ip netns list` shows it. */
  readonly ns: string;
  /** The veth address (without prefix length). */
  readonly v4: string;
  /** The veth IPv6 address, present only for `{ v6: true }` pairs. */
  readonly v6?: string;
  /** The inner ("protected") IPv4 address on `lo`. */
  readonly inner: string;
  /** The inner IPv4 subnet, as a connection's `--subnet` would name it. */
  readonly subnet: string;
  /** The inner IPv6 address on `lo`, present only for `{ v6: true }` pairs. */
  readonly inner6?: string;
  /** The inner IPv6 subnet, present only for `{ v6: true }` pairs. */
  readonly subnet6?: string;
}

/** Two namespaces joined by a veth pair named `eth0` on both sides. */
export interface NamespacePair {
  readonly west: NamespaceEnd;
  readonly east: NamespaceEnd;
  /** Deletes both namespaces; safe to call more than once. */
  destroy(): Promise<void>;
}

/** Options of {@link createPair}. */
export interface PairOptions {
  /** Also give the veth ends 2001:db8::1/64 and 2001:db8::2/64 (no DAD), and lo inner v6 addresses. */
  v6?: boolean;
}

/** What a finished command left behind. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link run}, {@link runIn} and {@link whack}. */
export interface RunOptions {
  /** Kill the command (SIGKILL) and throw if it has not exited after this long. Default 30 s. */
  timeoutMs?: number;
}

/** Options of {@link startPluto}. */
export interface PlutoOptions {
  /** The complete text of ipsec.secrets, e.g. `@west @east : PSK "…"`; written with mode 0600. */
  secrets: string;
  /** Passed as `--ikeport`. */
  ikePort?: number;
  /** More pluto options, appended after the standard ones. */
  extraArgs?: string[];
  /** How long to wait for `Pluto initialized`. Default 15 s. */
  readyTimeoutMs?: number;
}

/** Options of {@link spawnDaemon}. */
export interface DaemonOptions {
  /** A name for messages, e.g. `swan pluto`. */
  label: string;
  /** The line on stdout that says the daemon is ready. */
  readyLine: string;
  /** How long to wait for the ready line. */
  readyTimeoutMs: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const PLUTO_READY_LINE = "Pluto initialized";
const PLUTO_READY_TIMEOUT_MS = 15_000;
/** How long SIGTERM gets before SIGKILL. */
const STOP_GRACE_MS = 5_000;
/** How long we keep reading a dead daemon's pipes (a leftover grandchild could hold them open). */
const DRAIN_MS = 2_000;
/** How much of a log goes into an error message. */
const LOG_TAIL_CHARS = 4_000;

/** The address plan (RFC 5737 / RFC 3849 documentation ranges only). */
const PLAN = {
  west: {
    v4: "192.0.2.1",
    v6: "2001:db8::1",
    inner: "198.51.100.1",
    subnet: "198.51.100.0/24",
    inner6: "2001:db8:1::1",
    subnet6: "2001:db8:1::/64",
  },
  east: {
    v4: "192.0.2.2",
    v6: "2001:db8::2",
    inner: "203.0.113.1",
    subnet: "203.0.113.0/24",
    inner6: "2001:db8:2::1",
    subnet6: "2001:db8:2::/64",
  },
} as const;

/** The prefix of every namespace the lab creates; the PID part lets CI spot leftovers of dead runs. */
const NAMESPACE_PREFIX = "swan-";

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The last `chars` characters of `text`, marked when cut, for error messages. */
export function tail(text: string, chars = LOG_TAIL_CHARS): string {
  return text.length <= chars ? text : `…${text.slice(-chars)}`;
}

/**
 * Runs `probe` until `accept` holds for its result or `timeoutMs` passes, and
 * returns the last result either way, so the caller's assertion can show it.
 * Used where the other side of a network exchange settles asynchronously.
 */
export async function eventually<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  { timeoutMs = 10_000, intervalMs = 200 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() >= deadline) return value;
    await delay(intervalMs);
  }
}

/** Races `promise` against a timer that is always cleared, so tests leak no timers. */
async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const decoder = new TextDecoder();

/**
 * Runs a command to completion with a bounded wait. Throws if it cannot be
 * started or overruns `timeoutMs` (after killing it); a non-zero exit is a
 * result, not an error.
 */
export async function run(
  argv: string[],
  { timeoutMs = DEFAULT_TIMEOUT_MS }: RunOptions = {},
): Promise<CommandResult> {
  const [program, ...args] = argv;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .spawn();
  } catch (err) {
    throw new Error(`cannot run ${program}: ${err instanceof Error ? err.message : err}`);
  }
  const output = child.output();
  const first = await withinMs(output, timeoutMs);
  if (first === "timeout") {
    child.kill("SIGKILL");
    const late = await output;
    throw new Error(
      `\`${argv.join(" ")}\` did not exit within ${timeoutMs} ms (killed pid ${child.pid})\n` +
        `stdout:\n${tail(decoder.decode(late.stdout))}\nstderr:\n${
          tail(decoder.decode(late.stderr))
        }`,
    );
  }
  return {
    code: first.code,
    stdout: decoder.decode(first.stdout),
    stderr: decoder.decode(first.stderr),
  };
}

/** Runs `argv` inside namespace `ns` (`ip netns exec`), see {@link run}. */
export function runIn(ns: string, argv: string[], options?: RunOptions): Promise<CommandResult> {
  return run(["ip", "netns", "exec", ns, ...argv], options);
}

/** Runs `ip …` and throws, naming the command, if it fails. */
async function ip(...args: string[]): Promise<string> {
  const result = await run(["ip", ...args]);
  if (result.code !== 0) {
    throw new Error(
      `\`ip ${args.join(" ")}\` failed (exit ${result.code}): ${result.stderr.trim()}`,
    );
  }
  return result.stdout;
}

let prerequisites: Promise<void> | undefined;

/**
 * Throws a clear error unless the lab can work here: root, and iproute2's
 * `ip` on PATH. Checked once per process.
 */
export function assertLabPrerequisites(): Promise<void> {
  prerequisites ??= (async () => {
    if (Deno.uid() !== 0) {
      throw new Error(
        `the netns lab needs root (uid 0) to create network namespaces; this is uid ${Deno.uid()}. ` +
          "Run the tests as root (CI runs them through .ci/run).",
      );
    }
    try {
      await run(["ip", "-V"], { timeoutMs: 5_000 });
    } catch {
      throw new Error(
        "the netns lab needs iproute2's `ip` on PATH; install it (apt-get install iproute2)",
      );
    }
  })();
  return prerequisites;
}

/** The namespace names `ip netns list` shows right now. */
export async function listNamespaces(): Promise<string[]> {
  const out = await ip("netns", "list");
  // Lines look like `name` or `name (id: 3)`.
  return out.split("\n").map((line) => line.split(" ")[0]).filter((name) => name !== "");
}

/** A fresh namespace name: prefix, PID (for leftover detection) and randomness (parallel workers share a PID). */
function uniqueName(role: string): string {
  return `${NAMESPACE_PREFIX}${Deno.pid}-${randomBytes(4).toString("hex")}-${role}`;
}

async function deleteNamespace(ns: string): Promise<void> {
  if ((await listNamespaces()).includes(ns)) await ip("netns", "del", ns);
}

/** Gives one namespace its addresses: inner ones on lo, the veth end on eth0. */
async function configureEnd(end: NamespaceEnd): Promise<void> {
  const { ns } = end;
  await ip("-n", ns, "link", "set", "lo", "up");
  await ip("-n", ns, "addr", "add", `${end.inner}/24`, "dev", "lo");
  await ip("-n", ns, "addr", "add", `${end.v4}/24`, "dev", "eth0");
  if (end.v6 !== undefined && end.inner6 !== undefined) {
    await ip("-n", ns, "addr", "add", `${end.inner6}/64`, "dev", "lo");
    // nodad: the address is usable at once instead of after duplicate detection.
    await ip("-n", ns, "addr", "add", `${end.v6}/64`, "dev", "eth0", "nodad");
  }
  await ip("-n", ns, "link", "set", "eth0", "up");
}

/**
 * Creates two namespaces joined by a veth pair: west 192.0.2.1/24, east
 * 192.0.2.2/24 (and 2001:db8::1/64, 2001:db8::2/64 with `v6`), lo up with
 * 198.51.100.1/24 (west) and 203.0.113.1/24 (east). On any failure it removes
 * what it created before rethrowing.
 */
export async function createPair({ v6 = false }: PairOptions = {}): Promise<NamespacePair> {
  await assertLabPrerequisites();
  const pick = (side: "west" | "east"): NamespaceEnd => {
    const plan = PLAN[side];
    const base = { ns: uniqueName(side), v4: plan.v4, inner: plan.inner, subnet: plan.subnet };
    return v6 ? { ...base, v6: plan.v6, inner6: plan.inner6, subnet6: plan.subnet6 } : base;
  };
  const west = pick("west");
  const east = pick("east");
  const created: string[] = [];
  let destroyed: Promise<void> | undefined;
  const destroy = () => {
    destroyed ??= (async () => {
      const errors: unknown[] = [];
      for (const ns of created) {
        await deleteNamespace(ns).catch((err) => errors.push(err));
      }
      if (errors.length > 0) throw new AggregateError(errors, "could not delete every namespace");
    })();
    return destroyed;
  };
  try {
    for (const end of [west, east]) {
      await ip("netns", "add", end.ns);
      created.push(end.ns);
    }
    // Created straight inside the namespaces, so the root namespace never sees the names.
    await ip("-n", west.ns, ..."link add eth0 type veth peer name eth0 netns".split(" "), east.ns);
    await configureEnd(west);
    await configureEnd(east);
  } catch (err) {
    await destroy().catch(() => {});
    throw err;
  }
  return { west, east, destroy };
}

/** Reads a byte stream into `sink` as text until it ends or is cancelled. */
async function collect(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  sink: (text: string) => void,
): Promise<void> {
  const streamDecoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      sink(streamDecoder.decode(value, { stream: true }));
    }
  } catch {
    // A cancelled read ends the collection; what was read stays in the buffer.
  }
  sink(streamDecoder.decode());
}

/**
 * A long-running process inside a namespace, with its stdout and stderr kept
 * in memory. Stopped by PID: `ip netns exec` execs the command, so the PID we
 * hold is the daemon's own.
 */
export class NamespaceDaemon {
  /** The namespace it runs in. */
  readonly ns: string;
  /** A name for messages. */
  readonly label: string;
  /** The process ID. */
  readonly pid: number;
  /** Settles when the process has exited. */
  readonly status: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #stdout = "";
  #stderr = "";
  #exit: Deno.CommandStatus | undefined;
  #readers: ReadableStreamDefaultReader<Uint8Array>[];
  #collected: Promise<void>;

  constructor(ns: string, label: string, child: Deno.ChildProcess) {
    this.ns = ns;
    this.label = label;
    this.#child = child;
    this.pid = child.pid;
    this.status = child.status.then((status) => (this.#exit = status));
    const out = child.stdout.getReader();
    const err = child.stderr.getReader();
    this.#readers = [out, err];
    this.#collected = Promise.all([
      collect(out, (text) => (this.#stdout += text)),
      collect(err, (text) => (this.#stderr += text)),
    ]).then(() => {});
  }

  /** Everything the process wrote to stderr so far (pluto logs there with --stderrlog). */
  log(): string {
    return this.#stderr;
  }

  /** Everything the process wrote to stdout so far. */
  stdout(): string {
    return this.#stdout;
  }

  /** The exit status once the process has exited, else undefined. */
  exitStatus(): Deno.CommandStatus | undefined {
    return this.#exit;
  }

  /**
   * Waits until `line` appears on stdout. Throws, with the stderr tail, if the
   * process exits first or `timeoutMs` passes.
   */
  async waitForStdout(line: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#stdout.includes(line)) {
      const exit = this.#exit;
      if (exit !== undefined) {
        await this.#drain();
        throw new Error(
          `${this.label} in netns ${this.ns} exited (code ${exit.code}${
            exit.signal ? `, signal ${exit.signal}` : ""
          }) before printing "${line}"\nstderr:\n${tail(this.#stderr)}`,
        );
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `${this.label} in netns ${this.ns} (pid ${this.pid}) did not print "${line}" within ` +
            `${timeoutMs} ms\nstdout:\n${tail(this.#stdout)}\nstderr:\n${tail(this.#stderr)}`,
        );
      }
      await delay(50);
    }
  }

  /** Waits up to `timeoutMs` for the process to exit on its own; throws if it does not. */
  async waitExit(timeoutMs: number): Promise<Deno.CommandStatus> {
    const status = await withinMs(this.status, timeoutMs);
    if (status === "timeout") {
      throw new Error(
        `${this.label} in netns ${this.ns} (pid ${this.pid}) still running after ${timeoutMs} ms`,
      );
    }
    await this.#drain();
    return status;
  }

  /**
   * Stops the process: SIGTERM, up to 5 s grace, then SIGKILL. Returns its exit
   * status (of the earlier exit if it had already gone). Safe to call repeatedly.
   */
  async stop(): Promise<Deno.CommandStatus> {
    if (this.#exit === undefined) {
      this.#signal("SIGTERM");
      if ((await withinMs(this.status, STOP_GRACE_MS)) === "timeout") this.#signal("SIGKILL");
    }
    const status = await this.status;
    await this.#drain();
    return status;
  }

  #signal(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // It exited between our check and the kill: nothing left to signal.
    }
  }

  /** Finishes reading the pipes, cancelling them if a leftover grandchild keeps them open. */
  async #drain(): Promise<void> {
    if ((await withinMs(this.#collected, DRAIN_MS)) === "timeout") {
      await Promise.all(this.#readers.map((reader) => reader.cancel().catch(() => {})));
      await this.#collected;
    }
  }
}

/** Starts `argv` inside `ns` with stdout and stderr piped to us. */
function spawnIn(ns: string, argv: string[]): Deno.ChildProcess {
  return new Deno.Command("ip", {
    args: ["netns", "exec", ns, ...argv],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Waits for `daemon`'s ready line; stops it (and rethrows) if that does not come. */
async function whenReady<D extends NamespaceDaemon>(
  daemon: D,
  readyLine: string,
  readyTimeoutMs: number,
): Promise<D> {
  try {
    await daemon.waitForStdout(readyLine, readyTimeoutMs);
    return daemon;
  } catch (err) {
    await daemon.stop();
    throw err;
  }
}

/**
 * Starts `argv` inside `ns` and waits for its ready line on stdout. If it does
 * not become ready, it is stopped and the error names what happened.
 */
export async function spawnDaemon(
  ns: string,
  argv: string[],
  { label, readyLine, readyTimeoutMs }: DaemonOptions,
): Promise<NamespaceDaemon> {
  await assertLabPrerequisites();
  return whenReady(new NamespaceDaemon(ns, label, spawnIn(ns, argv)), readyLine, readyTimeoutMs);
}

/** The `deno run` command line of the swan CLI, with the deno binary that runs us. */
function swanCommand(...args: string[]): string[] {
  return [Deno.execPath(), "run", "-A", SWAN_MAIN, ...args];
}

/**
 * Runs `swan whack --ctlsocket <ctl> …args` inside `ns`. The exit code and
 * both output streams are returned as they are; only a hang (beyond
 * `timeoutMs`, default 30 s) throws.
 */
export function whack(
  ns: string,
  ctl: string,
  args: string[],
  options?: RunOptions,
): Promise<CommandResult> {
  return runIn(ns, swanCommand("whack", "--ctlsocket", ctl, ...args), options);
}

/** A running `swan pluto` with its private run directory. */
export class Pluto extends NamespaceDaemon {
  /** The `--rundir`, a private temporary directory removed by {@link Pluto.stop}. */
  readonly rundir: string;
  /** The control socket, `<rundir>/pluto.ctl`. */
  readonly ctl: string;
  /** The `--secretsfile`, `<rundir>/ipsec.secrets`. */
  readonly secretsFile: string;

  constructor(ns: string, child: Deno.ChildProcess, rundir: string) {
    super(ns, "swan pluto", child);
    this.rundir = rundir;
    this.ctl = `${rundir}/pluto.ctl`;
    this.secretsFile = `${rundir}/ipsec.secrets`;
  }

  /** `swan whack` against this daemon, see {@link whack}. */
  whack(args: string[], options?: RunOptions): Promise<CommandResult> {
    return whack(this.ns, this.ctl, args, options);
  }

  /** Stops the daemon (see {@link NamespaceDaemon.stop}) and removes its run directory. */
  override async stop(): Promise<Deno.CommandStatus> {
    const status = await super.stop();
    await Deno.remove(this.rundir, { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
    return status;
  }
}

/**
 * Starts `swan pluto --nofork --stderrlog --rundir <tmp> --secretsfile
 * <tmp>/ipsec.secrets --protostack none …` inside `ns` and waits (bounded) for
 * `Pluto initialized`. Throws with the daemon's stderr if it does not come up.
 */
export async function startPluto(ns: string, options: PlutoOptions): Promise<Pluto> {
  await assertLabPrerequisites();
  const rundir = await Deno.makeTempDir({ prefix: "swan-lab-" });
  const secretsFile = `${rundir}/ipsec.secrets`;
  try {
    await Deno.writeTextFile(secretsFile, options.secrets, { mode: 0o600 });
    await Deno.chmod(secretsFile, 0o600); // the mode above is subject to umask
  } catch (err) {
    await Deno.remove(rundir, { recursive: true });
    throw err;
  }
  const args = [
    "pluto",
    "--nofork",
    "--stderrlog",
    "--rundir",
    rundir,
    "--secretsfile",
    secretsFile,
    "--protostack",
    "none",
    ...(options.ikePort === undefined ? [] : ["--ikeport", String(options.ikePort)]),
    ...(options.extraArgs ?? []),
  ];
  const pluto = new Pluto(ns, spawnIn(ns, swanCommand(...args)), rundir);
  return whenReady(pluto, PLUTO_READY_LINE, options.readyTimeoutMs ?? PLUTO_READY_TIMEOUT_MS);
}

/**
 * Tracks every pair and daemon it creates and removes them in
 * {@link Lab.dispose}: daemons first (reverse start order), then namespaces.
 * Works with `await using lab = await Lab.create()` or try/finally.
 */
export class Lab implements AsyncDisposable {
  #pairs: NamespacePair[] = [];
  #daemons: NamespaceDaemon[] = [];
  #disposed: Promise<void> | undefined;

  private constructor() {}

  /** Checks the prerequisites (see {@link assertLabPrerequisites}) and returns an empty lab. */
  static async create(): Promise<Lab> {
    await assertLabPrerequisites();
    return new Lab();
  }

  /** {@link createPair}, tracked for cleanup. */
  async createPair(options?: PairOptions): Promise<NamespacePair> {
    this.#assertOpen();
    const pair = await createPair(options);
    this.#pairs.push(pair);
    return pair;
  }

  /** {@link startPluto}, tracked for cleanup. */
  async startPluto(ns: string, options: PlutoOptions): Promise<Pluto> {
    this.#assertOpen();
    const pluto = await startPluto(ns, options);
    this.#daemons.push(pluto);
    return pluto;
  }

  /** {@link spawnDaemon}, tracked for cleanup. */
  async spawnDaemon(ns: string, argv: string[], options: DaemonOptions): Promise<NamespaceDaemon> {
    this.#assertOpen();
    const daemon = await spawnDaemon(ns, argv, options);
    this.#daemons.push(daemon);
    return daemon;
  }

  /**
   * Stops every daemon and deletes every namespace, even if some steps fail;
   * then throws an AggregateError listing the failures. Later calls return
   * the first call's outcome.
   */
  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      const errors: unknown[] = [];
      for (const daemon of [...this.#daemons].reverse()) {
        await daemon.stop().catch((err) => errors.push(err));
      }
      for (const pair of this.#pairs) {
        await pair.destroy().catch((err) => errors.push(err));
      }
      if (errors.length > 0) throw new AggregateError(errors, "netns lab cleanup failed");
    })();
    return this.#disposed;
  }

  /** Same as {@link Lab.dispose}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  #assertOpen(): void {
    if (this.#disposed) throw new Error("this netns lab was already disposed");
  }
}
