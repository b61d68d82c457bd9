/**
 * Key material as two independent implementations log it, and the check that
 * they agree byte for byte.
 *
 * strongSwan's charon at log level 4 on `ike`/`chd` hex-dumps SKEYSEED, the
 * `Sk_*` keys and each Child SA's `encryption|integrity initiator|responder
 * key` (AES-GCM and ChaCha20-Poly1305 keys include the 4-byte salt):
 *
 *     21:02:21 08[IKE] <lab|1> Sk_ei secret => 20 bytes @ 0x7efec0036e50
 *     21:02:21 08[IKE] <lab|1>    0: 83 94 9B 3D 49 CD 30 49 F1 5E 5E C6 6E 2F A3 C5  ...
 *     21:02:21 08[IKE] <lab|1>   16: 2E 01 4A 23                                      ...
 *
 * (`<conn|N>`, or `<N>` before a responder has picked the connection, is
 * there with `ike_name = yes`; N is charon's IKE SA unique id). The prefix
 * names the IKE SA whose task is running, which is not always the one being
 * keyed: when charon rekeys IKE SA 1 (RFC 7296 §2.18) it logs the new SA's
 * keys under `<conn|1>`, after `IKE_SA conn[2] state change: CREATED =>
 * CONNECTING`; as the responder it logs them under `<conn|2>`. That state
 * change therefore says which IKE SA a context is keying until the SA leaves
 * CONNECTING.
 * Which key is charon's outbound one follows from who initiated the exchange
 * that made the Child SA (RFC 7296 §2.17: "initiator" keys protect traffic
 * from the exchange's initiator); charon says so with `establishing CHILD_SA
 * net{N}` and names the SPIs in `CHILD_SA net{N} established with SPIs
 * <in>_i <out>_o` (a rekeyed one, installed in two steps, in `inbound
 * CHILD_SA net{N} established …` and `outbound CHILD_SA net{N} established
 * …`). Child SA ids are unique across IKE SAs, and a Child SA moves to the
 * new IKE SA when its IKE SA is rekeyed, so ESP SAs are collected for the
 * whole log, as for swan.
 *
 * swan with `--debug private --debug add-prefix` logs `| "conn" #N: SK_d:
 * <hex>` per IKE SA and `| "conn" #M: ESP inbound 0x<spi> encr key: <hex>`
 * per Child SA direction, behind an optional timestamp.
 */

/** The IKE SA keys of RFC 7296 §2.14, named as swan logs them. */
export const IKE_KEY_NAMES = [
  "SKEYSEED",
  "SK_d",
  "SK_ai",
  "SK_ar",
  "SK_ei",
  "SK_er",
  "SK_pi",
  "SK_pr",
] as const;

/** One of {@link IKE_KEY_NAMES}. */
export type IkeKeyName = typeof IKE_KEY_NAMES[number];

/** The keys of one ESP SA (one direction); hex, `""` where the algorithm has none (AEAD integrity). */
export interface EspSaKeys {
  encr: string;
  integ: string;
}

/** Everything one implementation logged about one IKE SA. */
export interface PeerIkeSaKeys {
  /** Hex per key; a key the log does not show (SK_ai/SK_ar with AEAD) is absent. */
  ike: Partial<Record<IkeKeyName, string>>;
  /**
   * ESP SAs by SPI (8 lower-case hex digits), each in the logging side's
   * direction: every one in the log, shared by all IKE SAs of one log
   * (a Child SA outlives the IKE SA that keyed it when that one is rekeyed).
   */
  esp: Map<string, EspSaKeys & { direction: "inbound" | "outbound" }>;
}

