/**
 * IKE_AUTH (RFC 7296 §1.2, §2.15) with pre-shared keys, and the Child SA it
 * carries (§1.2, §2.9 traffic selectors, §2.17 keying). Both roles.
 */
import { formatSelector, hostSelector, type Selector } from "../config/addresses.ts";
import type { EndConfig } from "../config/connection.ts";
import { idFromWire, idMatches, idTypeName, type IkeId } from "../config/ids.ts";
import { formatEspProposals, type ProposalSpec } from "../config/proposals.ts";
import { findPsk } from "../config/secrets.ts";
import { encrAlgorithm } from "../crypto/encr.ts";
import { deriveChildSaKeys } from "../crypto/ikev2_kdf.ts";
import { integAlgorithm } from "../crypto/integ.ts";
import { constantTimeEqual, pskAuth, signedOctets } from "../crypto/psk_auth.ts";
import { KernelError } from "../kernel/kernel.ts";
import {
  AuthMethod,
  ExchangeType,
  NotifyType,
  PayloadType,
  ProtocolId,
} from "../wire/constants.ts";
import type { IkeHeader } from "../wire/header.ts";
import { findNotify, findPayload, type Payload, type Proposal } from "../wire/payloads.ts";
import { type Connection, localEnd, remoteEnd } from "./connection.ts";
import { type Engine, notify, RC_FATAL, udpText } from "./engine.ts";
import { type ChildSa, hex, type IkeSa, spiText } from "./ike_sa.ts";
import { childSaLimits, scheduleChildLifetime, scheduleIkeLifetime } from "./lifetimes.ts";
import { deleteChildPayload, sendDeleteIke } from "./informational.ts";
import { scheduleLiveness } from "./liveness.ts";
import { describeOffer, errorNotifies, notifyText, payloadList } from "./payload_text.ts";
import {
  acceptAnswer,
  chooseEsp,
  chooseIke,
  espAlgorithmText,
  espProposals,
  ikeAnswer,
  withSpi,
} from "./proposal.ts";
import { acceptNarrowed, fromWire, narrow, toWire } from "./traffic_selectors.ts";
import { NamedTimers } from "./timer_heap.ts";

/** Notifies that refuse only the Child SA, leaving the IKE SA up (RFC 7296 §1.2). */
const CHILD_ERRORS = new Set<number>([
  NotifyType.NO_PROPOSAL_CHOSEN,
  NotifyType.TS_UNACCEPTABLE,
  NotifyType.SINGLE_PAIR_REQUIRED,
  NotifyType.INTERNAL_ADDRESS_FAILURE,
  NotifyType.FAILED_CP_REQUIRED,
  NotifyType.INVALID_SELECTORS,
]);

/** An end's selectors: its subnets, or the host itself. */
export function selectorsOf(end: EndConfig): Selector[] {
  if (end.subnets.length > 0) return end.subnets;
  return end.host ? [hostSelector(end.host)] : [];
}

/** The ID payload body signed in AUTH: type, three reserved bytes, data (RFC 7296 §2.15). */
function idBody(id: { idType: number; data: Uint8Array }): Uint8Array {
  const b = new Uint8Array(4 + id.data.length);
  b[0] = id.idType;
  b.set(id.data, 4);
  return b;
}

/**
 * The peer's ID fits its end: the configured ID, or, when none was given, the
 * default (its address) — `%any` accepts anyone. Both roles use this, so an
 * initiator cannot be answered by whoever holds some other PSK of ours.
 */
function peerIdAcceptable(end: EndConfig, peerId: IkeId): boolean {
  if (end.id.type === 0) return true;
  if (!end.idExplicit && !end.host) return true;
  return idMatches(end.id, peerId);
}

/** `FQDN '@west'` */
function idText(id: IkeId): string {
  return `${idTypeName(id.type)} '${id.text}'`;
}

