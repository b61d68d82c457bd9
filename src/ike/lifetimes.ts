/**
 * SA lifetimes (ipsec_pluto(8) / ipsec.conf: ikelifetime, ipsec-lifetime,
 * rekeymargin, rekeyfuzz, rekey).
 *
 * With rekey=yes the side that created an SA arms `REKEY` at
 * lifetime − rekeymargin·(1 + rekeyfuzz·random) and `REPLACE` at the
 * lifetime (a rekey that never succeeded ends in a fresh negotiation). The
 * other side arms `EXPIRE` at the lifetime and, as a fallback for an
 * initiator that went quiet, `REKEY` at lifetime − rekeymargin/2: always
 * later than the creator's own rekey, so the two do not race in the normal
 * case. With rekey=no both sides only arm `EXPIRE`.
 */
import type { ConnectionConfig } from "../config/connection.ts";
import type { SaLimits } from "../kernel/kernel.ts";
import { rekeyChild, startChild } from "./create_child_sa.ts";
import type { Engine } from "./engine.ts";
import type { ChildSa, IkeSa } from "./ike_sa.ts";
import { rekeyIke } from "./ike_rekey.ts";
import { startIkeSaInit } from "./ike_sa_init.ts";

/** Milliseconds from now until an SA with this lifetime should be rekeyed. */
export function rekeyDelay(
  engine: Engine,
  lifetimeS: number,
  marginS: number,
  fuzzPercent: number,
  creator: boolean,
): number {
  const r = new DataView(engine.random(4).buffer).getUint32(0) / 2 ** 32;
  const margin = creator ? marginS * (1 + (fuzzPercent / 100) * r) : marginS / 2;
  const at = lifetimeS - margin;
  return Math.max(at > 0 ? at : lifetimeS / 2, 1) * 1000;
}

/**
 * The byte and packet limits of a Child SA's kernel SAs (ipsec-max-bytes,
 * ipsec-max-packets): hard at the configured value, soft at 80 % of it for
 * the SA's creator and 90 % for the other side, so that, as with time
 * lifetimes, the creator normally rekeys first and the two do not collide.
 */
export function childSaLimits(cfg: ConnectionConfig, creator: boolean): SaLimits {
  const percent = creator ? 80n : 90n;
  return {
    softBytes: cfg.ipsecMaxBytes * percent / 100n,
    hardBytes: cfg.ipsecMaxBytes,
    softPackets: cfg.ipsecMaxPackets * percent / 100n,
    hardPackets: cfg.ipsecMaxPackets,
  };
}

/** Arms an established IKE SA's REKEY and REPLACE/EXPIRE events. */
export function scheduleIkeLifetime(engine: Engine, sa: IkeSa): void {
  const cfg = sa.conn.config;
  if (cfg.rekey) {
    const delay = rekeyDelay(engine, cfg.ikeLifetime, cfg.rekeyMargin, cfg.rekeyFuzz, sa.initiator);
    engine.schedule(sa, "REKEY", delay, () => rekeyIke(engine, sa));
  }
  if (sa.initiator && cfg.rekey) {
    engine.schedule(sa, "REPLACE", cfg.ikeLifetime * 1000, () => replaceIke(engine, sa));
  } else {
    engine.schedule(sa, "EXPIRE", cfg.ikeLifetime * 1000, () => {
      engine.say({ sa }, "IKE SA expired");
      engine.deleteIkeSa(sa, true, () => {});
    });
  }
}

/**
 * Arms an installed Child SA's events; `creator` is whether we initiated the
 * exchange that created it (IKE_AUTH or CREATE_CHILD_SA).
 */
export function scheduleChildLifetime(engine: Engine, child: ChildSa, creator: boolean): void {
  const cfg = child.conn.config;
  if (cfg.rekey) {
    const delay = rekeyDelay(engine, cfg.ipsecLifetime, cfg.rekeyMargin, cfg.rekeyFuzz, creator);
    engine.schedule(child, "REKEY", delay, () => rekeyChild(engine, child));
  }
  if (creator && cfg.rekey) {
    engine.schedule(child, "REPLACE", cfg.ipsecLifetime * 1000, () => replaceChild(engine, child));
  } else {
    engine.schedule(child, "EXPIRE", cfg.ipsecLifetime * 1000, () => {
      engine.say({ child }, "Child SA expired");
      engine.deleteChildSa(child, true, () => {});
    });
  }
}

/** The IKE SA reached its lifetime without a successful rekey: negotiate a fresh one. */
function replaceIke(engine: Engine, sa: IkeSa): void {
  if (sa.deleted) return;
  const conn = sa.conn;
  engine.say({ sa }, "lifetime reached without a rekey; replacing IKE SA with a new one");
  engine.deleteIkeSa(sa, true, () => {
    if (conn.up && engine.connections.get(conn.name) === conn) {
      conn.attempts = 1;
      startIkeSaInit(engine, conn, undefined, undefined);
    }
  });
}

/** The Child SA reached its lifetime without a successful rekey: delete it and create another. */
function replaceChild(engine: Engine, child: ChildSa): void {
  const ike = child.ike;
  engine.say({ child }, "lifetime reached without a rekey; replacing Child SA with a new one");
  engine.deleteChildSa(child, true, () => {
    if (!ike.deleted && ike.state === "ESTABLISHED_IKE_SA" && child.conn.up) {
      startChild(engine, ike, child.conn, undefined);
    }
  });
}
