/**
 * IKE_SA_INIT (RFC 7296 §1.2): both roles. Negotiates the IKE SA algorithms,
 * exchanges KE and nonces and derives the keys; handles INVALID_KE_PAYLOAD
 * (§1.3) and COOKIE (§2.6) answers as initiator.
 */
import { formatAddress } from "../config/addresses.ts";
import { formatIkeProposals } from "../config/proposals.ts";
import { keName } from "../config/algorithm_names.ts";
import { encrAlgorithm } from "../crypto/encr.ts";
import { integAlgorithm } from "../crypto/integ.ts";
import { deriveIkeSaKeys, rekeySkeyseed, skeyseed } from "../crypto/ikev2_kdf.ts";
import { KeError } from "../crypto/ke.ts";
import { prfAlgorithm } from "../crypto/prf.ts";
import type { Endpoint } from "../net/transport.ts";
import {
  ExchangeType,
  FLAG_INITIATOR,
  FLAG_RESPONSE,
  IKEV2_VERSION,
  NotifyType,
  PayloadType,
} from "../wire/constants.ts";
import type { IkeHeader } from "../wire/header.ts";
import {
  decodeMessage,
  findNotify,
  findPayload,
  notifies,
  type Payload,
  type Proposal,
} from "../wire/payloads.ts";
import { type Connection, localEnd, remoteEnd } from "./connection.ts";
import {
  endpointText,
  type Engine,
  notify,
  packetPrefix,
  plainMessage,
  RC_FATAL,
  udpText,
} from "./engine.ts";
import { describeOffer, errorNotifies, notifyText, payloadList } from "./payload_text.ts";
import { hex, IDLE_QUEUE, type IkeSa, spiKey, type WhackObserver } from "./ike_sa.ts";
import { startIkeAuth } from "./ike_auth.ts";
import { natHash } from "./nat_detection.ts";
import { acceptAnswer, chooseIke, type Chosen, describeIke, ikeProposals } from "./proposal.ts";
import { NamedTimers } from "./timer_heap.ts";

const NONCE_BYTES = 32;
/** COOKIE and INVALID_KE_PAYLOAD answers followed before giving up (a responder could bounce us forever). */
const MAX_INIT_RETRIES = 3;
/** How long a responder keeps a half-open IKE SA waiting for IKE_AUTH. */
const HALF_OPEN_MS = 30_000;

/** Starts a new IKE SA for `conn` as initiator. */
export function startIkeSaInit(
  engine: Engine,
  conn: Connection,
  whack: WhackObserver | undefined,
  asyncReply: WhackObserver | undefined,
): void {
  const local = localEnd(conn), remote = remoteEnd(conn);
  if (!remote.host || !local.host) {
    const w = whack ?? asyncReply;
    w?.line(`"${conn.name}": cannot initiate connection without knowing peer IP address`);
    w?.finish(29);
    return;
  }
  let spiI: Uint8Array;
  do spiI = engine.random(8); while (spiKey(spiI) === 0n || engine.ikeBySpi.has(spiKey(spiI)));
  // SPIi and SPIr are two views of one buffer (one allocation per SA, not two);
  // SPIr stays zero until the response fills it in.
  const spis = new Uint8Array(16);
  spis.set(spiI);
  const sa: IkeSa = {
    serial: engine.nextSerial(),
    conn,
    initiator: true,
    spiI: spis.subarray(0, 8),
    spiR: spis.subarray(8),
    ourSpi: spiKey(spiI),
    local: { address: local.host, port: engine.ikePort },
    remote: { address: remote.host, port: remote.ikePort },
    state: "IKE_SA_INIT_I",
    attempt: conn.attempts,
    keGroup: conn.config.ike[0].ke[0],
    sentProposals: ikeProposals(conn.config.ike),
    nextRequestId: 0,
    expectedRequestId: 0,
    children: [],
    whacks: whack ? new Set([whack]) : undefined,
    queue: IDLE_QUEUE,
    events: new NamedTimers(),
    deleted: false,
  };
  engine.registerIke(sa);
  engine.count("total.ikev2.ike.started");
  const text = `initiating IKEv2 connection to ${formatAddress(sa.remote.address)} using UDP`;
  engine.say({ sa }, text);
  if (asyncReply) {
    asyncReply.line(engine.prefix({ sa }) + text);
    asyncReply.finish(0);
  }
  engine.enqueue(sa, () => sendInit(engine, sa));
}