/** `[198.51.100.0/24===203.0.113.0/24]` */
export function tsText(local: Selector[], remote: Selector[]): string {
  return `[${local.map(formatSelector).join(" ")}===${remote.map(formatSelector).join(" ")}]`;
}

/** The `{ESP/ESN=>0x… <0x… xfrm=… DPD=passive}` block of Child SA log lines. */
export function childDetails(child: ChildSa): string {
  const c = child.chosen!;
  const esp = `ESP${child.ike.natT ? "inUDP" : ""}${c.esn ? "/ESN" : ""}`;
  return `{${esp}=>${spiText(child.outSpi!)} <${spiText(child.inSpi)} xfrm=${
    espAlgorithmText(c)
  } DPD=passive}`;
}

/** Initiator: sends IKE_AUTH with our ID, PSK AUTH and the first Child SA. */
export async function startIkeAuth(engine: Engine, sa: IkeSa): Promise<void> {
  const conn = sa.conn;
  const local = localEnd(conn), remote = remoteEnd(conn);
  const psk = findPsk([...engine.deps.secrets()], local.id, remote.id);
  if (!psk) {
    engine.say(
      { sa },
      `authentication failed: no PSK found for '${local.id.text}' and '${remote.id.text}' in the secrets file`,
    );
    engine.failInitiation(sa, RC_FATAL, false);
    return;
  }
  const childless = conn.config.childless;
  if (childless && !sa.peerChildless) {
    engine.say(
      { sa },
      "peer did not announce CHILDLESS_IKEV2_SUPPORTED (RFC 6023); cannot establish an IKE SA without a Child SA",
    );
    engine.failInitiation(sa, RC_FATAL, false);
    return;
  }
  let child: ChildSa | undefined;
  let espOffer: Proposal[] = [];
  if (!childless) {
    const inSpi = await engine.deps.kernel.allocateSpi(sa.remote.address, sa.local.address);
    child = {
      serial: engine.nextSerial(),
      ike: sa,
      conn,
      established: false,
      inSpi,
      localTs: selectorsOf(local),
      remoteTs: selectorsOf(remote),
      mode: conn.config.type === "transport" ? "transport" : "tunnel",
      events: new NamedTimers(),
      installed: false,
    };
    engine.registerChild(child);
    espOffer = espProposals(conn.config.esp, inSpi, () => [], conn.config.esn);
  }
  const idi = { type: PayloadType.IDi, idType: local.id.type, data: local.id.data } as const;
  const octets = signedOctets(sa.prf!, sa.initRequest!, sa.nr!, sa.keys!.skPi, idBody(idi));
  const payloads: Payload[] = [idi];
  if (conn.config.initialContact) payloads.push(notify(0, NotifyType.INITIAL_CONTACT));
  if (remote.idExplicit) {
    payloads.push({ type: PayloadType.IDr, idType: remote.id.type, data: remote.id.data });
  }
  payloads.push({
    type: PayloadType.AUTH,
    method: AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE,
    data: pskAuth(sa.prf!, psk, octets),
  });
  if (child) {
    if (child.mode === "transport") payloads.push(notify(0, NotifyType.USE_TRANSPORT_MODE));
    payloads.push(
      { type: PayloadType.SA, proposals: espOffer },
      { type: PayloadType.TSi, selectors: child.localTs.map(toWire) },
      { type: PayloadType.TSr, selectors: child.remoteTs.map(toWire) },
    );
  }
  sa.state = "IKE_AUTH_I";
  engine.sendRequest(
    sa,
    ExchangeType.IKE_AUTH,
    (id) => engine.sealed(sa, ExchangeType.IKE_AUTH, id, false, payloads),
    (p) => handleAuthResponse(engine, sa, child, espOffer, p),
  );
  engine.say(
    { sa },
    `sent IKE_AUTH request to ${udpText(sa.remote)} with shared-key-mac and ${idText(local.id)}${
      child
        ? `; Child SA #${child.serial} {ESP <${spiText(child.inSpi)}} ${
          tsText(child.localTs, child.remoteTs)
        }`
        : ""
    }`,
  );
}

