/**
 * The IKEv2 engine: sans-I/O. Datagrams, timers and whack requests come in
 * through method calls; datagrams leave through the Transport, SAs through the
 * Kernel, text through the log. No sockets, clocks or randomness of its own.
 *
 * Exchange handlers live in ike_sa_init.ts, ike_auth.ts and informational.ts;
 * this file owns the indexes, message-ID windows, retransmission, timers and
 * the operator-facing operations.
 */
import { addressEquals, addressKey, formatAddress, type IpAddress } from "../config/addresses.ts";
import type { ConnectionConfig } from "../config/connection.ts";
import type { SecretEntry } from "../config/secrets.ts";
import { inlineKe, type KeAlgorithm, type KeProvider } from "../crypto/ke.ts";
import type { Entropy } from "../crypto/random.ts";
import type { Kernel } from "../kernel/kernel.ts";
import type { Endpoint, Transport } from "../net/transport.ts";
import {
  exchangeName,
  ExchangeType,
  FLAG_INITIATOR,
  FLAG_RESPONSE,
  IKEV2_VERSION,
  NotifyType,
  PayloadType,
} from "../wire/constants.ts";
import { decodeHeader, type IkeHeader } from "../wire/header.ts";
import { decodeMessage, encodeMessage, findPayload, type Payload } from "../wire/payloads.ts";
import type { Clock } from "./clock.ts";
import {
  type Connection,
  hostPairKey,
  localEnd,
  orient,
  oriented,
  remoteEnd,
} from "./connection.ts";
import type { ChildSa, IkeSa, Outstanding, WhackObserver } from "./ike_sa.ts";
import { IDLE_QUEUE, spiKey, spiText } from "./ike_sa.ts";
import { open, seal } from "./sk.ts";
import { type NamedTimers, TimerHeap } from "./timer_heap.ts";
import { appended, removedAt } from "./exact_arrays.ts";
import { peerDead } from "./liveness.ts";
import type { KeyLog } from "./key_log.ts";
import { handleInitRequest, handleInitResponseUnknown, startIkeSaInit } from "./ike_sa_init.ts";
import { handleAuthRequest } from "./ike_auth.ts";
import { handleCreateChildRequest, shareableIke, startChild } from "./create_child_sa.ts";
import { handleInformationalRequest, sendDeleteChild, sendDeleteIke } from "./informational.ts";
import { Routing } from "./routing.ts";
import { type Updown, UpdownRoutes } from "./updown_events.ts";

/** What the engine logs through (the daemon's Logger satisfies it). */
export interface EngineLog {
  log(prefix: string, text: string, stream?: "normal" | "warning" | "error"): void;
  debug(flag: string, prefix: string, text: string): void;
  isDebug(flag: string): boolean;
}

export interface EngineDeps {
  transport: Transport;
  kernel: Kernel;
  clock: Clock;
  entropy: Entropy;
  log: EngineLog;
  secrets: () => readonly SecretEntry[];
  /** Our IKE port (pluto --ikeport); the peer's comes from its end's ikeport. */
  ikePort: number;
  /** Our NAT-T port (pluto --natikeport), where IKE floats when a NAT is found (RFC 7296 §2.23). */
  natPort: number;
  /** NAT-T keepalive period in seconds (pluto --keep-alive). */
  keepAlive: number;
  /** Receives every derived key when the operator asked for it (--wireshark-keys). */
  keyLog?: KeyLog;
  /** Key exchange: helper threads (pluto --nhelpers); in-process when absent. */
  crypto?: KeProvider;
  /** Runs the operator's updown command as Child SAs come and go; none when absent. */
  updown?: Updown;
}

/** Reply codes the engine hands to whack (Libreswan 5.x numbers). */
export const RC_DUPNAME = 20,
  RC_UNKNOWN_NAME = 21,
  RC_ORIENT = 22,
  RC_DEAF = 24,
  RC_NORETRANSMISSION = 51,
  RC_FATAL = 56;

/** Counters for `--globalstatus`. */
export type Counters = Map<string, number>;

