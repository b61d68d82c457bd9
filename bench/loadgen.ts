/**
 * The load generator (issue 6): N IKEv2 PSK IKE SAs with one Child SA each,
 * C in flight, from an initiator in one network namespace to a responder in
 * another, for every pairing of swan and strongSwan, so each swan figure
 * comes with strongSwan's from the same run. Usage and method: bench/RESULTS.md.
 *
 *     deno run -A bench/loadgen.ts [--n 5000] [--c 64] [--slice 1000]
 *         [--suites x25519,modp2048] [--pairs swan-swan,swan-strongswan,strongswan-swan,strongswan-strongswan]
 *         [--nhelpers N] [--v8-flags FLAGS] [--json FILE]
 *
 * Needs root (namespaces) and, for strongSwan pairings, Debian's charon.
 */
import { fileURLToPath } from "node:url";
import {
  createPair,
  eventually,
  type NamespaceDaemon,
  type NamespaceEnd,
  spawnDaemon,
  SWAN_MAIN,
  tail,
  whack,
} from "../tests/netns/lab.ts";
import { type Charon, startCharon } from "./charon.ts";
import { driveSlices, type RunReport, type SliceReport } from "./slices.ts";
import type { InitiatorOptions, Leftover } from "./swan_initiator.ts";
import type { ViciMessage } from "./vici.ts";

/** Who plays a role. */
export type Side = "swan" | "strongswan";

/** The IKE proposal families measured; ESP is AES-GCM-16/128 throughout. */
export const SUITES = {
  x25519: { swanIke: "aes128-sha2_256-x25519", ssIke: "aes128-sha256-x25519" },
  modp2048: { swanIke: "aes128-sha2_256-modp2048", ssIke: "aes128-sha256-modp2048" },
} as const;
export type Suite = keyof typeof SUITES;
const SWAN_ESP = "aes_gcm128", SS_ESP = "aes128gcm16";

const PSK = "loadgen pre-shared key 0123456789";
const INITIATOR_MAIN = fileURLToPath(new URL("./swan_initiator.ts", import.meta.url));

/** Options of {@link runPair}. */
export interface PairOptions {
  initiator: Side;
  responder: Side;
  suite: Suite;
  total: number;
  concurrency: number;
  sliceSize: number;
  settleMs?: number;
  deadlineMs?: number;
  /** After the run, delete every IKE SA from the initiator and count what both sides still hold (swan initiator only). */
  deleteAll?: boolean;
  /** Crypto helper threads of swan's initiator and responder (pluto --nhelpers; default -1 as pluto's). */
  nhelpers?: number;
  /** V8 flags for swan's processes (`--v8-flags=…`, e.g. `--max-semi-space-size=1`); none by default. */
  v8Flags?: string;
  onSlice?: (slice: SliceReport) => void;
  /** Told once the responder runs: its pid and, for swan, its control socket (for whack drivers). */
  onResponder?: (responder: { pid: number; ctl?: string }) => void;
}

/** What one pairing measured. */
export interface PairResult {
  label: string;
  run: RunReport;
  /** With `deleteAll`: what the initiator still holds. */
  initiatorLeft?: Leftover;
  /** With `deleteAll`: states (IKE and Child SAs) the responder held before the deletes. */
  responderBefore?: number;
  /** With `deleteAll`: states the responder still holds afterwards. */
  responderLeft?: number;
}

/** `swan→strongSwan x25519` */
export function pairLabel(o: { initiator: Side; responder: Side; suite: Suite }): string {
  const n = (s: Side) => (s === "swan" ? "swan" : "strongSwan");
  return `${n(o.initiator)}→${n(o.responder)} ${o.suite}`;
}

interface Responder {
  pid: number;
  /** swan's control socket. */
  ctl?: string;
  /** IKE SAs it still holds. */
  remaining(): Promise<number>;
  stop(): Promise<void>;
}

