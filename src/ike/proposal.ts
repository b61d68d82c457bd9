/**
 * Proposal handling for IKEv2 SA payloads (RFC 7296 §3.3): turning configured
 * proposal specs into wire proposals, and choosing, as responder, the first
 * of our proposals that the peer also offered (our preference order wins).
 */
import type { ProposalSpec } from "../config/proposals.ts";
import { encrName, integName, keName, prfName } from "../config/algorithm_names.ts";
import { ProtocolId, TransformType } from "../wire/constants.ts";
import type { Proposal, Transform } from "../wire/payloads.ts";

/** ESN transform ids (RFC 7296 §3.3.2). */
export const ESN_NONE = 0;
export const ESN_ENABLED = 1;

/** The algorithms both sides agreed on. `integ` 0 = none (AEAD); `ke` 0 = none. */
export interface Chosen {
  encrId: number;
  encrKeyBits?: number;
  prfId: number;
  integId: number;
  keId: number;
  esn?: boolean;
}

/** Wire proposals for an IKE SA, numbered from 1. */
export function ikeProposals(
  specs: readonly ProposalSpec[],
  spi: Uint8Array = new Uint8Array(),
): Proposal[] {
  return specs.map((s, i) => ({
    num: i + 1,
    protocol: ProtocolId.IKE,
    spi,
    transforms: [
      ...encrTransforms(s),
      ...s.prf.map((id) => ({ type: TransformType.PRF, id })),
      ...s.integ.filter((id) => id !== 0).map((id) => ({ type: TransformType.INTEG, id })),
      ...s.ke.map((id) => ({ type: TransformType.KE, id })),
    ],
  }));
}

/**
 * Wire proposals for an ESP Child SA. `ke` lists the PFS groups to offer
 * (empty when none, e.g. in IKE_AUTH); `esn` is the connection's setting.
 */
export function espProposals(
  specs: readonly ProposalSpec[],
  spi: number,
  ke: (spec: ProposalSpec) => number[],
  esn: "yes" | "no" | "either",
): Proposal[] {
  const spiBytes = new Uint8Array(4);
  new DataView(spiBytes.buffer).setUint32(0, spi);
  const esns = esn === "yes" ? [ESN_ENABLED] : esn === "no" ? [ESN_NONE] : [ESN_ENABLED, ESN_NONE];
  return specs.map((s, i) => ({
    num: i + 1,
    protocol: ProtocolId.ESP,
    spi: spiBytes,
    transforms: [
      ...encrTransforms(s),
      ...s.integ.filter((id) => id !== 0).map((id) => ({ type: TransformType.INTEG, id })),
      ...ke(s).map((id) => ({ type: TransformType.KE, id })),
      ...esns.map((id) => ({ type: TransformType.ESN, id })),
    ],
  }));
}

function encrTransforms(s: ProposalSpec): Transform[] {
  return s.encr.map((e) => ({ type: TransformType.ENCR, id: e.id, keyLength: e.keyBits }));
}

/** The options the peer gave for one transform type in one proposal. */
function offered(p: Proposal, type: number): Transform[] {
  return p.transforms.filter((t) => t.type === type);
}

/**
 * Responder choice for an IKE SA: the first local proposal (in our order)
 * that some peer proposal can satisfy. `preferKe`, when given, is the KE
 * group the peer already sent and is preferred among acceptable groups.
 */
export function chooseIke(
  local: readonly ProposalSpec[],
  remote: readonly Proposal[],
  preferKe?: number,
): { chosen: Chosen; proposal: Proposal } | undefined {
  for (const spec of local) {
    for (const p of remote) {
      if (p.protocol !== ProtocolId.IKE) continue;
      const encr = pickEncr(spec, p);
      if (!encr) continue;
      const prf = pickId(spec.prf, offered(p, TransformType.PRF));
      if (prf === undefined) continue;
      const aead = isAead(encr.id);
      let integ = 0;
      if (!aead) {
        const i = pickId(spec.integ.filter((x) => x !== 0), offered(p, TransformType.INTEG));
        if (i === undefined) continue;
        integ = i;
      } else if (offered(p, TransformType.INTEG).some((t) => t.id !== 0)) continue;
      const keOffered = offered(p, TransformType.KE).map((t) => t.id);
      const keChoices = spec.ke.filter((k) => keOffered.includes(k));
      if (keChoices.length === 0) continue;
      const ke = preferKe !== undefined && keChoices.includes(preferKe) ? preferKe : keChoices[0];
      const chosen: Chosen = {
        encrId: encr.id,
        encrKeyBits: encr.keyBits,
        prfId: prf,
        integId: integ,
        keId: ke,
      };
      return { chosen, proposal: ikeAnswer(p.num, chosen) };
    }
  }
  return undefined;
}

