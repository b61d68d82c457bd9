/**
 * swan's built-in `ipsec _updown` (swan has no `ipsec` command): the
 * essentials of Libreswan's default script on Linux, read from the same
 * PLUTO_* environment a script gets, and every action said in the log.
 *
 * - `route`: adds `--srcip` (PLUTO_MY_SOURCEIP) to `lo` when the host lacks
 *   it; with xfrm/pfkeyv2 routes the peer's client through the interface
 *   carrying IKE (via PLUTO_NEXT_HOP or the gateway towards the peer), with
 *   the source IP as `src`. The userspace stack routes into its TUN device
 *   itself; a host-to-host tunnel needs no route.
 * - `unroute`: undoes what `route` did; a route that existed before is
 *   neither replaced nor removed.
 * - `prepare`, `up`, `down`: nothing (no VTI, DNS or firewall handling).
 * - `--protostack none`: nothing at all; there is no stack to route into.
 *
 * Actions are said (logged and relayed to whack); runs that do nothing are
 * debug lines (`--debug updown`), as a quiet stock script would be.
 */
import { addressKey, formatAddress, type IpAddress, parseAddress } from "../config/addresses.ts";
import { hostAddresses, runIp } from "../kernel/userspace/ip_command.ts";
import type { UpdownCall } from "../ike/updown_events.ts";
import type { BuiltinUpdown } from "./updown.ts";

/** What the default runs; replaceable in tests. */
export interface IpCommands {
  /** `ip …args`; rejects with an Error quoting the command and its stderr. */
  ip(args: string[]): Promise<string>;
  /** The host's addresses. */
  addresses(): Promise<IpAddress[]>;
}

const SYSTEM: IpCommands = { ip: runIp, addresses: hostAddresses };

/** Stacks whose policies need a route for the peer's client (Libreswan's _updown.xfrm). */
const ROUTED_STACKS = new Set(["xfrm", "pfkeyv2"]);

export class DefaultUpdown implements BuiltinUpdown {
  /** Source IPs this daemon added, so that `unroute` removes only those. */
  #addedSources = new Set<string>();
  /** Routes this daemon added, by peer client, so that `unroute` removes only those. */
  #addedRoutes = new Map<string, string[]>();

  /** `debug` logs a `--debug updown` line. */
  constructor(
    private readonly debug: (text: string) => void,
    private readonly system: IpCommands = SYSTEM,
  ) {}

  async run(env: ReadonlyMap<string, string>, say: UpdownCall["say"]): Promise<boolean> {
    const verb = env.get("PLUTO_VERB") ?? "";
    const stack = env.get("PLUTO_STACK") ?? "";
    const tell = (text: string) => say(`default updown ${verb}: ${text}`);
    const idle = (why: string) =>
      this.debug(`default updown ${verb} for "${env.get("PLUTO_CONNECTION")}": ${why}`);
    if (stack === "none") {
      idle("nothing to do with --protostack none");
      return true;
    }
    try {
      switch (verb.split("-")[0]) {
        case "route":
          await this.#route(env, stack, tell, idle);
          return true;
        case "unroute":
          await this.#unroute(env, tell, idle);
          return true;
        default:
          idle("nothing to do");
          return true;
      }
    } catch (e) {
      say(`default updown ${verb}: ${(e as Error).message}`, "warning");
      return false;
    }
  }

