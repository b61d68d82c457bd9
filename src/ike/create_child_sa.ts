/**
 * CREATE_CHILD_SA for Child SAs (RFC 7296 §1.3): a new Child SA on an
 * established IKE SA (§1.3.1) and the rekey of one (§1.3.3), with PFS, in
 * both roles; simultaneous Child SA rekeys are resolved as §2.8.1 says.
 * Requests that rekey the IKE SA itself go to ike_rekey.ts.
 *
 * PFS: with pfs=yes the request carries KE for the esp= proposal's group, or
 * the IKE SA's group when esp= names none (Libreswan's pfsgroup=<Phase1>);
 * pfs=no sends no KE. Keys come from SK_d, [g^ir], and this exchange's
 * nonces, with "initiator" meaning the initiator of this exchange (§2.17).
 */
import { addressEquals } from "../config/addresses.ts";
import { keName } from "../config/algorithm_names.ts";
import { idMatches } from "../config/ids.ts";
import type { ProposalSpec } from "../config/proposals.ts";
import { KeError, type KeKeyPair } from "../crypto/ke.ts";
import {
  ExchangeType,
  NotifyType,
  PayloadType,
  ProtocolId,
  TransformType,
} from "../wire/constants.ts";
import type { IkeHeader } from "../wire/header.ts";
import {
  findNotify,
  findPayload,
  notifies,
  type Payload,
  type Proposal,
} from "../wire/payloads.ts";
import { type Connection, localEnd, remoteEnd } from "./connection.ts";
import { type Engine, notify, RC_FATAL, RC_UNKNOWN_NAME, udpText } from "./engine.ts";
import {
  answerChild,
  checkChildAnswer,
  childDetails,
  failChild,
  installChild,
  planChild,
  selectorsOf,
  tsText,
} from "./ike_auth.ts";
import type { ChildSa, IkeSa, WhackObserver } from "./ike_sa.ts";
import { spiText } from "./ike_sa.ts";
import { rekeyIke, respondIkeRekey } from "./ike_rekey.ts";
import { errorNotifies, notifyText, payloadList } from "./payload_text.ts";
import { espProposals } from "./proposal.ts";
import { Attached, oursIsRedundant, retire, retryRekey } from "./rekey_collision.ts";
import { fromWire, narrow, toWire } from "./traffic_selectors.ts";
import { NamedTimers } from "./timer_heap.ts";

/** Nonce length we send (RFC 7296 §2.10: at least half the PRF key size, at least 16). */
export const NONCE_BYTES = 32;

/** A Child SA request this end is making. */
interface ChildRequest {
  conn: Connection;
  /** The IKE SA carrying a new Child SA (a rekey uses the old Child SA's current one). */
  ike: IkeSa;
  /** The Child SA being rekeyed. */
  old?: ChildSa;
  whack?: Attached;
  /** KE group to send, once the peer asked for another with INVALID_KE_PAYLOAD. */
  group?: number;
}

/**
 * The PFS groups a Child SA offers (or accepts) per proposal: the esp=
 * groups without "none", else the IKE SA's group.
 */
export function pfsGroupsFor(conn: Connection, ike: IkeSa): (spec: ProposalSpec) => number[] {
  if (!conn.config.pfs) return () => [];
  return (spec) => spec.ke.length > 0 ? spec.ke.filter((k) => k !== 0) : [ike.chosen!.keId];
}

/** An established IKE SA with the same hosts and IDs that `conn` can share (Libreswan's "viable parent"). */
export function shareableIke(engine: Engine, conn: Connection): IkeSa | undefined {
  const local = localEnd(conn), remote = remoteEnd(conn);
  let best: IkeSa | undefined;
  for (const sa of engine.ikeBySerial.values()) {
    if (sa.deleted || sa.state !== "ESTABLISHED_IKE_SA" || sa.rekey?.replaced) continue;
    if (!local.host || !remote.host || !sa.peerId) continue;
    if (!addressEquals(sa.local.address, local.host)) continue;
    if (!addressEquals(sa.remote.address, remote.host)) continue;
    if (!idMatches(localEnd(sa.conn).id, local.id) || !idMatches(remote.id, sa.peerId)) continue;
    if (!best || sa.serial > best.serial) best = sa;
  }
  return best;
}

