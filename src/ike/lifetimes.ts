/**
 * SA lifetimes. The original initiator replaces an SA rekeymargin (plus up to
 * rekeyfuzz percent of it, drawn at random) before it expires; the responder
 * lets it expire. Until CREATE_CHILD_SA rekeying lands, a replacement is a
 * fresh IKE SA: the old one is deleted and the connection initiated again.
 */
import type { Engine } from "./engine.ts";
import type { ChildSa, IkeSa } from "./ike_sa.ts";
import { startIkeSaInit } from "./ike_sa_init.ts";

/** Milliseconds until the initiator should replace an SA with this lifetime. */
export function replaceDelay(
  engine: Engine,
  lifetimeS: number,
  marginS: number,
  fuzzPercent: number,
): number {
  const r = new DataView(engine.random(4).buffer).getUint32(0) / 2 ** 32;
  const margin = marginS * (1 + (fuzzPercent / 100) * r);
  const at = lifetimeS - margin;
  return Math.max(at > 0 ? at : lifetimeS / 2, 1) * 1000;
}

export function scheduleIkeLifetime(engine: Engine, sa: IkeSa): void {
  const cfg = sa.conn.config;
  if (sa.initiator && cfg.rekey) {
    engine.schedule(
      sa,
      "REPLACE",
      replaceDelay(engine, cfg.ikeLifetime, cfg.rekeyMargin, cfg.rekeyFuzz),
      () => replace(engine, sa),
    );
  } else {
    engine.schedule(sa, "EXPIRE", cfg.ikeLifetime * 1000, () => {
      engine.say({ sa }, "IKE SA expired");
      engine.deleteIkeSa(sa, true, () => {});
    });
  }
}

export function scheduleChildLifetime(engine: Engine, child: ChildSa): void {
  const cfg = child.conn.config;
  if (child.ike.initiator && cfg.rekey) {
    engine.schedule(
      child,
      "REPLACE",
      replaceDelay(engine, cfg.ipsecLifetime, cfg.rekeyMargin, cfg.rekeyFuzz),
      () => replace(engine, child.ike),
    );
  } else {
    engine.schedule(child, "EXPIRE", cfg.ipsecLifetime * 1000, () => {
      engine.say({ child }, "Child SA expired");
      engine.deleteChildSa(child, true, () => {});
    });
  }
}

/** Replaces an initiator's IKE SA (and its Child SAs) with a new negotiation. */
function replace(engine: Engine, sa: IkeSa): void {
  if (sa.deleted) return;
  const conn = sa.conn;
  engine.say({ sa }, "lifetime reached; replacing IKE SA with a new one");
  engine.deleteIkeSa(sa, true, () => {
    if (conn.up && engine.connections.get(conn.name) === conn) {
      conn.attempts = 1;
      startIkeSaInit(engine, conn, undefined, undefined);
    }
  });
}
