/**
 * The whack client: sends one request to pluto over the control socket and
 * relays pluto's `NNN text` reply lines to stdout until pluto closes the
 * connection, then exits with the first failure code pluto reported
 * (Libreswan 5.x behaviour, reference §2.2 and §2.4).
 */
import { accessSync, constants } from "node:fs";
import { parseReplyLine, RC } from "../src/control/reply.ts";
import type { WhackCommand, WhackRequest } from "../src/control/request.ts";
import { DEBUG_HELP, WHACK_USAGE } from "./usage.ts";
import { VERSION_LINE } from "./version.ts";
import { parseWhackArgs } from "./whack_args.ts";

/** Reply codes at or above this never become whack's exit code. */
const RC_EXIT_ROOF = 100;

/**
 * A partial line longer than this means pluto is misbehaving; whack stops
 * rather than buffer without bound. Far above any line pluto writes.
 */
const MAX_LINE_BYTES = 64 * 1024;

/** Commands whose whack always exits 0, whatever pluto answers (scripts rely on it). */
const STATUS_COMMANDS: ReadonlySet<WhackCommand["kind"]> = new Set([
  "trafficstatus",
  "showstates",
  "briefstatus",
  "connectionstatus",
  "globalstatus",
  "shuntstatus",
  "listpsks",
]);

const encoder = new TextEncoder();

/**
 * Runs whack with `argv` (the arguments after the program name) and returns
 * the exit code: 0, the first reply code in [20,100), 33 for whack's own
 * problems, 1 for a malformed option.
 */
export async function runWhack(argv: string[]): Promise<number> {
  const parsed = parseWhackArgs(argv);
  switch (parsed.kind) {
    case "help":
      await print(WHACK_USAGE);
      return 0;
    case "version":
      await print(`${VERSION_LINE}\n`);
      return 0;
    case "debug-help":
      await print(DEBUG_HELP);
      return 1;
    case "error":
      console.error(parsed.message);
      return parsed.exitCode;
  }
  const { request, socketPath } = parsed;
  const unreachable = checkSocket(socketPath);
  if (unreachable !== undefined) {
    console.error(unreachable);
    return RC.WHACK_PROBLEM;
  }
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: socketPath });
  } catch (error) {
    console.error(`whack: ERROR: connect(pluto_ctl) failed: ${describeError(error)}`);
    return RC.WHACK_PROBLEM;
  }
  try {
    await writeAll(conn, encoder.encode(JSON.stringify(request) + "\n"));
    const outcome = await relayReplies(conn);
    if ("problem" in outcome) {
      console.error(outcome.problem);
      return RC.WHACK_PROBLEM;
    }
    return alwaysSucceeds(request) ? 0 : outcome.code;
  } finally {
    conn.close();
  }
}

/** Whether whack exits 0 whatever pluto reports: status, list and show requests. */
function alwaysSucceeds(request: WhackRequest): boolean {
  return request.status === true ||
    (request.command !== undefined && STATUS_COMMANDS.has(request.command.kind));
}

/**
 * Libreswan's pre-flight check, with its messages: the socket must exist and
 * be readable and writable by us. Returns the diagnostic, or undefined.
 */
function checkSocket(path: string): string | undefined {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ENOENT") {
      return `whack: ERROR: Pluto is not running (no "${path}"): No such file or directory (errno 2)`;
    }
    if (code === "EACCES" || code === "EPERM") {
      return `whack: ERROR: no right to communicate with pluto (access("${path}")): Permission denied (errno 13)`;
    }
    return `whack: ERROR: cannot use "${path}": ${describeError(error)}`;
  }
}

/** `Connection refused (errno 111)` from Deno's `Connection refused (os error 111)`. */
function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/ \(os error (\d+)\)$/, " (errno $1)");
}

/**
 * Reads reply lines until pluto closes the socket, printing their text as it
 * arrives (a --status dump can be large). Returns the first failure code, or
 * the whack-side problem that stopped the relay.
 */
async function relayReplies(
  conn: Deno.UnixConn,
): Promise<{ code: number } | { problem: string }> {
  const decoder = new TextDecoder();
  const chunk = new Uint8Array(64 * 1024);
  let partial = new Uint8Array(0);
  let firstFailure = 0;
  for (;;) {
    const n = await conn.read(chunk);
    if (n === null) break;
    const data = new Uint8Array(partial.length + n);
    data.set(partial);
    data.set(chunk.subarray(0, n), partial.length);
    let out = "";
    let start = 0;
    for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, start)) {
      const line = decoder.decode(data.subarray(start, nl));
      start = nl + 1;
      const reply = parseReplyLine(line);
      if (reply === null) {
        await print(out);
        return { problem: `whack: log line missing NNN prefix: ${line}` };
      }
      // An empty line with a code is a bare status, not something to show.
      if (reply.code === RC.PRINT || reply.text !== "") out += `${reply.text}\n`;
      if (firstFailure === 0 && reply.code >= RC.DUPNAME && reply.code < RC_EXIT_ROOF) {
        firstFailure = reply.code;
      }
    }
    partial = data.slice(start);
    if (!await print(out)) return { code: firstFailure };
    if (partial.length > MAX_LINE_BYTES) {
      return { problem: "whack: last line from pluto too long or unterminated" };
    }
  }
  if (partial.length > 0) {
    return { problem: "whack: last line from pluto too long or unterminated" };
  }
  return { code: firstFailure };
}

/**
 * Writes to stdout; false when the reader went away (`whack --status | head`),
 * in which case there is no point reading further.
 */
async function print(text: string): Promise<boolean> {
  try {
    await writeAll(Deno.stdout, encoder.encode(text));
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) return false;
    throw error;
  }
}

/** Writes every byte; `write` may take fewer than offered. */
async function writeAll(
  sink: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await sink.write(bytes.subarray(done));
}