export class Engine {
  readonly timers = new TimerHeap();
  /** Which routes have Child SAs; runs the updown verbs as they come and go. */
  readonly updown: UpdownRoutes = new UpdownRoutes(this);
  /** Traps, never-negotiate and bare shunts in the kernel; ACQUIRE and EXPIRE. */
  readonly routing: Routing = new Routing(this);
  readonly counters: Counters = new Map();
  readonly connections = new Map<string, Connection>();
  /** IKE SAs by our SPI. */
  readonly ikeBySpi = new Map<bigint, IkeSa>();
  /** IKE SAs by serial; Child SAs by serial. */
  readonly ikeBySerial = new Map<number, IkeSa>();
  readonly childBySerial = new Map<number, ChildSa>();
  /** Child SAs by our inbound SPI. */
  readonly childByInSpi = new Map<number, ChildSa>();
  /** Responder IKE SAs still in IKE_SA_INIT, by peer SPI and address: catches retransmits. */
  readonly halfOpen = new Map<string, IkeSa>();
  /** Connections by (our address, peer address). */
  #byHostPair = new Map<string, Connection[]>();
  #localAddresses = new Map<string, IpAddress>();
  #serial = 0;
  #connSerial = 0;
  #busy = 0;
  #idle: (() => void)[] = [];
  listening = false;

  constructor(readonly deps: EngineDeps) {}

  // ---------------------------------------------------------------- basics

  get ikePort(): number {
    return this.deps.ikePort;
  }

  nextSerial(): number {
    return ++this.#serial;
  }

  now(): number {
    return this.deps.clock.now();
  }

  random(n: number): Uint8Array {
    const b = new Uint8Array(n);
    this.deps.entropy.fill(b);
    return b;
  }

  /** The key exchange method with IANA id `id` (on helper threads when configured). */
  ke(id: number): KeAlgorithm | undefined {
    return (this.deps.crypto ?? inlineKe).keAlgorithm(id);
  }

  count(key: string, by = 1): void {
    this.counters.set(key, (this.counters.get(key) ?? 0) + by);
  }

  /** Runs every timer that is due. The adapter calls this when nextDue() passes. */
  tick(): void {
    this.timers.runDue(this.now());
  }

  nextDue(): number | undefined {
    return this.timers.nextDue();
  }

  // ---------------------------------------------------------------- logging

  /** Logs a line about a connection or SA and copies it to attached whacks. */
  say(
    subject: { conn?: Connection; sa?: IkeSa; child?: ChildSa },
    text: string,
    stream: "normal" | "warning" | "error" = "normal",
  ): void {
    const prefix = this.prefix(subject);
    this.deps.log.log(prefix, text, stream);
    const ike = subject.child?.ike ?? subject.sa;
    if (ike) {
      const shown = (stream === "warning" ? "warning: " : stream === "error" ? "ERROR: " : "") +
        prefix + text;
      if (ike.whacks) { for (const w of ike.whacks) w.line(shown); }
    }
  }

  prefix(subject: { conn?: Connection; sa?: IkeSa; child?: ChildSa }): string {
    if (subject.child) return `"${subject.child.conn.name}" #${subject.child.serial}: `;
    if (subject.sa) return `"${subject.sa.conn.name}" #${subject.sa.serial}: `;
    if (subject.conn) return `"${subject.conn.name}": `;
    return "";
  }

  debug(prefix: string, text: string): void {
    if (this.deps.log.isDebug("base")) this.deps.log.debug("base", prefix, text);
  }

  // ---------------------------------------------------------------- interfaces

  /** Our addresses, from the transport's sockets; (re)orients every connection. */
  setLocalAddresses(addresses: IpAddress[], log: (text: string) => void): void {
    this.#localAddresses = new Map(addresses.map((a) => [addressKey(a), a]));
    this.listening = true;
    for (const c of this.connections.values()) {
      const was = oriented(c);
      const why = orient(c, (a) => this.isLocal(a));
      if (!was && !why) {
        const l = localEnd(c), r = remoteEnd(c);
        const side = c.localIsLeft ? ["left", "right"] : ["right", "left"];
        const text = `oriented IKEv2 connection (local: ${side[0]}=${l.hostText} remote: ${
          side[1]
        }=${r.hostText})`;
        this.deps.log.log(this.prefix({ conn: c }), text);
        log(this.prefix({ conn: c }) + text);
      }
    }
    this.#reindex();
  }

  stopListening(): void {
    this.listening = false;
  }

  isLocal(a: IpAddress): boolean {
    return this.#localAddresses.has(addressKey(a));
  }

  // ---------------------------------------------------------------- connections