/** (Re)sends our IKE_SA_INIT request with a fresh KE for `sa.keGroup`. */
async function sendInit(engine: Engine, sa: IkeSa, fresh = true): Promise<void> {
  const ke = engine.ke(sa.keGroup);
  if (!ke) {
    engine.say({ sa }, `KE ${keName(sa.keGroup)} is not implemented`, "error");
    engine.failInitiation(sa, RC_FATAL, false);
    return;
  }
  // A COOKIE retry repeats the request with every other payload unchanged
  // (RFC 7296 §2.6): responders compute the cookie over Ni.
  if (fresh || !sa.keyPair || !sa.ni) {
    sa.keyPair = await ke.generate(engine.deps.entropy);
    sa.ni = engine.random(NONCE_BYTES);
  }
  const zero = new Uint8Array(8);
  const payloads: Payload[] = [];
  if (sa.cookie) payloads.push(notify(0, NotifyType.COOKIE, sa.cookie));
  payloads.push(
    { type: PayloadType.SA, proposals: sa.sentProposals ?? [] },
    { type: PayloadType.KE, group: sa.keGroup, data: sa.keyPair.publicKey },
    { type: PayloadType.NONCE, data: sa.ni },
    notify(0, NotifyType.NAT_DETECTION_SOURCE_IP, sourceHash(engine, sa, zero)),
    notify(0, NotifyType.NAT_DETECTION_DESTINATION_IP, natHash(sa.spiI, zero, sa.remote)),
    notify(0, NotifyType.CHILDLESS_IKEV2_SUPPORTED),
  );
  sa.nextRequestId = 0;
  engine.sendRequest(sa, ExchangeType.IKE_SA_INIT, (messageId) => {
    const packet = plainMessage({
      spiI: sa.spiI,
      spiR: zero,
      version: IKEV2_VERSION,
      exchange: ExchangeType.IKE_SA_INIT,
      flags: FLAG_INITIATOR,
      messageId,
    }, payloads);
    sa.initRequest = packet;
    return packet;
  }, (p, raw, header) => handleInitResponse(engine, sa, p, raw, header));
  engine.say({ sa }, `sent IKE_SA_INIT request to ${udpText(sa.remote)}`);
}