/** `whack --initiate` of a connection whose peer already has an IKE SA with us: a new Child SA on it. */
export function startChild(
  engine: Engine,
  ike: IkeSa,
  conn: Connection,
  whack: WhackObserver | undefined,
  asynchronous = false,
): void {
  const attached = whack && !asynchronous ? new Attached(whack).follow(ike) : undefined;
  engine.enqueue(ike, () => sendChildRequest(engine, { conn, ike, whack: attached }));
  if (whack && asynchronous) {
    whack.line(`"${conn.name}": initiating Child SA using IKE SA #${ike.serial}`);
    whack.finish(0);
  }
}

/** Rekeys a Child SA (its REKEY event, or `whack --rekey-child`). */
export function rekeyChild(engine: Engine, old: ChildSa, whack?: Attached): void {
  if (!old.established || old.rekey?.replaced || old.rekey?.ours) {
    whack?.finish(0);
    return;
  }
  const ike = old.ike;
  if (ike.deleted || ike.state !== "ESTABLISHED_IKE_SA") {
    whack?.finish(RC_FATAL);
    return;
  }
  if (ike.rekey?.ours) {
    // §2.25.2: no Child SA rekey while the IKE SA is being rekeyed; try again on the new one.
    engine.say({ child: old }, `IKE SA #${ike.serial} is being rekeyed; will rekey later`);
    retryRekey(engine, old, () => rekeyChild(engine, old, whack));
    return;
  }
  old.rekey = { ...old.rekey, ours: { ni: new Uint8Array() } };
  whack?.follow(ike);
  engine.enqueue(ike, () => sendChildRequest(engine, { conn: old.conn, ike, old, whack }));
}

/** `whack --rekey-ike` / `--rekey-child`: rekeys the connection's newest SA; whack waits unless asynchronous. */
export function rekeyConnection(
  engine: Engine,
  name: string,
  what: "ike" | "child",
  whack: WhackObserver,
  asynchronous: boolean,
): void {
  const conn = engine.lookup(name, whack);
  if (!conn) return;
  const serial = what === "ike" ? conn.newestIke : conn.newestChild;
  const ike = what === "ike" && serial !== undefined ? engine.ikeBySerial.get(serial) : undefined;
  const child = what === "child" && serial !== undefined
    ? engine.childBySerial.get(serial)
    : undefined;
  if (!(ike?.state === "ESTABLISHED_IKE_SA") && !child?.established) {
    whack.line(`"${name}": no established ${what === "ike" ? "IKE" : "Child"} SA to rekey`);
    whack.finish(RC_UNKNOWN_NAME);
    return;
  }
  const attached = asynchronous ? undefined : new Attached(whack);
  if (ike) rekeyIke(engine, ike, attached);
  else rekeyChild(engine, child!, attached);
  if (asynchronous) whack.finish(0);
}