async function handleAuthResponse(
  engine: Engine,
  sa: IkeSa,
  child: ChildSa | undefined,
  espOffer: Proposal[],
  payloads: Payload[],
): Promise<void> {
  const conn = sa.conn;
  const local = localEnd(conn), remote = remoteEnd(conn);
  engine.say(
    { sa },
    `processing IKE_AUTH response from ${udpText(sa.remote)} containing SK{${
      payloadList(payloads, false)
    }}`,
  );
  const idr = findPayload(payloads, PayloadType.IDr);
  const auth = findPayload(payloads, PayloadType.AUTH);
  const errors = errorNotifies(payloads);
  if (!idr || !auth) {
    const why = errors.length ? errors.map(notifyText).join(", ") : "response lacks IDr or AUTH";
    engine.say({ sa }, `IKE SA authentication request rejected by peer: ${why}`);
    engine.say({ sa }, `encountered fatal error in state ${sa.state}`);
    engine.failInitiation(sa, RC_FATAL, false);
    return;
  }
  const peerId = idFromWire(idr.idType, idr.data);
  const rejectPeer = (why: string) => {
    engine.say({ sa }, why);
    engine.say({ sa }, `encountered fatal error in state ${sa.state}`);
    // The peer thinks the IKE SA is up; tell it, once, that it is not.
    sendDeleteIke(engine, sa, () => {}, false);
    engine.failInitiation(sa, RC_FATAL, false);
  };
  if (!peerIdAcceptable(remote, peerId)) {
    rejectPeer(`peer ID ${idText(peerId)} does not match the expected ${idText(remote.id)}`);
    return;
  }
  if (auth.method !== AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE) {
    rejectPeer(
      `peer authenticated with method ${auth.method}; this connection uses a pre-shared key`,
    );
    return;
  }
  const psk = findPsk([...engine.deps.secrets()], local.id, peerId);
  const expected = psk &&
    pskAuth(
      sa.prf!,
      psk,
      signedOctets(sa.prf!, sa.initResponse!, sa.ni!, sa.keys!.skPr, idBody(idr)),
    );
  if (!expected || !constantTimeEqual(expected, auth.data)) {
    rejectPeer(
      psk
        ? `authentication failed: AUTH from ${
          idText(peerId)
        } does not match our PSK for '${local.id.text}' and '${peerId.text}'`
        : `authentication failed: no PSK found for '${local.id.text}' and '${peerId.text}'`,
    );
    return;
  }
  establishIke(engine, sa, peerId, "initiator");
  if (!child) {
    engine.release(sa, 0); // childless (RFC 6023): the IKE SA is all we asked for
    return;
  }
  // The Child SA.
  const childErrors = errors.filter((e) => CHILD_ERRORS.has(e.notifyType));
  if (childErrors.length > 0) {
    failChild(
      engine,
      sa,
      child,
      `IKE_AUTH response rejected Child SA with ${childErrors.map(notifyText).join(", ")}`,
    );
    if (childErrors.some((e) => e.notifyType === NotifyType.NO_PROPOSAL_CHOSEN)) {
      engine.say(
        { sa },
        `peer accepted none of our ESP proposals: ${formatEspProposals(conn.config.esp)}`,
      );
    }
    return;
  }
  if (!checkChildAnswer(engine, sa, child, espOffer, payloads, "IKE_AUTH")) return;
  if (!(await installChild(engine, sa, child))) return;
  engine.say(
    { child },
    `initiator established Child SA using #${sa.serial}; IPsec ${child.mode} ${
      tsText(child.localTs, child.remoteTs)
    } ${childDetails(child)}`,
  );
  engine.release(sa, 0);
}

/**
 * Initiator check of the Child SA part of a response: proposal, traffic
 * selectors and mode. Fills in the Child SA's answer fields and returns
 * true, or fails the Child SA (telling the peer) and returns false.
 */
