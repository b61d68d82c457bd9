/**
 * whack against a loaded pluto (issue 6). Requests are built by whack's own
 * argument parser and sent over the control socket exactly as `swan whack`
 * sends them (one JSON line, `NNN text` replies until pluto closes); the
 * client runs in this process so that what is timed is pluto, not the start
 * of a Deno process per whack (timed separately, see `spawn`).
 *
 *     deno run -A bench/whack_load.ts add [--n 1000]
 *         N `whack --name cN … --add` requests, one after the other, to a fresh pluto
 *     deno run -A bench/whack_load.ts status [--held 50000] [--extra 10000] [--c 64]
 *         [--every-ms 250] [--nhelpers -1] [--v8-flags FLAGS]
 *         [--poll status,briefstatus,globalstatus,connectionstatus]
 *         swan→swan IKE SAs up to `held`, then `extra` more while the `--poll`
 *         whack commands (default `status`) run in turn, one every `every-ms`:
 *         latency per command and the number of states listed
 *     deno run -A bench/whack_load.ts spawn [--n 20]
 *         the cost of starting `swan whack` processes (`--globalstatus`), for comparison
 *     deno run -A bench/whack_load.ts render [--sas 50000] [--rounds 5]
 *         in-process: the renderers alone over `sas` established IKE + Child SA
 *         pairs of plain model data (no daemon, no socket)
 *
 * Needs root (network namespaces). Results: bench/RESULTS.md.
 */
import { parseWhackArgs } from "../cli/whack_args.ts";
import { parseReplyLine } from "../src/control/reply.ts";
import type { StateStatus, StatusSource } from "../src/control/status_model.ts";
import {
  renderBriefStatus,
  renderConnectionStatus,
  renderGlobalStatus,
  statusLines,
} from "../src/control/status_text.ts";
import { runPair } from "./loadgen.ts";
import { createPair, spawnDaemon, SWAN_MAIN, whack } from "../tests/netns/lab.ts";

/** What one whack conversation took. */
export interface WhackTiming {
  ms: number;
  lines: number;
  bytes: number;
  /** Distinct `#N:` state serials listed. */
  states: number;
  /** First failure code, or 0. */
  code: number;
}

const encoder = new TextEncoder();

/** Runs one whack request (whack's argv without --ctlsocket) against `ctl` and times it. */
export async function whackOnce(ctl: string, argv: string[]): Promise<WhackTiming> {
  const parsed = parseWhackArgs(["--ctlsocket", ctl, ...argv]);
  if (parsed.kind !== "request") throw new Error(`whack ${argv.join(" ")}: ${parsed.kind}`);
  const t0 = performance.now();
  const conn = await Deno.connect({ transport: "unix", path: ctl });
  let text = "";
  try {
    await conn.write(encoder.encode(JSON.stringify(parsed.request) + "\n"));
    const decoder = new TextDecoder();
    for await (const chunk of conn.readable) text += decoder.decode(chunk, { stream: true });
  } finally {
    try {
      conn.close();
    } catch { /* closed by the stream */ }
  }
  const ms = performance.now() - t0;
  const serials = new Set<string>();
  let code = 0, lines = 0;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    lines++;
    const reply = parseReplyLine(line);
    if (!reply) continue;
    if (reply.code >= 20 && code === 0) code = reply.code;
    const serial = /^#(\d+): /.exec(reply.text)?.[1];
    if (serial) serials.add(serial);
  }
  return { ms, lines, bytes: text.length, states: serials.size, code };
}