async function sendChildRequest(engine: Engine, req: ChildRequest): Promise<void> {
  const { conn, old } = req;
  const ike = old ? old.ike : req.ike;
  if (ike.deleted || ike.state !== "ESTABLISHED_IKE_SA" || (old && !old.established)) {
    if (old?.rekey) old.rekey.ours = undefined;
    req.whack?.finish(RC_FATAL);
    return;
  }
  const inSpi = await engine.deps.kernel.allocateSpi(ike.remote.address, ike.local.address);
  const child: ChildSa = {
    serial: engine.nextSerial(),
    ike,
    conn,
    established: false,
    inSpi,
    localTs: old ? old.localTs : selectorsOf(localEnd(conn)),
    remoteTs: old ? old.remoteTs : selectorsOf(remoteEnd(conn)),
    mode: old ? old.mode : conn.config.type === "transport" ? "transport" : "tunnel",
    events: new NamedTimers(),
    installed: false,
  };
  engine.registerChild(child);
  engine.say(
    { child },
    old
      ? `initiating rekey to replace Child SA #${old.serial} using IKE SA #${ike.serial}`
      : `initiating Child SA using IKE SA #${ike.serial}`,
  );
  const offer = espProposals(conn.config.esp, inSpi, pfsGroupsFor(conn, ike), conn.config.esn);
  const group = req.group ?? offeredGroups(offer)[0];
  let keyPair: KeKeyPair | undefined;
  if (group !== undefined) {
    const ke = engine.ke(group);
    if (!ke) {
      failChild(engine, ike, child, `PFS group ${keName(group)} is not implemented`);
      if (old?.rekey) old.rekey.ours = undefined;
      return;
    }
    keyPair = await ke.generate(engine.deps.entropy);
  }
  const ni = engine.random(NONCE_BYTES);
  const payloads: Payload[] = [];
  if (old) {
    const spi = new Uint8Array(4);
    new DataView(spi.buffer).setUint32(0, old.inSpi);
    payloads.push({
      type: PayloadType.N,
      protocol: ProtocolId.ESP,
      spi,
      notifyType: NotifyType.REKEY_SA,
      data: new Uint8Array(),
    });
    old.rekey = { ...old.rekey, ours: { ni } };
  }
  if (child.mode === "transport") payloads.push(notify(0, NotifyType.USE_TRANSPORT_MODE));
  payloads.push({ type: PayloadType.SA, proposals: offer }, { type: PayloadType.NONCE, data: ni });
  if (keyPair) payloads.push({ type: PayloadType.KE, group: group!, data: keyPair.publicKey });
  payloads.push(
    { type: PayloadType.TSi, selectors: child.localTs.map(toWire) },
    { type: PayloadType.TSr, selectors: child.remoteTs.map(toWire) },
  );
  engine.sendRequest(
    ike,
    ExchangeType.CREATE_CHILD_SA,
    (id) => engine.sealed(ike, ExchangeType.CREATE_CHILD_SA, id, false, payloads),
    (p) => handleChildResponse(engine, req, child, offer, ni, keyPair, group, p),
  );
  engine.say(
    { child },
    `sent CREATE_CHILD_SA request ${
      old ? `to rekey IPsec SA #${old.serial}` : "for new IPsec SA"
    } to ${udpText(ike.remote)} {ESP <${spiText(inSpi)}${group ? ` ke=${keName(group)}` : ""}} ${
      tsText(child.localTs, child.remoteTs)
    }`,
  );
}

function offeredGroups(offer: Proposal[]): number[] {
  return offer.flatMap((p) =>
    p.transforms.filter((t) => t.type === TransformType.KE).map((t) => t.id)
  );
}

async function handleChildResponse(
  engine: Engine,
  req: ChildRequest,
  child: ChildSa,
  offer: Proposal[],
  ni: Uint8Array,
  keyPair: KeKeyPair | undefined,
  group: number | undefined,
  payloads: Payload[],
): Promise<void> {
  const { old, whack } = req;
  const ike = child.ike;
  if (old?.rekey) old.rekey.ours = undefined;
  engine.say(
    { sa: ike },
    `processing CREATE_CHILD_SA response from ${udpText(ike.remote)} containing SK{${
      payloadList(payloads, false)
    }}`,
  );
  const invalidKe = findNotify(payloads, NotifyType.INVALID_KE_PAYLOAD);
  if (invalidKe && invalidKe.data.length === 2 && group !== undefined) {
    const wanted = (invalidKe.data[0] << 8) | invalidKe.data[1];
    engine.removeChildSa(child);
    if (wanted !== group && offeredGroups(offer).includes(wanted)) {
      engine.say(
        { sa: ike },
        `received INVALID_KE_PAYLOAD suggesting KE ${keName(wanted)} instead of ${
          keName(group)
        }; resending CREATE_CHILD_SA request`,
      );
      await sendChildRequest(engine, { ...req, group: wanted });
      return;
    }
    engine.say(
      { sa: ike },
      `CREATE_CHILD_SA response: peer wants KE ${keName(wanted)}, which our proposals do not allow`,
    );
    whack?.finish(RC_FATAL);
    return;
  }
  const errors = errorNotifies(payloads);
  if (errors.length > 0) {
    const why = errors.map(notifyText).join(", ");
    engine.say({ child }, `CREATE_CHILD_SA response rejected Child SA with ${why}`);
    engine.removeChildSa(child);
    if (old && errors.some((e) => e.notifyType === NotifyType.TEMPORARY_FAILURE)) {
      retryRekey(engine, old, () => rekeyChild(engine, old, whack));
      return;
    }
    whack?.finish(RC_FATAL);
    return;
  }
  if (!checkChildAnswer(engine, ike, child, offer, payloads, "CREATE_CHILD_SA")) {
    whack?.finish(RC_FATAL);
    return;
  }
  const nr = findPayload(payloads, PayloadType.NONCE);
  let gir: Uint8Array | undefined;
  const keId = child.chosen!.keId;
  const problem = !nr
    ? "CREATE_CHILD_SA response lacks Nr"
    : keId && (!keyPair || keId !== group)
    ? `CREATE_CHILD_SA response chose KE ${keName(keId)}, which we did not send`
    : undefined;
  if (problem) {
    failChild(engine, ike, child, problem, child.outSpi);
    whack?.finish(RC_FATAL);
    return;
  }
  if (keId) {
    const ke = findPayload(payloads, PayloadType.KE);
    try {
      if (!ke || ke.group !== keId) {
        throw new KeError(keName(keId), "the answer has no KE payload for it");
      }
      gir = await keyPair!.sharedSecret(ke.data);
    } catch (e) {
      if (!(e instanceof KeError)) throw e;
      failChild(engine, ike, child, `CREATE_CHILD_SA response: ${e.message}`, child.outSpi);
      whack?.finish(RC_FATAL);
      return;
    }
  }
  const keying = { ni, nr: nr!.data, gir, initiator: true };
  if (!(await installChild(engine, ike, child, keying))) {
    whack?.finish(RC_FATAL);
    return;
  }
  engine.say(
    { child },
    `initiator ${
      old ? `rekeyed Child SA #${old.serial}` : "established Child SA"
    } using #${ike.serial}; IPsec ${child.mode} ${tsText(child.localTs, child.remoteTs)} ${
      childDetails(child)
    }`,
  );
  if (old) settleChildRekey(engine, old, child, keying);
  whack?.finish(0);
}

/**
 * Our rekey of `old` produced `ours`. Normally the old Child SA is deleted
 * now; when the peer rekeyed it at the same time, the Child SA created with
 * the lowest nonce is deleted by its creator instead, and the creator of the
 * survivor deletes the old one (§2.8.1).
 */
function settleChildRekey(
  engine: Engine,
  old: ChildSa,
  ours: ChildSa,
  nonces: { ni: Uint8Array; nr: Uint8Array },
): void {
  const peers = old.rekey?.peers;
  old.rekey = { replaced: true };
  if (peers && engine.childBySerial.has(peers.created.serial)) {
    if (oursIsRedundant(nonces, peers)) {
      engine.say(
        { child: ours },
        `simultaneous rekey of Child SA #${old.serial}: this one has the lowest nonce and is redundant; deleting it`,
      );
      ours.conn.newestChild = peers.created.serial;
      retire(engine, old, () => engine.deleteChildSa(old, true, () => {}));
      engine.deleteChildSa(ours, true, () => {});
      return;
    }
    engine.say(
      { child: ours },
      `simultaneous rekey of Child SA #${old.serial}: the peer deletes its redundant #${peers.created.serial}`,
    );
    ours.conn.newestChild = ours.serial;
  }
  retire(engine, old, () => {});
  engine.deleteChildSa(old, true, () => {});
}

