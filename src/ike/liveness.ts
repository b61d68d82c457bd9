/**
 * IKEv2 liveness (RFC 7296 §2.4), configured as Libreswan's DPD: with
 * dpddelay set, an IKE SA that has heard nothing from the peer for that long
 * sends an empty INFORMATIONAL request. No answer within dpdtimeout (or
 * retransmit-timeout when unset) means the peer is dead, and dpdaction says
 * what follows: clear (forget the SAs), hold (forget them, keep the
 * connection ready to come up on demand), restart (negotiate again now).
 */
import { ExchangeType } from "../wire/constants.ts";
import { type Engine, RC_NORETRANSMISSION } from "./engine.ts";
import type { IkeSa } from "./ike_sa.ts";
import { startIkeSaInit } from "./ike_sa_init.ts";

export function scheduleLiveness(engine: Engine, sa: IkeSa, delayMs?: number): void {
  const period = sa.conn.config.dpdDelay * 1000;
  if (!period) return;
  engine.schedule(sa, "LIVENESS", delayMs ?? period, () => check(engine, sa));
}

function check(engine: Engine, sa: IkeSa): void {
  if (sa.deleted || sa.state !== "ESTABLISHED_IKE_SA") return;
  const period = sa.conn.config.dpdDelay * 1000;
  const quiet = engine.now() - (sa.lastInbound ?? 0);
  // Recent traffic from the peer, or an exchange under way, already proves (or tests) liveness.
  if (quiet < period || sa.outstanding) {
    scheduleLiveness(engine, sa, Math.max(period - quiet, 1000));
    return;
  }
  const cfg = sa.conn.config;
  const timeout = (cfg.dpdTimeout || cfg.retransmitTimeout) * 1000;
  engine.count("total.ike.dpd.sent");
  engine.debug(
    engine.prefix({ sa }),
    `liveness: peer quiet for ${Math.round(quiet / 1000)}s; sending a check`,
  );
  engine.sendRequest(
    sa,
    ExchangeType.INFORMATIONAL,
    (id) => engine.sealed(sa, ExchangeType.INFORMATIONAL, id, false, []),
    () => {
      engine.count("total.ike.dpd.recv");
      scheduleLiveness(engine, sa);
    },
    () => peerDead(engine, sa, `no answer to a liveness check within ${timeout / 1000} seconds`),
    timeout,
  );
}

/** The peer stopped answering an established IKE SA: apply dpdaction. */
export function peerDead(engine: Engine, sa: IkeSa, why: string): void {
  if (sa.deleted) return;
  const conn = sa.conn;
  const action = conn.config.dpdAction;
  engine.say({ sa }, `liveness: ${why}; peer is dead; dpdaction=${action}`);
  engine.release(sa, RC_NORETRANSMISSION);
  engine.removeIkeSa(sa, "established IKE SA");
  if (engine.connections.get(conn.name) !== conn) return;
  if (action === "restart") {
    engine.say({ conn }, "dpdaction=restart: initiating the connection again");
    conn.up = true;
    conn.attempts = 1;
    startIkeSaInit(engine, conn, undefined, undefined);
  } else if (action === "clear") {
    conn.up = false;
  } else {
    engine.say(
      { conn },
      "dpdaction=hold: connection stays defined and comes up again on --initiate or traffic",
    );
  }
}