  async #route(
    env: ReadonlyMap<string, string>,
    stack: string,
    tell: (text: string) => void,
    idle: (why: string) => void,
  ): Promise<void> {
    const source = parseAddress(env.get("PLUTO_MY_SOURCEIP") ?? "");
    let did = false;
    if (source) {
      const have = await this.system.addresses();
      const key = addressKey(source);
      if (!have.some((a) => addressKey(a) === key)) {
        const args = ["addr", "add", hostPrefix(source), "dev", "lo"];
        await this.system.ip(args);
        this.#addedSources.add(key);
        tell(`ip ${args.join(" ")}`);
        did = true;
      }
    }
    const route = await this.#routeArgs(env, stack);
    if (route) {
      const [client] = route;
      // A route the operator (or another daemon) made stays theirs: neither replaced nor removed.
      const existing = (await this.system.ip(["route", "show", client])).trim();
      if (existing !== "") {
        tell(`keeping the existing route ${existing}`);
      } else {
        const args = ["route", "add", ...route];
        await this.system.ip(args);
        this.#addedRoutes.set(client, route);
        tell(`ip ${args.join(" ")}`);
      }
      did = true;
    } else if (stack === "userspace") {
      tell(`the userspace stack routes ${env.get("PLUTO_PEER_CLIENT")} into its TUN device`);
      did = true;
    }
    if (!did) idle("nothing to do (host-to-host)");
  }

  async #unroute(
    env: ReadonlyMap<string, string>,
    tell: (text: string) => void,
    idle: (why: string) => void,
  ): Promise<void> {
    let did = false;
    const client = env.get("PLUTO_PEER_CLIENT") ?? "";
    const route = this.#addedRoutes.get(client);
    if (route) {
      this.#addedRoutes.delete(client);
      const args = ["route", "del", ...route];
      // Gone already (an operator, or the interface went down) is what unroute wants.
      await this.system.ip(args).catch(() => {});
      tell(`ip ${args.join(" ")}`);
      did = true;
    }
    const source = parseAddress(env.get("PLUTO_MY_SOURCEIP") ?? "");
    if (source && this.#addedSources.delete(addressKey(source))) {
      const args = ["addr", "del", hostPrefix(source), "dev", "lo"];
      await this.system.ip(args).catch(() => {});
      tell(`ip ${args.join(" ")}`);
      did = true;
    }
    if (!did) idle("nothing to do");
  }

  /**
   * `<peer client> [via <gateway>] dev <device> [src <source>]` for stacks
   * that need a route, or undefined: none needed (host-to-host without a
   * source IP), or the userspace stack (it routes itself).
   */
  async #routeArgs(
    env: ReadonlyMap<string, string>,
    stack: string,
  ): Promise<string[] | undefined> {
    if (!ROUTED_STACKS.has(stack)) return undefined;
    const client = env.get("PLUTO_PEER_CLIENT") ?? "";
    const peer = env.get("PLUTO_PEER") ?? "";
    const source = env.get("PLUTO_MY_SOURCEIP");
    const peerItself = parseAddress(peer);
    if (peerItself && client === hostPrefix(peerItself) && !source) return undefined;
    if (!client.includes("/")) {
      throw new Error(`cannot route ${client}: not a prefix`);
    }
    let via = env.get("PLUTO_NEXT_HOP");
    let device = env.get("PLUTO_INTERFACE");
    if (via === undefined || device === undefined || device === "NULL") {
      const towards = await this.#routeTo(peer);
      via ??= towards.gateway;
      if (device === undefined || device === "NULL") device = towards.dev;
    }
    if (device === undefined) throw new Error(`no interface reaches ${peer}`);
    return [
      client,
      ...(via !== undefined ? ["via", via] : []),
      "dev",
      device,
      ...(source !== undefined ? ["src", source] : []),
    ];
  }

  /** The kernel's route towards `address`: its gateway (when not on-link) and device. */
  async #routeTo(address: string): Promise<{ gateway?: string; dev?: string }> {
    const text = await this.system.ip(["-j", "route", "get", address]);
    try {
      const [first] = JSON.parse(text) as { gateway?: unknown; dev?: unknown }[];
      return {
        gateway: typeof first?.gateway === "string" ? first.gateway : undefined,
        dev: typeof first?.dev === "string" ? first.dev : undefined,
      };
    } catch {
      throw new Error(`\`ip -j route get ${address}\` did not print JSON`);
    }
  }
}

/** `a.b.c.d/32` or `x::y/128`. */
function hostPrefix(address: IpAddress): string {
  return `${formatAddress(address)}/${address.family === 4 ? 32 : 128}`;
}