// ---------------------------------------------------------------- responder

/** Answers a peer's CREATE_CHILD_SA request on an established IKE SA. */
export async function handleCreateChildRequest(
  engine: Engine,
  sa: IkeSa,
  header: IkeHeader,
  payloads: Payload[],
): Promise<void> {
  engine.say(
    { sa },
    `processing CREATE_CHILD_SA request from ${udpText(sa.remote)} containing SK{${
      payloadList(payloads, true)
    }}`,
  );
  const refuse = (why: string, type: number, n?: Payload) => {
    engine.say(
      { sa },
      `CREATE_CHILD_SA request refused with ${notifyText({ notifyType: type })}: ${why}`,
    );
    engine.count(`total.ikev2.sent.notifies.error.${type}`);
    engine.respond(sa, header, [n ?? notify(0, type)]);
  };
  const saP = findPayload(payloads, PayloadType.SA);
  const ni = findPayload(payloads, PayloadType.NONCE);
  if (!saP || !ni) {
    refuse("request lacks SA or Ni", NotifyType.INVALID_SYNTAX);
    return;
  }
  if (saP.proposals.some((p) => p.protocol === ProtocolId.IKE)) {
    await respondIkeRekey(engine, sa, header, payloads, refuse);
    return;
  }
  if (sa.rekey?.ours || sa.rekey?.replaced) {
    refuse(`IKE SA #${sa.serial} is being rekeyed`, NotifyType.TEMPORARY_FAILURE);
    return;
  }
  const rekeySa = notifies(payloads).find((n) => n.notifyType === NotifyType.REKEY_SA);
  let old: ChildSa | undefined;
  if (rekeySa) {
    if (rekeySa.protocol !== ProtocolId.ESP || rekeySa.spi.length !== 4) {
      refuse("REKEY_SA names no ESP SPI", NotifyType.INVALID_SYNTAX);
      return;
    }
    const spi = new DataView(rekeySa.spi.buffer, rekeySa.spi.byteOffset, 4).getUint32(0);
    old = [...sa.children].find((c) => c.established && c.outSpi === spi);
    if (!old) {
      refuse(
        `no Child SA with SPI ${spiText(spi)} to rekey`,
        NotifyType.CHILD_SA_NOT_FOUND,
        {
          type: PayloadType.N,
          protocol: ProtocolId.ESP,
          spi: rekeySa.spi,
          notifyType: NotifyType.CHILD_SA_NOT_FOUND,
          data: new Uint8Array(),
        },
      );
      return;
    }
    if (old.rekey?.replaced) {
      refuse(`Child SA #${old.serial} is already being replaced`, NotifyType.TEMPORARY_FAILURE);
      return;
    }
  }
  const conn = old ? old.conn : childConnection(engine, sa, payloads);
  const plan = planChild(
    engine,
    sa,
    conn,
    payloads,
    conn.config.pfs ? pfsGroupsFor(conn, sa) : undefined,
  );
  if (!plan) {
    refuse("request lacks TSi or TSr", NotifyType.INVALID_SYNTAX);
    return;
  }
  if (Array.isArray(plan)) {
    engine.respond(sa, header, plan);
    return;
  }
  const keId = plan.choice.chosen.keId;
  let gir: Uint8Array | undefined;
  let kePayload: Payload | undefined;
  if (keId) {
    const ke = findPayload(payloads, PayloadType.KE);
    if (!ke || ke.group !== keId) {
      engine.count(`total.ikev2.sent.invalidke.suggesting.${keName(keId)}`);
      refuse(
        `peer sent KE ${ke ? keName(ke.group) : "none"}, "${conn.name}" wants ${keName(keId)}`,
        NotifyType.INVALID_KE_PAYLOAD,
        notify(0, NotifyType.INVALID_KE_PAYLOAD, new Uint8Array([keId >> 8, keId & 0xff])),
      );
      return;
    }
    const pair = await engine.ke(keId)!.generate(engine.deps.entropy);
    try {
      gir = await pair.sharedSecret(ke.data);
    } catch (e) {
      if (!(e instanceof KeError)) throw e;
      refuse(`invalid KE: ${e.message}`, NotifyType.INVALID_SYNTAX);
      return;
    }
    kePayload = { type: PayloadType.KE, group: keId, data: pair.publicKey };
  }
  const nr = engine.random(NONCE_BYTES);
  const { child, payloads: answer } = await answerChild(
    engine,
    sa,
    plan,
    { ni: ni.data, nr, gir, initiator: false },
    old ? `rekeyed Child SA #${old.serial}` : "established Child SA",
  );
  if (!child) {
    engine.respond(sa, header, answer);
    return;
  }
  if (old) {
    // The peer deletes the old Child SA; unless we are rekeying it too (a collision
    // settled when our answer arrives), it is retired now.
    old.rekey = { ...old.rekey, peers: { ni: ni.data, nr, created: child } };
    if (!old.rekey.ours) {
      old.rekey.replaced = true;
      retire(engine, old, () => engine.deleteChildSa(old!, true, () => {}));
    }
  }
  const [saAnswer, ...rest] = answer;
  engine.respond(sa, header, [
    saAnswer,
    { type: PayloadType.NONCE, data: nr },
    ...(kePayload ? [kePayload] : []),
    ...rest,
  ]);
}