export function checkChildAnswer(
  engine: Engine,
  sa: IkeSa,
  child: ChildSa,
  espOffer: Proposal[],
  payloads: Payload[],
  exchange: string,
): boolean {
  const conn = child.conn;
  const saP = findPayload(payloads, PayloadType.SA);
  const tsi = findPayload(payloads, PayloadType.TSi);
  const tsr = findPayload(payloads, PayloadType.TSr);
  if (!saP || !tsi || !tsr) {
    failChild(engine, sa, child, `${exchange} response has no Child SA (SA, TSi and TSr missing)`);
    return false;
  }
  if (peerSpi(saP.proposals) === undefined) {
    failChild(engine, sa, child, "Child SA answer has no 4-byte ESP SPI");
    return false;
  }
  const chosen = acceptAnswer(espOffer, saP.proposals, ProtocolId.ESP);
  if (typeof chosen === "string") {
    failChild(engine, sa, child, `Child SA answer rejected: ${chosen}`, peerSpi(saP.proposals));
    return false;
  }
  const localTs = tsi.selectors.map(fromWire).filter((s): s is Selector => s !== undefined);
  const remoteTs = tsr.selectors.map(fromWire).filter((s): s is Selector => s !== undefined);
  if (
    !acceptNarrowed(child.localTs, localTs, conn.config.narrowing) ||
    !acceptNarrowed(child.remoteTs, remoteTs, conn.config.narrowing)
  ) {
    failChild(
      engine,
      sa,
      child,
      `Child SA traffic selectors ${tsText(localTs, remoteTs)} do not match the proposed ${
        tsText(child.localTs, child.remoteTs)
      }`,
      peerSpi(saP.proposals),
    );
    return false;
  }
  const transport = findNotify(payloads, NotifyType.USE_TRANSPORT_MODE) !== undefined;
  if ((child.mode === "transport") !== transport) {
    failChild(
      engine,
      sa,
      child,
      `peer answered ${transport ? "transport" : "tunnel"} mode; we asked for ${child.mode}`,
      peerSpi(saP.proposals),
    );
    return false;
  }
  child.localTs = localTs;
  child.remoteTs = remoteTs;
  child.outSpi = peerSpi(saP.proposals);
  child.chosen = chosen;
  return true;
}

/** The SPI of the first proposal of an ESP SA payload. */
export function peerSpi(proposals: Proposal[]): number | undefined {
  const spi = proposals[0]?.spi;
  return spi && spi.length === 4
    ? new DataView(spi.buffer, spi.byteOffset, 4).getUint32(0)
    : undefined;
}

/** The IKE SA is authenticated: record it, arm its lifetime. */
function establishIke(
  engine: Engine,
  sa: IkeSa,
  peerId: IkeId,
  role: "initiator" | "responder",
): void {
  sa.state = "ESTABLISHED_IKE_SA";
  sa.peerId = peerId;
  sa.establishedAt = engine.now();
  sa.conn.newestIke = sa.serial;
  // AUTH is verified: the ephemeral key and the signed IKE_SA_INIT messages are no longer
  // needed (~2 KB per SA); the responder still signs its own response below, then drops it.
  sa.keyPair = undefined;
  sa.initRequest = undefined;
  if (role === "initiator") sa.initResponse = undefined;
  if (sa.halfOpenKey) {
    engine.halfOpen.delete(sa.halfOpenKey);
    sa.halfOpenKey = undefined;
  }
  sa.events.get("DISCARD")?.cancel();
  sa.events.delete("DISCARD");
  engine.count("total.ike.ikev2.established");
  engine.say(
    { sa },
    `${role} established IKE SA; authenticated peer using authby=secret and ${idText(peerId)}`,
  );
  scheduleIkeLifetime(engine, sa);
  scheduleKeepalive(engine, sa);
  scheduleLiveness(engine, sa);
}

