/**
 * The load generator's swan initiator: an in-process {@link Engine} on the
 * real UDP sockets ({@link FfiUdpTransport}) with {@link NoKernel}, which calls
 * `startIkeSaInit` once per IKE SA for one connection, so no whack round trip
 * is measured. Run by bench/loadgen.ts inside the initiator's namespace:
 *
 *     ip netns exec NS deno run -A bench/swan_initiator.ts '<InitiatorOptions as JSON>'
 *
 * It prints JSON lines on stdout: `{"slice": …}` per slice, then
 * `{"run": …}` and, with `deleteAll`, waits for a line on stdin, deletes
 * every IKE SA through INFORMATIONAL exchanges and prints `{"leftover": …}`
 * (what a leak check needs).
 */
import { pumpTimers } from "../src/daemon/timer_pump.ts";
import { parseAddress } from "../src/config/addresses.ts";
import { buildConnection } from "../src/config/connection.ts";
import { loadSecrets } from "../src/config/secrets.ts";
import { KeHelperPool } from "../src/crypto/helpers/ke_pool.ts";
import { systemEntropy } from "../src/crypto/random.ts";
import { systemClock } from "../src/ike/clock.ts";
import { Engine, type EngineLog } from "../src/ike/engine.ts";
import type { IkeSa } from "../src/ike/ike_sa.ts";
import { startIkeSaInit } from "../src/ike/ike_sa_init.ts";
import { NoKernel } from "../src/kernel/none.ts";
import { FfiUdpTransport } from "../src/net/ffi_udp_transport.ts";
import { driveSlices } from "./slices.ts";

/** What the orchestrator tells the initiator. */
export interface InitiatorOptions {
  local: string;
  remote: string;
  localId: string;
  remoteId: string;
  localSubnet: string;
  remoteSubnet: string;
  psk: string;
  ike: string;
  esp: string;
  total: number;
  concurrency: number;
  sliceSize: number;
  responderPid: number;
  settleMs: number;
  deadlineMs: number;
  /** After the run, delete every IKE SA (notifying the responder) and report what is left. */
  deleteAll: boolean;
  /** Crypto helper threads, as pluto --nhelpers (-1: one per CPU less one; 0: inline). */
  nhelpers: number;
}

/** What is left in the initiator's engine after {@link InitiatorOptions.deleteAll}. */
export interface Leftover {
  ikeSas: number;
  childSas: number;
  childSpis: number;
  halfOpen: number;
  kernelSas: number;
  deleteSeconds: number;
}

/** Engine log lines are dropped: formatting them is part of the cost, printing is not. */
const quietLog: EngineLog = {
  log: () => {},
  debug: () => {},
  isDebug: () => false,
};

async function main(o: InitiatorOptions): Promise<void> {
  const local = parseAddress(o.local), remote = parseAddress(o.remote);
  if (!local || !remote) throw new Error(`bad address ${o.local} or ${o.remote}`);
  const secretsText = `${o.localId} ${o.remoteId} : PSK "${o.psk}"\n`;
  const secrets = loadSecrets("/loadgen/ipsec.secrets", {
    readTextFile: () => secretsText,
    expandGlob: (p) => [p],
    mode: () => 0o600,
  });
  const kernel = new NoKernel(systemEntropy);
  const transport = new FfiUdpTransport(500, 4500, (d, f, t) => engine.receive(d, f, t), (t) => {
    console.error(`transport: ${t}`);
  });
  const helpers = o.nhelpers >= 0 ? o.nhelpers : Math.max(1, navigator.hardwareConcurrency - 1);
  const pool = helpers > 0 ? new KeHelperPool(helpers) : undefined;
  const engine: Engine = new Engine({
    crypto: pool,
    transport,
    kernel,
    clock: systemClock,
    entropy: systemEntropy,
    log: quietLog,
    secrets: () => secrets.entries,
    ikePort: 500,
    natPort: 4500,
    keepAlive: 20,
  });
  // One OS timer for the engine's heap, as swan pluto arms it (retransmits need it).
  const timers = pumpTimers(engine);
  await transport.update([{ device: "loadgen", address: local }]);
  engine.setLocalAddresses(transport.addresses(), () => {});
  const built = buildConnection({
    name: "loadgen",
    left: { host: o.local, id: o.localId, subnet: o.localSubnet },
    right: { host: o.remote, id: o.remoteId, subnet: o.remoteSubnet },
    conn: { authby: "secret", keyexchange: "ikev2", ike: o.ike, esp: o.esp },
  });
  if (!built.ok) throw new Error(built.error);
  const added: string[] = [];
  engine.addConnection(built.value, { line: (t) => added.push(t), finish: () => {} });
  const conn = engine.connections.get("loadgen");
  if (!conn) throw new Error(`connection not added: ${added.join("; ")}`);

  const start = () =>
    new Promise<boolean>((resolve) =>
      startIkeSaInit(engine, conn, { line: () => {}, finish: (rc) => resolve(rc === 0) }, undefined)
    );
  const run = await driveSlices({
    total: o.total,
    concurrency: o.concurrency,
    sliceSize: o.sliceSize,
    start,
    initiatorPid: Deno.pid,
    responderPid: o.responderPid,
    settleMs: o.settleMs,
    deadlineMs: o.deadlineMs,
    onSlice: (slice) => console.log(JSON.stringify({ slice })),
  });
  console.log(JSON.stringify({ run }));

  if (o.deleteAll) {
    // The orchestrator looks at the responder first and then sends one line.
    await Deno.stdin.readable.getReader().read();
    const t0 = performance.now();
    const queue: IkeSa[] = [...engine.ikeBySerial.values()];
    const worker = async () => {
      for (let sa = queue.pop(); sa; sa = queue.pop()) {
        const victim = sa;
        await new Promise<void>((done) => engine.deleteIkeSa(victim, true, done));
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    const leftover: Leftover = {
      ikeSas: engine.ikeBySerial.size + engine.ikeBySpi.size,
      childSas: engine.childBySerial.size,
      childSpis: engine.childByInSpi.size,
      halfOpen: engine.halfOpen.size,
      kernelSas: kernel.installed.length,
      deleteSeconds: Math.round(performance.now() - t0) / 1000,
    };
    console.log(JSON.stringify({ leftover }));
  }
  timers.stop();
  await transport.close();
  pool?.close();
}

if (import.meta.main) {
  await main(JSON.parse(Deno.args[0]) as InitiatorOptions);
}
