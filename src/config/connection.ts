/**
 * Turns a whack/ipsec.conf connection definition (keyword → string maps)
 * into a validated connection config with Libreswan 5.x defaults.
 *
 * Every keyword is accounted for: supported ones are parsed and checked,
 * ones Libreswan knows but swan does not implement are refused by name,
 * anything else is an unknown keyword. Nothing is silently ignored.
 */

import type { ConnectionDefinition, EndKeywords } from "../control/request.ts";
import {
  addressIsAny,
  formatAddress,
  hostSelector,
  type IpAddress,
  parseAddress,
  parseSelector,
  type Selector,
  selectorContains,
} from "./addresses.ts";
import { ID_ANY, idFromAddress, idFromWire, type IkeId, parseId } from "./ids.ts";
import { parseEspProposals, parseIkeProposals, type ProposalSpec } from "./proposals.ts";
import {
  parseBoolean,
  parseCount,
  parseDuration,
  parsePercent,
  parsePort,
  type ValueResult,
} from "./values.ts";

/** One end (left or right) of a connection. */
export interface EndConfig {
  /** undefined for %any */
  host?: IpAddress;
  /** as given: "192.0.2.1", "%any" */
  hostText: string;
  /** explicit id, else the host address, else %any (type 0) */
  id: IkeId;
  idExplicit: boolean;
  /** explicit subnets; [] means "the host itself" */
  subnets: Selector[];
  ikePort: number;
  nextHop?: IpAddress;
  sourceIp?: IpAddress;
  /** "" when disabled */
  updown: string;
  /** leftauth= / rightauth= when given */
  auth?: string;
}

/** A validated connection. Durations are in seconds unless the name says otherwise. */
export interface ConnectionConfig {
  name: string;
  left: EndConfig;
  right: EndConfig;
  ikeVersion: 1 | 2;
  authby: string[];
  type: "tunnel" | "transport" | "passthrough" | "drop";
  phase2: "esp" | "ah";
  pfs: boolean;
  esn: "yes" | "no" | "either";
  ike: ProposalSpec[];
  esp: ProposalSpec[];
  /** `ike=` as given, only when given (status prints it) */
  ikeText?: string;
  /** `esp=` as given, only when given */
  espText?: string;
  ikeLifetime: number;
  ipsecLifetime: number;
  ipsecMaxBytes: bigint;
  ipsecMaxPackets: bigint;
  rekeyMargin: number;
  /** percent */
  rekeyFuzz: number;
  rekey: boolean;
  reauth: boolean;
  retransmitIntervalMs: number;
  retransmitTimeout: number;
  /** 0 = forever; otherwise bounds the attempts to establish the IKE SA */
  keyingTries: number;
  replayWindow: number;
  dpdDelay: number;
  dpdTimeout: number;
  dpdAction: "clear" | "hold" | "restart";
  /** What traffic that triggered a failed on-demand negotiation gets (failureshunt=). */
  failureShunt: "none" | "passthrough" | "drop" | "hold" | "reject";
  encapsulation: "auto" | "yes" | "no";
  natKeepalive: boolean;
  fragmentation: boolean;
  initialContact: boolean;
  /** Initiate an IKE SA without a Child SA (RFC 6023); swan's keyword, whack `--childless`. */
  childless: boolean;
  mobike: boolean;
  narrowing: boolean;
  compress: boolean;
  hostAddrFamily: 4 | 6;
  warnings: string[];
}

type Side = "left" | "right";

/** Per-end keywords swan implements (without the left/right prefix). */
const END_KEYWORDS = new Set([
  "host",
  "id",
  "subnet",
  "nexthop",
  "ikeport",
  "sourceip",
  "updown",
  "auth",
]);

/** Per-end keywords Libreswan accepts that swan does not implement yet. */
const UNSUPPORTED_END_KEYWORDS = new Set([
  "certtype",
  "cert",
  "ckaid",
  "ca",
  "sendcert",
  "rsasigkey",
  "ecdsakey",
  "eddsakey",
  "pubkey",
  "protoport",
  "subnets",
  "interface-ip",
  "vti",
  "updown-config",
  "autheap",
  "xauthserver",
  "xauthclient",
  "modecfgserver",
  "modecfgclient",
  "username",
  "addresspool",
  "cat",
  "groups",
]);

