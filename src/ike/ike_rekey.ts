/**
 * IKE SA rekey with CREATE_CHILD_SA (RFC 7296 §1.3.2, §2.18) in both roles,
 * and simultaneous IKE SA rekeys (§2.8.2).
 *
 * The new IKE SA gets fresh SPIs (the request's proposal carries the rekey
 * initiator's, the answer the responder's), SKEYSEED = prf(SK_d(old), g^ir |
 * Ni | Nr) with the old SA's PRF, message IDs from 0, and the rekey
 * initiator as its original initiator. Child SAs move to it; the rekey
 * initiator then deletes the old IKE SA.
 */
import { keName } from "../config/algorithm_names.ts";
import { formatIkeProposals } from "../config/proposals.ts";
import { KeError, type KeKeyPair } from "../crypto/ke.ts";
import { ExchangeType, NotifyType, PayloadType, ProtocolId } from "../wire/constants.ts";
import type { IkeHeader } from "../wire/header.ts";
import { findNotify, findPayload, type Payload, type Proposal } from "../wire/payloads.ts";
import { NONCE_BYTES } from "./create_child_sa.ts";
import { type Engine, notify, RC_FATAL, udpText } from "./engine.ts";
import { scheduleKeepalive } from "./ike_auth.ts";
import { IDLE_QUEUE, type IkeSa, spiKey } from "./ike_sa.ts";
import { deriveKeys } from "./ike_sa_init.ts";
import { scheduleIkeLifetime } from "./lifetimes.ts";
import { scheduleLiveness } from "./liveness.ts";
import { describeOffer, errorNotifies, notifyText, payloadList } from "./payload_text.ts";
import { acceptAnswer, chooseIke, describeIke, ikeAnswer, ikeProposals } from "./proposal.ts";
import { type Attached, oursIsRedundant, retire, retryRekey } from "./rekey_collision.ts";
import { NamedTimers } from "./timer_heap.ts";

/** What our rekey request sent, to check and key the answer with. */
interface SentRekey {
  spi: Uint8Array;
  proposals: Proposal[];
  ni: Uint8Array;
  keyPair: KeKeyPair;
  group: number;
}

/** How a request is refused (create_child_sa.ts logs, counts and answers). */
export type Refuse = (why: string, notifyType: number, payload?: Payload) => void;

/** Rekeys an IKE SA (its REKEY event, or `whack --rekey-ike`). */
export function rekeyIke(engine: Engine, sa: IkeSa, whack?: Attached): void {
  if (sa.deleted || sa.state !== "ESTABLISHED_IKE_SA" || sa.rekey?.replaced || sa.rekey?.ours) {
    whack?.finish(sa.rekey?.ours ? 0 : RC_FATAL);
    return;
  }
  if ([...sa.children].some((c) => c.rekey?.ours)) {
    // §2.25.2: not while one of its Child SAs is being rekeyed.
    engine.say({ sa }, "a Child SA is being rekeyed; will rekey the IKE SA later");
    retryRekey(engine, sa, () => rekeyIke(engine, sa, whack));
    return;
  }
  // Marked at once, so Child SA rekeys from now on wait for this one.
  sa.rekey = { ...sa.rekey, ours: { ni: new Uint8Array() } };
  whack?.follow(sa);
  engine.say({ sa }, `initiating rekey to replace IKE SA #${sa.serial}`);
  engine.enqueue(sa, () => sendIkeRekey(engine, sa, whack, sa.chosen!.keId));
}

