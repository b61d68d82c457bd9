/**
 * Connection routing: what the kernel does with a connection's traffic when
 * no Child SA carries it (Libreswan's routing states, reference §3.5).
 *
 * `whack --route` installs a trap: an outbound policy asking for ESP between
 * the peers, with no SA behind it. Traffic that hits it makes the kernel
 * report an ACQUIRE; the connection is then initiated for that flow while the
 * kernel's own larval (acquire) state holds the traffic (`%hold`). A Child SA
 * that comes up replaces the trap with its own policies; when it goes, the
 * trap is put back, so traffic starts a new negotiation (this is also what
 * `dpdaction=hold` relies on). A negotiation that fails leaves the
 * connection's `failureshunt` for the flow as a bare shunt (`whack
 * --shuntstatus`), which expires after the shunt lifetime; with
 * `failureshunt=none` the trap stays and the next packet tries again.
 * `type=passthrough` and `type=drop` connections route to pass and block
 * policies and never negotiate.
 *
 * @module
 */

import {
  formatAddress,
  formatSelector,
  hostSelector,
  type IpAddress,
  type Selector,
  selectorContains,
} from "../config/addresses.ts";
import type { ShuntStatus } from "../control/status_model.ts";
import { KernelError, type KernelPolicy } from "../kernel/kernel.ts";
import type { KernelAcquire, KernelEvent, KernelExpire } from "../kernel/kernel_events.ts";
import { type Connection, localEnd, oriented, remoteEnd } from "./connection.ts";
import { rekeyChild } from "./create_child_sa.ts";
import { type Engine, RC_ORIENT } from "./engine.ts";
import { selectorsOf } from "./ike_auth.ts";
import type { ChildSa, WhackObserver } from "./ike_sa.ts";
import type { TimerHandle } from "./timer_heap.ts";

/** Reply codes of route and unroute (Libreswan 5.x numbers). */
export const RC_ROUTE = 25, RC_RTBUSY = 26;

/** How long a bare shunt lives (pluto's shuntlifetime default, 15 minutes). */
export const SHUNT_LIFETIME_MS = 900_000;

/** The traffic an ACQUIRE was about. */
interface Flow {
  src: IpAddress;
  dst: IpAddress;
  protocol: number;
}

/** A routed connection. */
interface Route {
  /** What is in the kernel for it (traps or never-negotiate shunts); empty without a kernel. */
  installed: KernelPolicy[];
  /** An ACQUIRE started a negotiation that has not ended yet. */
  negotiating?: Flow;
}

/** A shunt for one flow rather than for a connection's selectors. */
interface BareShunt {
  src: Selector;
  dst: Selector;
  protocol: number;
  /** Libreswan's name: `%pass`, `%drop`, `%hold`, `%reject`. */
  shunt: string;
  reason: string;
  conn: Connection;
  policy?: KernelPolicy;
  expiry: TimerHandle;
}

/** The kernel's answer to the never-negotiate connection types. */
function neverNegotiate(c: Connection): "pass" | "drop" | undefined {
  return c.config.type === "passthrough" ? "pass" : c.config.type === "drop" ? "drop" : undefined;
}

/** `failureshunt=` as a kernel policy action and Libreswan's shunt name. */
function failureShunt(c: Connection): { action: "pass" | "drop"; name: string } | undefined {
  switch (c.config.failureShunt) {
    case "none":
      return undefined;
    case "passthrough":
      return { action: "pass", name: "%pass" };
    default:
      // XFRM can only block: held or rejected packets are dropped as well.
      return { action: "drop", name: `%${c.config.failureShunt}` };
  }
}

function shuntKey(src: Selector, dst: Selector): string {
  return `${formatSelector(src)}|${formatSelector(dst)}`;
}

/** The routing of every connection, and the bare shunts; one per engine. */
export class Routing {
  readonly #routes = new Map<Connection, Route>();
  readonly #shunts = new Map<string, BareShunt>();
  /** Set by shutdown: SAs going away then must not bring traps back. */
  #closing = false;

  constructor(private readonly engine: Engine) {}

  /** Whether `whack --route` is in effect for the connection. */
  isRouted(conn: Connection): boolean {
    return this.#routes.has(conn);
  }