/** swan pluto in `end.ns`, logging to a file as a production daemon would, one connection added by whack. */
async function startSwanResponder(
  end: NamespaceEnd,
  peer: NamespaceEnd,
  suite: Suite,
  nhelpers: number,
  v8Flags: string,
) {
  const rundir = await Deno.makeTempDir({ prefix: "swan-bench-pluto-" });
  const secrets = `${rundir}/ipsec.secrets`;
  await Deno.writeTextFile(secrets, `@east @west : PSK "${PSK}"\n`, { mode: 0o600 });
  await Deno.chmod(secrets, 0o600);
  let daemon: NamespaceDaemon | undefined;
  const stop = async () => {
    await daemon?.stop();
    await Deno.remove(rundir, { recursive: true }).catch(() => {});
  };
  try {
    daemon = await spawnDaemon(end.ns, [
      Deno.execPath(),
      "run",
      "-A",
      ...(v8Flags ? [`--v8-flags=${v8Flags}`] : []),
      SWAN_MAIN,
      "pluto",
      "--nofork",
      "--logfile",
      `${rundir}/pluto.log`,
      "--rundir",
      rundir,
      "--secretsfile",
      secrets,
      "--protostack",
      "none",
      "--nhelpers",
      String(nhelpers),
    ], { label: "swan pluto", readyLine: "Pluto initialized", readyTimeoutMs: 15_000 });
    const ctl = `${rundir}/pluto.ctl`;
    const add = await whack(end.ns, ctl, [
      ..."--name loadgen --psk --ikev2".split(" "),
      ...["--host", end.v4, "--id", "@east", "--subnet", end.subnet, "--to"],
      ...["--host", peer.v4, "--id", "@west", "--subnet", peer.subnet],
      ...["--ike", SUITES[suite].swanIke, "--esp", SWAN_ESP],
    ]);
    if (add.code !== 0) throw new Error(`whack add failed: ${add.stdout}${add.stderr}`);
    const states = async () => {
      const r = await whack(end.ns, ctl, ["--showstates"]);
      if (r.code !== 0) throw new Error(`whack --showstates failed: ${r.stdout}${r.stderr}`);
      // An established Child SA has a second line (its SAs) with the same serial.
      return new Set(r.stdout.split("\n").map((l) => /^#(\d+): /.exec(l)?.[1]).filter(Boolean))
        .size;
    };
    return { pid: daemon.pid, ctl, remaining: states, stop } satisfies Responder;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Loads the PSK both charons use (IDs are FQDNs `west`/`east`, as swan's `@west`/`@east`). */
async function loadPsk(c: Charon): Promise<void> {
  const r = await c.vici.request("load-shared", {
    type: "IKE",
    data: PSK,
    owners: ["@west", "@east"],
  });
  if (r.success !== "yes") throw new Error(`load-shared: ${JSON.stringify(r)}`);
}

async function loadConn(c: Charon, name: string, conn: ViciMessage): Promise<void> {
  const r = await c.vici.request("load-conn", { [name]: conn });
  if (r.success !== "yes") throw new Error(`load-conn ${name}: ${JSON.stringify(r)}`);
}

function charonConn(
  local: NamespaceEnd,
  peer: NamespaceEnd,
  ids: [string, string],
  suite: Suite,
  initiator: boolean,
): ViciMessage {
  return {
    version: "2",
    local_addrs: [local.v4],
    ...(initiator ? { remote_addrs: [peer.v4] } : {}),
    proposals: [SUITES[suite].ssIke],
    unique: "never",
    rekey_time: "0",
    reauth_time: "0",
    local: { auth: "psk", id: ids[0] },
    remote: { auth: "psk", id: ids[1] },
    children: {
      net: {
        local_ts: [local.subnet],
        remote_ts: [peer.subnet],
        esp_proposals: [SS_ESP],
        rekey_time: "0",
      },
    },
  };
}

async function startCharonResponder(end: NamespaceEnd, peer: NamespaceEnd, suite: Suite) {
  const c = await startCharon(end.ns);
  try {
    await loadPsk(c);
    await loadConn(c, "rw", charonConn(end, peer, ["@east", "@west"], suite, false));
  } catch (err) {
    await c.stop();
    throw err;
  }
  const remaining = async () => {
    const stats = await c.vici.request("stats");
    return Number((stats.ikesas as ViciMessage).total);
  };
  return { pid: c.daemon.pid, remaining, stop: c.stop } satisfies Responder;
}

/** The swan initiator runs in its own process inside the initiator namespace; its JSON lines come back here. */
async function runSwanInitiator(
  o: InitiatorOptions,
  ns: string,
  v8Flags: string,
  onSlice: PairOptions["onSlice"],
  beforeDelete: () => Promise<void>,
) {
  const child = new Deno.Command("ip", {
    args: [
      ...["netns", "exec", ns, Deno.execPath(), "run", "-A"],
      ...(v8Flags ? [`--v8-flags=${v8Flags}`] : []),
      ...[INITIATOR_MAIN, JSON.stringify(o)],
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, o.deadlineMs + 60_000);
  let run: RunReport | undefined, leftover: Leftover | undefined, rest = "";
  const stderr = new Response(child.stderr).text();
  try {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const lines = rest.split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        const m = JSON.parse(line);
        if (m.slice) onSlice?.(m.slice);
        if (m.run) {
          run = m.run;
          if (o.deleteAll) await beforeDelete();
          const stdin = child.stdin.getWriter();
          await stdin.write(new TextEncoder().encode("delete\n")).catch(() => {});
          await stdin.close().catch(() => {});
        }
        if (m.leftover) leftover = m.leftover;
      }
    }
    const status = await child.status;
    if (!status.success || !run) {
      throw new Error(`swan initiator exited ${status.code}: ${tail(await stderr, 1000)}`);
    }
    return { run, leftover };
  } finally {
    clearTimeout(killer);
  }
}

/** Drives a charon initiator over vici: `initiate` returns at once, completion comes as events. */
async function runCharonInitiator(
  c: Charon,
  o: PairOptions,
  responderPid: number,
  west: NamespaceEnd,
  east: NamespaceEnd,
): Promise<RunReport> {
  await loadPsk(c);
  await loadConn(c, "c0", charonConn(west, east, ["@west", "@east"], o.suite, true));
  // Events carry no request tag and every SA uses connection c0: completions are matched FIFO.
  const waiting: ((ok: boolean) => void)[] = [];
  c.vici.onEvent = (name, msg) => {
    const up = msg.up === "yes";
    if (name === "child-updown" && up) waiting.shift()?.(true);
    else if (name === "ike-updown" && !up) {
      const sa = Object.values(msg).find((v): v is ViciMessage => typeof v === "object");
      if (sa && !sa["child-sas"]) waiting.shift()?.(false);
    }
  };
  await c.vici.register("child-updown");
  await c.vici.register("ike-updown");
  return driveSlices({
    total: o.total,
    concurrency: o.concurrency,
    sliceSize: o.sliceSize,
    start: async () => {
      const done = new Promise<boolean>((r) => waiting.push(r));
      const r = await c.vici.request("initiate", {
        child: "net",
        ike: "c0",
        timeout: "-1",
        "init-limits": "no",
      });
      if (r.success !== "yes") {
        waiting.splice(waiting.length - 1, 1);
        return false;
      }
      return done;
    },
    initiatorPid: c.daemon.pid,
    responderPid,
    settleMs: o.settleMs ?? 1000,
    deadlineMs: o.deadlineMs ?? 300_000,
    onSlice: o.onSlice,
  });
}

/** Runs one pairing in a fresh namespace pair and removes everything it started. */
export async function runPair(o: PairOptions): Promise<PairResult> {
  const pair = await createPair();
  const { west, east } = pair;
  let responder: Responder | undefined;
  let charonInit: Charon | undefined;
  try {
    responder = o.responder === "swan"
      ? await startSwanResponder(east, west, o.suite, o.nhelpers ?? -1, o.v8Flags ?? "")
      : await startCharonResponder(east, west, o.suite);
    o.onResponder?.({ pid: responder.pid, ctl: responder.ctl });
    const label = pairLabel(o);
    if (o.initiator === "swan") {
      const r = responder;
      let responderBefore: number | undefined;
      const { run, leftover } = await runSwanInitiator(
        {
          local: west.v4,
          remote: east.v4,
          localId: "@west",
          remoteId: "@east",
          localSubnet: west.subnet,
          remoteSubnet: east.subnet,
          psk: PSK,
          ike: SUITES[o.suite].swanIke,
          esp: SWAN_ESP,
          total: o.total,
          concurrency: o.concurrency,
          sliceSize: o.sliceSize,
          responderPid: responder.pid,
          settleMs: o.settleMs ?? 1000,
          deadlineMs: o.deadlineMs ?? 300_000,
          deleteAll: o.deleteAll ?? false,
          nhelpers: o.nhelpers ?? -1,
        },
        west.ns,
        o.v8Flags ?? "",
        o.onSlice,
        async () => {
          responderBefore = await r.remaining();
        },
      );
      const responderLeft = o.deleteAll
        ? await eventually(() => r.remaining(), (n) => n === 0, { timeoutMs: 5_000 })
        : undefined;
      return { label, run, initiatorLeft: leftover, responderBefore, responderLeft };
    }
    charonInit = await startCharon(west.ns);
    return { label, run: await runCharonInitiator(charonInit, o, responder.pid, west, east) };
  } finally {
    await charonInit?.stop().catch(() => {});
    await responder?.stop().catch(() => {});
    await pair.destroy();
  }
}

// ------------------------------------------------------------------ CLI

function sliceRow(label: string, s: SliceReport): string {
  return [
    label,
    s.established,
    s.ratePerS,
    s.responderCpuMsPerSa,
    s.initiatorCpuMsPerSa,
    s.responderRssKb,
    s.responderRssBytesPerSa,
    s.failures,
  ].join(" | ");
}

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}

async function main(args: string[]): Promise<void> {
  const total = Number(flag(args, "n", "5000"));
  const concurrency = Number(flag(args, "c", "64"));
  const sliceSize = Number(flag(args, "slice", "1000"));
  const suites = flag(args, "suites", "x25519,modp2048").split(",") as Suite[];
  const pairs = flag(
    args,
    "pairs",
    "swan-swan,swan-strongswan,strongswan-swan,strongswan-strongswan",
  )
    .split(",").map((p) => p.split("-") as [Side, Side]);
  const jsonPath = flag(args, "json", "");
  const nhelpers = Number(flag(args, "nhelpers", "-1"));
  const v8Flags = flag(args, "v8-flags", "");
  console.log(
    `# ${new Date().toISOString()} ${Deno.build.target}, ${navigator.hardwareConcurrency} CPUs; ` +
      `N=${total} C=${concurrency} slice=${sliceSize} nhelpers=${nhelpers}` +
      (v8Flags ? ` v8-flags=${v8Flags}` : ""),
  );
  console.log(
    "pairing | established | slice rate/s | resp CPU ms/SA | init CPU ms/SA | resp VmRSS kB | resp RSS B/SA | failures",
  );
  const results: PairResult[] = [];
  for (const suite of suites) {
    for (const [initiator, responder] of pairs) {
      const label = pairLabel({ initiator, responder, suite });
      try {
        const r = await runPair({
          initiator,
          responder,
          suite,
          total,
          concurrency,
          sliceSize,
          nhelpers,
          v8Flags,
          onSlice: (s) => console.log(sliceRow(label, s)),
        });
        console.log(
          `   ${label}: overall ${r.run.ratePerS}/s, base responder VmRSS ${r.run.responderBaseRssKb} kB, ` +
            `failures ${r.run.failures}`,
        );
        results.push(r);
      } catch (err) {
        console.log(`   ${label}: FAILED: ${err instanceof Error ? err.message : err}`);
      }
    }
  }
  const rate = (suite: Suite, i: Side, r: Side) =>
    results.find((x) => x.label === pairLabel({ initiator: i, responder: r, suite }))?.run
      .ratePerS;
  for (const suite of suites) {
    const base = rate(suite, "strongswan", "strongswan");
    if (!base) continue;
    for (const [i, r] of pairs) {
      const v = rate(suite, i, r);
      if (v) {
        console.log(
          `ratio ${pairLabel({ initiator: i, responder: r, suite })} / strongSwan→strongSwan: ${
            (v / base).toFixed(2)
          }`,
        );
      }
    }
  }
  if (jsonPath) await Deno.writeTextFile(jsonPath, JSON.stringify(results, null, 1));
}

if (import.meta.main) await main(Deno.args);