async function sendIkeRekey(
  engine: Engine,
  sa: IkeSa,
  whack: Attached | undefined,
  group: number,
): Promise<void> {
  const ke = engine.ke(group);
  if (sa.deleted || sa.state !== "ESTABLISHED_IKE_SA" || !ke) {
    if (sa.rekey) sa.rekey.ours = undefined;
    whack?.finish(RC_FATAL);
    return;
  }
  const spi = freshSpi(engine);
  const sent: SentRekey = {
    spi,
    proposals: ikeProposals(sa.conn.config.ike, spi),
    ni: engine.random(NONCE_BYTES),
    keyPair: await ke.generate(engine.deps.entropy),
    group,
  };
  sa.rekey = { ...sa.rekey, ours: { ni: sent.ni } };
  const payloads: Payload[] = [
    { type: PayloadType.SA, proposals: sent.proposals },
    { type: PayloadType.NONCE, data: sent.ni },
    { type: PayloadType.KE, group, data: sent.keyPair.publicKey },
  ];
  engine.sendRequest(
    sa,
    ExchangeType.CREATE_CHILD_SA,
    (id) => engine.sealed(sa, ExchangeType.CREATE_CHILD_SA, id, false, payloads),
    (p) => handleIkeRekeyResponse(engine, sa, whack, sent, p),
  );
  engine.say(
    { sa },
    `sent CREATE_CHILD_SA request to rekey IKE SA to ${udpText(sa.remote)} {ke=${keName(group)}}`,
  );
}

async function handleIkeRekeyResponse(
  engine: Engine,
  sa: IkeSa,
  whack: Attached | undefined,
  sent: SentRekey,
  payloads: Payload[],
): Promise<void> {
  if (sa.rekey) sa.rekey.ours = undefined;
  engine.say(
    { sa },
    `processing CREATE_CHILD_SA response from ${udpText(sa.remote)} containing SK{${
      payloadList(payloads, false)
    }}`,
  );
  const fail = (why: string) => {
    engine.say({ sa }, `IKE SA rekey failed: ${why}`);
    whack?.finish(RC_FATAL);
  };
  const invalidKe = findNotify(payloads, NotifyType.INVALID_KE_PAYLOAD);
  if (invalidKe && invalidKe.data.length === 2) {
    const wanted = (invalidKe.data[0] << 8) | invalidKe.data[1];
    if (wanted !== sent.group && sa.conn.config.ike.some((p) => p.ke.includes(wanted))) {
      engine.say(
        { sa },
        `received INVALID_KE_PAYLOAD suggesting KE ${keName(wanted)} instead of ${
          keName(sent.group)
        }; resending CREATE_CHILD_SA request`,
      );
      sa.rekey = { ...sa.rekey, ours: { ni: new Uint8Array() } };
      await sendIkeRekey(engine, sa, whack, wanted);
      return;
    }
    fail(`peer wants KE ${keName(wanted)}, which our proposals do not allow`);
    return;
  }
  const errors = errorNotifies(payloads);
  if (errors.length > 0) {
    const why = errors.map(notifyText).join(", ");
    if (errors.some((e) => e.notifyType === NotifyType.TEMPORARY_FAILURE)) {
      engine.say({ sa }, `CREATE_CHILD_SA response put off the IKE SA rekey (${why}); will retry`);
      retryRekey(engine, sa, () => rekeyIke(engine, sa, whack));
      return;
    }
    fail(`peer answered ${why}`);
    return;
  }
  const saP = findPayload(payloads, PayloadType.SA);
  const keP = findPayload(payloads, PayloadType.KE);
  const nr = findPayload(payloads, PayloadType.NONCE);
  if (!saP || !keP || !nr) {
    fail(`response lacks SA, KE or Nr (${payloadList(payloads, false)})`);
    return;
  }
  const chosen = acceptAnswer(sent.proposals, saP.proposals, ProtocolId.IKE);
  if (typeof chosen === "string") {
    fail(chosen);
    return;
  }
  const spiR = saP.proposals[0].spi;
  if (spiR.length !== 8 || spiKey(spiR) === 0n) {
    fail("the answer carries no 8-byte responder SPI");
    return;
  }
  if (chosen.keId !== sent.group || keP.group !== sent.group) {
    fail(`the answer uses KE ${keName(keP.group)} but we sent ${keName(sent.group)}`);
    return;
  }
  let gir: Uint8Array;
  try {
    gir = await sent.keyPair.sharedSecret(keP.data);
  } catch (e) {
    if (!(e instanceof KeError)) throw e;
    fail(`invalid KE: ${e.message}`);
    return;
  }
  const next = successor(engine, sa, {
    initiator: true,
    spiI: sent.spi,
    spiR: spiR.slice(),
    ni: sent.ni,
    nr: nr.data.slice(),
    keGroup: sent.group,
  });
  deriveKeys(engine, next, chosen, gir, sa);
  adopt(engine, sa, next, "initiator", whack);
  settleIkeRekey(engine, sa, next);
  whack?.finish(0);
}