/** Connection keywords swan implements. */
const CONN_KEYWORDS = new Set([
  "authby",
  "keyexchange",
  "type",
  "phase2",
  "ike",
  "esp",
  "pfs",
  "esn",
  "ikelifetime",
  "ipsec-lifetime",
  "ipsec-max-bytes",
  "ipsec-max-packets",
  "rekeymargin",
  "rekeyfuzz",
  "rekey",
  "reauth",
  "retransmit-interval",
  "retransmit-timeout",
  "keyingtries",
  "replay-window",
  "dpddelay",
  "dpdtimeout",
  "dpdaction",
  "failureshunt",
  "encapsulation",
  "nat-keepalive",
  "fragmentation",
  "initial-contact",
  "childless",
  "mobike",
  "narrowing",
  "compress",
  "hostaddrfamily",
  "clientaddrfamily",
]);

/** Old spellings Libreswan still maps onto a current keyword (ipsec.conf(5)). */
const CONN_ALIASES: ReadonlyMap<string, string> = new Map([
  ["keylife", "ipsec-lifetime"],
  ["lifetime", "ipsec-lifetime"],
  ["salifetime", "ipsec-lifetime"],
  ["ikev1-dpdtimeout", "dpdtimeout"],
]);

/** Connection keywords Libreswan accepts that swan does not implement yet. */
const UNSUPPORTED_CONN_KEYWORDS = new Set([
  "pfsgroup", // whack --pfsgroup: give the group in esp= instead (e.g. esp=aes_gcm128-dh19)
  "ah",
  "auto",
  "also",
  "aggressive",
  "aggrmode",
  "ikepad",
  "nat-ikev1-method",
  "enable-tcp",
  "tcp",
  "tcp-remoteport",
  "negotiationshunt",
  "xauthby",
  "xauthfail",
  "modecfgpull",
  "modecfgdns",
  "modecfgdomains",
  "modecfgbanner",
  "mark",
  "mark-in",
  "mark-out",
  "vti-interface",
  "vti-routing",
  "vti-shared",
  "ipsec-interface",
  "sec-label",
  "policy-label",
  "nic-offload",
  "send-redirect",
  "accept-redirect",
  "accept-redirect-to",
  "redirect-to",
  "cisco-unity",
  "fake-strongswan",
  "remote-peer-type",
  "nm-configured",
  "mtu",
  "metric",
  "priority",
  "tfc",
  "reqid",
  "nflog-group",
  "send-esp-tfc-padding-not-supported",
  "reject-simultaneous-ike-auth",
  "sendca",
  "send-vendorid",
  "overlapip",
  "sha2-truncbug",
  "ms-dh-downgrade",
  "pfs-rekey-workaround",
  "dns-match-id",
  "ignore-peer-dns",
  "decap-dscp",
  "encap-dscp",
  "nopmtudisc",
  "intermediate",
  "session-resumption",
  "send-supported-auth-methods",
  "require-id-on-certificate",
  "share-lease",
  "connalias",
  "ppk",
  "ppk-ids",
  "clones",
  "debug",
  "iptfs",
  "iptfs-fragmentation",
  "iptfs-packet-size",
  "iptfs-max-queue-size",
  "iptfs-drop-time",
  "iptfs-init-delay",
  "iptfs-reorder-window",
]);

/** `updown=` when not given: Libreswan's stock script, swan's built-in one (src/daemon/default_updown.ts). */
export const DEFAULT_UPDOWN = "ipsec _updown";
const HOURS = 3600;
/** Libreswan's defaults and limits (seconds). */
const DEFAULT_LIFETIME = 8 * HOURS;
const MAX_LIFETIME = 24 * HOURS;
const DEFAULT_REKEY_MARGIN = 540;
const DEFAULT_MAX_COUNT = 1n << 63n;
const MAX_REPLAY_WINDOW = 0xffffffff;