// `<conn|N>`, or `<N>` while a responder does not know the connection yet.
const CHARON_LINE = /^\S+ \d+\[\w+\] <(?:[^|>]*\|)?(\d+)> (.*)$/;
const CHARON_DUMP_HEAD = /^(.+?) => (\d+) bytes @ 0x[0-9a-f]+$/;
const CHARON_DUMP_ROW = /^\s+\d+: ((?:[0-9A-F]{2} )+)/;
const CHARON_IKE_LABELS: Record<string, IkeKeyName> = {
  "SKEYSEED": "SKEYSEED",
  "Sk_d secret": "SK_d",
  "Sk_ai secret": "SK_ai",
  "Sk_ar secret": "SK_ar",
  "Sk_ei secret": "SK_ei",
  "Sk_er secret": "SK_er",
  "Sk_pi secret": "SK_pi",
  "Sk_pr secret": "SK_pr",
};
const CHARON_CHILD_LABEL = /^(encryption|integrity) (initiator|responder) key$/;
const CHARON_CHILD_INSTALLING = /^CHILD_SA \S+\{(\d+)\} state change: CREATED => INSTALLING$/;
const CHARON_CHILD_ESTABLISHING = /^establishing CHILD_SA \S+\{(\d+)\}/;
// A rekeyed Child SA is installed inbound first, then outbound; both lines name both SPIs.
const CHARON_CHILD_ESTABLISHED =
  /^(?:(?:in|out)bound )?CHILD_SA \S+\{(\d+)\} established with SPIs ([0-9a-f]{8})_i ([0-9a-f]{8})_o/;
const CHARON_IKE_KEYING = /^IKE_SA \S+\[(\d+)\] state change: CREATED => CONNECTING$/;
const CHARON_IKE_KEYED = /^IKE_SA \S+\[(\d+)\] state change: CONNECTING => /;

interface CharonChild {
  weInitiated: boolean;
  keys: Record<string, string>;
}

/**
 * Parses a charon level-4 log into the keys of each IKE SA, by charon's
 * unique id, all sharing one map of every ESP SA in the log. Lines it does
 * not know are skipped: this reads a log, not network input, and a missing
 * key shows up in the comparison.
 */
export function parseCharonKeyLog(text: string): Map<number, PeerIkeSaKeys> {
  const sas = new Map<number, PeerIkeSaKeys>();
  const esp: PeerIkeSaKeys["esp"] = new Map();
  const children = new Map<string, CharonChild>();
  const current = new Map<number, string>(); // log context → child being installed
  const keying = new Map<number, number>(); // log context → IKE SA in CONNECTING
  // `context` is the prefix's id (a hex dump's rows carry it too), `ikeSa` the SA being keyed.
  let dump:
    | { context: number; ikeSa: number; label: string; length: number; hex: string }
    | undefined;

  const sa = (id: number): PeerIkeSaKeys => {
    let found = sas.get(id);
    if (found === undefined) sas.set(id, found = { ike: {}, esp });
    return found;
  };
  const child = (id: string): CharonChild => {
    let found = children.get(id);
    if (found === undefined) children.set(id, found = { weInitiated: false, keys: {} });
    return found;
  };
  const finish = () => {
    if (dump === undefined) return;
    const hex = dump.hex.slice(0, 2 * dump.length);
    const ikeName = CHARON_IKE_LABELS[dump.label];
    if (ikeName !== undefined) sa(dump.ikeSa).ike[ikeName] = hex;
    const childId = current.get(dump.context);
    if (CHARON_CHILD_LABEL.test(dump.label) && childId !== undefined) {
      child(childId).keys[dump.label] = hex;
    }
    dump = undefined;
  };

  for (const line of text.split("\n")) {
    const m = CHARON_LINE.exec(line);
    if (m === null) {
      finish();
      continue;
    }
    const id = Number(m[1]);
    const body = m[2];
    const row = CHARON_DUMP_ROW.exec(body);
    if (row && dump && dump.context === id) {
      dump.hex += row[1].replaceAll(" ", "").toLowerCase();
      continue;
    }
    finish();
    const head = CHARON_DUMP_HEAD.exec(body);
    if (head) {
      const ikeSa = keying.get(id) ?? id;
      dump = { context: id, ikeSa, label: head[1], length: Number(head[2]), hex: "" };
      continue;
    }
    const ikeKeying = CHARON_IKE_KEYING.exec(body);
    if (ikeKeying) keying.set(id, Number(ikeKeying[1]));
    const ikeKeyed = CHARON_IKE_KEYED.exec(body);
    if (ikeKeyed && keying.get(id) === Number(ikeKeyed[1])) keying.delete(id);
    const establishing = CHARON_CHILD_ESTABLISHING.exec(body);
    if (establishing) child(establishing[1]).weInitiated = true;
    const installing = CHARON_CHILD_INSTALLING.exec(body);
    if (installing) current.set(id, installing[1]);
    const established = CHARON_CHILD_ESTABLISHED.exec(body);
    if (established) {
      const { weInitiated, keys } = child(established[1]);
      const ours = weInitiated ? "initiator" : "responder";
      const theirs = weInitiated ? "responder" : "initiator";
      esp.set(established[2], {
        direction: "inbound",
        encr: keys[`encryption ${theirs} key`] ?? "",
        integ: keys[`integrity ${theirs} key`] ?? "",
      });
      esp.set(established[3], {
        direction: "outbound",
        encr: keys[`encryption ${ours} key`] ?? "",
        integ: keys[`integrity ${ours} key`] ?? "",
      });
    }
  }
  finish();
  return sas;
}

