/**
 * `swan pluto`: wires the engine to the real adapters (UDP sockets, kernel,
 * clock, entropy), the control socket, the log, signals and the lock file.
 */
import { spawn } from "node:child_process";
import type { PlutoOptions } from "../../cli/pluto_args.ts";
import { SWAN_VERSION } from "../../cli/version.ts";
import { formatAddress } from "../config/addresses.ts";
import { denoSecretsFs, loadSecrets, type SecretEntry } from "../config/secrets.ts";
import { KeHelperPool } from "../crypto/helpers/ke_pool.ts";
import { systemEntropy } from "../crypto/random.ts";
import { Engine } from "../ike/engine.ts";
import { systemClock } from "../ike/clock.ts";
import { type Kernel, KernelError } from "../kernel/kernel.ts";
import type { KernelSubscription } from "../kernel/kernel_events.ts";
import { NoKernel } from "../kernel/none.ts";
import { PfkeyKernel } from "../kernel/pfkey.ts";
import { UserspaceKernel } from "../kernel/userspace/userspace_kernel.ts";
import { XfrmKernel } from "../kernel/xfrm.ts";
import { FfiUdpTransport, localAddresses } from "../net/ffi_udp_transport.ts";
import { ControlServer } from "./control_server.ts";
import { DEBUG_FLAGS, fileSink, Logger, type LogSink, stderrSink, syslogSink } from "./log.ts";
import { acquireLock, EXIT_LOCK, lockHolder, releaseLock } from "./pid_lock.ts";
import { buildStatus } from "./status.ts";
import { pumpTimers } from "./timer_pump.ts";
import { wiresharkKeyLog } from "./wireshark_keys.ts";
import { DefaultUpdown } from "./default_updown.ts";
import { UpdownRunner } from "./updown.ts";
import { type DaemonControl, handleWhack } from "./whack_handler.ts";

/** Exit statuses (Libreswan's numbering). */
const EXIT_OK = 0, EXIT_FAIL = 1, EXIT_SOCKET = 2, EXIT_KERNEL = 5;

function fail(text: string, code: number): number {
  console.error(`pluto: ${text}`);
  return code;
}

function chooseKernel(options: PlutoOptions): Kernel | string {
  switch (options.protostack) {
    case "none":
      return new NoKernel(systemEntropy);
    case "xfrm":
    case "pfkeyv2":
      try {
        return options.protostack === "pfkeyv2" ? PfkeyKernel.open() : XfrmKernel.open();
      } catch (e) {
        if (!(e instanceof KernelError)) throw e;
        const other = options.protostack === "pfkeyv2" ? "xfrm" : "pfkeyv2";
        return `--protostack ${options.protostack}: ${e.message}; use --protostack ${other}, ` +
          `or --protostack none to negotiate IKE and Child SAs without installing them in a kernel`;
      }
    case "userspace":
      // Opens its TUN device with the first SA, so nothing is created before daemonizing.
      return new UserspaceKernel({ entropy: systemEntropy });
    default:
      return `--protostack ${options.protostack} is not available yet in swan; ` +
        `use --protostack none to negotiate IKE and Child SAs without installing them in a kernel`;
  }
}

