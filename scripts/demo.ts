/**
 * `deno task demo`: two swan daemons in two network namespaces bring up an
 * IKEv2 tunnel, narrated step by step, then everything is torn down again,
 * also on Ctrl-C or an error. Needs root (namespaces) and iproute2.
 */

import { randomBytes } from "node:crypto";
import { type CommandResult, Lab, type Pluto, tail } from "../tests/netns/lab.ts";

const CONN = "west-east";

/** Aborted on Ctrl-C/SIGTERM so the narration stops while the teardown runs. */
const interrupt = new AbortController();

function step(text: string): void {
  interrupt.signal.throwIfAborted();
  console.log(`\n==> ${text}`);
}

function heading(text: string): void {
  interrupt.signal.throwIfAborted();
  const rule = "=".repeat(Math.max(text.length, 60));
  console.log(`\n${rule}\n${text}\n${rule}`);
}

/** Prints what whack printed, indented, and fails the demo if whack did. */
function report(side: string, args: string[], result: CommandResult): void {
  interrupt.signal.throwIfAborted();
  console.log(`    [${side}] $ swan whack ${args.join(" ")}`);
  for (const line of `${result.stdout}${result.stderr}`.split("\n")) {
    if (line !== "") console.log(`    [${side}]   ${line}`);
  }
  if (result.code !== 0) {
    throw new Error(`${side}: swan whack ${args.join(" ")} exited ${result.code}`);
  }
}

async function whackOn(side: string, pluto: Pluto, args: string[]): Promise<CommandResult> {
  const result = await pluto.whack(args, { timeoutMs: 60_000 });
  report(side, args, result);
  return result;
}

async function demo(lab: Lab, started: Pluto[]): Promise<void> {
  step("Creating two network namespaces joined by a veth cable");
  const pair = await lab.createPair();
  console.log(
    `    west: netns ${pair.west.ns}, eth0 ${pair.west.v4}/24, protects ${pair.west.subnet}`,
  );
  console.log(
    `    east: netns ${pair.east.ns}, eth0 ${pair.east.v4}/24, protects ${pair.east.subnet}`,
  );

  step("Writing ipsec.secrets on both sides: one random pre-shared key for @west <-> @east");
  // Random per run: the demo must not teach anyone a fixed key.
  const secrets = `@west @east : PSK "${randomBytes(24).toString("base64")}"\n`;

  const startOn = async (side: "west" | "east"): Promise<Pluto> => {
    step(`Starting swan pluto in ${side}'s namespace`);
    const pluto = await lab.startPluto(pair[side].ns, { secrets });
    started.push(pluto);
    console.log(`    pid ${pluto.pid}, control socket ${pluto.ctl}`);
    return pluto;
  };
  const plutos = { west: await startOn("west"), east: await startOn("east") };

  const add = [
    "--name",
    CONN,
    "--psk",
    "--host",
    pair.west.v4,
    "--id",
    "@west",
    "--subnet",
    pair.west.subnet,
    "--to",
    "--host",
    pair.east.v4,
    "--id",
    "@east",
    "--subnet",
    pair.east.subnet,
    "--ikev2",
  ];
  step(`Adding connection "${CONN}" to both daemons (each finds which end is its own)`);
  await whackOn("west", plutos.west, add);
  await whackOn("east", plutos.east, add);

  step("Telling both daemons to listen for IKE on their interfaces");
  await whackOn("west", plutos.west, ["--listen"]);
  await whackOn("east", plutos.east, ["--listen"]);

  step("West initiates: IKE_SA_INIT, then IKE_AUTH with the first Child SA");
  await whackOn("west", plutos.west, ["--name", CONN, "--initiate"]);

  for (const side of ["west", "east"] as const) {
    heading(`${side}: swan whack --status`);
    const status = await plutos[side].whack(["--status"]);
    console.log(`${status.stdout}${status.stderr}`.trimEnd());
  }

  step("Shutting both daemons down");
  for (const side of ["west", "east"] as const) {
    await whackOn(side, plutos[side], ["--shutdown"]);
    const exit = await plutos[side].waitExit(10_000);
    console.log(`    [${side}] pluto exited with code ${exit.code}`);
  }
}

async function main(): Promise<number> {
  const lab = await Lab.create();
  const started: Pluto[] = [];
  const onSignal = () => {
    if (interrupt.signal.aborted) return;
    interrupt.abort();
    console.log("\n==> Interrupted: tearing down the lab");
    // The main flow may be blocked in a long whack; tear down from here and leave.
    lab.dispose().catch((err) => console.error(err)).finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let code = 0;
  try {
    await demo(lab, started);
  } catch (err) {
    code = 1;
    if (!interrupt.signal.aborted) {
      console.error(`\ndemo failed: ${err instanceof Error ? err.message : err}`);
      for (const pluto of started) {
        console.error(`\n--- pluto log from ${pluto.ns} ---\n${tail(pluto.log())}`);
      }
    }
  }
  const interrupted = interrupt.signal.aborted;
  if (!interrupted) step("Removing the daemons and namespaces");
  try {
    // Idempotent: after a signal this waits for the teardown already under way.
    await lab.dispose();
    if (!interrupted) console.log("    done; nothing is left behind");
  } catch (err) {
    console.error("teardown failed:", err);
    code = 1;
  }
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  return interrupted ? 130 : code;
}

Deno.exit(await main());