/** The q-quantile (nearest rank) of `values`. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}

const ms = (v: number) => `${v.toFixed(1)} ms`;

/** `add`: a fresh pluto, N connections added one after the other. */
async function addConnections(n: number): Promise<void> {
  const pair = await createPair();
  const rundir = await Deno.makeTempDir({ prefix: "swan-bench-whack-" });
  try {
    const daemon = await spawnDaemon(pair.east.ns, [
      ...[Deno.execPath(), "run", "-A", SWAN_MAIN, "pluto", "--nofork"],
      ...["--logfile", `${rundir}/pluto.log`, "--rundir", rundir, "--protostack", "none"],
      ...["--secretsfile", `${rundir}/ipsec.secrets`],
    ], { label: "swan pluto", readyLine: "Pluto initialized", readyTimeoutMs: 15_000 });
    try {
      const ctl = `${rundir}/pluto.ctl`;
      const e = pair.east, w = pair.west;
      const argv = (i: number) => [
        ...["--name", `c${i}`, "--psk", "--ikev2"],
        ...["--host", e.v4, "--id", "@east", "--subnet", `10.${i >> 8}.${i & 255}.0/24`, "--to"],
        ...["--host", w.v4, "--id", `@west${i}`, "--subnet", w.subnet],
      ];
      const times: number[] = [];
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const t = await whackOnce(ctl, argv(i));
        if (t.code !== 0) throw new Error(`adding c${i} failed with ${t.code}`);
        times.push(t.ms);
      }
      const total = performance.now() - t0;
      const listed = await whackOnce(ctl, ["--connectionstatus"]);
      const connections = (await Deno.readTextFile(`${rundir}/pluto.log`))
        .split("\n").filter((l) => / added oriented IKEv2 connection/.test(l)).length;
      console.log(
        `add: ${n} connections in ${ms(total)} (${(n / total * 1000).toFixed(0)}/s); ` +
          `per whack p50 ${ms(quantile(times, 0.5))} p99 ${ms(quantile(times, 0.99))} ` +
          `max ${ms(Math.max(...times))}; pluto logged ${connections} added, ` +
          `--connectionstatus ${listed.lines} lines in ${ms(listed.ms)}`,
      );
    } finally {
      await daemon.stop();
    }
  } finally {
    await Deno.remove(rundir, { recursive: true }).catch(() => {});
    await pair.destroy();
  }
}

/** `status`: `whack --status` polled while swan→swan handshakes run past `held` SAs. */
async function statusUnderLoad(args: string[]): Promise<void> {
  const held = Number(flag(args, "held", "50000"));
  const extra = Number(flag(args, "extra", "10000"));
  const everyMs = Number(flag(args, "every-ms", "250"));
  const commands = flag(args, "poll", "status").split(",");
  const samples: (WhackTiming & { command: string; loaded: boolean })[] = [];
  let ctl: string | undefined, polling = true, loaded = false;
  const poller = (async () => {
    for (let i = 0; polling; i++) {
      await new Promise((r) => setTimeout(r, everyMs));
      if (!ctl || !polling) continue;
      const command = commands[i % commands.length];
      // A call counts as under load when `held` SAs were up as it started.
      const held = loaded;
      const t = await whackOnce(ctl, [`--${command}`]).catch(() => undefined);
      if (t) samples.push({ ...t, command, loaded: held });
    }
  })();
  const result = await runPair({
    initiator: "swan",
    responder: "swan",
    suite: "x25519",
    total: held + extra,
    concurrency: Number(flag(args, "c", "64")),
    sliceSize: 10_000,
    settleMs: 0,
    deadlineMs: 1_800_000,
    nhelpers: Number(flag(args, "nhelpers", "-1")),
    v8Flags: flag(args, "v8-flags", ""),
    onResponder: (r) => ctl = r.ctl,
    onSlice: (s) => {
      if (s.established >= held) loaded = true;
      console.log(
        `  ${s.established} SAs: ${s.ratePerS}/s, responder ${s.responderRssKb} kB ` +
          `(${s.responderRssBytesPerSa} B/SA), ${s.failures} failures`,
      );
    },
  }).finally(() => polling = false);
  await poller;
  const at = (list: WhackTiming[], what: string) =>
    list.length === 0
      ? `${what}: no samples`
      : `${what}: ${list.length} calls, p50 ${ms(quantile(list.map((s) => s.ms), 0.5))} p99 ${
        ms(quantile(list.map((s) => s.ms), 0.99))
      } max ${ms(Math.max(...list.map((s) => s.ms)))}, up to ${
        Math.max(...list.map((s) => s.states))
      } states, ${(Math.max(...list.map((s) => s.bytes)) / 1e6).toFixed(1)} MB of text`;
  console.log(`status: ${result.run.ratePerS}/s overall, ${result.run.failures} failures`);
  for (const command of commands) {
    const of = samples.filter((s) => s.command === command);
    console.log(at(of, `  --${command}, all polls`));
    console.log(
      at(
        of.filter((s) => s.loaded),
        `  --${command}, polls with ≥ ${held} IKE SAs held, handshakes running`,
      ),
    );
  }
}