/** Answers a peer's request to rekey this IKE SA. */
export async function respondIkeRekey(
  engine: Engine,
  sa: IkeSa,
  header: IkeHeader,
  payloads: Payload[],
  refuse: Refuse,
): Promise<void> {
  if (sa.rekey?.replaced) {
    refuse(`IKE SA #${sa.serial} was already rekeyed`, NotifyType.TEMPORARY_FAILURE);
    return;
  }
  if ([...sa.children].some((c) => c.rekey?.ours)) {
    refuse("one of its Child SAs is being rekeyed", NotifyType.TEMPORARY_FAILURE);
    return;
  }
  const saP = findPayload(payloads, PayloadType.SA)!;
  const ni = findPayload(payloads, PayloadType.NONCE)!;
  const keP = findPayload(payloads, PayloadType.KE);
  if (!keP) {
    refuse("IKE SA rekey request lacks KE", NotifyType.INVALID_SYNTAX);
    return;
  }
  const conn = sa.conn;
  const pick = chooseIke(conn.config.ike, saP.proposals, keP.group);
  if (!pick) {
    refuse(
      `peer offered ${describeOffer(saP.proposals)}; "${conn.name}" accepts ${
        formatIkeProposals(conn.config.ike)
      }`,
      NotifyType.NO_PROPOSAL_CHOSEN,
    );
    return;
  }
  const keId = pick.chosen.keId;
  if (keId !== keP.group) {
    engine.count(`total.ikev2.sent.invalidke.suggesting.${keName(keId)}`);
    refuse(
      `peer sent KE ${keName(keP.group)}, "${conn.name}" wants ${keName(keId)}`,
      NotifyType.INVALID_KE_PAYLOAD,
      notify(0, NotifyType.INVALID_KE_PAYLOAD, new Uint8Array([keId >> 8, keId & 0xff])),
    );
    return;
  }
  const spiI = saP.proposals.find((p) =>
    p.num === pick.proposal.num && p.protocol === ProtocolId.IKE
  )?.spi;
  if (!spiI || spiI.length !== 8 || spiKey(spiI) === 0n) {
    refuse("the chosen proposal carries no 8-byte SPI", NotifyType.INVALID_SYNTAX);
    return;
  }
  const keyPair = await engine.ke(keId)!.generate(engine.deps.entropy);
  let gir: Uint8Array;
  try {
    gir = await keyPair.sharedSecret(keP.data);
  } catch (e) {
    if (!(e instanceof KeError)) throw e;
    refuse(`invalid KE: ${e.message}`, NotifyType.INVALID_SYNTAX);
    return;
  }
  const spiR = freshSpi(engine);
  const nr = engine.random(NONCE_BYTES);
  const next = successor(engine, sa, {
    initiator: false,
    spiI: spiI.slice(),
    spiR,
    ni: ni.data.slice(),
    nr,
    keGroup: keId,
  });
  deriveKeys(engine, next, pick.chosen, gir, sa);
  engine.respond(sa, header, [
    { type: PayloadType.SA, proposals: [ikeAnswer(pick.proposal.num, pick.chosen, spiR)] },
    { type: PayloadType.NONCE, data: nr },
    { type: PayloadType.KE, group: keId, data: keyPair.publicKey },
  ]);
  adopt(engine, sa, next, "responder");
  moveChildren(sa, next);
  const oursOutstanding = sa.rekey?.ours !== undefined;
  sa.rekey = { ...sa.rekey, peers: { ni: next.ni!, nr, created: next } };
  // The peer deletes the old IKE SA; unless we are rekeying it too (a collision
  // settled when our answer arrives), it is retired now.
  if (!oursOutstanding) {
    sa.rekey.replaced = true;
    retire(engine, sa, () => engine.deleteIkeSa(sa, true, () => {}));
  }
}