export async function runPluto(options: PlutoOptions): Promise<number> {
  if (Deno.uid?.() !== 0) {
    console.error(
      "pluto: warning: not running as root; binding port 500 and the kernel interface will likely fail",
    );
  }
  if (!options.logIp) {
    return fail(
      "--logip=no is not supported by swan yet (peer addresses are always logged)",
      EXIT_FAIL,
    );
  }
  if (!options.nofork) {
    // Refuse here, where the exit status reaches the caller: the background
    // child's own refusal would go unseen.
    const holder = lockHolder(`${options.rundir}/pluto.pid`);
    if (holder !== undefined) {
      return fail(
        `lock file "${options.rundir}/pluto.pid" already exists: pluto pid ${holder} is running (stop it with whack --shutdown)`,
        EXIT_LOCK,
      );
    }
  }
  const kernel = chooseKernel(options);
  if (typeof kernel === "string") return fail(kernel, EXIT_KERNEL);
  if (!options.nofork) return await daemonize(options);

  try {
    Deno.mkdirSync(options.rundir, { recursive: true, mode: 0o755 });
  } catch (e) {
    return fail(
      `cannot create run directory "${options.rundir}": ${(e as Error).message}`,
      EXIT_FAIL,
    );
  }
  const pidFile = `${options.rundir}/pluto.pid`;
  const lock = acquireLock(pidFile, Deno.pid);
  if (!lock.ok) return fail(lock.message, EXIT_LOCK);

  const sink: LogSink = options.stderrlog
    ? stderrSink()
    : options.logfile
    ? fileSink(options.logfile, options.logAppend)
    : syslogSink();
  const logger = new Logger({
    sink,
    time: options.logTime,
    debug: new Set(options.debug),
    logIp: options.logIp,
  });
  logger.log("", `Starting Pluto (swan Version ${SWAN_VERSION}) pid:${Deno.pid}`);
  if (lock.stale !== undefined) {
    logger.log("", `removed stale lock file "${pidFile}" of dead pid ${lock.stale}`);
  }
  logger.log("", `core dump dir: ${options.dumpdir}`);
  logger.log("", `secrets file: ${options.secretsfile}`);
  logger.log("", `using kernel interface: ${kernel.name}`);

  let secrets: SecretEntry[] = [];
  let secretsLoaded = false;
  const transportLog = (t: string, error?: boolean) =>
    logger.log("", t, error ? "error" : "normal");
  const transport = new FfiUdpTransport(options.ikeport, options.natikeport, (data, from, to) => {
    engine.receive(data, from, to);
  }, transportLog);
  const helpers = helperCount(options.nhelpers);
  const pool = helpers > 0
    ? new KeHelperPool(helpers, {
      onDeath: (why) => logger.log("", `crypto helper died: ${why}`, "error"),
    })
    : undefined;
  logger.log("", helpers > 0 ? `starting ${helpers} crypto helper threads` : "no crypto helpers");
  const engine: Engine = new Engine({
    crypto: pool,
    transport,
    kernel,
    clock: systemClock,
    entropy: systemEntropy,
    log: logger,
    secrets: () => secrets,
    ikePort: options.ikeport,
    natPort: options.natikeport,
    keepAlive: options.keepAlive,
    keyLog: options.wiresharkKeys !== undefined
      ? wiresharkKeyLog(options.wiresharkKeys)
      : undefined,
    updown: new UpdownRunner({
      path: Deno.env.get("PATH"),
      stack: kernel.name,
      device: (address) =>
        transport.interfaces().find((i) =>
          i.address === formatAddress(address) && !i.nat && i.device !== "?"
        )?.device,
      debug: () => logger.isDebug("updown"),
    }, new DefaultUpdown((text) => logger.debug("updown", "", text))),
  });
  const timers = pumpTimers(engine, (text) => logger.log("", text, "error"));
  let kernelEvents: KernelSubscription | undefined;
  try {
    // ACQUIRE starts on-demand negotiations of routed connections; EXPIRE rekeys.
    kernelEvents = kernel.subscribe?.(
      (event) => engine.routing.kernelEvent(event),
      (text) => logger.log("", text, "error"),
    );
  } catch (e) {
    if (!(e instanceof KernelError)) throw e;
    logger.log("", `${e.message}; routed connections will not start on traffic`, "error");
  }
  if (kernel instanceof UserspaceKernel) {
    // The datapath reads and writes ESP-in-UDP on the IKE NAT-T sockets.
    transport.onEsp = (data) => kernel.receiveEsp(data);
    kernel.sendEsp = (from, to, packet) => transport.sendEsp(from, to, packet);
    kernel.espSocket = (from) => transport.socketFd(from);
    kernel.log = (text) => logger.log("", text);
  }

  const reread = (say: (t: string) => void) => {
    if (secretsLoaded) {
      logger.log("", "forgetting secrets");
      say("forgetting secrets");
    }
    const loaded = loadSecrets(options.secretsfile, denoSecretsFs);
    for (const l of loaded.log) {
      logger.log("", l);
      say(l);
    }
    for (const l of loaded.warnings) {
      logger.log("", l, "warning");
      say(`warning: ${l}`);
    }
    for (const l of loaded.errors) {
      logger.log("", l, "error");
      say(`ERROR: ${l}`);
    }
    secrets = loaded.entries;
    secretsLoaded = true;
  };
  const listen = async (say: (t: string) => void) => {
    logger.log("", "listening for IKE messages");
    say("listening for IKE messages");
    const detach = logger.attach((line) => {
      if (
        line.startsWith("adding interface") || line.startsWith("shutting down interface") ||
        line.startsWith("ERROR: adding")
      ) say(line);
    });
    await transport.update(localAddresses(options.listen, options.interfaces));
    detach();
    engine.setLocalAddresses(transport.addresses(), say);
    reread(say);
  };

  let stopping: ((code: number) => void) | undefined;
  const stopped = new Promise<number>((resolve) => stopping = resolve);
  let shuttingDown = false;
  const shutdown = (leaveState: boolean) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.log("", "Pluto is shutting down");
    engine.shutdown(leaveState)
      .catch((e: Error) => logger.log("", `shutdown: ${e.message}`, "error"))
      .finally(() => stopping!(EXIT_OK));
  };

  const control: DaemonControl = {
    engine,
    status: () => buildStatus(engine, options, transport.interfaces(), activeDebug(logger)),
    listen,
    unlisten: (say) => {
      engine.stopListening();
      // The sockets close at once; the promise only waits for the poller thread to stop.
      void transport.close();
      logger.log("", "no longer listening for IKE messages");
      say("no longer listening for IKE messages");
    },
    rereadSecrets: reread,
    listPsks: () => [
      `List of Pre-shared secrets (from "${options.secretsfile}")`,
      ...secrets.filter((s) => s.kind === "PSK").map((s, i) =>
        `${String(i + 1).padStart(5)}: PSK ${
          s.indices.length ? s.indices.map((x) => x.text).join(" ") : "%any"
        }`
      ),
    ],
    setDebug: (set, clear) => logger.setDebug(set, clear),
    shutdown,
  };
  const server = new ControlServer(
    options.ctlsocket,
    (req, session) => handleWhack(control, req, session),
    (t) => logger.log("", t, "error"),
  );
  try {
    server.start();
  } catch (e) {
    releaseLock(pidFile);
    return fail(
      `cannot listen on control socket "${options.ctlsocket}": ${(e as Error).message}`,
      EXIT_SOCKET,
    );
  }
  if (options.nofork) console.log("Pluto initialized");

  const onTerm = () => shutdown(false);
  const onHup = () => logger.log("", 'Pluto ignores SIGHUP -- perhaps you want "whack --listen"');
  Deno.addSignalListener("SIGTERM", onTerm);
  Deno.addSignalListener("SIGINT", onTerm);
  Deno.addSignalListener("SIGHUP", onHup);

  await listen(() => {});
  logger.log("", "Pluto is up");

  const code = await stopped;
  Deno.removeSignalListener("SIGTERM", onTerm);
  Deno.removeSignalListener("SIGINT", onTerm);
  Deno.removeSignalListener("SIGHUP", onHup);
  timers.stop();
  server.stop();
  await transport.close();
  pool?.close();
  kernelEvents?.close();
  releaseLock(pidFile);
  logger.log("", "exiting pluto");
  return code;
}

