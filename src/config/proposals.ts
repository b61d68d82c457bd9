/**
 * `ike=` / `esp=` proposal strings: parsing into transform lists, the 5.x
 * defaults, and Libreswan's normalised printing (what `ipsec algparse`
 * prints and `whack --status` shows).
 *
 * Grammar (IKEv2, Libreswan 5.x):
 *
 *     PROPOSALS = PROPOSAL { "," PROPOSAL }
 *     PROPOSAL  = [ ALGS { "-" ALGS } [ ";" KE ] ] { ";" TYPE "=" ALGS }
 *     ALGS      = ALG { "+" ALG }
 *     TYPE      = encrypt | prf | integ | ke
 *
 * Positional meaning: `ike=ENCRYPT[-PRF][-INTEG][-KE]` (an INTEG-before-PRF
 * order is still accepted, with a warning), `esp=ENCRYPT[-INTEG][-KE]`. A key
 * size may follow the cipher name (`aes256`, `aes_gcm_256`) or be the next
 * `-` token (`aes-256`). `TYPE=ALGS` sections add to what the positional part
 * gave. Names are case-insensitive.
 *
 * @module
 */

import {
  type AlgorithmKind,
  AUTH_HMAC_SHA2_256_128,
  AUTH_HMAC_SHA2_512_256,
  AUTH_NONE,
  ENCR_AES_CBC,
  ENCR_AES_GCM_16,
  ENCR_CHACHA20_POLY1305,
  type EncrInfo,
  encrName,
  implementedAlgorithm,
  type InfoByKind,
  integName,
  KE_CURVE25519,
  KE_ECP_256,
  KE_ECP_384,
  KE_ECP_521,
  KE_MODP2048,
  KE_MODP3072,
  KE_MODP4096,
  KE_MODP8192,
  KE_NONE,
  keName,
  lookupAlgorithm,
  preferredSpellings,
  PRF_HMAC_SHA2_256,
  PRF_HMAC_SHA2_512,
  prfName,
} from "./algorithm_names.ts";

/** One ENCR transform to offer or accept. */
export interface EncrChoice {
  /** IANA encryption transform ID. */
  id: number;
  /** Key Length attribute in bits; absent for fixed-size ciphers (CHACHA20_POLY1305). */
  keyBits?: number;
  /**
   * Set when the proposal string named the cipher without a size, so this
   * entry is one of the sizes filled in for it (IKE: 256 then 128; ESP: 128
   * then 256). Printing then shows the bare cipher, as Libreswan does.
   */
  keyBitsImplied?: boolean;
}

/**
 * One proposal: each list holds the transforms of one type, in preference
 * order, as IANA IDs. `integ` is empty for AEAD ciphers (no integrity
 * transform). For ESP `prf` is always empty and an empty `ke` means no KE
 * transform (with PFS: reuse the IKE SA's group, printed `pfsgroup=<Phase1>`).
 */
export interface ProposalSpec {
  encr: EncrChoice[];
  prf: number[];
  integ: number[];
  ke: number[];
}

/** Parsed proposals plus non-fatal warnings, or one error naming the bad token. */
export type ProposalResult =
  | { ok: true; proposals: ProposalSpec[]; warnings: string[] }
  | { ok: false; error: string };

type Protocol = "IKE" | "ESP";

/** Success or a message for a person. */
type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** How each transform type is named in messages (Libreswan wording). */
const KIND_LABEL: Readonly<Record<AlgorithmKind, string>> = {
  encr: "encryption",
  prf: "PRF",
  integ: "integrity",
  ke: "DH",
};

/** 5.x default PRFs, also used when an `ike=` proposal names none. */
const DEFAULT_PRF: readonly number[] = [PRF_HMAC_SHA2_512, PRF_HMAC_SHA2_256];

/** 5.x default key exchanges for IKE, also used when an `ike=` proposal names none. */
const DEFAULT_KE: readonly number[] = [
  KE_ECP_256,
  KE_ECP_384,
  KE_ECP_521,
  KE_CURVE25519,
  KE_MODP4096,
  KE_MODP3072,
  KE_MODP2048,
  KE_MODP8192,
];