/**
 * Responder choice for an ESP Child SA. `pfsGroups` are the groups we accept
 * when a KE is required (CREATE_CHILD_SA with PFS); undefined means no KE
 * may be negotiated (IKE_AUTH, or pfs=no).
 */
export function chooseEsp(
  local: readonly ProposalSpec[],
  remote: readonly Proposal[],
  esn: "yes" | "no" | "either",
  pfsGroups?: (spec: ProposalSpec) => number[],
): { chosen: Chosen; proposal: Proposal; peerSpi: number } | undefined {
  const acceptableEsn = esn === "yes"
    ? [ESN_ENABLED]
    : esn === "no"
    ? [ESN_NONE]
    : [ESN_ENABLED, ESN_NONE];
  for (const spec of local) {
    for (const p of remote) {
      if (p.protocol !== ProtocolId.ESP || p.spi.length !== 4) continue;
      const encr = pickEncr(spec, p);
      if (!encr) continue;
      let integ = 0;
      if (!isAead(encr.id)) {
        const i = pickId(spec.integ.filter((x) => x !== 0), offered(p, TransformType.INTEG));
        if (i === undefined) continue;
        integ = i;
      } else if (offered(p, TransformType.INTEG).some((t) => t.id !== 0)) continue;
      const esnOffered = offered(p, TransformType.ESN).map((t) => t.id);
      // No ESN transform means "no ESN" (RFC 7296 §3.3.2 makes it mandatory for ESP, be lenient).
      const peerEsn = esnOffered.length ? esnOffered : [ESN_NONE];
      const esnChoice = acceptableEsn.find((e) => peerEsn.includes(e));
      if (esnChoice === undefined) continue;
      let ke = 0;
      const keOffered = offered(p, TransformType.KE).map((t) => t.id).filter((k) => k !== 0);
      if (pfsGroups) {
        const groups = pfsGroups(spec);
        const k = groups.find((g) => keOffered.includes(g));
        if (k === undefined) continue;
        ke = k;
      }
      const chosen: Chosen = {
        encrId: encr.id,
        encrKeyBits: encr.keyBits,
        prfId: 0,
        integId: integ,
        keId: ke,
        esn: esnChoice === ESN_ENABLED,
      };
      const peerSpi = new DataView(p.spi.buffer, p.spi.byteOffset, 4).getUint32(0);
      return { chosen, proposal: espAnswer(p.num, chosen), peerSpi };
    }
  }
  return undefined;
}

/** The single-proposal answer for an IKE SA. */
export function ikeAnswer(num: number, c: Chosen, spi: Uint8Array = new Uint8Array()): Proposal {
  const t: Transform[] = [{ type: TransformType.ENCR, id: c.encrId, keyLength: c.encrKeyBits }];
  t.push({ type: TransformType.PRF, id: c.prfId });
  if (c.integId) t.push({ type: TransformType.INTEG, id: c.integId });
  t.push({ type: TransformType.KE, id: c.keId });
  return { num, protocol: ProtocolId.IKE, spi, transforms: t };
}

function espAnswer(num: number, c: Chosen, spi = new Uint8Array(4)): Proposal {
  const t: Transform[] = [{ type: TransformType.ENCR, id: c.encrId, keyLength: c.encrKeyBits }];
  if (c.integId) t.push({ type: TransformType.INTEG, id: c.integId });
  if (c.keId) t.push({ type: TransformType.KE, id: c.keId });
  t.push({ type: TransformType.ESN, id: c.esn ? ESN_ENABLED : ESN_NONE });
  return { num, protocol: ProtocolId.ESP, spi, transforms: t };
}

/** Sets our SPI into an ESP answer built by chooseEsp. */
export function withSpi(p: Proposal, spi: number): Proposal {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, spi);
  return { ...p, spi: b };
}

/**
 * Initiator check of the responder's answer: exactly one proposal, one
 * transform of each required type, each one we offered.
 */