/** `spawn`: what one `swan whack` process costs to start, run and exit. */
async function spawnCost(n: number): Promise<void> {
  const pair = await createPair();
  const rundir = await Deno.makeTempDir({ prefix: "swan-bench-whack-" });
  try {
    const daemon = await spawnDaemon(pair.east.ns, [
      ...[Deno.execPath(), "run", "-A", SWAN_MAIN, "pluto", "--nofork"],
      ...["--logfile", `${rundir}/pluto.log`, "--rundir", rundir, "--protostack", "none"],
    ], { label: "swan pluto", readyLine: "Pluto initialized", readyTimeoutMs: 15_000 });
    try {
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        const r = await whack(pair.east.ns, `${rundir}/pluto.ctl`, ["--globalstatus"]);
        if (r.code !== 0) throw new Error(`whack exited ${r.code}`);
        times.push(performance.now() - t);
      }
      console.log(
        `spawn: ${n} \`swan whack --globalstatus\` processes (deno run): p50 ${
          ms(quantile(times, 0.5))
        } p99 ${ms(quantile(times, 0.99))} each`,
      );
    } finally {
      await daemon.stop();
    }
  } finally {
    await Deno.remove(rundir, { recursive: true }).catch(() => {});
    await pair.destroy();
  }
}

/** `render`: what the text renderers cost per state, without a daemon around them. */
function renderCost(sas: number, rounds: number): void {
  const now = 1_700_000_000;
  const states: StateStatus[] = [];
  for (let i = 0; i < sas; i++) {
    const common = {
      connection: "c",
      instance: "",
      remotePort: 500,
      events: [{ name: "REKEY", due: now + 27000.5 }, { name: "REPLACE", due: now + 28800 }],
      established: true,
      authenticated: true,
      halfOpen: false,
    };
    const last = i === sas - 1;
    states.push({
      ...common,
      serial: 2 * i + 1,
      kind: "ike",
      story: "established IKE SA",
      newest: last,
      erouteOwner: false,
      peerId: "@west",
    });
    states.push({
      ...common,
      serial: 2 * i + 2,
      kind: "child",
      story: "established Child SA",
      newest: last,
      erouteOwner: last,
      parent: 2 * i + 1,
      child: {
        protocol: "esp",
        outboundSpi: 0xc0000000 + i,
        inboundSpi: 0x10000000 + i,
        remoteAddress: "192.0.2.1",
        localAddress: "192.0.2.2",
        tunnel: true,
        inBytes: 0,
        outBytes: 0,
        maxBytes: "2^63B",
        addTime: now,
        peerId: "@west",
      },
    });
  }
  const m: StatusSource = {
    now,
    kernelInterface: "none",
    interfaces: [],
    config: {
      configDir: "/etc",
      configFile: "/etc/ipsec.conf",
      secretsFile: "/etc/ipsec.secrets",
      ipsecDir: "/etc/ipsec.d",
      nssDir: "/var/lib/ipsec/nss",
      dumpDir: "/run/pluto",
      sbinDir: "/usr/local/sbin",
      libexecDir: "/usr/local/libexec/ipsec",
      version: "bench",
      vendorId: "bench",
      nhelpers: -1,
      uniqueIds: true,
      shuntLifetime: 900,
      expireLifetime: 30,
      logFile: "<stderr>",
      logAppend: false,
      logIp: true,
      ddosThreshold: 25000,
      maxHalfOpen: 50000,
      ddosMode: "auto",
      ikev1Policy: "drop",
      listen: "<any>",
    },
    debug: [],
    natt: { keepAlive: 20, natIkePort: 4500 },
    kernelAlgorithms: [],
    ikeAlgorithms: [],
    connections: [],
    states,
    ddosCookiesRequired: false,
    listening: true,
  };
  const time = (f: () => number) => {
    const t = performance.now();
    const n = f();
    return { ms: performance.now() - t, n };
  };
  for (let r = 0; r < rounds; r++) {
    const status = time(() => {
      let chars = 0;
      for (const line of statusLines(m)) chars += line.length + 5; // "000 " and "\n"
      return chars;
    });
    const brief = time(() => renderBriefStatus(m).length);
    const global = time(() => renderGlobalStatus(m, {}).length);
    const conns = time(() => renderConnectionStatus(m).length);
    console.log(
      `render ${2 * sas} states: --status ${ms(status.ms)} (${(status.n / 1e6).toFixed(1)} MB), ` +
        `--briefstatus ${ms(brief.ms)}, --globalstatus ${ms(global.ms)}, ` +
        `--connectionstatus ${ms(conns.ms)}`,
    );
  }
}

if (import.meta.main) {
  const [mode, ...rest] = Deno.args;
  if (mode === "add") await addConnections(Number(flag(rest, "n", "1000")));
  else if (mode === "status") await statusUnderLoad(rest);
  else if (mode === "spawn") await spawnCost(Number(flag(rest, "n", "20")));
  else if (mode === "render") {
    renderCost(Number(flag(rest, "sas", "50000")), Number(flag(rest, "rounds", "5")));
  } else {
    console.error("usage: whack_load.ts add|status|spawn|render [options] (see the file's header)");
    Deno.exit(1);
  }
}