/**
 * The connection a new Child SA request is for: among the connections with
 * this IKE SA's hosts and IDs, the first whose subnets the proposed traffic
 * selectors cover; the IKE SA's own connection otherwise (its refusal then
 * explains the mismatch).
 */
function childConnection(engine: Engine, sa: IkeSa, payloads: Payload[]): Connection {
  const tsi = findPayload(payloads, PayloadType.TSi);
  const tsr = findPayload(payloads, PayloadType.TSr);
  if (!tsi || !tsr || !sa.peerId) return sa.conn;
  const peerTsi = tsi.selectors.map(fromWire).filter((s) => s !== undefined);
  const peerTsr = tsr.selectors.map(fromWire).filter((s) => s !== undefined);
  const list = [
    sa.conn,
    ...engine.candidates(sa.local.address, sa.remote.address).filter((c) => c !== sa.conn),
  ];
  return list.find((c) =>
    c.config.ikeVersion === 2 &&
    idMatches(remoteEnd(c).id, sa.peerId!) &&
    idMatches(localEnd(c).id, localEnd(sa.conn).id) &&
    narrow(selectorsOf(remoteEnd(c)), peerTsi) !== undefined &&
    narrow(selectorsOf(localEnd(c)), peerTsr) !== undefined
  ) ?? sa.conn;
}