export function acceptAnswer(
  sent: readonly Proposal[],
  answer: readonly Proposal[],
  protocol: number,
): Chosen | string {
  if (answer.length !== 1) return `expected one proposal in the answer, got ${answer.length}`;
  const a = answer[0];
  if (a.protocol !== protocol) return "answer is for another protocol";
  const one = (type: number) => {
    const ts = offered(a, type);
    return ts.length > 1 ? null : ts[0];
  };
  const encr = one(TransformType.ENCR);
  if (!encr) return "answer lacks a single encryption transform";
  // The answer is one of our proposals, named by its number (RFC 7296 §3.3.1): mixing
  // transforms from several of them could pair an AEAD cipher with an integrity algorithm.
  const mine = sent.find((p) => p.num === a.num);
  if (!mine) return `answer names proposal ${a.num}, which we did not send`;
  const inSent = (t: Transform | undefined) =>
    t === undefined ||
    mine.transforms.some((s) => s.type === t.type && s.id === t.id && s.keyLength === t.keyLength);
  const prf = one(TransformType.PRF), integ = one(TransformType.INTEG), ke = one(TransformType.KE);
  const esn = one(TransformType.ESN);
  if (prf === null || integ === null || ke === null || esn === null) {
    return "answer has more than one transform of a type";
  }
  for (const t of [encr, prf, integ, ke, esn]) {
    if (!inSent(t)) return `answer contains a transform we did not propose (${describe(t!)})`;
  }
  if (protocol === ProtocolId.IKE && (!prf || !ke)) return "answer lacks PRF or KE";
  if (!isAead(encr.id) && (!integ || integ.id === 0)) return "answer lacks integrity";
  return {
    encrId: encr.id,
    encrKeyBits: encr.keyLength,
    prfId: prf?.id ?? 0,
    integId: integ?.id ?? 0,
    keId: ke?.id ?? 0,
    esn: esn ? esn.id === ESN_ENABLED : false,
  };
}

function describe(t: Transform): string {
  return `type ${t.type} id ${t.id}${t.keyLength ? ` keylen ${t.keyLength}` : ""}`;
}

function pickEncr(spec: ProposalSpec, p: Proposal): { id: number; keyBits?: number } | undefined {
  const theirs = offered(p, TransformType.ENCR);
  for (const e of spec.encr) {
    const match = theirs.find((t) =>
      t.id === e.id && (t.keyLength ?? defaultKeyBits(t.id)) === (e.keyBits ?? defaultKeyBits(e.id))
    );
    if (match) return { id: e.id, keyBits: match.keyLength };
  }
  return undefined;
}

function pickId(mine: readonly number[], theirs: Transform[]): number | undefined {
  return mine.find((id) => theirs.some((t) => t.id === id));
}

/** AES-GCM (18–20) and ChaCha20-Poly1305 (28) carry their own integrity. */
export function isAead(encrId: number): boolean {
  return encrId === 18 || encrId === 19 || encrId === 20 || encrId === 28;
}

function defaultKeyBits(encrId: number): number | undefined {
  return encrId === 28 ? 256 : undefined;
}

/** `{cipher=AES_GCM_16_256 integ=n/a prf=HMAC_SHA2_512 ke=DH19}` as Libreswan logs it. */
export function describeIke(c: Chosen): string {
  return `{cipher=${encrName(c.encrId, c.encrKeyBits)} integ=${
    c.integId ? integName(c.integId) : "n/a"
  } prf=${prfName(c.prfId)} ke=${keName(c.keId)}}`;
}

/** `AES_GCM_16_256-HMAC_SHA2_512-DH19`: the status "IKEv2 algorithm newest" form. */
export function ikeAlgorithmText(c: Chosen): string {
  const parts = [encrName(c.encrId, c.encrKeyBits), prfName(c.prfId)];
  if (c.integId) parts.push(integName(c.integId));
  parts.push(keName(c.keId));
  return parts.join("-");
}

/** `AES_GCM_16_256` or `AES_CBC_128-HMAC_SHA2_256_128[-DH19]`: Child SA xfrm= text. */
export function espAlgorithmText(c: Chosen): string {
  const parts = [encrName(c.encrId, c.encrKeyBits)];
  if (c.integId) parts.push(integName(c.integId));
  if (c.keId) parts.push(keName(c.keId));
  return parts.join("-");
}