/** Behind a NAT we keep its mapping open with keepalives (RFC 3948 §2.3). */
export function scheduleKeepalive(engine: Engine, sa: IkeSa): void {
  if (!sa.natT || !sa.natDetected?.local || !sa.conn.config.natKeepalive) return;
  engine.schedule(sa, "NAT_KEEPALIVE", engine.deps.keepAlive * 1000, () => {
    if (sa.deleted) return;
    engine.deps.transport.sendKeepalive(sa.local, sa.remote);
    scheduleKeepalive(engine, sa);
  });
}

/**
 * The exchange a Child SA is keyed from (RFC 7296 §2.17): its nonces, the
 * new shared secret when it carried KE payloads, and whether we initiated it.
 */
export interface ChildKeying {
  ni: Uint8Array;
  nr: Uint8Array;
  gir?: Uint8Array;
  initiator: boolean;
}

/** Derives Child SA keys and installs both directions; false (and the Child SA gone) on failure. */
export async function installChild(
  engine: Engine,
  sa: IkeSa,
  child: ChildSa,
  keying: ChildKeying = { ni: sa.ni!, nr: sa.nr!, initiator: sa.initiator },
): Promise<boolean> {
  const c = child.chosen!;
  const encr = encrAlgorithm(c.encrId, c.encrKeyBits)!;
  const integ = c.integId ? integAlgorithm(c.integId) : undefined;
  const { ni, nr, gir } = keying;
  const keys = deriveChildSaKeys(sa.prf!, sa.keys!.skD, encr, integ, ni, nr, gir);
  // Keys i→r protect what the initiator of the keying exchange sends.
  const outKeys = keying.initiator
    ? { e: keys.encrI, a: keys.integI }
    : { e: keys.encrR, a: keys.integR };
  const inKeys = keying.initiator
    ? { e: keys.encrR, a: keys.integR }
    : { e: keys.encrI, a: keys.integI };
  if (engine.deps.log.isDebug("private")) {
    const p = engine.prefix({ child });
    engine.deps.log.debug(
      "private",
      p,
      `ESP inbound ${spiText(child.inSpi)} encr key: ${hex(inKeys.e)}`,
    );
    engine.deps.log.debug(
      "private",
      p,
      `ESP inbound ${spiText(child.inSpi)} integ key: ${hex(inKeys.a)}`,
    );
    engine.deps.log.debug(
      "private",
      p,
      `ESP outbound ${spiText(child.outSpi!)} encr key: ${hex(outKeys.e)}`,
    );
    engine.deps.log.debug(
      "private",
      p,
      `ESP outbound ${spiText(child.outSpi!)} integ key: ${hex(outKeys.a)}`,
    );
  }
  const base = {
    mode: child.mode,
    encrId: c.encrId,
    encrKeyBits: encr.keyBits,
    integId: c.integId,
    esn: c.esn ?? false,
    replayWindow: sa.conn.config.replayWindow,
    limits: childSaLimits(sa.conn.config, keying.initiator),
    peerReady: keying.initiator,
  };
  // RFC 3948: behind a NAT, ESP travels in UDP on the IKE NAT-T ports.
  const encap = sa.natT ? { srcPort: sa.local.port, dstPort: sa.remote.port } : undefined;
  const unrouted = await engine.updown.route(child); // updown prepare and route
  if (unrouted) {
    failChild(engine, sa, child, `cannot install Child SA: ${unrouted}`, child.outSpi);
    return false;
  }
  try {
    await engine.deps.kernel.addSa({
      ...base,
      src: sa.remote.address,
      dst: sa.local.address,
      spi: child.inSpi,
      inbound: true,
      encap: encap && { srcPort: encap.dstPort, dstPort: encap.srcPort },
      encrKey: inKeys.e,
      integKey: inKeys.a,
      srcSelector: child.remoteTs[0],
      dstSelector: child.localTs[0],
    });
    await engine.deps.kernel.addSa({
      ...base,
      src: sa.local.address,
      dst: sa.remote.address,
      spi: child.outSpi!,
      inbound: false,
      encap,
      encrKey: outKeys.e,
      integKey: outKeys.a,
      srcSelector: child.localTs[0],
      dstSelector: child.remoteTs[0],
    });
  } catch (e) {
    if (!(e instanceof KernelError)) throw e;
    engine.deps.kernel.deleteSa(sa.local.address, child.inSpi).catch((e: Error) =>
      engine.say({ child }, `kernel: ${e.message}`, "warning")
    );
    failChild(engine, sa, child, `cannot install Child SA: ${e.message}`, child.outSpi);
    return false;
  }
  const log = engine.deps.keyLog;
  if (log) {
    const record = { encrId: c.encrId, encrKeyBits: encr.keyBits, integId: c.integId };
    log.esp({
      ...record,
      src: sa.remote.address,
      dst: sa.local.address,
      spi: child.inSpi,
      encrKey: inKeys.e,
      integKey: inKeys.a,
    });
    log.esp({
      ...record,
      src: sa.local.address,
      dst: sa.remote.address,
      spi: child.outSpi!,
      encrKey: outKeys.e,
      integKey: outKeys.a,
    });
  }
  child.installed = true;
  child.established = true;
  child.addTime = engine.deps.clock.epochSeconds();
  const refused = await engine.updown.up(child); // updown up
  if (refused) {
    failChild(engine, sa, child, `cannot install Child SA: ${refused}`, child.outSpi);
    return false;
  }
  child.conn.newestChild = child.serial;
  engine.count("total.ikev2.child.established");
  scheduleChildLifetime(engine, child, keying.initiator);
  return true;
}