  /** `whack --name … --to …`: adds a connection or explains why not. */
  addConnection(cfg: ConnectionConfig, reply: WhackObserver): void {
    if (this.connections.has(cfg.name)) {
      reply.line(`"${cfg.name}": attempt to redefine connection "${cfg.name}"`);
      reply.finish(RC_DUPNAME);
      return;
    }
    const conn: Connection = {
      name: cfg.name,
      serial: ++this.#connSerial,
      config: cfg,
      up: false,
      attempts: 0,
      reqid: 16384 + this.#connSerial * 4,
    };
    for (const w of cfg.warnings) {
      this.deps.log.log(`"${cfg.name}": `, w, "warning");
      reply.line(`warning: "${cfg.name}": ${w}`);
    }
    const why = orient(conn, (a) => this.isLocal(a));
    this.connections.set(conn.name, conn);
    this.#reindex();
    const version = cfg.ikeVersion === 1 ? "IKEv1" : "IKEv2";
    const kind = cfg.type === "passthrough" || cfg.type === "drop" ? cfg.type : version;
    const text = why === undefined
      ? `added oriented ${kind} connection`
      : `added unoriented ${kind} connection (${why})`;
    this.deps.log.log(`"${conn.name}": `, text);
    reply.line(`"${conn.name}": ${text}`);
    reply.finish(0);
  }