  /** The routing story `--status` prints for the connection. */
  story(conn: Connection): string {
    const child = this.#establishedChild(conn);
    if (child) return conn.config.type === "transport" ? "routed-transport" : "routed-tunnel";
    const route = this.#routes.get(conn);
    if (!route) return "unrouted";
    if (neverNegotiate(conn)) return "routed-never-negotiate";
    return route.negotiating ? "routed-negotiation" : "routed-ondemand";
  }

  /** The bare shunt list, in the order the shunts were made. */
  shunts(): ShuntStatus[] {
    return [...this.#shunts.values()].map((s) => ({
      src: formatSelector({ ...s.src, protocol: 0 }),
      dst: formatSelector({ ...s.dst, protocol: 0 }),
      protocol: s.protocol,
      shunt: s.shunt,
      reason: s.reason,
      connSerial: s.conn.serial,
    }));
  }

  // ---------------------------------------------------------------- whack

  /** `whack --route`: installs the trap (or the never-negotiate shunt) of a connection. */
  async route(name: string, reply: WhackObserver): Promise<void> {
    const conn = this.engine.lookup(name, reply);
    if (!conn) return;
    if (this.#routes.has(conn)) {
      reply.line(`"${name}": connection is already routed`);
      reply.finish(0);
      return;
    }
    if (!oriented(conn)) {
      reply.line(`"${name}": we cannot identify ourselves with either end of this connection`);
      reply.finish(RC_ORIENT);
      return;
    }
    if (!neverNegotiate(conn) && remoteEnd(conn).host === undefined) {
      reply.line(`"${name}": cannot route: the peer is %any, so no trap can name it`);
      reply.finish(RC_ROUTE);
      return;
    }
    const route: Route = { installed: [] };
    this.#routes.set(conn, route);
    const kernel = this.engine.deps.kernel;
    if (!kernel.addPolicy) {
      reply.line(
        `"${name}": the ${kernel.name} kernel interface installs no policies; the route is recorded only`,
      );
    } else if (!this.#establishedChild(conn)) {
      // With a Child SA up, its own policies are in place; the trap follows when it goes.
      const error = await this.#install(conn, route);
      if (error !== undefined) {
        if (this.#routes.get(conn) === route) this.#routes.delete(conn);
        reply.line(`"${name}": could not route: ${error}`);
        reply.finish(RC_ROUTE);
        return;
      }
    }
    this.engine.debug(this.engine.prefix({ conn }), `routed: ${this.story(conn)}`);
    reply.finish(0);
  }

  /** `whack --unroute`: removes the trap; refused while a Child SA uses the route. */
  async unroute(name: string, reply: WhackObserver): Promise<void> {
    const conn = this.engine.lookup(name, reply);
    if (!conn) return;
    if (this.#establishedChild(conn)) {
      reply.line(`"${name}": cannot unroute: route busy`);
      reply.finish(RC_RTBUSY);
      return;
    }
    await this.forget(conn);
    reply.finish(0);
  }

  /** Removes the connection's route and bare shunts (unroute, delete). */
  async forget(conn: Connection): Promise<void> {
    const route = this.#routes.get(conn);
    this.#routes.delete(conn);
    if (route) await this.#uninstall(route.installed);
    for (const [key, s] of this.#shunts) {
      if (s.conn === conn) await this.#dropShunt(key, s);
    }
  }

  /** Shutdown: removes every trap and shunt of ours; SAs going away later bring nothing back. */
  async shutdown(): Promise<void> {
    this.#closing = true;
    for (const [conn, route] of this.#routes) {
      this.#routes.delete(conn);
      await this.#uninstall(route.installed);
    }
    for (const [key, s] of this.#shunts) await this.#dropShunt(key, s);
  }

  // ---------------------------------------------------------------- kernel events

  /** An ACQUIRE or EXPIRE from the kernel. */
  kernelEvent(event: KernelEvent): void {
    if (event.kind === "acquire") this.#acquire(event);
    else this.#expire(event);
  }

  #acquire(ev: KernelAcquire): void {
    const flow = `${formatAddress(ev.src)}:0 to ${formatAddress(ev.dst)}:0 proto=${ev.protocol}`;
    const conn = this.#routedFor(ev);
    if (!conn) {
      this.engine.debug("", `acquire from ${flow} matches no routed connection; ignored`);
      return;
    }
    const route = this.#routes.get(conn)!;
    // The operator's initiation, an SA or an earlier ACQUIRE already takes care of it.
    if (conn.up || route.negotiating || this.#establishedChild(conn)) {
      this.engine.debug(this.engine.prefix({ conn }), `acquire from ${flow}: already under way`);
      return;
    }
    route.negotiating = { src: ev.src, dst: ev.dst, protocol: ev.protocol };
    this.engine.say({ conn }, `initiate on demand from ${flow} because: acquire`);
    // On-demand SAs are not "up": a failure does not retry, the next packet does.
    this.engine.initiate(conn.name, {
      line: () => {},
      finish: (rc) => {
        if (rc >= 20) this.negotiationFailed(conn);
      },
    }, true);
    conn.up = false;
  }

  /** The routed connection whose trap the flow hit. */
  #routedFor(ev: KernelAcquire): Connection | undefined {
    const src = { ...hostSelector(ev.src), protocol: ev.protocol };
    const dst = { ...hostSelector(ev.dst), protocol: ev.protocol };
    for (const conn of this.#routes.keys()) {
      if (neverNegotiate(conn) || !oriented(conn)) continue;
      const covers = (end: Selector[], s: Selector) => end.some((e) => selectorContains(e, s));
      if (covers(selectorsOf(localEnd(conn)), src) && covers(selectorsOf(remoteEnd(conn)), dst)) {
        return conn;
      }
    }
    return undefined;
  }

  /** A soft limit rekeys the Child SA; past the hard one the kernel has dropped it: delete ours. */
  #expire(ev: KernelExpire): void {
    const child = this.#childBySpi(ev.dst, ev.spi);
    if (!child) {
      this.engine.debug("", `expire of SA ${formatAddress(ev.dst)}/${ev.spi} of no Child SA`);
      return;
    }
    if (!ev.hard) {
      this.engine.say({ child }, "kernel reports the soft limit reached; rekeying");
      rekeyChild(this.engine, child);
      return;
    }
    this.engine.say({ child }, "kernel reports the hard limit reached; deleting Child SA");
    this.engine.deleteChildSa(child, true, () => {});
  }

  #childBySpi(dst: IpAddress, spi: number): ChildSa | undefined {
    const inbound = this.engine.childByInSpi.get(spi);
    if (inbound && formatAddress(inbound.ike.local.address) === formatAddress(dst)) {
      return inbound;
    }
    for (const child of this.engine.childBySerial.values()) {
      if (
        child.outSpi === spi && formatAddress(child.ike.remote.address) === formatAddress(dst)
      ) return child;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- engine hooks

  /** A Child SA is gone (engine.removeChildSa). */
  childRemoved(child: ChildSa): void {
    const conn = child.conn;
    const route = this.#routes.get(conn);
    if (this.#closing || !route) return;
    if (!child.established) {
      this.negotiationFailed(conn);
      return;
    }
    if (this.#establishedChild(conn)) return; // its successor holds the policies
    route.negotiating = undefined;
    // The SA's policies replaced the trap and went with it: put the trap back.
    this.#install(conn, route).then((error) => {
      if (error !== undefined) {
        this.engine.say({ conn }, `cannot restore the trap: ${error}`, "warning");
      }
    });
  }

  /** A negotiation of the connection failed (engine.failInitiation, a refused Child SA). */
  negotiationFailed(conn: Connection): void {
    const route = this.#routes.get(conn);
    const flow = route?.negotiating;
    if (this.#closing || !route || !flow) return;
    route.negotiating = undefined;
    const shunt = failureShunt(conn);
    if (!shunt) {
      this.engine.say({ conn }, "on-demand negotiation failed; the trap stays for the next packet");
      return;
    }
    this.#addShunt(conn, flow, shunt.action, shunt.name, "negotiation failed");
  }

  // ---------------------------------------------------------------- kernel work

  #establishedChild(conn: Connection): ChildSa | undefined {
    const child = conn.newestChild !== undefined
      ? this.engine.childBySerial.get(conn.newestChild)
      : undefined;
    return child?.established ? child : undefined;
  }

  /** The policies a route puts in the kernel. */
  #policies(conn: Connection): KernelPolicy[] {
    const local = localEnd(conn), remote = remoteEnd(conn);
    const never = neverNegotiate(conn);
    const base = {
      saSrc: local.host!,
      saDst: remote.host ?? local.host!,
      mode: conn.config.type === "transport" ? "transport" : "tunnel",
      reqid: conn.reqid,
    } as const;
    const out: KernelPolicy[] = [];
    for (const l of selectorsOf(local)) {
      for (const r of selectorsOf(remote)) {
        if (l.family !== r.family) continue;
        if (!never) {
          out.push({ ...base, dir: "out", src: l, dst: r });
          continue;
        }
        // A shunt applies both ways; nothing is negotiated, so no template names the peer.
        out.push({ ...base, dir: "out", src: l, dst: r, shunt: never });
        out.push({ ...base, dir: "in", src: r, dst: l, shunt: never });
        out.push({ ...base, dir: "fwd", src: r, dst: l, shunt: never });
      }
    }
    return out;
  }

  /**
   * Installs a route's policies; on failure removes what went in and says
   * why. A route forgotten meanwhile (unroute, delete) gets nothing left behind.
   */
  async #install(conn: Connection, route: Route): Promise<string | undefined> {
    const kernel = this.engine.deps.kernel;
    if (!kernel.addPolicy) return undefined;
    const done: KernelPolicy[] = [];
    route.installed = done;
    try {
      for (const p of this.#policies(conn)) {
        await kernel.addPolicy(p);
        done.push(p);
        if (this.#routes.get(conn) !== route) break;
      }
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
      await this.#uninstall(done.splice(0));
      return e.message;
    }
    if (this.#routes.get(conn) !== route) await this.#uninstall(done.splice(0));
    return undefined;
  }

  async #uninstall(policies: KernelPolicy[]): Promise<void> {
    const kernel = this.engine.deps.kernel;
    for (const p of policies) {
      try {
        await kernel.deletePolicy?.(p);
      } catch (e) {
        if (!(e instanceof KernelError)) throw e;
        this.engine.deps.log.log("", `cannot remove ${p.dir} policy: ${e.message}`, "warning");
      }
    }
  }

  #addShunt(
    conn: Connection,
    flow: Flow,
    action: "pass" | "drop",
    name: string,
    reason: string,
  ): void {
    const src = { ...hostSelector(flow.src), protocol: flow.protocol };
    const dst = { ...hostSelector(flow.dst), protocol: flow.protocol };
    const key = shuntKey(src, dst);
    const old = this.#shunts.get(key);
    old?.expiry.cancel();
    const kernel = this.engine.deps.kernel;
    // More specific than the trap, so it wins for this flow only.
    const policy: KernelPolicy | undefined = kernel.addPolicy
      ? {
        dir: "out",
        src,
        dst,
        saSrc: localEnd(conn).host!,
        saDst: remoteEnd(conn).host ?? localEnd(conn).host!,
        mode: "tunnel",
        reqid: 0,
        shunt: action,
      }
      : undefined;
    const expiry = this.engine.timers.schedule(
      this.engine.now() + SHUNT_LIFETIME_MS,
      "SHUNT_EXPIRE",
      () => {
        const s = this.#shunts.get(key);
        if (s?.expiry === expiry) this.#dropShunt(key, s);
      },
    );
    this.#shunts.set(key, {
      src,
      dst,
      protocol: flow.protocol,
      shunt: name,
      reason,
      conn,
      policy,
      expiry,
    });
    const text = `${formatSelector(src)} -${flow.protocol}-> ${formatSelector(dst)} => ${name}`;
    this.engine.say({ conn }, `on-demand negotiation failed; installing failure shunt ${text}`);
    if (policy) {
      kernel.addPolicy!(policy).catch((e) => {
        if (!(e instanceof KernelError)) throw e;
        this.engine.say({ conn }, `cannot install failure shunt: ${e.message}`, "warning");
      });
    }
  }

  async #dropShunt(key: string, s: BareShunt): Promise<void> {
    s.expiry.cancel();
    this.#shunts.delete(key);
    if (s.policy) await this.#uninstall([s.policy]);
  }
}