const SWAN_IKE_KEY =
  /\| (?:"[^"]*"(?:\[\d+\])?(?: [^#:]*)? #(\d+): )?(SKEYSEED|SK_\w+): ([0-9a-f]*)$/;
const SWAN_ESP_KEY =
  /\| (?:"[^"]*"(?:\[\d+\])?(?: [^#:]*)? #\d+: )?ESP (inbound|outbound) 0x([0-9a-f]+) (encr|integ) key: ([0-9a-f]*)$/;

/**
 * Parses swan's `--debug private --debug add-prefix` log: IKE SA keys by the
 * IKE SA's serial, and every ESP SA by SPI. swan's prefix on an ESP key
 * names the Child SA, not its IKE SA, so all IKE SAs share one `esp` map;
 * {@link compareKeys} matches it against the peer's SPIs.
 */
export function parseSwanKeyLog(
  text: string,
): { ike: Map<number, PeerIkeSaKeys>; esp: PeerIkeSaKeys["esp"] } {
  const ike = new Map<number, PeerIkeSaKeys>();
  const esp: PeerIkeSaKeys["esp"] = new Map();
  for (const line of text.split("\n")) {
    const k = SWAN_IKE_KEY.exec(line);
    if (k) {
      const serial = Number(k[1] ?? 0);
      let sa = ike.get(serial);
      if (sa === undefined) ike.set(serial, sa = { ike: {}, esp });
      if ((IKE_KEY_NAMES as readonly string[]).includes(k[2])) sa.ike[k[2] as IkeKeyName] = k[3];
      continue;
    }
    const e = SWAN_ESP_KEY.exec(line);
    if (e) {
      const spi = e[2].padStart(8, "0");
      const entry = esp.get(spi) ??
        { direction: e[1] as "inbound" | "outbound", encr: "", integ: "" };
      entry[e[3] as "encr" | "integ"] = e[4];
      esp.set(spi, entry);
    }
  }
  return { ike, esp };
}

/**
 * Compares swan's keys of one IKE SA with the peer's: every IKE SA key (a
 * key absent from a log counts as empty, as SK_ai/SK_ar are with AEAD), and
 * every ESP SA either side logged: swan's inbound SA must be the peer's outbound one with the
 * same keys, and the other way round. Returns the mismatches (empty = equal).
 */
export function compareKeys(swan: PeerIkeSaKeys, peer: PeerIkeSaKeys): string[] {
  const problems: string[] = [];
  for (const name of IKE_KEY_NAMES) {
    const ours = swan.ike[name] ?? "";
    const theirs = peer.ike[name] ?? "";
    if (ours !== theirs) {
      problems.push(`${name}: swan ${ours || "(none)"} ≠ peer ${theirs || "(none)"}`);
    }
  }
  if (peer.ike.SK_d === undefined) problems.push("the peer logged no SK_d (is its key log on?)");
  const spis = new Set([...swan.esp.keys(), ...peer.esp.keys()]);
  for (const spi of spis) {
    const ours = swan.esp.get(spi);
    const theirs = peer.esp.get(spi);
    if (ours === undefined || theirs === undefined) {
      problems.push(`ESP SPI 0x${spi}: logged only by ${ours ? "swan" : "the peer"}`);
      continue;
    }
    if (ours.direction === theirs.direction) {
      problems.push(`ESP SPI 0x${spi}: ${ours.direction} on both sides`);
    }
    for (const part of ["encr", "integ"] as const) {
      if (ours[part] !== theirs[part]) {
        problems.push(
          `ESP SPI 0x${spi} ${part}: swan ${ours[part] || "(none)"} ≠ peer ${
            theirs[part] || "(none)"
          }`,
        );
      }
    }
  }
  return problems;
}