/** `--nhelpers`: -1 is one per CPU less one (at least one), as Libreswan counts. */
function helperCount(nhelpers: number): number {
  return nhelpers >= 0 ? nhelpers : Math.max(1, navigator.hardwareConcurrency - 1);
}

function activeDebug(logger: Logger): string[] {
  return DEBUG_FLAGS.filter((f) => logger.isDebug(f));
}

/**
 * A small young generation keeps the daemon's resident memory per SA down
 * (~15–30 %) and measured no handshake-rate cost (bench/RESULTS.md); the
 * compiled binary bakes the same flag in (deno.json compile task).
 */
const V8_FLAGS = "--v8-flags=--max-semi-space-size=1";

/**
 * Without --nofork pluto runs itself again in the background and returns
 * once the control socket answers, so init scripts can go on.
 */
async function daemonize(options: PlutoOptions): Promise<number> {
  const exe = Deno.execPath();
  const compiled = !/(^|\/)deno$/.test(exe);
  const args = compiled
    ? ["pluto", ...Deno.args.slice(Deno.args.indexOf("pluto") + 1), "--nofork"]
    : [
      "run",
      "-A",
      V8_FLAGS,
      new URL("../../cli/main.ts", import.meta.url).pathname,
      "pluto",
      ...plutoArgs(),
      "--nofork",
    ];
  const child = spawn(exe, args, { detached: true, stdio: ["ignore", "ignore", "ignore"] });
  child.unref();
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      if (Deno.statSync(options.ctlsocket).isSocket) return EXIT_OK;
    } catch { /* not yet */ }
    if (child.exitCode !== null) {
      return fail(`daemon exited with status ${child.exitCode} during startup`, EXIT_FAIL);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return fail(`daemon did not create "${options.ctlsocket}" within 15 seconds`, EXIT_FAIL);
}

/** Our own pluto arguments, as given after the subcommand. */
function plutoArgs(): string[] {
  const i = Deno.args.indexOf("pluto");
  return i >= 0 ? Deno.args.slice(i + 1) : Deno.args;
}
