/**
 * The outbound security policy database of the userspace stack: which
 * packets leaving through the TUN device go into which SA. Entries come
 * from the Child SAs' traffic selectors (local → remote) and, for routed
 * connections, from traps that have no SA yet. Lookup takes the most
 * specific matching entry (narrowest destination, then source, then
 * protocol and ports), as RFC 4301 §4.4.1 asks of an ordered SPD.
 */
import { formatSelector, type Selector } from "../../config/addresses.ts";
import { destinationMatches, type PacketFlow, sourceMatches } from "./ip_packet.ts";
import type { EspSa } from "./sa_database.ts";

/** One SPD entry: a selector pair and the SAs that carry it (newest last). */
export interface OutboundPolicy {
  readonly src: Selector;
  readonly dst: Selector;
  /** Installed outbound SAs for the pair, oldest first (datapath.ts picks the one in use). */
  readonly sas: EspSa[];
  /** A routed connection's trap: keep the entry (and acquire) when no SA is left. */
  trapped: boolean;
  /** When the last acquire for this entry was reported (ms, performance.now()). */
  lastAcquire?: number;
}

/** Size of an address range (end - start + 1). */
function rangeSize(s: Selector): bigint {
  let start = 0n;
  let end = 0n;
  for (let i = 0; i < s.start.length; i++) {
    start = (start << 8n) | BigInt(s.start[i]);
    end = (end << 8n) | BigInt(s.end[i]);
  }
  return end - start + 1n;
}

/** Negative when `a` is more specific than `b`. */
function bySpecificity(a: OutboundPolicy, b: OutboundPolicy): number {
  const compare = (x: bigint, y: bigint) => (x < y ? -1 : x > y ? 1 : 0);
  return compare(rangeSize(a.dst), rangeSize(b.dst)) ||
    compare(rangeSize(a.src), rangeSize(b.src)) ||
    (a.dst.protocol === 0 ? 1 : 0) - (b.dst.protocol === 0 ? 1 : 0) ||
    (a.dst.endPort - a.dst.startPort) - (b.dst.endPort - b.dst.startPort) ||
    (a.src.endPort - a.src.startPort) - (b.src.endPort - b.src.startPort);
}

function pairKey(src: Selector, dst: Selector): string {
  return `${formatSelector(src)} -> ${formatSelector(dst)}`;
}

/** The ordered outbound SPD. */
export class PolicyTable {
  #byPair = new Map<string, OutboundPolicy>();
  /** Most specific first. */
  #ordered: OutboundPolicy[] = [];

  /** The entry for exactly this selector pair, created (untrapped, no SAs) when missing. */
  #entry(src: Selector, dst: Selector): OutboundPolicy {
    const key = pairKey(src, dst);
    let entry = this.#byPair.get(key);
    if (entry === undefined) {
      entry = { src, dst, sas: [], trapped: false };
      this.#byPair.set(key, entry);
      this.#ordered.push(entry);
      this.#ordered.sort(bySpecificity);
    }
    return entry;
  }

  #dropIfUnused(entry: OutboundPolicy): void {
    if (entry.trapped || entry.sas.length > 0) return;
    this.#byPair.delete(pairKey(entry.src, entry.dst));
    this.#ordered = this.#ordered.filter((e) => e !== entry);
  }

  /** Directs traffic between the SA's selectors into outbound `sa` (the newest wins). */
  addSa(sa: EspSa): OutboundPolicy {
    const entry = this.#entry(sa.config.srcSelector, sa.config.dstSelector);
    entry.sas.push(sa);
    return entry;
  }

  /**
   * Stops using `sa`; the entry goes when it has neither SAs nor a trap.
   * Returns the entry, or undefined when `sa` was in none.
   */
  removeSa(sa: EspSa): OutboundPolicy | undefined {
    const entry = this.#byPair.get(pairKey(sa.config.srcSelector, sa.config.dstSelector));
    if (entry === undefined) return undefined;
    const at = entry.sas.indexOf(sa);
    if (at >= 0) entry.sas.splice(at, 1);
    this.#dropIfUnused(entry);
    return entry;
  }

  /**
   * Installs a trap for a routed connection: matching packets without an SA
   * become acquires. Returns false when the pair was trapped already.
   */
  trap(src: Selector, dst: Selector): boolean {
    const entry = this.#entry(src, dst);
    if (entry.trapped) return false;
    entry.trapped = true;
    return true;
  }

  /** Removes a trap (the entry stays while SAs still use it); false when there was none. */
  untrap(src: Selector, dst: Selector): boolean {
    const entry = this.#byPair.get(pairKey(src, dst));
    if (entry === undefined || !entry.trapped) return false;
    entry.trapped = false;
    this.#dropIfUnused(entry);
    return true;
  }

  /** The most specific entry matching an outbound packet, or undefined. */
  lookup(flow: PacketFlow): OutboundPolicy | undefined {
    for (const entry of this.#ordered) {
      if (destinationMatches(flow, entry.dst) && sourceMatches(flow, entry.src)) return entry;
    }
    return undefined;
  }
}