/** `authby=` words → the method they mean. */
const AUTHBY_WORDS: ReadonlyMap<string, string> = new Map([
  ["secret", "secret"],
  ["rsasig", "rsasig"],
  ["rsa", "rsasig"],
  ["rsa-sha1", "rsa-sha1"],
  ["rsa-sha2", "rsa-sha2"],
  ["rsa-sha2_256", "rsa-sha2_256"],
  ["rsa-sha2_384", "rsa-sha2_384"],
  ["rsa-sha2_512", "rsa-sha2_512"],
  ["ecdsa", "ecdsa"],
  ["ecdsa-sha2", "ecdsa"],
  ["ecdsa-sha2_256", "ecdsa-sha2_256"],
  ["ecdsa-sha2_384", "ecdsa-sha2_384"],
  ["ecdsa-sha2_512", "ecdsa-sha2_512"],
  ["eddsa", "eddsa"],
  ["null", "null"],
  ["never", "never"],
]);
/** Methods that stand alone: a connection using them uses nothing else. */
const EXCLUSIVE_AUTHBY = new Set(["secret", "null", "never"]);
const AUTH_WORDS = ["psk", "secret", "rsasig", "rsa", "ecdsa", "eddsa", "null", "eaponly"];

function fail<T>(error: string): ValueResult<T> {
  return { ok: false, error };
}

/** A parser that picks one of a fixed set of words (case-insensitive). */
function oneOf<T extends string>(words: readonly T[]) {
  return (keyword: string, text: string): ValueResult<T> => {
    const word = words.find((w) => w === text.trim().toLowerCase());
    return word !== undefined
      ? { ok: true, value: word }
      : fail(`${keyword}: "${text}" is not one of ${words.join(", ")}`);
  };
}

function familyWord(keyword: string, text: string): ValueResult<4 | 6> {
  const word = text.trim().toLowerCase();
  if (word === "ipv4" || word === "4") return { ok: true, value: 4 };
  if (word === "ipv6" || word === "6") return { ok: true, value: 6 };
  return fail(`${keyword}: "${text}" is not ipv4 or ipv6`);
}

/** A duration in seconds (`8h`, `90m`, `30`). */
function seconds(keyword: string, text: string): ValueResult<number> {
  const ms = parseDuration(keyword, text);
  return ms.ok ? { ok: true, value: ms.value / 1000 } : ms;
}

/** An SA lifetime: more than zero and at most 24h, as Libreswan requires. */
function lifetime(keyword: string, text: string): ValueResult<number> {
  const s = seconds(keyword, text);
  if (!s.ok) return s;
  if (s.value <= 0) return fail(`${keyword}: "${text}" must be more than 0s`);
  if (s.value > MAX_LIFETIME) return fail(`${keyword}: "${text}" is more than the maximum of 24h`);
  return s;
}

function positiveSeconds(keyword: string, text: string): ValueResult<number> {
  const s = seconds(keyword, text);
  return !s.ok || s.value > 0 ? s : fail(`${keyword}: "${text}" must be more than 0s`);
}

function positiveMilliseconds(keyword: string, text: string): ValueResult<number> {
  const ms = parseDuration(keyword, text, "ms");
  return !ms.ok || ms.value > 0 ? ms : fail(`${keyword}: "${text}" must be more than 0ms`);
}

/** A packet/byte limit: 1 … 2^63 (Libreswan's default is also its maximum). */
function limit(keyword: string, text: string): ValueResult<bigint> {
  const n = parseCount(keyword, text);
  if (!n.ok) return n;
  if (n.value === 0n) return fail(`${keyword}: "${text}" must be more than 0`);
  if (n.value > DEFAULT_MAX_COUNT) return fail(`${keyword}: "${text}" is more than 2^63`);
  return n;
}

function whole(max: number) {
  return (keyword: string, text: string): ValueResult<number> => {
    const t = text.trim();
    const value = /^\d{1,10}$/.test(t) ? Number(t) : NaN;
    return value <= max ? { ok: true, value } : fail(
      `${keyword}: "${text}" is not a whole number from 0 to ${max}`,
    );
  };
}

function keyingTries(keyword: string, text: string): ValueResult<number> {
  return text.trim() === "%forever"
    ? { ok: true, value: 0 }
    : whole(Number.MAX_SAFE_INTEGER)(keyword, text);
}

