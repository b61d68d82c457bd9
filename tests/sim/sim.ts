/**
 * Two (or more) engines in one process over the in-memory network, on a
 * virtual clock: the simulation rung of the testing ladder.
 */
import { type IpAddress, parseAddress } from "../../src/config/addresses.ts";
import { buildConnection } from "../../src/config/connection.ts";
import { loadSecrets, type SecretsFs } from "../../src/config/secrets.ts";
import type { ConnectionDefinition } from "../../src/control/request.ts";
import { type Entropy, seededEntropy } from "../../src/crypto/random.ts";
import { ManualClock } from "../../src/ike/clock.ts";
import { Engine, type EngineLog } from "../../src/ike/engine.ts";
import type { WhackObserver } from "../../src/ike/ike_sa.ts";
import { NoKernel } from "../../src/kernel/none.ts";
import { MemoryNetwork, type NetworkOptions } from "../../src/net/memory_network.ts";

/** Collects log lines (and prints them when SIM_VERBOSE is set). */
export class MemoryLog implements EngineLog {
  lines: string[] = [];
  constructor(private name: string, private flags = new Set<string>()) {}
  log(prefix: string, text: string, stream?: string): void {
    const l = (stream === "warning" ? "warning: " : stream === "error" ? "ERROR: " : "") + prefix +
      text;
    this.lines.push(l);
    if (Deno.env.get("SIM_VERBOSE")) console.log(`[${this.name}] ${l}`);
  }
  debug(flag: string, prefix: string, text: string): void {
    if (this.flags.has(flag)) this.log(prefix, text, "debug");
  }
  isDebug(flag: string): boolean {
    return this.flags.has(flag);
  }
}

/** A whack client that records what pluto told it. */
export class RecordingWhack implements WhackObserver {
  lines: string[] = [];
  rc?: number;
  line(text: string): void {
    this.lines.push(text);
  }
  finish(rc: number): void {
    if (this.rc === undefined) this.rc = rc;
  }
}

export interface Node {
  name: string;
  address: IpAddress;
  engine: Engine;
  kernel: NoKernel;
  log: MemoryLog;
}

export class Sim {
  readonly clock = new ManualClock();
  readonly net: MemoryNetwork;
  readonly nodes: Node[] = [];

  constructor(opts: NetworkOptions = {}) {
    this.net = new MemoryNetwork(() => this.clock.now(), opts);
  }

  /** A node at `address` whose secrets file holds `secrets`; `kernel` builds its kernel. */
  node(
    name: string,
    address: string,
    secrets: string,
    seed: number,
    debug: string[] = [],
    kernel: (entropy: Entropy) => NoKernel = (e) => new NoKernel(e, { recordSas: true }),
  ): Node {
    const addr = parseAddress(address)!;
    const fs: SecretsFs = {
      readTextFile: () => secrets,
      expandGlob: (p) => [p],
      mode: () => 0o600,
    };
    const loaded = loadSecrets("/sim/ipsec.secrets", fs);
    if (loaded.errors.length) throw new Error(loaded.errors.join("; "));
    const entropy = seededEntropy(seed);
    const k = kernel(entropy);
    const log = new MemoryLog(name, new Set(debug));
    const transport = this.net.attach(addr, (d, f, t) => engine.receive(d, f, t));
    const engine: Engine = new Engine({
      transport,
      kernel: k,
      clock: this.clock,
      entropy,
      log,
      secrets: () => loaded.entries,
      ikePort: 500,
      natPort: 4500,
      keepAlive: 20,
    });
    engine.setLocalAddresses([addr], () => {});
    const n = { name, address: addr, engine, kernel: k, log };
    this.nodes.push(n);
    return n;
  }

  /** Adds a connection through the same path as whack (keywords → config). */
  add(node: Node, def: ConnectionDefinition): RecordingWhack {
    const built = buildConnection(def);
    if (!built.ok) throw new Error(built.error);
    const w = new RecordingWhack();
    node.engine.addConnection(built.value, w);
    return w;
  }

  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await Promise.all(this.nodes.map((n) => n.engine.settle()));
      await new Promise((r) => setTimeout(r, 0));
    }
  }

  /** Runs deliveries and timers in virtual-time order until `untilMs` from now or `done()` holds. */
  async run(untilMs: number, done: () => boolean = () => false): Promise<void> {
    const end = this.clock.now() + untilMs;
    await this.settle();
    while (!done()) {
      const dues = [this.net.deliveries.nextDue(), ...this.nodes.map((n) => n.engine.nextDue())]
        .filter((d): d is number => d !== undefined);
      if (dues.length === 0) break;
      const next = Math.min(...dues);
      if (next > end) break;
      this.clock.ms = Math.max(this.clock.ms, next);
      this.net.deliveries.runDue(this.clock.ms);
      for (const n of this.nodes) n.engine.tick();
      await this.settle();
    }
    if (!done()) this.clock.ms = Math.max(this.clock.ms, end);
  }
}

/** The usual west/east definition; `over` replaces conn keywords, `left`/`right` end keywords. */
export function westEast(
  over: Record<string, string> = {},
  ends: { left?: Record<string, string>; right?: Record<string, string> } = {},
  hosts: [string, string] = ["192.0.2.1", "192.0.2.2"],
): ConnectionDefinition {
  return {
    name: "west-east",
    left: { host: hosts[0], id: "@west", subnet: "198.51.100.0/24", ...ends.left },
    right: { host: hosts[1], id: "@east", subnet: "203.0.113.0/24", ...ends.right },
    conn: { authby: "secret", keyexchange: "ikev2", ...over },
  };
}

export const PSK = '@west @east : PSK "correct horse battery staple"\n';
