/**
 * When the engine runs the operator's updown command, and with which verb
 * (Libreswan 5.x, whack-pluto-interface §5.2): the first Child SA of a route
 * (a connection and its selectors) runs `prepare` and `route` before its
 * kernel SAs are installed and `up` after; the last one to go runs `down`
 * and `unroute`. A rekeyed Child SA shares the
 * route with its predecessor, so rekeys run nothing, as in pluto.
 *
 * The engine only decides; running the command is the daemon's (the
 * {@link Updown} in EngineDeps). Commands never overlap: pluto runs them
 * synchronously, so scripts may assume nothing changes under them. Here
 * they are chained instead, and the IKE SA's own work waits for them.
 */
import { formatSelector, type Selector } from "../config/addresses.ts";
import type { Engine } from "./engine.ts";
import type { ChildSa, IkeSa } from "./ike_sa.ts";

/** The five updown operations, without Libreswan's `-host`/`-client`/`-v6` suffix. */
export type UpdownVerb = "prepare" | "route" | "up" | "down" | "unroute";

/** One run of the updown command for one selector pair (Libreswan's SPD) of a Child SA. */
export interface UpdownCall {
  verb: UpdownVerb;
  child: ChildSa;
  /** The local and remote selector of this run. */
  local: Selector;
  remote: Selector;
  /** ESP bytes in and out of installed kernel SAs, read when the run was decided (before they go). */
  traffic?: { inBytes: number; outBytes: number };
  /** Logs a line about the Child SA and copies it to the whacks attached to its IKE SA. */
  say(text: string, stream?: "normal" | "warning"): void;
}

/** Runs the updown command; the daemon provides it. */
export interface Updown {
  /** Resolves true when the command succeeded or is disabled; never rejects. */
  run(call: UpdownCall): Promise<boolean>;
}

/** A route and the established Child SAs using it. */
interface Route {
  owners: Set<ChildSa>;
  /** `up` ran (or runs): the route's last Child SA to go runs `down`. */
  up: boolean;
}

/** Which routes have Child SAs, and the chain that keeps updown runs in order. */
export class UpdownRoutes {
  /** Routes by connection and selectors. */
  #routes = new Map<string, Route>();
  #chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly engine: Engine) {}

  /**
   * Before a Child SA's kernel SAs are installed: for the first Child SA of
   * its route, runs prepare and route. Returns why the installation must
   * stop (a failed `route`, after pluto's revert with `unroute`), or undefined.
   */
  async route(child: ChildSa): Promise<string | undefined> {
    if (!this.engine.deps.updown) return undefined;
    const key = routeKey(child);
    const existing = this.#routes.get(key);
    if (existing) {
      existing.owners.add(child);
      return undefined;
    }
    const route: Route = { owners: new Set([child]), up: false };
    this.#routes.set(key, route);
    return await this.#serially(async () => {
      await this.#run("prepare", child); // pluto ignores prepare's failures
      if (await this.#run("route", child)) return undefined;
      if (this.#release(key, route, child)) await this.#run("unroute", child);
      return 'updown command "route" failed';
    });
  }

  /**
   * After the kernel SAs are installed: `up`, once per route (a rekeyed
   * Child SA finds it done). Returns why the Child SA must go (a failed
   * `up`, after pluto's revert with `down` and `unroute`), or undefined.
   */
  async up(child: ChildSa): Promise<string | undefined> {
    const key = routeKey(child);
    const route = this.#routes.get(key);
    if (!route?.owners.has(child) || route.up) return undefined;
    route.up = true;
    return await this.#serially(async () => {
      if (await this.#run("up", child)) return undefined;
      if (this.#release(key, route, child)) {
        await this.#run("down", child);
        await this.#run("unroute", child);
      }
      return 'updown command "up" failed';
    });
  }

  /**
   * Drops a Child SA whose `route` or `up` failed from its route; true when
   * the revert is ours to run: it was still there (a removal meanwhile
   * queued its own down and unroute) and no other Child SA holds the route.
   */
  #release(key: string, route: Route, child: ChildSa): boolean {
    if (!route.owners.delete(child) || route.owners.size > 0) return false;
    this.#routes.delete(key);
    return true;
  }

  /**
   * A Child SA is being removed (its kernel SAs are still there). When it
   * was the last of its route, down and unroute are queued on its IKE SA.
   */
  removed(child: ChildSa): void {
    const key = routeKey(child);
    const route = this.#routes.get(key);
    if (!route?.owners.delete(child) || route.owners.size > 0) return;
    this.#routes.delete(key);
    const removal = { traffic: trafficOf(this.engine, child) };
    this.engine.enqueue(child.ike, () =>
      this.#serially(async () => {
        if (route.up) await this.#run("down", child, removal);
        await this.#run("unroute", child, removal);
      }));
  }

  /**
   * `done` of a delete, held back (when updown is configured) until the
   * down/unroute runs queued on `sa` have finished, so that a whack waiting
   * for the delete also sees their output.
   */
  after(sa: IkeSa, done: () => void): () => void {
    return this.engine.deps.updown ? () => void this.engine.enqueue(sa, done) : done;
  }

  /** Runs `fn` after every earlier updown run finished. */
  #serially<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(fn);
    this.#chain = next.catch(() => {});
    return next;
  }

  /** One verb for every selector pair of the Child SA; false when a run failed. */
  async #run(
    verb: UpdownVerb,
    child: ChildSa,
    removal?: { traffic?: UpdownCall["traffic"] },
  ): Promise<boolean> {
    const updown = this.engine.deps.updown!;
    // A removed Child SA's counters were read before its kernel SAs went.
    const traffic = removal ? removal.traffic : trafficOf(this.engine, child);
    const say = (text: string, stream?: "normal" | "warning") =>
      this.engine.say({ child }, text, stream);
    const pairs = child.localTs.flatMap((local) =>
      child.remoteTs.map((remote) => ({ local, remote }))
    );
    let ok = true;
    for (const { local, remote } of pairs) {
      if (pairs.length > 1) {
        say(`running updown ${verb} ${formatSelector(local)}===${formatSelector(remote)}`);
      }
      if (!(await updown.run({ verb, child, local, remote, traffic, say }))) ok = false;
    }
    return ok;
  }
}

/** ESP bytes the kernel counted for the Child SA (0 when the stack keeps no counters); none before it is installed. */
function trafficOf(engine: Engine, child: ChildSa): UpdownCall["traffic"] {
  if (!child.installed) return undefined;
  const k = engine.deps.kernel;
  return {
    inBytes: k.bytes(child.ike.local.address, child.inSpi).bytes,
    outBytes: child.outSpi !== undefined
      ? k.bytes(child.ike.remote.address, child.outSpi).bytes
      : 0,
  };
}

/** A route: the connection (by serial, names can be reused) and the Child SA's selectors. */
function routeKey(child: ChildSa): string {
  const sel = (list: Selector[]) => list.map(formatSelector).join(",");
  return `${child.conn.serial}|${sel(child.localTs)}|${sel(child.remoteTs)}`;
}