/** `yes`/`no` (any boolean spelling) or one extra word. */
function booleanOr<T extends string>(extra: T, yes: T, no: T) {
  return (keyword: string, text: string): ValueResult<T> => {
    if (text.trim().toLowerCase() === extra) return { ok: true, value: extra };
    const b = parseBoolean(keyword, text);
    return b.ok
      ? { ok: true, value: b.value ? yes : no }
      : fail(`${keyword}: "${text}" is not one of yes, no, ${extra}`);
  };
}

function typeWord(keyword: string, text: string): ValueResult<ConnectionConfig["type"]> {
  if (text.trim().toLowerCase() === "reject") {
    return fail(`${keyword}: "reject" was removed; use type=drop`);
  }
  return oneOf(["tunnel", "transport", "passthrough", "drop"] as const)(keyword, text);
}

function phase2Word(keyword: string, text: string): ValueResult<ConnectionConfig["phase2"]> {
  return oneOf(["esp", "ah"] as const)(keyword, text);
}

function authby(keyword: string, text: string): ValueResult<string[]> {
  const words = text.split(/[\s,]+/).filter((w) => w !== "");
  if (words.length === 0) return fail(`${keyword}: "${text}" names no authentication method`);
  const methods: string[] = [];
  for (const word of words) {
    const method = AUTHBY_WORDS.get(word.toLowerCase());
    if (method === undefined) {
      return fail(
        `${keyword}: "${word}" is not an authentication method; use ${
          [...AUTHBY_WORDS.keys()].join(", ")
        }`,
      );
    }
    if (!methods.includes(method)) methods.push(method);
  }
  const exclusive = methods.find((m) => EXCLUSIVE_AUTHBY.has(m));
  if (exclusive !== undefined && methods.length > 1) {
    return fail(`${keyword}: "${text}": ${exclusive} cannot be combined with other methods`);
  }
  return { ok: true, value: methods };
}

/**
 * Reads keyword values from one map, remembering the first error so the
 * caller can read every field in a row and check once.
 */
class Fields {
  error: string | undefined;

  constructor(private readonly values: Record<string, string>, private readonly prefix = "") {}

  text(keyword: string): string | undefined {
    return this.values[keyword];
  }

  /** The parsed value, or `fallback` when the keyword is absent or a value was already bad. */
  get<T>(keyword: string, parse: (kw: string, text: string) => ValueResult<T>, fallback: T): T {
    const text = this.values[keyword];
    if (text === undefined || this.error !== undefined) return fallback;
    const r = parse(this.prefix + keyword, text);
    if (r.ok) return r.value;
    this.error = r.error;
    return fallback;
  }
}

/** Refuses unknown and not-yet-supported keywords, naming them as ipsec.conf would. */
function checkKeywords(def: ConnectionDefinition): string | undefined {
  for (const side of ["left", "right"] as const) {
    for (const keyword of Object.keys(def[side])) {
      const full = keyword === "host" ? side : side + keyword;
      if (UNSUPPORTED_END_KEYWORDS.has(keyword)) return `${full}: not supported by swan yet`;
      if (!END_KEYWORDS.has(keyword)) return `unknown keyword "${full}"`;
    }
  }
  for (const keyword of Object.keys(def.conn)) {
    if (UNSUPPORTED_CONN_KEYWORDS.has(keyword)) return `${keyword}: not supported by swan yet`;
    const canonical = CONN_ALIASES.get(keyword);
    if (canonical !== undefined && def.conn[canonical] !== undefined) {
      return `${canonical}: given twice (also as "${keyword}")`;
    }
    if (!CONN_KEYWORDS.has(keyword) && canonical === undefined) {
      return `unknown keyword "${keyword}"`;
    }
  }
  return undefined;
}

/** The conn map with aliases renamed to their current keyword. */
function canonicalConn(conn: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [keyword, value] of Object.entries(conn)) {
    out[CONN_ALIASES.get(keyword) ?? keyword] = value;
  }
  return out;
}

interface HostValue {
  host?: IpAddress;
  hostText: string;
  /** known from the address (0.0.0.0 / :: included), else undefined */
  family?: 4 | 6;
}