async function handleInitResponse(
  engine: Engine,
  sa: IkeSa,
  payloads: Payload[],
  raw: Uint8Array,
  header: IkeHeader,
): Promise<void> {
  const conn = sa.conn;
  for (const n of notifies(payloads)) {
    if (
      n.notifyType === NotifyType.COOKIE && n.data.length >= 1 && n.data.length <= 64 &&
      (sa.retries ?? 0) < MAX_INIT_RETRIES
    ) {
      sa.retries = (sa.retries ?? 0) + 1;
      sa.cookie = n.data.slice();
      engine.say({ sa }, "received COOKIE; resending IKE_SA_INIT request with it");
      await sendInit(engine, sa, false);
      return;
    }
    if (n.notifyType === NotifyType.INVALID_KE_PAYLOAD && n.data.length === 2) {
      const group = (n.data[0] << 8) | n.data[1];
      const acceptable = conn.config.ike.some((p) => p.ke.includes(group));
      engine.count(`total.ikev2.recv.invalidke.suggesting.${keName(group)}`);
      if (acceptable && group !== sa.keGroup && (sa.retries ?? 0) < MAX_INIT_RETRIES) {
        sa.retries = (sa.retries ?? 0) + 1;
        engine.say(
          { sa },
          `received INVALID_KE_PAYLOAD suggesting KE ${keName(group)} instead of ${
            keName(sa.keGroup)
          }; resending IKE_SA_INIT request`,
        );
        sa.keGroup = group;
        await sendInit(engine, sa);
        return;
      }
      engine.say(
        { sa },
        `IKE_SA_INIT response: peer wants KE ${keName(group)}, which our proposals do not allow (${
          formatIkeProposals(conn.config.ike)
        })`,
      );
      engine.failInitiation(sa, RC_FATAL, false);
      return;
    }
  }
  const errors = errorNotifies(payloads);
  if (errors.length > 0) {
    const why = errors.map(notifyText).join(", ");
    engine.say({ sa }, `IKE_SA_INIT request rejected by peer: ${why}`);
    if (errors.some((e) => e.notifyType === NotifyType.NO_PROPOSAL_CHOSEN)) {
      engine.say(
        { sa },
        `peer accepted none of our IKE proposals: ${formatIkeProposals(conn.config.ike)}`,
      );
    }
    engine.say({ sa }, `encountered fatal error in state ${sa.state}`);
    engine.failInitiation(sa, RC_FATAL, false);
    return;
  }
  const saP = findPayload(payloads, PayloadType.SA);
  const keP = findPayload(payloads, PayloadType.KE);
  const nr = findPayload(payloads, PayloadType.NONCE);
  if (!saP || !keP || !nr) {
    engine.say(
      { sa },
      `IKE_SA_INIT response is missing SA, KE or Nr (${payloadList(payloads, false)})`,
    );
    engine.failInitiation(sa, RC_FATAL, false);
    return;
  }
  const chosen = acceptAnswer(sa.sentProposals ?? [], saP.proposals, 1);
  if (typeof chosen === "string") {
    engine.say({ sa }, `IKE_SA_INIT response rejected: ${chosen}`);
    engine.failInitiation(sa, RC_FATAL, false);
    return;
  }
  // Answered: our offer (every configured proposal, ~4 KB) is not needed again.
  sa.sentProposals = undefined;
  if (chosen.keId !== sa.keGroup || keP.group !== sa.keGroup) {
    engine.say(
      { sa },
      `IKE_SA_INIT response uses KE ${keName(keP.group)} but we sent ${keName(sa.keGroup)}`,
    );
    engine.failInitiation(sa, RC_FATAL, false);
    return;
  }
  sa.spiR.set(header.spiR);
  sa.nr = nr.data.slice();
  sa.initResponse = raw;
  let gir: Uint8Array;
  try {
    gir = await sa.keyPair!.sharedSecret(keP.data);
  } catch (e) {
    if (!(e instanceof KeError)) throw e;
    engine.say({ sa }, `IKE_SA_INIT response has an invalid KE: ${e.message}`);
    engine.failInitiation(sa, RC_FATAL, false);
    return;
  }
  deriveKeys(engine, sa, chosen, gir);
  sa.natDetected = natDetection(sa, payloads, sa.spiR);
  sa.peerChildless = findNotify(payloads, NotifyType.CHILDLESS_IKEV2_SUPPORTED) !== undefined;
  engine.say(
    { sa },
    `processed IKE_SA_INIT response from ${udpText(sa.remote)} ${
      describeIke(chosen)
    }, initiating IKE_AUTH`,
  );
  floatIfNat(engine, sa);
  await startIkeAuth(engine, sa);
}

