/** The engine's part of the status model: connections and states as plain data. */
import { formatAddress, formatSelector } from "../config/addresses.ts";
import type { EndConfig } from "../config/connection.ts";
import { idTypeName } from "../config/ids.ts";
import { formatEspProposals, formatIkeProposals } from "../config/proposals.ts";
import type {
  ChildTraffic,
  ConnectionStatus,
  EndStatus,
  StateStatus,
} from "../control/status_model.ts";
import type { Kernel } from "../kernel/kernel.ts";
import { type Connection, localEnd, oriented, remoteEnd } from "./connection.ts";
import { type Engine, storyOf } from "./engine.ts";
import type { ChildSa, IkeSa } from "./ike_sa.ts";
import { espAlgorithmText, ikeAlgorithmText } from "./proposal.ts";
import type { TimerHandle } from "./timer_heap.ts";

function endStatus(e: EndConfig, auth: string): EndStatus {
  return {
    host: e.host ? formatAddress(e.host) : "%any",
    id: e.id.type === 0 ? "%any" : e.id.text,
    idType: e.id.type === 0 ? "%any" : idTypeName(e.id.type),
    subnets: e.subnets.map(formatSelector),
    ikePort: e.ikePort,
    nextHop: e.nextHop ? formatAddress(e.nextHop) : undefined,
    updown: e.updown,
    auth: e.auth ?? auth,
    sendCert: "always",
  };
}

/** `IKEv2+PSK+ENCRYPT+TUNNEL+PFS+UP+IKE_FRAG_ALLOW+ESN_NO+ESN_YES` */
export function policyText(c: Connection): string {
  const cfg = c.config;
  const bits = [cfg.ikeVersion === 1 ? "IKEv1" : "IKEv2"];
  if (cfg.authby.includes("secret")) bits.push("PSK");
  if (cfg.authby.includes("rsasig")) bits.push("RSASIG");
  if (cfg.authby.includes("ecdsa")) bits.push("ECDSA");
  if (cfg.authby.includes("null")) bits.push("AUTH_NULL");
  bits.push(cfg.phase2 === "ah" ? "AUTHENTICATE" : "ENCRYPT");
  if (cfg.type === "tunnel") bits.push("TUNNEL");
  if (cfg.pfs) bits.push("PFS");
  if (c.up) bits.push("UP");
  if (cfg.fragmentation) bits.push("IKE_FRAG_ALLOW");
  if (cfg.esn !== "yes") bits.push("ESN_NO");
  if (cfg.esn !== "no") bits.push("ESN_YES");
  return bits.join("+");
}

export function connectionStatuses(engine: Engine): ConnectionStatus[] {
  return [...engine.connections.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.serial - b.serial
  )
    .map((c) => {
      const cfg = c.config;
      const auth = cfg.authby.includes("secret") ? "secret" : cfg.authby.join("+");
      const ike = c.newestIke !== undefined ? engine.ikeBySerial.get(c.newestIke) : undefined;
      const child = c.newestChild !== undefined
        ? engine.childBySerial.get(c.newestChild)
        : undefined;
      return {
        name: c.name,
        serial: c.serial,
        local: endStatus(oriented(c) ? localEnd(c) : cfg.left, auth),
        remote: endStatus(oriented(c) ? remoteEnd(c) : cfg.right, auth),
        oriented: oriented(c),
        routing: engine.routing.story(c),
        ikeVersion: cfg.ikeVersion,
        policy: policyText(c),
        ikeLifetime: cfg.ikeLifetime,
        ipsecLifetime: cfg.ipsecLifetime,
        rekeyMargin: cfg.rekeyMargin,
        rekeyFuzz: cfg.rekeyFuzz,
        replayWindow: cfg.replayWindow,
        retransmitInterval: cfg.retransmitIntervalMs,
        retransmitTimeout: cfg.retransmitTimeout,
        dpdDelay: cfg.dpdDelay,
        dpdTimeout: cfg.dpdTimeout,
        encapsulation: cfg.encapsulation,
        keepAlive: 20,
        ikeAlgorithms: cfg.ikeText !== undefined ? formatIkeProposals(cfg.ike) : undefined,
        espAlgorithms: cfg.espText !== undefined ? formatEspProposals(cfg.esp) : undefined,
        newestIke: ike?.state === "ESTABLISHED_IKE_SA" ? ike.serial : undefined,
        newestChild: child?.established ? child.serial : undefined,
        negotiatedIke: ike?.chosen ? ikeAlgorithmText(ike.chosen) : undefined,
        negotiatedEsp: child?.chosen ? espAlgorithmText(child.chosen) : undefined,
        pfsGroup: cfg.pfs ? "<Phase1>" : undefined,
        reqid: c.reqid,
      };
    });
}