/** A fresh 8-byte SPI of ours: non-zero and unused. */
function freshSpi(engine: Engine): Uint8Array {
  let spi: Uint8Array;
  do spi = engine.random(8); while (spiKey(spi) === 0n || engine.ikeBySpi.has(spiKey(spi)));
  return spi;
}

/**
 * The IKE SA replacing `old`: the same connection, endpoints, peer and NAT
 * state, with its own SPIs, nonces, queue, events and message IDs from 0.
 * Keys are filled in by deriveKeys.
 */
function successor(
  engine: Engine,
  old: IkeSa,
  f: {
    initiator: boolean;
    spiI: Uint8Array;
    spiR: Uint8Array;
    ni: Uint8Array;
    nr: Uint8Array;
    keGroup: number;
  },
): IkeSa {
  return {
    ...old,
    ...f,
    serial: engine.nextSerial(),
    ourSpi: spiKey(f.initiator ? f.spiI : f.spiR),
    state: "ESTABLISHED_IKE_SA",
    keyPair: undefined,
    initRequest: undefined,
    initResponse: undefined,
    cookie: undefined,
    retries: undefined,
    sentProposals: undefined,
    // Whack sessions and queued requests belong to the old SA, not shared with it.
    whacks: undefined,
    pendingRequests: undefined,
    nextRequestId: 0,
    expectedRequestId: 0,
    outstanding: undefined,
    lastResponse: undefined,
    children: [],
    queue: IDLE_QUEUE,
    events: new NamedTimers(),
    establishedAt: engine.now(),
    lastInbound: engine.now(),
    halfOpenKey: undefined,
    rekey: undefined,
    deleted: false,
  };
}

/** Registers the new IKE SA, makes it the connection's newest and arms its timers. */
function adopt(
  engine: Engine,
  old: IkeSa,
  next: IkeSa,
  role: "initiator" | "responder",
  whack?: Attached,
): void {
  engine.registerIke(next);
  whack?.follow(next);
  next.conn.newestIke = next.serial;
  engine.say({ sa: next }, `${role} rekeyed IKE SA #${old.serial} ${describeIke(next.chosen!)}`);
  scheduleIkeLifetime(engine, next);
  scheduleKeepalive(engine, next);
  scheduleLiveness(engine, next);
}

function moveChildren(from: IkeSa, to: IkeSa): void {
  for (const child of from.children) child.ike = to;
  to.children = to.children.concat(from.children);
  from.children = [];
}

/**
 * Our rekey of `old` produced `ours`. Normally the Child SAs move to it and
 * the old IKE SA is deleted; when the peer rekeyed it at the same time, the
 * new IKE SA created with the lowest nonce is deleted by its creator, and the
 * creator of the survivor deletes the old one (§2.8.2).
 */
function settleIkeRekey(engine: Engine, old: IkeSa, ours: IkeSa): void {
  const peers = old.rekey?.peers;
  old.rekey = { replaced: true };
  if (peers && !peers.created.deleted) {
    if (oursIsRedundant({ ni: ours.ni!, nr: ours.nr! }, peers)) {
      engine.say(
        { sa: ours },
        `simultaneous rekey of IKE SA #${old.serial}: this one has the lowest nonce and is redundant; deleting it`,
      );
      ours.conn.newestIke = peers.created.serial;
      retire(engine, old, () => engine.deleteIkeSa(old, true, () => {}));
      engine.deleteIkeSa(ours, true, () => {});
      return;
    }
    engine.say(
      { sa: ours },
      `simultaneous rekey of IKE SA #${old.serial}: the peer deletes its redundant #${peers.created.serial}`,
    );
    moveChildren(peers.created, ours);
    ours.conn.newestIke = ours.serial;
  }
  moveChildren(old, ours);
  retire(engine, old, () => {});
  engine.deleteIkeSa(old, true, () => {});
}