function parseHost(side: Side, text: string | undefined): ValueResult<HostValue> {
  if (text === undefined) return fail(`${side}: missing; give an IP address or %any`);
  if (text === "%any") return { ok: true, value: { hostText: "%any" } };
  const address = parseAddress(text);
  if (address !== undefined) {
    return {
      ok: true,
      value: addressIsAny(address)
        ? { hostText: "%any", family: address.family }
        : { host: address, hostText: formatAddress(address), family: address.family },
    };
  }
  if (text.startsWith("%")) return fail(`${side}: "${text}" is not supported by swan yet`);
  return fail(`${side}: "${text}" is not an IP address or %any`);
}

function nextHop(keyword: string, text: string): ValueResult<IpAddress | undefined> {
  if (text === "%direct") return { ok: true, value: undefined };
  const address = parseAddress(text);
  if (address !== undefined) return { ok: true, value: address };
  if (text.startsWith("%")) return fail(`${keyword}: "${text}" is not supported by swan yet`);
  return fail(`${keyword}: "${text}" is not an IP address or %direct`);
}

function sourceIp(keyword: string, text: string): ValueResult<IpAddress | undefined> {
  const address = parseAddress(text);
  return address !== undefined
    ? { ok: true, value: address }
    : fail(`${keyword}: "${text}" is not an IP address`);
}

function subnets(keyword: string, text: string): ValueResult<Selector[]> {
  const parts = text.split(/[\s,]+/).filter((p) => p !== "");
  if (parts.length === 0) return fail(`${keyword}: "${text}" names no subnet`);
  const out: Selector[] = [];
  for (const part of parts) {
    const s = parseSelector(part);
    if (!s.ok) return fail(`${keyword}: ${s.error}`);
    out.push(s.value);
  }
  return { ok: true, value: out };
}

function updown(_keyword: string, text: string): ValueResult<string> {
  return { ok: true, value: text === "%disabled" ? "" : text };
}

function id(keyword: string, text: string): ValueResult<IkeId | undefined> {
  if (text === "%none") return { ok: true, value: undefined };
  const r = parseId(text);
  return r.ok ? r : fail(`${keyword}: ${r.error}`);
}

/** An end's keywords parsed on their own; cross-end checks come later. */
interface ParsedEnd {
  host: HostValue;
  id?: IkeId;
  subnets: Selector[];
  ikePort: number;
  nextHop?: IpAddress;
  sourceIp?: IpAddress;
  updown: string;
  auth?: string;
}

function parseEnd(side: Side, keywords: EndKeywords): ValueResult<ParsedEnd> {
  const host = parseHost(side, keywords.host);
  if (!host.ok) return host;
  const f = new Fields(keywords, side);
  const end: ParsedEnd = {
    host: host.value,
    id: f.get("id", id, undefined),
    subnets: f.get("subnet", subnets, []),
    ikePort: f.get("ikeport", parsePort, 500),
    nextHop: f.get("nexthop", nextHop, undefined),
    sourceIp: f.get("sourceip", sourceIp, undefined),
    updown: f.get("updown", updown, DEFAULT_UPDOWN),
    auth: f.get("auth", oneOf(AUTH_WORDS), undefined),
  };
  return f.error !== undefined ? fail(f.error) : { ok: true, value: end };
}

function familyName(family: 4 | 6): string {
  return `IPv${family}`;
}