/** SKEYSEED and SK_* for a fresh IKE SA (RFC 7296 §2.14), or one replacing `rekeyOf` (§2.18). */
export function deriveKeys(
  engine: Engine,
  sa: IkeSa,
  chosen: Chosen,
  gir: Uint8Array,
  rekeyOf?: IkeSa,
): void {
  const prf = prfAlgorithm(chosen.prfId)!;
  const encr = encrAlgorithm(chosen.encrId, chosen.encrKeyBits)!;
  const integ = chosen.integId ? integAlgorithm(chosen.integId) : undefined;
  // A rekey seeds from the old SA's SK_d with the old SA's PRF (RFC 7296 §2.18).
  const seed = rekeyOf
    ? rekeySkeyseed(rekeyOf.prf!, rekeyOf.keys!.skD, gir, sa.ni!, sa.nr!)
    : skeyseed(prf, sa.ni!, sa.nr!, gir);
  const keys = deriveIkeSaKeys(prf, encr, integ, seed, sa.ni!, sa.nr!, sa.spiI, sa.spiR);
  sa.chosen = chosen;
  sa.prf = prf;
  sa.keys = keys;
  const i = { encr, encrKey: keys.skEi, integ, integKey: keys.skAi };
  const r = { encr, encrKey: keys.skEr, integ, integKey: keys.skAr };
  sa.sendKeys = sa.initiator ? i : r;
  sa.recvKeys = sa.initiator ? r : i;
  engine.deps.keyLog?.ike({
    spiI: sa.spiI,
    spiR: sa.spiR,
    encrId: chosen.encrId,
    encrKeyBits: encr.keyBits,
    skEi: keys.skEi,
    skEr: keys.skEr,
    integId: chosen.integId,
    skAi: keys.skAi,
    skAr: keys.skAr,
  });
  engine.count(`total.ikev2.encr.${chosen.encrId}`);
  if (engine.deps.log.isDebug("private")) {
    const p = engine.prefix({ sa });
    const dump = (name: string, v: Uint8Array) =>
      engine.deps.log.debug("private", p, `${name}: ${hex(v)}`);
    dump("g^ir", gir);
    dump("SKEYSEED", seed);
    dump("SK_d", keys.skD);
    dump("SK_ai", keys.skAi);
    dump("SK_ar", keys.skAr);
    dump("SK_ei", keys.skEi);
    dump("SK_er", keys.skEr);
    dump("SK_pi", keys.skPi);
    dump("SK_pr", keys.skPr);
  }
}

/**
 * Our NAT_DETECTION_SOURCE_IP. With encapsulation=yes (or a userspace ESP
 * stack) it is deliberately
 * wrong, so the peer believes we are behind a NAT and both sides use UDP
 * encapsulation (Libreswan's forceencaps).
 */
function sourceHash(engine: Engine, sa: IkeSa, spiR: Uint8Array): Uint8Array {
  return forceEncapsulation(engine, sa) ? engine.random(20) : natHash(sa.spiI, spiR, sa.local);
}

/**
 * As initiator, after IKE_SA_INIT: when a NAT is between us (or
 * encapsulation=yes), move IKE to the NAT-T ports (RFC 7296 §2.23); ESP
 * then travels in UDP (RFC 3948).
 */
function floatIfNat(engine: Engine, sa: IkeSa): void {
  const nat = sa.natDetected!;
  const force = forceEncapsulation(engine, sa);
  if (!force && (sa.conn.config.encapsulation === "no" || (!nat.local && !nat.remote))) return;
  sa.natT = true;
  sa.local = { address: sa.local.address, port: engine.deps.natPort };
  sa.remote = { address: sa.remote.address, port: NAT_T_PORT };
  const who = nat.local && nat.remote
    ? "both ends are"
    : nat.local
    ? "we are"
    : nat.remote
    ? "the peer is"
    : "encapsulation forced:";
  engine.debug(
    engine.prefix({ sa }),
    `NAT-T: ${who} behind a NAT; switching to ${udpText(sa.remote)}`,
  );
}

/** encapsulation=yes, or a kernel that reads ESP only from the NAT-T socket. */
function forceEncapsulation(engine: Engine, sa: IkeSa): boolean {
  return sa.conn.config.encapsulation === "yes" ||
    engine.deps.kernel.requiresEncapsulation === true;
}

/** The peer's NAT-T port: IANA's 4500, as every implementation uses. */
const NAT_T_PORT = 4500;

/**
 * Whether each side's address as seen by the other differs from what it sent
 * (RFC 7296 §2.23). The hashes cover the SPIs as they stood in the message
 * that carried them: the responder's SPI is zero in the request.
 */
function natDetection(
  sa: IkeSa,
  payloads: Payload[],
  spiR: Uint8Array,
): { local: boolean; remote: boolean } {
  let localSeen = false, remoteSeen = false, localMatch = false, remoteMatch = false;
  for (const n of notifies(payloads)) {
    if (n.notifyType === NotifyType.NAT_DETECTION_SOURCE_IP) {
      remoteSeen = true;
      if (hex(n.data) === hex(natHash(sa.spiI, spiR, sa.remote))) remoteMatch = true;
    } else if (n.notifyType === NotifyType.NAT_DETECTION_DESTINATION_IP) {
      localSeen = true;
      if (hex(n.data) === hex(natHash(sa.spiI, spiR, sa.local))) localMatch = true;
    }
  }
  return { local: localSeen && !localMatch, remote: remoteSeen && !remoteMatch };
}

