/**
 * What Child SA and IKE SA rekeys share: resolving simultaneous rekeys
 * (RFC 7296 §2.8.1, §2.8.2), retrying a rekey the peer put off, retiring
 * the replaced SA, and keeping a whack attached across the SAs involved.
 */
import type { Engine } from "./engine.ts";
import type { IkeSa, WhackObserver } from "./ike_sa.ts";
import type { NamedTimers } from "./timer_heap.ts";

/** Nonces go into the comparison octet by octet; a nonce that is a prefix of another is lower (§2.8.1). */
export function nonceLess(a: Uint8Array, b: Uint8Array): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] < b[i];
  }
  return a.length < b.length;
}

/**
 * Two exchanges rekeyed the same SA. True when ours ({ni, nr}) holds the
 * lowest of the four nonces, which makes the SA it created the redundant one
 * (deleted by us, its creator).
 */
export function oursIsRedundant(
  ours: { ni: Uint8Array; nr: Uint8Array },
  peers: { ni: Uint8Array; nr: Uint8Array },
): boolean {
  const lowest = (x: { ni: Uint8Array; nr: Uint8Array }) => nonceLess(x.ni, x.nr) ? x.ni : x.nr;
  return nonceLess(lowest(ours), lowest(peers));
}

type EventOwner = { events: NamedTimers };

/** Retry of a rekey the peer answered with TEMPORARY_FAILURE (§2.25): 5–15 s, jittered so two peers drift apart. */
export function retryRekey(engine: Engine, owner: EventOwner, run: () => void): void {
  const jitter = new DataView(engine.random(4).buffer).getUint32(0) % 10_000;
  engine.schedule(owner, "REKEY", 5_000 + jitter, run);
}

/** How long a replaced SA waits for the peer's Delete before we remove it ourselves. */
const REPLACED_GRACE_MS = 60_000;

/**
 * A rekey replaced this SA: its own rekey and lifetime events stop (an
 * outstanding retransmission keeps running), and it goes away when the
 * rekey initiator deletes it, or after a grace period if that Delete never comes.
 */
export function retire(engine: Engine, owner: EventOwner, remove: () => void): void {
  for (const [name, h] of owner.events) {
    if (name === "RETRANSMIT") continue;
    h.cancel();
    owner.events.delete(name);
  }
  engine.schedule(owner, "EXPIRE", REPLACED_GRACE_MS, remove);
}

/**
 * A whack client following one operation across the IKE SAs it touches (a
 * rekey creates a new one): it sees their log lines until `finish`, once.
 */
export class Attached implements WhackObserver {
  #sas = new Set<IkeSa>();
  #done = false;
  constructor(private readonly whack: WhackObserver) {}

  /** Copies the lines logged about `sa` to the client too. */
  follow(sa: IkeSa): this {
    if (!this.#done) {
      this.#sas.add(sa);
      (sa.whacks ??= new Set()).add(this);
    }
    return this;
  }

  line(text: string): void {
    this.whack.line(text);
  }

  finish(rc: number): void {
    if (this.#done) return;
    this.#done = true;
    for (const sa of this.#sas) sa.whacks?.delete(this);
    this.whack.finish(rc);
  }
}