/** 5.x default ESP integrity for non-AEAD ciphers, also used when `esp=` names none. */
const DEFAULT_ESP_INTEG: readonly number[] = [AUTH_HMAC_SHA2_512_256, AUTH_HMAC_SHA2_256_128];

/** The integrity algorithms paired with these PRFs (sha2_256 → HMAC_SHA2_256_128 …). */
function integForPrfs(prf: readonly number[]): number[] {
  const integ: number[] = [];
  for (const id of prf) {
    const paired = implementedAlgorithm("prf", id)?.integ;
    if (paired !== undefined && !integ.includes(paired)) integ.push(paired);
  }
  return integ;
}

/** The 5.x ciphers proposed by default, strongest first. */
const DEFAULT_ENCR: readonly EncrChoice[] = [
  { id: ENCR_AES_GCM_16, keyBits: 256 },
  { id: ENCR_AES_GCM_16, keyBits: 128 },
  { id: ENCR_CHACHA20_POLY1305 },
  { id: ENCR_AES_CBC, keyBits: 256 },
  { id: ENCR_AES_CBC, keyBits: 128 },
];

function isAead(id: number): boolean {
  return implementedAlgorithm("encr", id)?.aead === true;
}

/** Proposals used when `ike=` is omitted (Libreswan 5.x, non-FIPS). */
export const DEFAULT_IKE_PROPOSALS: readonly ProposalSpec[] = DEFAULT_ENCR.map((encr) => ({
  encr: [{ ...encr }],
  prf: [...DEFAULT_PRF],
  integ: isAead(encr.id) ? [] : integForPrfs(DEFAULT_PRF),
  ke: [...DEFAULT_KE],
}));

/** Proposals used when `esp=` is omitted (Libreswan 5.x, non-FIPS). */
export const DEFAULT_ESP_PROPOSALS: readonly ProposalSpec[] = DEFAULT_ENCR.map((encr) => ({
  encr: [{ ...encr }],
  prf: [],
  integ: isAead(encr.id) ? [] : [...DEFAULT_ESP_INTEG],
  ke: [],
}));