  #reindex(): void {
    this.#byHostPair.clear();
    for (const c of this.connections.values()) {
      if (!oriented(c)) continue;
      const l = localEnd(c).host!;
      const key = hostPairKey(l, remoteEnd(c).host);
      const list = this.#byHostPair.get(key);
      if (list) list.push(c);
      else this.#byHostPair.set(key, [c]);
    }
  }

  /** Connections that could answer a peer at `remote` talking to our `local` (exact peer first, then %any). */
  candidates(local: IpAddress, remote: IpAddress): Connection[] {
    return [
      ...(this.#byHostPair.get(hostPairKey(local, remote)) ?? []),
      ...(this.#byHostPair.get(hostPairKey(local, undefined)) ?? []),
    ];
  }

  lookup(name: string, reply: WhackObserver): Connection | undefined {
    const c = this.connections.get(name);
    if (!c) {
      reply.line(`no connection or alias named "${name}"`);
      reply.finish(RC_UNKNOWN_NAME);
    }
    return c;
  }

  /** `whack --initiate`. */
  initiate(name: string, reply: WhackObserver, asynchronous: boolean): void {
    const conn = this.lookup(name, reply);
    if (!conn) return;
    if (!this.listening) {
      reply.line(`"${name}": need --listen before --initiate`);
      reply.finish(RC_DEAF);
      return;
    }
    if (!oriented(conn)) {
      reply.line(`"${name}": we cannot identify ourselves with either end of this connection`);
      reply.finish(RC_ORIENT);
      return;
    }
    const problem = this.unsupported(conn.config);
    if (problem) {
      reply.line(`"${name}": cannot initiate: ${problem}`);
      reply.finish(RC_FATAL);
      return;
    }
    const ike = conn.newestIke !== undefined ? this.ikeBySerial.get(conn.newestIke) : undefined;
    if (ike && ike.state === "ESTABLISHED_IKE_SA" && conn.newestChild !== undefined) {
      reply.line(
        `"${name}": connection is already up (IKE SA #${ike.serial}, Child SA #${conn.newestChild})`,
      );
      reply.finish(0);
      return;
    }
    conn.up = true;
    conn.attempts = 1;
    // An IKE SA with this peer and these IDs already exists: add a Child SA to it.
    const parent = shareableIke(this, conn);
    if (parent) {
      startChild(this, parent, conn, reply, asynchronous);
      return;
    }
    startIkeSaInit(this, conn, asynchronous ? undefined : reply, asynchronous ? reply : undefined);
  }

  /** What swan cannot do yet for a connection, or undefined. */
  unsupported(cfg: ConnectionConfig): string | undefined {
    if (cfg.ikeVersion !== 2) return "IKEv1 is not supported by swan yet (use --ikev2)";
    if (!cfg.authby.includes("secret")) {
      return `authby=${cfg.authby.join(",")} is not supported by swan yet (use --psk)`;
    }
    if (cfg.type === "passthrough" || cfg.type === "drop") {
      return `type=${cfg.type} connections cannot be initiated`;
    }
    if (cfg.phase2 === "ah") return "AH is not supported by swan yet (use --encrypt)";
    return undefined;
  }

  /** `whack --terminate`: deletes the connection's SAs and stops it from coming back. */
  terminate(name: string, reply: WhackObserver): void {
    const conn = this.lookup(name, reply);
    if (!conn) return;
    conn.up = false;
    this.#deleteConnectionSas(conn, reply, () => reply.finish(0));
  }

  /** `whack --delete`: terminate plus forget the connection. */
  deleteConnection(name: string, reply: WhackObserver): void {
    const conn = this.lookup(name, reply);
    if (!conn) return;
    conn.up = false;
    reply.line(`"${name}": terminating SAs using this connection`);
    this.#deleteConnectionSas(conn, reply, () => {
      this.routing.forget(conn);
      this.connections.delete(name);
      this.#reindex();
      reply.finish(0);
    });
  }

  #deleteConnectionSas(conn: Connection, reply: WhackObserver, done: () => void): void {
    const sas = [...this.ikeBySerial.values()].filter((s) => s.conn === conn && !s.deleted);
    // Child SAs of this connection that ride another connection's IKE SA go alone.
    const riders = [...this.childBySerial.values()].filter((c) =>
      c.conn === conn && c.ike.conn !== conn
    );
    if (sas.length + riders.length === 0) {
      done();
      return;
    }
    let pending = sas.length + riders.length;
    for (const child of riders) {
      reply.line(`"${conn.name}": initiating delete of connection's Child SA #${child.serial}`);
      this.deleteChildSa(child, true, () => {
        if (--pending === 0) done();
      });
    }
    for (const sa of sas) {
      const kids = [...sa.children].map((c) => `#${c.serial}`);
      reply.line(
        `"${conn.name}": initiating delete of connection's IKE SA #${sa.serial}${
          kids.length ? ` (and Child SA ${kids.join(" ")})` : ""
        }`,
      );
      (sa.whacks ??= new Set()).add(reply);
      this.deleteIkeSa(sa, true, () => {
        sa.whacks?.delete(reply);
        if (--pending === 0) done();
      });
    }
  }

  /** `whack --deletestate N`. */
  deleteState(serial: number, reply: WhackObserver): void {
    const ike = this.ikeBySerial.get(serial);
    if (ike && !ike.deleted) {
      (ike.whacks ??= new Set()).add(reply);
      this.deleteIkeSa(ike, true, () => {
        ike.whacks?.delete(reply);
        reply.finish(0);
      });
      return;
    }
    const child = this.childBySerial.get(serial);
    if (child) {
      (child.ike.whacks ??= new Set()).add(reply);
      this.deleteChildSa(child, true, () => {
        child.ike.whacks?.delete(reply);
        reply.finish(0);
      });
      return;
    }
    reply.line(`no state #${serial} to delete`);
    reply.finish(RC_UNKNOWN_NAME);
  }

  /** Orderly shutdown: delete every IKE SA (notifying peers) unless leaving state. */
  shutdown(leaveState: boolean): Promise<void> {
    if (leaveState) return Promise.resolve();
    const unrouted = this.routing.shutdown();
    const sas = [...this.ikeBySerial.values()].filter((s) => !s.deleted);
    return Promise.all(sas.map((sa) =>
      new Promise<void>((resolve) => {
        if (sa.state === "ESTABLISHED_IKE_SA") {
          // Best effort: send the Delete once, do not wait for the answer.
          sendDeleteIke(this, sa, () => {}, false);
        }
        this.removeIkeSa(sa, "shutdown");
        resolve();
      })
    )).then(() => unrouted).then(() => this.settle()); // down/unroute of the removed Child SAs
  }

  // ---------------------------------------------------------------- SA lifecycle

  registerIke(sa: IkeSa): void {
    this.ikeBySpi.set(sa.ourSpi, sa);
    this.ikeBySerial.set(sa.serial, sa);
  }

  registerChild(child: ChildSa): void {
    this.childBySerial.set(child.serial, child);
    this.childByInSpi.set(child.inSpi, child);
    child.ike.children = appended(child.ike.children, child);
  }

  /** Runs `fn` after all earlier work on this SA finished. */
  enqueue(sa: IkeSa, fn: () => Promise<void> | void): Promise<void> {
    this.#busy++;
    const next: Promise<void> = sa.queue.then(fn).catch((e) => {
      this.say(
        { sa },
        `internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`,
        "error",
      );
      // A negotiation that failed this way would otherwise sit half-open forever.
      if (sa.state !== "ESTABLISHED_IKE_SA" && !sa.deleted) {
        this.release(sa, RC_FATAL);
        this.removeIkeSa(sa, "internal error");
      }
    }).finally(() => {
      // An idle SA shares one settled promise instead of keeping its last one.
      if (sa.queue === next) sa.queue = IDLE_QUEUE;
      if (--this.#busy === 0) { for (const r of this.#idle.splice(0)) r(); }
    });
    sa.queue = next;
    return next;
  }

  /** Resolves when no SA has queued work (simulations step on this). */
  settle(): Promise<void> {
    return this.#busy === 0 ? Promise.resolve() : new Promise((r) => this.#idle.push(r));
  }

  /** Arms (or re-arms) a named event shown in status (`RETRANSMIT`, `REPLACE`, `EXPIRE`, `DISCARD`). */
  schedule(
    owner: { events: NamedTimers },
    name: string,
    delayMs: number,
    run: () => void,
  ): void {
    owner.events.get(name)?.cancel();
    this.timers.schedule(this.now() + delayMs, name, run, owner.events);
  }

  cancelEvents(owner: { events: NamedTimers }): void {
    for (const h of owner.events.values()) h.cancel();
    owner.events.clear();
  }

  /** Deletes an IKE SA with its children, telling the peer when `notify` and established. */
  deleteIkeSa(sa: IkeSa, notify: boolean, done: () => void): void {
    done = this.updown.after(sa, done);
    if (sa.deleted) {
      done();
      return;
    }
    if (notify && sa.state === "ESTABLISHED_IKE_SA") {
      this.enqueue(sa, () =>
        sendDeleteIke(this, sa, () => {
          this.removeIkeSa(sa, "established IKE SA");
          done();
        }, true));
      return;
    }
    this.removeIkeSa(sa, storyOf(sa));
    done();
  }

  deleteChildSa(child: ChildSa, notify: boolean, done: () => void): void {
    done = this.updown.after(child.ike, done);
    const ike = child.ike;
    if (notify && child.established && ike.state === "ESTABLISHED_IKE_SA" && !ike.deleted) {
      this.enqueue(ike, () =>
        sendDeleteChild(this, child, () => {
          this.removeChildSa(child);
          done();
        }));
      return;
    }
    this.removeChildSa(child);
    done();
  }

  /** Forgets an IKE SA and its children locally (kernel SAs removed, whacks released). */
  removeIkeSa(sa: IkeSa, story: string): void {
    if (sa.deleted) return;
    for (const child of [...sa.children]) this.removeChildSa(child);
    sa.deleted = true;
    this.cancelEvents(sa);
    sa.outstanding = undefined;
    this.ikeBySpi.delete(sa.ourSpi);
    this.ikeBySerial.delete(sa.serial);
    if (sa.halfOpenKey) this.halfOpen.delete(sa.halfOpenKey);
    if (sa.conn.newestIke === sa.serial) sa.conn.newestIke = undefined;
    this.say({ sa }, `deleting IKE SA (${story})`);
    this.count(`total.ikev2.ike.finished`);
  }

  removeChildSa(child: ChildSa): void {
    if (!this.childBySerial.has(child.serial)) return;
    this.cancelEvents(child);
    this.childBySerial.delete(child.serial);
    this.childByInSpi.delete(child.inSpi);
    child.ike.children = removedAt(child.ike.children, child.ike.children.indexOf(child));
    if (child.conn.newestChild === child.serial) child.conn.newestChild = undefined;
    if (child.established) {
      const local = child.ike.local.address, remote = child.ike.remote.address;
      const inB = this.deps.kernel.bytes(local, child.inSpi).bytes;
      const outB = child.outSpi !== undefined
        ? this.deps.kernel.bytes(remote, child.outSpi).bytes
        : 0;
      this.say({ child }, `ESP traffic information: in=${inB}B out=${outB}B`);
    }
    this.updown.removed(child);
    if (child.installed) {
      const k = this.deps.kernel;
      const logged = (e: Error) => this.say({ child }, `kernel: ${e.message}`, "warning");
      k.deleteSa(child.ike.local.address, child.inSpi).catch(logged);
      if (child.outSpi !== undefined) {
        k.deleteSa(child.ike.remote.address, child.outSpi).catch(logged);
      }
    } else {
      // Return the reserved SPI.
      this.deps.kernel.deleteSa(child.ike.local.address, child.inSpi).catch((e: Error) =>
        this.say({ child }, `kernel: ${e.message}`, "warning")
      );
    }
    this.routing.childRemoved(child);
    this.count("total.ikev2.child.finished");
  }

  /** Ends whack conversations attached to an SA with a code. */
  release(sa: IkeSa, rc: number): void {
    if (!sa.whacks) return;
    for (const w of sa.whacks) w.finish(rc);
    sa.whacks = undefined;
  }

  /**
   * A negotiation this end started failed for good. Whack gets `rc`; when
   * `retry` (a timeout, not a rejection) and keyingtries allow, a new attempt
   * starts.
   */
  failInitiation(sa: IkeSa, rc: number, retry: boolean): void {
    const conn = sa.conn;
    this.release(sa, rc);
    this.removeIkeSa(sa, storyOf(sa));
    this.count("total.ike.ikev2.failed");
    this.routing.negotiationFailed(conn);
    const tries = conn.config.keyingTries;
    if (retry && conn.up && (tries === 0 || conn.attempts < tries)) {
      conn.attempts++;
      const limit = tries === 0 ? "an unlimited number" : `at most ${tries}`;
      this.say({ conn }, `starting keying attempt ${conn.attempts} of ${limit}`);
      startIkeSaInit(this, conn, undefined, undefined);
    } else {
      conn.up = false;
    }
  }

  // ---------------------------------------------------------------- packets in

  /** A datagram arrived on one of our IKE sockets (non-ESP marker already stripped). */
  receive(data: Uint8Array, from: Endpoint, to: Endpoint): void {
    this.count("total.ike.traffic.in", data.length);
    const h = decodeHeader(data);
    if (!h.ok) {
      this.debug(packetPrefix(from), `dropping malformed packet: ${h.error.reason}`);
      this.count("total.ike.mangled");
      return;
    }
    const header = h.value;
    if (header.version >> 4 !== 2) {
      this.debug(
        packetPrefix(from),
        `dropping packet with IKE version ${header.version >> 4}.${header.version & 15}`,
      );
      return;
    }
    const response = (header.flags & FLAG_RESPONSE) !== 0;
    const fromInitiator = (header.flags & FLAG_INITIATOR) !== 0;
    if (header.exchange === ExchangeType.IKE_SA_INIT && !response) {
      handleInitRequest(this, data, header, from, to);
      return;
    }
    const ours = fromInitiator ? header.spiR : header.spiI;
    const sa = this.ikeBySpi.get(spiKey(ours));
    if (!sa || sa.deleted) {
      if (header.exchange === ExchangeType.IKE_SA_INIT) {
        handleInitResponseUnknown(this, header, from);
      } else {this.debug(
          packetPrefix(from),
          `no IKE SA for SPI ${spiText(Number(spiKey(ours) & 0xffffffffn))}…; dropped`,
        );}
      return;
    }
    // Our SA must be the one the peer talks about, in the role it claims.
    if (fromInitiator === sa.initiator) {
      this.debug(packetPrefix(from), "dropping packet with the wrong Initiator flag");
      return;
    }
    this.enqueue(sa, () => this.#dispatch(sa, data, header, response, from, to));
  }

  async #dispatch(
    sa: IkeSa,
    data: Uint8Array,
    header: IkeHeader,
    response: boolean,
    from: Endpoint,
    to: Endpoint,
  ): Promise<void> {
    if (sa.deleted) return;
    if (response) {
      const out = sa.outstanding;
      if (!out || out.messageId !== header.messageId || out.exchange !== header.exchange) {
        this.debug(
          this.prefix({ sa }),
          `dropping unexpected response with message ID ${header.messageId}`,
        );
        return;
      }
      const payloads = this.#decode(sa, data, header);
      if (!payloads) return;
      sa.lastInbound = this.now();
      this.#follow(sa, from, to);
      this.#clearOutstanding(sa);
      await out.onResponse(payloads, data, header);
      return;
    }
    // A request from the peer.
    if (
      header.messageId === sa.expectedRequestId - 1 &&
      sa.lastResponse?.messageId === header.messageId
    ) {
      this.debug(
        this.prefix({ sa }),
        `retransmitting response to duplicate request ${header.messageId}`,
      );
      this.deps.transport.send(sa.local, sa.remote, sa.lastResponse.packet);
      return;
    }
    if (header.messageId !== sa.expectedRequestId) {
      this.debug(
        this.prefix({ sa }),
        `dropping request with message ID ${header.messageId}, expecting ${sa.expectedRequestId}`,
      );
      return;
    }
    const payloads = this.#decode(sa, data, header);
    if (!payloads) return;
    sa.lastInbound = this.now();
    this.#follow(sa, from, to);
    if (header.exchange === ExchangeType.IKE_AUTH && sa.state === "IKE_SA_INIT_R") {
      await handleAuthRequest(this, sa, header, payloads, from);
    } else if (
      header.exchange === ExchangeType.INFORMATIONAL &&
      (sa.state === "ESTABLISHED_IKE_SA" || sa.state === "DELETING") // both ends may delete at once
    ) {
      await handleInformationalRequest(this, sa, header, payloads);
    } else if (
      header.exchange === ExchangeType.CREATE_CHILD_SA && sa.state === "ESTABLISHED_IKE_SA"
    ) {
      await handleCreateChildRequest(this, sa, header, payloads);
    } else {
      this.debug(this.prefix({ sa }), `dropping ${header.exchange} request in state ${sa.state}`);
    }
  }

  /**
   * After an authenticated message: answer where it came from. A peer that
   * moved to our NAT-T port floated (RFC 7296 §2.23); behind a NAT its
   * mapping may change, and the newest authenticated message wins.
   */
  #follow(sa: IkeSa, from: Endpoint, to: Endpoint): void {
    if (sa.state === "IKE_SA_INIT_I") return; // unauthenticated yet
    const moved = from.port !== sa.remote.port || !addressEquals(from.address, sa.remote.address) ||
      to.port !== sa.local.port;
    if (!moved) return;
    if (to.port !== this.deps.natPort && !sa.natT) return;
    if (!sa.natT) sa.natT = true;
    this.debug(
      this.prefix({ sa }),
      `peer now at ${endpointText(from)} (was ${endpointText(sa.remote)})`,
    );
    sa.remote = from;
    sa.local = to;
  }

  /** Decodes (and for SK messages, authenticates and decrypts) a message; undefined = dropped. */
  #decode(sa: IkeSa, data: Uint8Array, header: IkeHeader): Payload[] | undefined {
    const m = decodeMessage(data);
    if (!m.ok) {
      this.say(
        { sa },
        `dropping malformed ${
          exchangeName(header.exchange)
        } message: ${m.error.payload}: ${m.error.reason}`,
      );
      this.count("total.ike.mangled");
      return undefined;
    }
    const payloads = m.value.payloads;
    if (header.exchange === ExchangeType.IKE_SA_INIT) return payloads;
    const sk = findPayload(payloads, PayloadType.SK);
    if (!sk || !sa.recvKeys) {
      this.say(
        { sa },
        `dropping ${exchangeName(header.exchange)} message without an Encrypted payload`,
      );
      return undefined;
    }
    const opened = open(data, sk, sa.recvKeys);
    if (!opened.ok) {
      // RFC 7296 §2.21.2: integrity failures are dropped without reply.
      this.say({ sa }, `dropping ${exchangeName(header.exchange)} message: ${opened.reason}`);
      const isRequest = (header.flags & FLAG_RESPONSE) === 0;
      if (!opened.integrity && isRequest) {
        // Authenticated but malformed: answer it, so the peer stops retransmitting
        // (RFC 7296 §2.5 unknown critical payload, §2.21.3 INVALID_SYNTAX).
        const critical = opened.unsupportedCritical;
        this.respond(sa, header, [
          critical !== undefined
            ? notify(0, NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, new Uint8Array([critical]))
            : notify(0, NotifyType.INVALID_SYNTAX),
        ]);
      }
      return undefined;
    }
    return opened.payloads;
  }

  // ---------------------------------------------------------------- packets out

  /** Builds an SK-protected message for this SA. */
  sealed(
    sa: IkeSa,
    exchange: number,
    messageId: number,
    response: boolean,
    payloads: Payload[],
  ): Uint8Array {
    return seal(
      this.headerFor(sa, exchange, messageId, response),
      payloads,
      sa.sendKeys!,
      this.deps.entropy,
    );
  }

  headerFor(
    sa: IkeSa,
    exchange: number,
    messageId: number,
    response: boolean,
  ): Omit<IkeHeader, "length" | "nextPayload"> {
    return {
      spiI: sa.spiI,
      spiR: sa.spiR,
      version: IKEV2_VERSION,
      exchange,
      flags: (sa.initiator ? FLAG_INITIATOR : 0) | (response ? FLAG_RESPONSE : 0),
      messageId,
    };
  }

  /** Answers the peer's current request and remembers the answer for its retransmits. */
  respond(sa: IkeSa, request: IkeHeader, payloads: Payload[]): void {
    const packet = this.sealed(sa, request.exchange, request.messageId, true, payloads);
    sa.lastResponse = { messageId: request.messageId, packet };
    sa.expectedRequestId = request.messageId + 1;
    this.send(sa, packet);
  }

  send(sa: IkeSa, packet: Uint8Array): void {
    this.count("total.ike.traffic.out", packet.length);
    this.deps.transport.send(sa.local, sa.remote, packet);
  }

  /**
   * Sends a request and retransmits it (interval doubling from
   * retransmit-interval) until its response arrives or retransmit-timeout
   * passes. `packet` is built by the caller (IKE_SA_INIT is not sealed).
   */
  sendRequest(
    sa: IkeSa,
    exchange: number,
    build: (messageId: number) => Uint8Array,
    onResponse: Outstanding["onResponse"],
    onTimeout?: () => void,
    timeoutMs?: number,
  ): void {
    if (sa.deleted) return; // a request queued behind one that timed out the SA
    // Window size 1 (RFC 7296 §2.3): later requests wait for the outstanding one.
    if (sa.outstanding) {
      (sa.pendingRequests ??= []).push(() =>
        this.sendRequest(sa, exchange, build, onResponse, onTimeout, timeoutMs)
      );
      return;
    }
    const messageId = sa.nextRequestId++;
    const packet = build(messageId);
    const out: Outstanding = {
      messageId,
      exchange,
      packet,
      sends: 1,
      firstSent: this.now(),
      onResponse,
      onTimeout: onTimeout ?? (() => this.#retransmitsExhausted(sa)),
      timeoutMs: timeoutMs ?? sa.conn.config.retransmitTimeout * 1000,
    };
    sa.outstanding = out;
    this.send(sa, packet);
    this.#armRetransmit(sa, out);
  }

  #armRetransmit(sa: IkeSa, out: Outstanding): void {
    // The wait doubles each send but never runs past the timeout: a dead peer
    // is declared when the timeout says, not at the next doubled interval.
    const left = out.timeoutMs - (this.now() - out.firstSent);
    const interval = Math.min(
      sa.conn.config.retransmitIntervalMs * 2 ** (out.sends - 1),
      Math.max(left, 0),
    );
    this.schedule(sa, "RETRANSMIT", interval, () => {
      if (sa.outstanding !== out || sa.deleted) return;
      const elapsed = this.now() - out.firstSent;
      const timeout = out.timeoutMs;
      if (elapsed >= timeout) {
        if (out.exchange !== ExchangeType.IKE_SA_INIT && out.exchange !== ExchangeType.IKE_AUTH) {
          this.#clearOutstanding(sa);
        }
        out.onTimeout();
        return;
      }
      out.sends++;
      const wait = Math.min(
        sa.conn.config.retransmitIntervalMs * 2 ** (out.sends - 1),
        timeout - elapsed,
      );
      this.say(
        { sa },
        `retransmitting ${exchangeName(out.exchange)} request; will wait ${
          seconds(wait)
        } for response`,
      );
      this.send(sa, out.packet);
      this.#armRetransmit(sa, out);
    });
  }

  #clearOutstanding(sa: IkeSa): void {
    sa.outstanding = undefined;
    sa.events.get("RETRANSMIT")?.cancel();
    sa.events.delete("RETRANSMIT");
    const next = sa.pendingRequests?.shift();
    if (sa.pendingRequests?.length === 0) sa.pendingRequests = undefined;
    if (next && !sa.deleted) queueMicrotask(next);
  }

  #retransmitsExhausted(sa: IkeSa): void {
    const out = sa.outstanding;
    const secs = out ? Math.round((this.now() - out.firstSent) / 1000) : 0;
    this.say(
      { sa },
      `${sa.state}: max number of retransmissions (${
        (out?.sends ?? 1) - 1
      }) reached after ${secs} seconds`,
    );
    this.#clearOutstanding(sa);
    if (sa.state === "ESTABLISHED_IKE_SA") {
      peerDead(this, sa, "an exchange went unanswered");
      return;
    }
    if (sa.state === "DELETING") {
      this.release(sa, RC_NORETRANSMISSION);
      this.removeIkeSa(sa, storyOf(sa));
      return;
    }
    this.failInitiation(sa, RC_NORETRANSMISSION, true);
  }
}