/**
 * The Child SA could not be set up; the IKE SA stays. When the peer already
 * has it (we know its SPI) the peer is told to delete its side.
 */
export function failChild(
  engine: Engine,
  sa: IkeSa,
  child: ChildSa,
  why: string,
  peerSpiValue?: number,
): void {
  engine.say({ child }, why);
  engine.removeChildSa(child);
  if (peerSpiValue !== undefined && sa.state === "ESTABLISHED_IKE_SA" && sa.initiator) {
    engine.sendRequest(
      sa,
      ExchangeType.INFORMATIONAL,
      (id) =>
        engine.sealed(sa, ExchangeType.INFORMATIONAL, id, false, [deleteChildPayload(child.inSpi)]),
      () => {},
      () => {},
    );
  }
  engine.release(sa, RC_FATAL);
}

/** Responder: authenticates the initiator, answers with our AUTH and the Child SA (or why not). */
export async function handleAuthRequest(
  engine: Engine,
  sa: IkeSa,
  header: IkeHeader,
  payloads: Payload[],
  _from: unknown,
): Promise<void> {
  engine.say(
    { sa },
    `processing IKE_AUTH request from ${udpText(sa.remote)} containing SK{${
      payloadList(payloads, true)
    }}`,
  );
  const idi = findPayload(payloads, PayloadType.IDi);
  const idrP = findPayload(payloads, PayloadType.IDr);
  const auth = findPayload(payloads, PayloadType.AUTH);
  const fail = (why: string, n: number = NotifyType.AUTHENTICATION_FAILED) => {
    engine.say({ sa }, why);
    engine.count(`total.ikev2.sent.notifies.error.${n}`);
    engine.respond(sa, header, [notify(0, n)]);
    engine.removeIkeSa(sa, "sent IKE_SA_INIT response");
  };
  if (!idi || !auth) {
    fail(`IKE_AUTH request lacks IDi or AUTH; answering INVALID_SYNTAX`, NotifyType.INVALID_SYNTAX);
    return;
  }
  const peerId = idFromWire(idi.idType, idi.data);
  const wantedUs = idrP ? idFromWire(idrP.idType, idrP.data) : undefined;
  const conn = pickConnection(engine, sa, peerId, wantedUs);
  if (!conn) {
    const c = sa.conn, r = remoteEnd(c), l = localEnd(c);
    fail(
      `no connection matches peer ${idText(peerId)}${
        wantedUs ? ` asking for ${idText(wantedUs)}` : ""
      }; "${c.name}" expects peer '${r.id.text}' and us '${l.id.text}'`,
    );
    return;
  }
  sa.conn = conn;
  const local = localEnd(conn);
  if (auth.method !== AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE) {
    fail(
      `peer ${
        idText(peerId)
      } authenticated with method ${auth.method}; "${conn.name}" uses a pre-shared key`,
    );
    return;
  }
  const psk = findPsk([...engine.deps.secrets()], local.id, peerId);
  if (!psk) {
    fail(`authentication failed: no PSK found for '${local.id.text}' and '${peerId.text}'`);
    return;
  }
  const expected = pskAuth(
    sa.prf!,
    psk,
    signedOctets(sa.prf!, sa.initRequest!, sa.nr!, sa.keys!.skPi, idBody(idi)),
  );
  if (!constantTimeEqual(expected, auth.data)) {
    fail(
      `authentication failed: AUTH from ${
        idText(peerId)
      } does not match our PSK for '${local.id.text}' and '${peerId.text}'`,
    );
    return;
  }
  establishIke(engine, sa, peerId, "responder");
  const idr = { type: PayloadType.IDr, idType: local.id.type, data: local.id.data } as const;
  const response: Payload[] = [
    idr,
    {
      type: PayloadType.AUTH,
      method: AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE,
      data: pskAuth(
        sa.prf!,
        psk,
        signedOctets(sa.prf!, sa.initResponse!, sa.ni!, sa.keys!.skPr, idBody(idr)),
      ),
    },
  ];
  response.push(...(await respondChild(engine, sa, conn, payloads)));
  engine.respond(sa, header, response);
  // Signed and keyed: later exchanges bring their own nonces.
  sa.initResponse = sa.ni = sa.nr = undefined;
}