/** Checks address families across both ends; returns the host family. */
function checkFamilies(
  ends: Record<Side, ParsedEnd>,
  hostAddrFamily: 4 | 6 | undefined,
  clientAddrFamily: 4 | 6 | undefined,
): ValueResult<4 | 6> {
  const left = ends.left.host.family;
  const right = ends.right.host.family;
  if (left !== undefined && right !== undefined && left !== right) {
    return fail("left and right addresses are from different families");
  }
  const known = left ?? right;
  if (hostAddrFamily !== undefined && known !== undefined && hostAddrFamily !== known) {
    return fail(
      `hostaddrfamily=ipv${hostAddrFamily} but the host addresses are ${familyName(known)}`,
    );
  }
  const hostFamily = hostAddrFamily ?? known ?? 4;
  const clientFamily = clientAddrFamily ?? hostFamily;
  for (const side of ["left", "right"] as const) {
    const end = ends[side];
    if (end.nextHop !== undefined && end.nextHop.family !== hostFamily) {
      return fail(
        `${side}nexthop: ${formatAddress(end.nextHop)} is ${
          familyName(end.nextHop.family)
        } but the hosts are ${familyName(hostFamily)}`,
      );
    }
    for (const subnet of end.subnets) {
      if (subnet.family !== clientFamily) {
        const fix = clientAddrFamily === undefined
          ? ` (set clientaddrfamily=ipv${subnet.family} to tunnel ${
            familyName(subnet.family)
          } over ${familyName(hostFamily)})`
          : "";
        return fail(
          `${side}subnet: ${familyName(subnet.family)} subnet but the ${
            clientAddrFamily === undefined ? "hosts are" : "clientaddrfamily is"
          } ${familyName(clientFamily)}${fix}`,
        );
      }
    }
    if (clientFamily !== hostFamily && end.subnets.length === 0) {
      return fail(
        `${side}subnet: missing; with clientaddrfamily=ipv${clientFamily} over ${
          familyName(hostFamily)
        } hosts both ends need a subnet`,
      );
    }
    if (end.sourceIp !== undefined && end.sourceIp.family !== clientFamily) {
      return fail(
        `${side}sourceip: ${formatAddress(end.sourceIp)} is ${
          familyName(end.sourceIp.family)
        } but the ${side} client is ${familyName(clientFamily)}`,
      );
    }
    if (
      end.sourceIp !== undefined && end.subnets.length > 0 &&
      !end.subnets.some((s) => selectorContains(s, hostSelector(end.sourceIp!)))
    ) {
      return fail(`${side}sourceip: ${formatAddress(end.sourceIp)} is not inside ${side}subnet`);
    }
  }
  return { ok: true, value: hostFamily };
}

function endConfig(end: ParsedEnd): EndConfig {
  const defaultId = end.host.host !== undefined
    ? idFromAddress(end.host.host)
    : idFromWire(ID_ANY, new Uint8Array(0));
  return {
    host: end.host.host,
    hostText: end.host.hostText,
    id: end.id ?? defaultId,
    idExplicit: end.id !== undefined,
    subnets: end.subnets,
    ikePort: end.ikePort,
    nextHop: end.nextHop,
    sourceIp: end.sourceIp,
    updown: end.updown,
    auth: end.auth,
  };
}

/**
 * Builds and validates a connection. Error strings are what follows
 * `failed to add connection: `, naming the keyword and the fix, e.g.
 * `ikelifetime: "8x" is not a duration ...`,
 * `left: "1.2.3" is not an IP address or %any`,
 * `left and right addresses are from different families`,
 * `unknown keyword "foo"`, `leftcert: not supported by swan yet`.
 */
