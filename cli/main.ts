/**
 * The `swan` executable: `swan pluto …` runs the daemon, `swan whack …` the
 * control client. Started through a link named `pluto` or `whack` it is that
 * command, so Libreswan-style scripts and unit files work unchanged.
 *
 * How the link name is found: `Deno.execPath()` resolves symbolic links, and
 * in a `deno compile` binary `Deno.mainModule` names the embedded cli/main.ts,
 * so neither tells how we were called. `process.argv0` (node:process) is the
 * unresolved argv[0]: run through a link `./pluto` it is `./pluto`. Under
 * `deno run` it is `deno`, which selects nothing, so the subcommand argument
 * is used.
 */
import process from "node:process";
import { runPluto } from "../src/daemon/pluto.ts";
import { parsePlutoArgs } from "./pluto_args.ts";
import { PLUTO_USAGE, SWAN_USAGE } from "./usage.ts";
import { VERSION_LINE } from "./version.ts";
import { runWhack } from "./whack.ts";

/** The two programs swan contains. */
export type Subcommand = "pluto" | "whack";

/** The subcommand a program path selects by its base name, if any. */
export function subcommandFor(programPath: string): Subcommand | undefined {
  const base = programPath.slice(programPath.lastIndexOf("/") + 1);
  return base === "pluto" || base === "whack" ? base : undefined;
}

/**
 * Runs swan with `args` (after the program name); `programPath` is argv[0].
 * Returns the exit code.
 */
export async function main(args: string[], programPath: string): Promise<number> {
  const linked = subcommandFor(programPath);
  if (linked !== undefined) return await runSubcommand(linked, args);
  const [first, ...rest] = args;
  switch (first) {
    case "pluto":
    case "whack":
      return await runSubcommand(first, rest);
    case "--help":
      console.log(SWAN_USAGE.trimEnd());
      return 0;
    case "--version":
      console.log(VERSION_LINE);
      return 0;
    case undefined:
      console.error(SWAN_USAGE.trimEnd());
      return 1;
    default:
      console.error(`swan: unknown command "${first}"; see swan --help`);
      return 1;
  }
}

async function runSubcommand(subcommand: Subcommand, args: string[]): Promise<number> {
  if (subcommand === "whack") return await runWhack(args);
  const parsed = parsePlutoArgs(args);
  switch (parsed.kind) {
    case "help":
      console.log(PLUTO_USAGE.trimEnd());
      return 0;
    case "version":
      console.log(VERSION_LINE);
      return 0;
    case "error":
      console.error(parsed.message);
      return parsed.exitCode;
    case "run":
      return await runPluto(parsed.options);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args, process.argv0));