/** Among the connections for this host pair, one whose IDs and IKE algorithms fit; the current one first. */
function pickConnection(
  engine: Engine,
  sa: IkeSa,
  peerId: IkeId,
  wantedUs: IkeId | undefined,
): Connection | undefined {
  const list = [
    sa.conn,
    ...engine.candidates(sa.local.address, sa.remote.address).filter((c) => c !== sa.conn),
  ];
  const answer = [ikeAnswer(1, sa.chosen!)];
  return list.find((c) => {
    const l = localEnd(c), r = remoteEnd(c);
    if (!peerIdAcceptable(r, peerId)) return false;
    if (wantedUs && !idMatches(wantedUs, l.id)) return false;
    return c === sa.conn || chooseIke(c.config.ike, answer, sa.keGroup) !== undefined;
  });
}

/** The responder's Child SA part of the IKE_AUTH answer. */
async function respondChild(
  engine: Engine,
  sa: IkeSa,
  conn: Connection,
  payloads: Payload[],
): Promise<Payload[]> {
  const plan = planChild(engine, sa, conn, payloads);
  if (!plan) return []; // No Child SA requested.
  if (Array.isArray(plan)) return plan;
  const keying = { ni: sa.ni!, nr: sa.nr!, initiator: false };
  return (await answerChild(engine, sa, plan, keying, "established Child SA")).payloads;
}

/** What the responder agreed to build for a requested Child SA. */
export interface ChildPlan {
  conn: Connection;
  choice: NonNullable<ReturnType<typeof chooseEsp>>;
  localTs: Selector[];
  remoteTs: Selector[];
  mode: "tunnel" | "transport";
}

/**
 * Responder decision on the Child SA a request asks for: the plan, the
 * notify refusing it (logged with why), or undefined when none was asked.
 * `pfsGroups` are the KE groups acceptable in CREATE_CHILD_SA (see chooseEsp).
 */