export function buildConnection(def: ConnectionDefinition): ValueResult<ConnectionConfig> {
  if (def.name === "") return fail("connection name is empty");
  const keywordError = checkKeywords(def);
  if (keywordError !== undefined) return fail(keywordError);

  const left = parseEnd("left", def.left);
  if (!left.ok) return left;
  const right = parseEnd("right", def.right);
  if (!right.ok) return right;
  if (left.value.host.host === undefined && right.value.host.host === undefined) {
    return fail("left and right cannot both be %any; at least one end needs an IP address");
  }

  const conn = canonicalConn(def.conn);
  const f = new Fields(conn);
  const ikeVersion = f.get("keyexchange", oneOf(["ikev1", "ikev2"] as const), "ikev2") === "ikev1"
    ? 1
    : 2;
  const type = f.get("type", typeWord, "tunnel");
  const hostAddrFamily = f.get("hostaddrfamily", familyWord, undefined);
  const clientAddrFamily = f.get("clientaddrfamily", familyWord, undefined);
  const pfs = f.get("pfs", parseBoolean, true);
  const rekey = f.get("rekey", parseBoolean, true);
  const config = {
    authby: f.get("authby", authby, ikeVersion === 1 ? ["rsa-sha1"] : ["rsasig", "ecdsa"]),
    phase2: f.get("phase2", phase2Word, "esp"),
    esn: f.get("esn", booleanOr("either", "yes", "no"), "either"),
    ikeLifetime: f.get("ikelifetime", lifetime, DEFAULT_LIFETIME),
    ipsecLifetime: f.get("ipsec-lifetime", lifetime, DEFAULT_LIFETIME),
    ipsecMaxBytes: f.get("ipsec-max-bytes", limit, DEFAULT_MAX_COUNT),
    ipsecMaxPackets: f.get("ipsec-max-packets", limit, DEFAULT_MAX_COUNT),
    rekeyMargin: f.get("rekeymargin", seconds, DEFAULT_REKEY_MARGIN),
    rekeyFuzz: f.get("rekeyfuzz", parsePercent, 100),
    reauth: f.get("reauth", parseBoolean, false),
    retransmitIntervalMs: f.get("retransmit-interval", positiveMilliseconds, 500),
    retransmitTimeout: f.get("retransmit-timeout", positiveSeconds, 30),
    keyingTries: f.get("keyingtries", keyingTries, 0),
    replayWindow: f.get("replay-window", whole(MAX_REPLAY_WINDOW), 128),
    dpdDelay: f.get("dpddelay", seconds, 0),
    dpdTimeout: f.get("dpdtimeout", seconds, 0),
    dpdAction: f.get("dpdaction", oneOf(["clear", "hold", "restart"] as const), "hold"),
    failureShunt: f.get(
      "failureshunt",
      oneOf(["none", "passthrough", "drop", "hold", "reject"] as const),
      "none",
    ),
    encapsulation: f.get("encapsulation", booleanOr("auto", "yes", "no"), "auto"),
    natKeepalive: f.get("nat-keepalive", parseBoolean, true),
    fragmentation: f.get("fragmentation", parseBoolean, true),
    initialContact: f.get("initial-contact", parseBoolean, false),
    childless: f.get("childless", parseBoolean, false),
    mobike: f.get("mobike", parseBoolean, false),
    narrowing: f.get("narrowing", parseBoolean, false),
    compress: f.get("compress", parseBoolean, false),
  };
  if (f.error !== undefined) return fail(f.error);

  const ends = { left: left.value, right: right.value };
  const family = checkFamilies(ends, hostAddrFamily, clientAddrFamily);
  if (!family.ok) return family;
  if (type === "transport") {
    const side = (["left", "right"] as const).find((s) => ends[s].subnets.length > 0);
    if (side !== undefined) {
      return fail(
        `${side}subnet: not allowed with type=transport (transport mode protects only the hosts; ` +
          `use type=tunnel)`,
      );
    }
  }
  if (config.phase2 === "ah") return fail(`phase2: "ah" is not supported by swan yet`);
  if (config.mobike && ikeVersion === 1) return fail("mobike: needs keyexchange=ikev2");

  const warnings: string[] = [];
  const ike = parseIkeProposals(f.text("ike"));
  if (!ike.ok) return fail(`ike: ${ike.error}`);
  const esp = parseEspProposals(f.text("esp"), pfs);
  if (!esp.ok) return fail(`esp: ${esp.error}`);
  warnings.push(...ike.warnings, ...esp.warnings);

  let rekeyMargin = config.rekeyMargin;
  const shortest = Math.min(config.ikeLifetime, config.ipsecLifetime);
  if (rekey && rekeyMargin >= shortest) {
    // As Libreswan does: keep rekeying possible instead of refusing the connection.
    const which = config.ipsecLifetime <= config.ikeLifetime ? "ipsec-lifetime" : "ikelifetime";
    rekeyMargin = shortest / 2;
    warnings.push(
      `rekeymargin (${config.rekeyMargin}s) is not less than ${which} (${shortest}s); ` +
        `reducing rekeymargin to ${rekeyMargin}s`,
    );
  }

  return {
    ok: true,
    value: {
      name: def.name,
      left: endConfig(ends.left),
      right: endConfig(ends.right),
      ikeVersion,
      type,
      pfs,
      rekey,
      ...config,
      rekeyMargin,
      ike: ike.proposals,
      esp: esp.proposals,
      ikeText: f.text("ike"),
      espText: f.text("esp"),
      hostAddrFamily: family.value,
      warnings,
    },
  };
}