/** Pending events of an SA, due times in seconds (the model's clock). */
function liveEvents(m: Iterable<[string, TimerHandle]>): { name: string; due: number }[] {
  const out: { name: string; due: number }[] = [];
  for (const [name, h] of m) if (!h.cancelled) out.push({ name, due: h.due / 1000 });
  return out;
}

/**
 * An IKE SA as a {@link StateStatus}. The fields a summary reads (counts,
 * eroute owner) are plain; `events` is read from the SA only when a listing
 * prints it, so counting 10^5 states allocates one small object each.
 */
class IkeStateView implements StateStatus {
  readonly serial: number;
  readonly connection: string;
  readonly instance = "";
  readonly remotePort: number;
  readonly kind = "ike";
  readonly story: string;
  readonly newest: boolean;
  readonly erouteOwner = false;
  readonly established: boolean;
  readonly authenticated: boolean;
  readonly halfOpen: boolean;
  readonly peerId?: string;
  readonly #sa: IkeSa;

  constructor(sa: IkeSa) {
    this.#sa = sa;
    this.serial = sa.serial;
    this.connection = sa.conn.name;
    this.remotePort = sa.remote.port;
    this.story = storyOf(sa);
    this.newest = sa.conn.newestIke === sa.serial;
    this.established = this.authenticated = sa.state === "ESTABLISHED_IKE_SA";
    this.halfOpen = sa.state === "IKE_SA_INIT_R";
    this.peerId = sa.peerId?.text;
  }

  get events(): { name: string; due: number }[] {
    return liveEvents(this.#sa.events);
  }
}

/** A Child SA as a {@link StateStatus}; `events` and the traffic record are read when printed. */
class ChildStateView implements StateStatus {
  readonly serial: number;
  readonly connection: string;
  readonly instance = "";
  readonly remotePort: number;
  readonly kind = "child";
  readonly story: string;
  readonly newest: boolean;
  readonly erouteOwner: boolean;
  readonly parent: number;
  readonly established: boolean;
  readonly authenticated: boolean;
  readonly halfOpen = false;
  readonly #child: ChildSa;
  readonly #kernel: Kernel;

  constructor(child: ChildSa, kernel: Kernel) {
    this.#child = child;
    this.#kernel = kernel;
    this.serial = child.serial;
    this.connection = child.conn.name;
    this.remotePort = child.ike.remote.port;
    this.established = this.authenticated = child.established;
    this.story = child.established ? "established Child SA" : "larval Child SA";
    this.newest = child.conn.newestChild === child.serial;
    this.erouteOwner = child.established && this.newest;
    this.parent = child.ike.serial;
  }

  get events(): { name: string; due: number }[] {
    return liveEvents(this.#child.events);
  }

  get child(): ChildTraffic | undefined {
    const child = this.#child, sa = child.ike;
    if (!child.established) return undefined;
    return {
      protocol: "esp",
      outboundSpi: child.outSpi!,
      inboundSpi: child.inSpi,
      remoteAddress: formatAddress(sa.remote.address),
      localAddress: formatAddress(sa.local.address),
      tunnel: child.mode === "tunnel",
      inBytes: this.#kernel.bytes(sa.local.address, child.inSpi).bytes,
      outBytes: this.#kernel.bytes(sa.remote.address, child.outSpi!).bytes,
      maxBytes: "2^63B",
      addTime: child.addTime ?? 0,
      peerId: sa.peerId?.text ?? "",
    };
  }
}

/**
 * The engine's states in listing order (connection name, then serial), each
 * turned into a {@link StateStatus} only when iterated: the order is fixed
 * when this is called, the fields are read as each state is reached, so a
 * listing that yields to the event loop between chunks shows each state as
 * it is at that moment and never holds 10^5 state records at once.
 */
export function stateStatuses(engine: Engine): Iterable<StateStatus> {
  const sas: (IkeSa | ChildSa)[] = [];
  for (const sa of engine.ikeBySerial.values()) {
    sas.push(sa);
    for (const child of sa.children) sas.push(child);
  }
  // Mostly in order already (serials grow), which the stable merge sort makes cheap.
  sas.sort((a, b) =>
    a.conn.name < b.conn.name ? -1 : a.conn.name > b.conn.name ? 1 : a.serial - b.serial
  );
  const kernel = engine.deps.kernel;
  return {
    *[Symbol.iterator]() {
      for (const sa of sas) {
        yield "ike" in sa ? new ChildStateView(sa, kernel) : new IkeStateView(sa);
      }
    },
  };
}