export function planChild(
  engine: Engine,
  sa: IkeSa,
  conn: Connection,
  payloads: Payload[],
  pfsGroups?: (spec: ProposalSpec) => number[],
): ChildPlan | Payload[] | undefined {
  const saP = findPayload(payloads, PayloadType.SA);
  const tsi = findPayload(payloads, PayloadType.TSi);
  const tsr = findPayload(payloads, PayloadType.TSr);
  if (!saP || !tsi || !tsr) return undefined;
  const local = localEnd(conn), remote = remoteEnd(conn);
  const choice = chooseEsp(conn.config.esp, saP.proposals, conn.config.esn, pfsGroups);
  if (!choice) {
    engine.say(
      { sa },
      `Child SA refused with NO_PROPOSAL_CHOSEN: peer offered ${
        describeOffer(saP.proposals)
      }; "${conn.name}" accepts ${formatEspProposals(conn.config.esp)}`,
    );
    return [notify(0, NotifyType.NO_PROPOSAL_CHOSEN)];
  }
  const peerTsi = tsi.selectors.map(fromWire).filter((s): s is Selector => s !== undefined);
  const peerTsr = tsr.selectors.map(fromWire).filter((s): s is Selector => s !== undefined);
  const remoteTs = narrow(selectorsOf(remote), peerTsi);
  const localTs = narrow(selectorsOf(local), peerTsr);
  if (!remoteTs || !localTs) {
    engine.say(
      { sa },
      `Child SA refused with TS_UNACCEPTABLE: peer proposed ${
        tsText(peerTsi, peerTsr)
      }; "${conn.name}" requires ${tsText(selectorsOf(remote), selectorsOf(local))}`,
    );
    return [notify(0, NotifyType.TS_UNACCEPTABLE)];
  }
  const wantsTransport = findNotify(payloads, NotifyType.USE_TRANSPORT_MODE) !== undefined;
  const mode = conn.config.type === "transport" && wantsTransport ? "transport" : "tunnel";
  if (conn.config.type === "transport" && !wantsTransport) {
    engine.say(
      { sa },
      `Child SA refused with NO_PROPOSAL_CHOSEN: "${conn.name}" requires transport mode, peer asked for tunnel`,
    );
    return [notify(0, NotifyType.NO_PROPOSAL_CHOSEN)];
  }
  return { conn, choice, localTs, remoteTs, mode };
}

/**
 * Responder: creates and installs the planned Child SA and builds the answer
 * (SA, TSi, TSr); `what` completes the log line ("established Child SA",
 * "rekeyed Child SA #2").
 */
export async function answerChild(
  engine: Engine,
  sa: IkeSa,
  plan: ChildPlan,
  keying: ChildKeying,
  what: string,
): Promise<{ child?: ChildSa; payloads: Payload[] }> {
  const { conn, choice, localTs, remoteTs, mode } = plan;
  const inSpi = await engine.deps.kernel.allocateSpi(sa.remote.address, sa.local.address);
  const child: ChildSa = {
    serial: engine.nextSerial(),
    ike: sa,
    conn,
    established: false,
    inSpi,
    outSpi: choice.peerSpi,
    chosen: choice.chosen,
    localTs,
    remoteTs,
    mode,
    events: new NamedTimers(),
    installed: false,
  };
  engine.registerChild(child);
  if (!(await installChild(engine, sa, child, keying))) {
    return { payloads: [notify(0, NotifyType.NO_PROPOSAL_CHOSEN)] };
  }
  engine.say(
    { child },
    `responder ${what} using #${sa.serial}; IPsec ${mode} ${tsText(localTs, remoteTs)} ${
      childDetails(child)
    }`,
  );
  const answer: Payload[] = [
    { type: PayloadType.SA, proposals: [withSpi(choice.proposal, inSpi)] },
    { type: PayloadType.TSi, selectors: remoteTs.map(toWire) },
    { type: PayloadType.TSr, selectors: localTs.map(toWire) },
  ];
  if (mode === "transport") answer.push(notify(0, NotifyType.USE_TRANSPORT_MODE));
  return { child, payloads: answer };
}