/** `a`, `a or b`, `a, b or c`. */
function alternatives(words: readonly string[]): string {
  return words.length < 2
    ? words.join("")
    : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

/** The spellings to suggest for a transform type in a protocol. */
function hint(protocol: Protocol, kind: AlgorithmKind): string {
  // IKE SAs always need a real key exchange, so NONE is not worth suggesting there.
  const words = preferredSpellings(kind).filter((w) =>
    !(protocol === "IKE" && kind === "ke" && w === "none")
  );
  return `use ${alternatives(words)}`;
}

function unknownName(protocol: Protocol, kind: AlgorithmKind, token: string): string {
  return `${protocol} ${KIND_LABEL[kind]} algorithm '${token}' is not recognized; ${
    hint(protocol, kind)
  }`;
}

function unsupportedName(protocol: Protocol, kind: AlgorithmKind, token: string): string {
  return `${protocol} ${KIND_LABEL[kind]} algorithm '${token}' is not supported by swan; ${
    hint(protocol, kind)
  }`;
}

function emptyName(protocol: Protocol, kind: AlgorithmKind): string {
  return `${protocol} ${KIND_LABEL[kind]} algorithm is empty`;
}

function unexpected(protocol: Protocol, token: string): Parsed<never> {
  return { ok: false, error: `${protocol} proposal contains unexpected '${token.trim()}'` };
}

/** A cipher as written: `keyBits` undefined means no size was given (or the cipher is fixed-size). */
interface EncrElement {
  info: EncrInfo;
  keyBits?: number;
}

/** Checks a written key size against the cipher. */
function withKeySize(
  protocol: Protocol,
  info: EncrInfo,
  digits: string,
): Parsed<EncrElement> {
  if (!info.variableKeySize) {
    return {
      ok: false,
      error: `${protocol} encryption algorithm ${info.name} does not allow a key length`,
    };
  }
  if (/^0+$/.test(digits)) {
    return { ok: false, error: `${protocol} encryption key length is zero` };
  }
  const keyBits = Number(digits);
  if (!info.keySizes.includes(keyBits)) {
    return {
      ok: false,
      error: `${protocol} encryption algorithm ${info.name} with key length ${digits} invalid; ` +
        `valid key lengths: ${info.keySizes.join(", ")}`,
    };
  }
  return { ok: true, value: { info, keyBits } };
}

/** One cipher name, possibly with its size glued on (`aes256`, `aes_gcm_16_256`). */
function parseEncrElement(protocol: Protocol, token: string): Parsed<EncrElement> {
  const spelled = token.trim();
  if (spelled === "") return { ok: false, error: emptyName(protocol, "encr") };
  const exact = lookupAlgorithm("encr", spelled);
  if (exact.status === "implemented") return { ok: true, value: { info: exact.info } };
  if (exact.status === "unimplemented") {
    return { ok: false, error: unsupportedName(protocol, "encr", spelled) };
  }
  // The size is glued on, but names may end in digits too (`chacha20_poly1305`):
  // try each split of the trailing digits, longest name first.
  const digits = /\d+$/.exec(spelled)?.[0] ?? "";
  for (let size = 1; size <= digits.length; size++) {
    const name = spelled.slice(0, spelled.length - size).replace(/_$/, "");
    const base = lookupAlgorithm("encr", name);
    if (base.status === "implemented") {
      return withKeySize(protocol, base.info, spelled.slice(-size));
    }
    if (base.status === "unimplemented") {
      return { ok: false, error: unsupportedName(protocol, "encr", spelled) };
    }
  }
  return { ok: false, error: unknownName(protocol, "encr", spelled) };
}

/** `ALG{+ALG}` of ciphers. */
function parseEncrList(protocol: Protocol, text: string): Parsed<EncrElement[]> {
  const elements: EncrElement[] = [];
  for (const token of text.split("+")) {
    const element = parseEncrElement(protocol, token);
    if (!element.ok) return element;
    elements.push(element.value);
  }
  return { ok: true, value: elements };
}

/** The transform types that are plain lists of algorithms (everything but ciphers). */
type ListKind = Exclude<AlgorithmKind, "encr">;

/** `ALG{+ALG}` of PRFs, integrity algorithms or key exchanges. */
function parseList<K extends ListKind>(
  protocol: Protocol,
  kind: K,
  text: string,
): Parsed<InfoByKind[K][]> {
  const infos: InfoByKind[K][] = [];
  for (const token of text.split("+")) {
    const spelled = token.trim();
    if (spelled === "") return { ok: false, error: emptyName(protocol, kind) };
    const found = lookupAlgorithm(kind, spelled);
    if (found.status === "unknown") {
      return { ok: false, error: unknownName(protocol, kind, spelled) };
    }
    if (found.status === "unimplemented") {
      return { ok: false, error: unsupportedName(protocol, kind, spelled) };
    }
    infos.push(found.info);
  }
  return { ok: true, value: infos };
}

/** Transforms gathered for one proposal before defaults are filled in. */
interface Draft {
  encr: EncrElement[];
  lists: { [K in ListKind]: InfoByKind[K][] };
}

/**
 * Appends items, discarding (with a warning) any already covered by an
 * earlier one, as Libreswan does for `aes+aes`.
 */
function appendUnique<T>(
  target: T[],
  items: readonly T[],
  covers: (earlier: T, later: T) => boolean,
  describe: (item: T) => string,
  warnings: string[],
): void {
  for (const item of items) {
    if (target.some((earlier) => covers(earlier, item))) {
      warnings.push(`discarding duplicate ${describe(item)}`);
    } else {
      target.push(item);
    }
  }
}

/** A bare cipher covers every size of it; a sized one covers only that size. */
function encrCovers(earlier: EncrElement, later: EncrElement): boolean {
  return earlier.info.id === later.info.id &&
    (earlier.keyBits === undefined || earlier.keyBits === later.keyBits);
}

/** Adds ciphers to the draft. */
function addCiphers(
  protocol: Protocol,
  draft: Draft,
  items: readonly EncrElement[],
  warnings: string[],
): void {
  appendUnique(
    draft.encr,
    items,
    encrCovers,
    (e) => `${protocol} encryption algorithm ${encrName(e.info.id, e.keyBits)}`,
    warnings,
  );
}

/** Adds PRFs, integrity algorithms or key exchanges to the draft. */
function addTransforms<K extends ListKind>(
  protocol: Protocol,
  draft: Draft,
  kind: K,
  items: readonly InfoByKind[K][],
  warnings: string[],
): void {
  appendUnique<InfoByKind[K]>(
    draft.lists[kind],
    items,
    (earlier, later) => earlier.id === later.id,
    (item) => `${protocol} ${KIND_LABEL[kind]} algorithm ${item.name}`,
    warnings,
  );
}

/** Parses `ALG{+ALG}` of one list type and adds it to the draft. */
function parseInto<K extends ListKind>(
  protocol: Protocol,
  draft: Draft,
  kind: K,
  text: string,
  warnings: string[],
): Parsed<void> {
  const items = parseList(protocol, kind, text);
  if (!items.ok) return items;
  addTransforms(protocol, draft, kind, items.value, warnings);
  return { ok: true, value: undefined };
}

/** `ENCRYPT[-KEYLEN]…`: adds the cipher list, returns the tokens after it. */
function parseLeadingCipher(
  protocol: Protocol,
  draft: Draft,
  tokens: readonly string[],
  warnings: string[],
): Parsed<readonly string[]> {
  const encr = parseEncrList(protocol, tokens[0]);
  if (!encr.ok) return encr;
  let rest = tokens.slice(1);
  // `aes-128`: a bare number right after a single unsized cipher is its key size.
  if (
    rest.length > 0 && /^\s*\d+\s*$/.test(rest[0]) &&
    encr.value.length === 1 && encr.value[0].keyBits === undefined
  ) {
    const sized = withKeySize(protocol, encr.value[0].info, rest[0].trim());
    if (!sized.ok) return sized;
    encr.value[0] = sized.value;
    rest = rest.slice(1);
  }
  addCiphers(protocol, draft, encr.value, warnings);
  return { ok: true, value: rest };
}

const INTEG_BEFORE_PRF =
  "WARNING: IKE proposal has integ specified before prf; use encrypt-prf-integ-ke order";

/** IKE positional part: `ENCRYPT[-PRF][-INTEG][-KE]`, or the old `ENCRYPT-INTEG-PRF[-KE]`. */
function parseIkePositional(draft: Draft, text: string, warnings: string[]): Parsed<void> {
  const afterCipher = parseLeadingCipher("IKE", draft, text.split("-"), warnings);
  if (!afterCipher.ok) return afterCipher;
  const rest = afterCipher.value;
  let next = 0;
  if (rest.length > next) {
    const asPrf = parseList("IKE", "prf", rest[next]);
    if (asPrf.ok) {
      addTransforms("IKE", draft, "prf", asPrf.value, warnings);
      next++;
      // An integrity list may follow the PRF; anything else is the KE.
      const asInteg = rest.length > next ? parseList("IKE", "integ", rest[next]) : undefined;
      if (asInteg?.ok) {
        addTransforms("IKE", draft, "integ", asInteg.value, warnings);
        next++;
      }
    } else {
      // Not a PRF: the older ENCRYPT-INTEG-PRF order, or a bad PRF.
      const asInteg = parseList("IKE", "integ", rest[next]);
      if (!asInteg.ok) return asPrf;
      addTransforms("IKE", draft, "integ", asInteg.value, warnings);
      next++;
      if (rest.length > next) {
        const prf = parseInto("IKE", draft, "prf", rest[next], warnings);
        if (!prf.ok) return prf;
        warnings.push(INTEG_BEFORE_PRF);
        next++;
      }
    }
  }
  return parsePositionalTail("IKE", draft, rest.slice(next), warnings);
}

/** ESP positional part: `ENCRYPT[-INTEG][-KE]`. */
function parseEspPositional(draft: Draft, text: string, warnings: string[]): Parsed<void> {
  const afterCipher = parseLeadingCipher("ESP", draft, text.split("-"), warnings);
  if (!afterCipher.ok) return afterCipher;
  const rest = afterCipher.value;
  if (rest.length === 0) return { ok: true, value: undefined };
  const integ = parseInto("ESP", draft, "integ", rest[0], warnings);
  if (!integ.ok) return integ;
  return parsePositionalTail("ESP", draft, rest.slice(1), warnings);
}

/** What may remain of a positional part: one KE list, then nothing. */
function parsePositionalTail(
  protocol: Protocol,
  draft: Draft,
  rest: readonly string[],
  warnings: string[],
): Parsed<void> {
  if (rest.length === 0) return { ok: true, value: undefined };
  const ke = parseInto(protocol, draft, "ke", rest[0], warnings);
  if (!ke.ok) return ke;
  return rest.length > 1 ? unexpected(protocol, rest[1]) : { ok: true, value: undefined };
}

/** One `TYPE=ALGS` section; its algorithms add to those already in the draft. */
function parseSection(
  protocol: Protocol,
  draft: Draft,
  section: string,
  warnings: string[],
): Parsed<void> {
  const equals = section.indexOf("=");
  if (equals < 0) return unexpected(protocol, section);
  const type = section.slice(0, equals).trim().toLowerCase();
  const algs = section.slice(equals + 1);
  const types = protocol === "IKE" ? "encrypt, prf, integ or ke" : "encrypt, integ or ke";
  if (type === "encrypt") {
    const encr = parseEncrList(protocol, algs);
    if (!encr.ok) return encr;
    addCiphers(protocol, draft, encr.value, warnings);
    return { ok: true, value: undefined };
  }
  if (type === "integ" || type === "ke" || (type === "prf" && protocol === "IKE")) {
    return parseInto(protocol, draft, type, algs, warnings);
  }
  if (/^addke[1-7]$/.test(type)) {
    return {
      ok: false,
      error: `${protocol} proposal transform type '${type}' (additional key exchange) ` +
        `is not supported by swan; use ${types}`,
    };
  }
  if (type === "sn" && protocol === "ESP") {
    return {
      ok: false,
      error: "ESP proposal transform type 'sn' is not supported in esp=; use the esn= keyword",
    };
  }
  return {
    ok: false,
    error: `${protocol} proposal transform type '${type}' is not recognized; use ${types}`,
  };
}

/** Splits one proposal into its `;` segments and fills a draft. */
function parseDraft(protocol: Protocol, text: string, warnings: string[]): Parsed<Draft> {
  const draft: Draft = { encr: [], lists: { prf: [], integ: [], ke: [] } };
  const segments = text.split(";");
  // A first segment without `=` is the positional part.
  const positional = segments[0].includes("=") ? undefined : segments[0];
  if (positional !== undefined) {
    const parsed = protocol === "IKE"
      ? parseIkePositional(draft, positional, warnings)
      : parseEspPositional(draft, positional, warnings);
    if (!parsed.ok) return parsed;
  }
  for (const segment of segments.slice(positional === undefined ? 0 : 1)) {
    if (segment.includes("=")) {
      const parsed = parseSection(protocol, draft, segment, warnings);
      if (!parsed.ok) return parsed;
      continue;
    }
    // `;KE`, allowed once and only if nothing else named a KE yet.
    const keTokens = segment.split("-");
    if (draft.lists.ke.length > 0) return unexpected(protocol, keTokens[0]);
    const tail = parsePositionalTail(protocol, draft, keTokens, warnings);
    if (!tail.ok) return tail;
  }
  if (draft.encr.length === 0) {
    return {
      ok: false,
      error: `${protocol} proposal '${text.trim()}' has no encryption algorithm`,
    };
  }
  return { ok: true, value: draft };
}

/** The ENCR transforms for a cipher list, filling in both sizes of an unsized cipher. */
function expandEncr(protocol: Protocol, elements: readonly EncrElement[]): EncrChoice[] {
  const choices: EncrChoice[] = [];
  for (const { info, keyBits } of elements) {
    if (keyBits !== undefined || !info.variableKeySize) {
      choices.push(keyBits === undefined ? { id: info.id } : { id: info.id, keyBits });
      continue;
    }
    const largest = info.keySizes[info.keySizes.length - 1];
    // Libreswan: IKE offers the largest size first, ESP the default size first.
    const sizes = protocol === "IKE"
      ? [largest, info.defaultKeyBits]
      : [info.defaultKeyBits, largest];
    for (const size of sizes) {
      if (!choices.some((c) => c.id === info.id && c.keyBits === size)) {
        choices.push({ id: info.id, keyBits: size, keyBitsImplied: true });
      }
    }
  }
  return choices;
}

/** Checks cipher/integrity compatibility and fills in defaults. */
function finish(protocol: Protocol, draft: Draft): Parsed<ProposalSpec> {
  const cipher = draft.encr[0].info;
  if (draft.encr.some((e) => e.info.aead !== cipher.aead)) {
    return {
      ok: false,
      error: `AEAD and non-AEAD ${protocol} encryption algorithm cannot be combined`,
    };
  }
  const integ = draft.lists.integ.map((i) => i.id);
  if (cipher.aead && integ.some((id) => id !== AUTH_NONE)) {
    return {
      ok: false,
      error: `AEAD ${protocol} encryption algorithm ${cipher.name} must have 'NONE' ` +
        `as the integrity algorithm`,
    };
  }
  if (!cipher.aead && integ.includes(AUTH_NONE)) {
    return {
      ok: false,
      error: `non-AEAD ${protocol} encryption algorithm ${cipher.name} cannot have 'NONE' ` +
        `as the integrity algorithm`,
    };
  }
  const ke = draft.lists.ke.map((k) => k.id);
  if (protocol === "ESP") {
    return {
      ok: true,
      value: {
        encr: expandEncr(protocol, draft.encr),
        prf: [],
        integ: cipher.aead ? [] : integ.length > 0 ? integ : [...DEFAULT_ESP_INTEG],
        ke,
      },
    };
  }
  if (ke.includes(KE_NONE)) {
    return { ok: false, error: `IKE DH algorithm 'NONE' is not permitted; ${hint("IKE", "ke")}` };
  }
  const prf = draft.lists.prf.length > 0 ? draft.lists.prf.map((p) => p.id) : [...DEFAULT_PRF];
  return {
    ok: true,
    value: {
      encr: expandEncr(protocol, draft.encr),
      prf,
      integ: cipher.aead ? [] : integ.length > 0 ? integ : integForPrfs(prf),
      ke: ke.length > 0 ? ke : [...DEFAULT_KE],
    },
  };
}

/** Parses a comma-separated proposal list; identical proposals are kept once. */
function parseProposalList(protocol: Protocol, text: string): ProposalResult {
  if (text.trim() === "") return { ok: false, error: `${protocol} proposal is empty` };
  const warnings: string[] = [];
  const proposals: ProposalSpec[] = [];
  const seen = new Set<string>();
  for (const proposalText of text.split(",")) {
    const draft = parseDraft(protocol, proposalText, warnings);
    if (!draft.ok) return draft;
    const spec = finish(protocol, draft.value);
    if (!spec.ok) return spec;
    const key = JSON.stringify(spec.value);
    if (!seen.has(key)) {
      seen.add(key);
      proposals.push(spec.value);
    }
  }
  return { ok: true, proposals, warnings };
}

function copyOf(proposals: readonly ProposalSpec[]): ProposalSpec[] {
  return structuredClone([...proposals]);
}

/**
 * Parses an `ike=` value. `undefined` (keyword absent) gives the 5.x
 * defaults restricted to what swan implements ({@link DEFAULT_IKE_PROPOSALS}).
 * Missing PRFs and KEs are filled from the defaults; a non-AEAD proposal
 * without integrity gets the integrity algorithms paired with its PRFs.
 */
export function parseIkeProposals(text: string | undefined): ProposalResult {
  if (text === undefined) {
    return { ok: true, proposals: copyOf(DEFAULT_IKE_PROPOSALS), warnings: [] };
  }
  return parseProposalList("IKE", text);
}

/**
 * Parses an `esp=` value. `undefined` gives {@link DEFAULT_ESP_PROPOSALS}.
 * pfs=false: a KE in the string is dropped with the warning
 * `ignoring ESP Key Exchange algorithm 'MODP2048' as PFS policy is disabled`.
 * pfs=true and no KE given: `ke` is empty, meaning "use the IKE SA's group";
 * either all proposals name a KE or none does.
 */
export function parseEspProposals(text: string | undefined, pfs: boolean): ProposalResult {
  if (text === undefined) {
    return { ok: true, proposals: copyOf(DEFAULT_ESP_PROPOSALS), warnings: [] };
  }
  const parsed = parseProposalList("ESP", text);
  if (!parsed.ok) return parsed;
  const withKe = parsed.proposals.filter((p) => p.ke.length > 0);
  if (pfs) {
    if (withKe.length > 0 && withKe.length < parsed.proposals.length) {
      return { ok: false, error: "either all or no ESP proposals should specify Key Exchange" };
    }
    return parsed;
  }
  for (const proposal of withKe) {
    const redundant = proposal.ke.every((id) => id === KE_NONE) ? "redundant " : "";
    parsed.warnings.push(
      `ignoring ${redundant}ESP Key Exchange algorithm '${formatIds(proposal.ke, keName)}' ` +
        `as PFS policy is disabled`,
    );
    proposal.ke = [];
  }
  return parsed;
}

function formatIds(ids: readonly number[], name: (id: number) => string): string {
  return ids.map(name).join("+");
}

/** Ciphers; a cipher whose sizes were filled in prints once, bare (`AES_GCM_16`). */
function formatEncr(encr: readonly EncrChoice[]): string {
  const names: string[] = [];
  encr.forEach((choice, i) => {
    const previous = encr[i - 1];
    if (!choice.keyBitsImplied) {
      names.push(encrName(choice.id, choice.keyBits));
    } else if (!(previous?.keyBitsImplied && previous.id === choice.id)) {
      names.push(encrName(choice.id));
    }
  });
  return names.join("+");
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

function formatIkeProposal(p: ProposalSpec): string {
  const parts = [formatEncr(p.encr)];
  if (p.prf.length > 0) parts.push(formatIds(p.prf, prfName));
  // Integrity that merely follows from the PRFs is not printed.
  if (p.integ.length > 0 && !sameIds(p.integ, integForPrfs(p.prf))) {
    parts.push(formatIds(p.integ, integName));
  }
  if (p.ke.length > 0) parts.push(formatIds(p.ke, keName));
  return parts.join("-");
}

function formatEspProposal(p: ProposalSpec): string {
  const parts = [formatEncr(p.encr)];
  if (p.integ.length > 0) parts.push(formatIds(p.integ, integName));
  if (p.ke.length > 0) parts.push(formatIds(p.ke, keName));
  return parts.join("-");
}

/**
 * Libreswan's normalised IKE form, `ENCR-PRF[-INTEG]-KE` with `+` between
 * alternatives, e.g. `AES_GCM_16_256-HMAC_SHA2_512+HMAC_SHA2_256-DH19+DH20`;
 * integrity is shown only when it differs from what the PRFs imply.
 * Proposals are joined with ", ".
 */
export function formatIkeProposals(p: readonly ProposalSpec[]): string {
  return p.map(formatIkeProposal).join(", ");
}

/**
 * Libreswan's normalised ESP form, `ENCR[-INTEG][-KE]`, e.g.
 * `AES_CBC_128-HMAC_SHA2_256_128` or `AES_GCM_16_256`. Proposals are joined with ", ".
 */
export function formatEspProposals(p: readonly ProposalSpec[]): string {
  return p.map(formatEspProposal).join(", ");
}