/** A Notify payload with no SPI. */
export function notify(
  protocol: number,
  notifyType: number,
  data: Uint8Array = new Uint8Array(),
): Payload {
  return { type: PayloadType.N, protocol, spi: new Uint8Array(), notifyType, data };
}

/** `0.5 seconds`, `1 second`, `2 seconds`. */
function seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} second${s === 1 ? "" : "s"}`;
}

/** `packet from 192.0.2.1:500: ` */
export function packetPrefix(from: Endpoint): string {
  return `packet from ${endpointText(from)}: `;
}

export function endpointText(ep: Endpoint): string {
  const a = formatAddress(ep.address);
  return ep.address.family === 6 ? `[${a}]:${ep.port}` : `${a}:${ep.port}`;
}

/** `192.0.2.2:UDP/500` as in "sent IKE_SA_INIT request to …". */
export function udpText(ep: Endpoint): string {
  return `${formatAddress(ep.address)}:UDP/${ep.port}`;
}

/** The Libreswan "story" of an IKE SA's state, for status and delete lines. */
export function storyOf(sa: IkeSa): string {
  switch (sa.state) {
    case "IKE_SA_INIT_I":
      return "sent IKE_SA_INIT request";
    case "IKE_SA_INIT_R":
      return "sent IKE_SA_INIT response";
    case "IKE_AUTH_I":
      return "sent IKE_AUTH request";
    case "ESTABLISHED_IKE_SA":
      return "established IKE SA";
    case "DELETING":
      return "deleting IKE SA";
  }
}

/** Builds an unprotected message (IKE_SA_INIT and its error answers). */
export function plainMessage(
  header: Omit<IkeHeader, "length" | "nextPayload">,
  payloads: Payload[],
): Uint8Array {
  return encodeMessage(header, payloads);
}