/** An IKE_SA_INIT request: a new peer, or a retransmit of one we are answering. */
export function handleInitRequest(
  engine: Engine,
  data: Uint8Array,
  header: IkeHeader,
  from: Endpoint,
  to: Endpoint,
): void {
  const key = `${hex(header.spiI)}|${endpointText(from)}`;
  const existing = engine.halfOpen.get(key);
  if (existing) {
    if (existing.initResponse && existing.lastResponse) {
      engine.debug(
        engine.prefix({ sa: existing }),
        "retransmitting IKE_SA_INIT response to duplicate request",
      );
      engine.send(existing, existing.initResponse);
    }
    return;
  }
  const pfx = packetPrefix(from);
  if (header.messageId !== 0 || header.spiR.some((b) => b !== 0)) {
    engine.debug(pfx, "dropping IKE_SA_INIT request with a non-zero responder SPI or message ID");
    return;
  }
  const answer = (payloads: Payload[]) => {
    const packet = plainMessage({
      spiI: header.spiI,
      spiR: new Uint8Array(8),
      version: IKEV2_VERSION,
      exchange: ExchangeType.IKE_SA_INIT,
      flags: FLAG_RESPONSE,
      messageId: 0,
    }, payloads);
    engine.deps.transport.send(to, from, packet);
  };
  const m = decodeMessage(data);
  if (!m.ok) {
    engine.deps.log.log(
      pfx,
      `dropping malformed IKE_SA_INIT request: ${m.error.payload}: ${m.error.reason}`,
    );
    engine.count("total.ike.mangled");
    if (m.error.unsupportedCritical !== undefined) {
      const t = m.error.unsupportedCritical;
      answer([notify(0, NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, new Uint8Array([t]))]);
    }
    return;
  }
  const payloads = m.value.payloads;
  const saP = findPayload(payloads, PayloadType.SA);
  const keP = findPayload(payloads, PayloadType.KE);
  const ni = findPayload(payloads, PayloadType.NONCE);
  if (!saP || !keP || !ni) {
    engine.deps.log.log(
      pfx,
      `IKE_SA_INIT request lacks SA, KE or Ni (${
        payloadList(payloads, true)
      }); answering INVALID_SYNTAX`,
    );
    answer([notify(0, NotifyType.INVALID_SYNTAX)]);
    return;
  }
  const conns = engine.candidates(to.address, from.address).filter((c) =>
    c.config.ikeVersion === 2 && c.config.type !== "passthrough" && c.config.type !== "drop"
  );
  if (conns.length === 0) {
    engine.deps.log.log(
      pfx,
      `no connection for ${endpointText(from)} → ${endpointText(to)}; dropping IKE_SA_INIT request`,
    );
    return;
  }
  let pick: { conn: Connection; chosen: Chosen; proposal: Proposal } | undefined;
  for (const conn of conns) {
    const c = chooseIke(conn.config.ike, saP.proposals, keP.group);
    if (c) {
      pick = { conn, ...c };
      break;
    }
  }
  if (!pick) {
    engine.deps.log.log(
      pfx,
      `IKE_SA_INIT request rejected with NO_PROPOSAL_CHOSEN: peer offered ${
        describeOffer(saP.proposals)
      }; "${conns[0].name}" accepts ${formatIkeProposals(conns[0].config.ike)}`,
    );
    engine.count("total.ikev2.sent.notifies.error.NO_PROPOSAL_CHOSEN");
    answer([notify(0, NotifyType.NO_PROPOSAL_CHOSEN)]);
    return;
  }
  if (pick.chosen.keId !== keP.group) {
    engine.deps.log.log(
      pfx,
      `responding with INVALID_KE_PAYLOAD: peer sent KE ${
        keName(keP.group)
      }, "${pick.conn.name}" wants ${keName(pick.chosen.keId)}`,
    );
    engine.count(`total.ikev2.sent.invalidke.suggesting.${keName(pick.chosen.keId)}`);
    answer([
      notify(
        0,
        NotifyType.INVALID_KE_PAYLOAD,
        new Uint8Array([pick.chosen.keId >> 8, pick.chosen.keId & 0xff]),
      ),
    ]);
    return;
  }
  let spiR: Uint8Array;
  do spiR = engine.random(8); while (spiKey(spiR) === 0n || engine.ikeBySpi.has(spiKey(spiR)));
  // Two views of one buffer: one allocation per SA, not two.
  const spis = new Uint8Array(16);
  spis.set(header.spiI);
  spis.set(spiR, 8);
  const sa: IkeSa = {
    serial: engine.nextSerial(),
    conn: pick.conn,
    initiator: false,
    spiI: spis.subarray(0, 8),
    spiR: spis.subarray(8),
    ourSpi: spiKey(spiR),
    local: to,
    remote: from,
    state: "IKE_SA_INIT_R",
    attempt: 1,
    keGroup: keP.group,
    nextRequestId: 0,
    expectedRequestId: 0,
    children: [],
    queue: IDLE_QUEUE,
    events: new NamedTimers(),
    halfOpenKey: key,
    deleted: false,
    ni: ni.data.slice(),
    initRequest: data,
  };
  engine.registerIke(sa);
  engine.halfOpen.set(key, sa);
  engine.count("total.ikev2.ike.started");
  engine.say(
    { sa },
    `processing IKE_SA_INIT request from ${udpText(from)} containing ${
      payloadList(payloads, true)
    }`,
  );
  const chosen = pick.chosen, answerProposal = pick.proposal;
  engine.enqueue(sa, async () => {
    const ke = engine.ke(chosen.keId)!;
    sa.keyPair = await ke.generate(engine.deps.entropy);
    let gir: Uint8Array;
    try {
      gir = await sa.keyPair.sharedSecret(keP.data);
    } catch (e) {
      if (!(e instanceof KeError)) throw e;
      engine.say(
        { sa },
        `IKE_SA_INIT request has an invalid KE: ${e.message}; answering INVALID_SYNTAX`,
      );
      answer([notify(0, NotifyType.INVALID_SYNTAX)]);
      engine.removeIkeSa(sa, "sent IKE_SA_INIT response");
      return;
    }
    sa.nr = engine.random(NONCE_BYTES);
    deriveKeys(engine, sa, chosen, gir);
    sa.natDetected = natDetection(sa, payloads, new Uint8Array(8));
    const response: Payload[] = [
      { type: PayloadType.SA, proposals: [answerProposal] },
      { type: PayloadType.KE, group: chosen.keId, data: sa.keyPair.publicKey },
      { type: PayloadType.NONCE, data: sa.nr },
      notify(0, NotifyType.NAT_DETECTION_SOURCE_IP, sourceHash(engine, sa, sa.spiR)),
      notify(0, NotifyType.NAT_DETECTION_DESTINATION_IP, natHash(sa.spiI, sa.spiR, sa.remote)),
      notify(0, NotifyType.CHILDLESS_IKEV2_SUPPORTED),
    ];
    const packet = plainMessage(engine.headerFor(sa, ExchangeType.IKE_SA_INIT, 0, true), response);
    sa.initResponse = packet;
    sa.lastResponse = { messageId: 0, packet };
    sa.expectedRequestId = 1;
    engine.send(sa, packet);
    engine.say(
      { sa },
      `sent IKE_SA_INIT response to ${udpText(from)} ${describeIke(chosen)}, expecting IKE_AUTH`,
    );
    engine.schedule(sa, "DISCARD", HALF_OPEN_MS, () => {
      engine.say({ sa }, "no IKE_AUTH request arrived in time");
      engine.removeIkeSa(sa, "sent IKE_SA_INIT response");
    });
  });
}

/** An IKE_SA_INIT response for no SA of ours: a late answer to an attempt we gave up on. */
export function handleInitResponseUnknown(
  engine: Engine,
  _header: IkeHeader,
  from: Endpoint,
): void {
  engine.debug(packetPrefix(from), "dropping IKE_SA_INIT response for an unknown IKE SA");
}
