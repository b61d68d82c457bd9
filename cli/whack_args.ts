/**
 * whack's command line, in Libreswan 5.x's grammar, turned into one
 * WhackRequest. whack checks the *shape* of the command line only (one
 * action, --name where needed, both ends of a connection); option values
 * travel as ipsec.conf keyword strings and pluto validates them, so a value
 * is judged in one place whether it came from whack or from a config file.
 *
 * The long-option scanner at the top is getopt_long's behaviour (prefixes,
 * `=` values, optional values only with `=`) and is shared with pluto_args.ts.
 */
import { RC } from "../src/control/reply.ts";
import { WHACK_MAGIC, type WhackCommand, type WhackRequest } from "../src/control/request.ts";

/** Whether an option takes a value, as getopt_long's `has_arg`. */
export type ArgMode = "none" | "required" | "optional";

/** One long option: its name, its value mode and what it means to the caller. */
export interface LongOption<M> {
  readonly name: string;
  readonly arg: ArgMode;
  /** Aliases share one meaning object: that is what makes them one option. */
  readonly meaning: M;
}

/** One step of scanning a command line; the last four kinds are errors. */
export type ScanEvent<M> =
  | { kind: "option"; name: string; meaning: M; value?: string }
  | { kind: "operand"; value: string }
  | { kind: "unknown"; text: string }
  | { kind: "ambiguous"; text: string; candidates: string[] }
  | { kind: "missing-value"; name: string }
  | { kind: "unwanted-value"; name: string };

/**
 * Walks `argv` the way getopt_long does with long options only: an exact
 * name wins, otherwise a prefix is accepted when every option it matches is
 * the same option; a required value is the attached `=value` or the next
 * argument; an optional value must be attached; `--` ends the options.
 * Callers stop at the first error event.
 */
export function* scanLongOptions<M>(
  argv: readonly string[],
  table: readonly LongOption<M>[],
): Generator<ScanEvent<M>> {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      for (const rest of argv.slice(i + 1)) yield { kind: "operand", value: rest };
      return;
    }
    if (!arg.startsWith("-") || arg === "-") {
      yield { kind: "operand", value: arg };
      continue;
    }
    const eq = arg.indexOf("=");
    const typed = arg.startsWith("--") ? arg.slice(2, eq < 0 ? undefined : eq) : "";
    const attached = eq < 0 ? undefined : arg.slice(eq + 1);
    const text = eq < 0 ? arg : arg.slice(0, eq);
    if (typed === "") {
      yield { kind: "unknown", text };
      continue;
    }
    const found = lookupOption(typed, table);
    if (found === undefined) {
      yield { kind: "unknown", text };
      continue;
    }
    if (Array.isArray(found)) {
      yield { kind: "ambiguous", text, candidates: found };
      continue;
    }
    const { name, meaning } = found;
    if (found.arg === "none") {
      if (attached !== undefined) yield { kind: "unwanted-value", name };
      else yield { kind: "option", name, meaning };
    } else if (attached !== undefined || found.arg === "optional") {
      yield { kind: "option", name, meaning, value: attached };
    } else if (i + 1 < argv.length) {
      yield { kind: "option", name, meaning, value: argv[++i] };
    } else {
      yield { kind: "missing-value", name };
    }
  }
}

/** The option `typed` names, the candidate names when it is ambiguous, or undefined. */
function lookupOption<M>(
  typed: string,
  table: readonly LongOption<M>[],
): LongOption<M> | string[] | undefined {
  const exact = table.find((o) => o.name === typed);
  if (exact) return exact;
  const candidates = table.filter((o) => o.name.startsWith(typed));
  if (candidates.length === 0) return undefined;
  if (new Set(candidates.map((o) => o.meaning)).size === 1) return candidates[0];
  return candidates.map((o) => o.name);
}

/** Splits a debug flag list: elements are separated by `+`, `,`, spaces or tabs. */
export function splitDebugFlags(list: string): string[] {
  return list.split(/[+, \t]+/).filter((flag) => flag !== "");
}

/** The outcome of parsing whack's command line. */
export type WhackParse =
  | {
    kind: "request";
    request: WhackRequest;
    /** The control socket to connect to. */
    socketPath: string;
    label?: string;
    name?: string;
  }
  | { kind: "help" }
  | { kind: "version" }
  /** `--debug help`: list the debug flags, then exit 1 (as Libreswan does). */
  | { kind: "debug-help" }
  | { kind: "error"; message: string; exitCode: number };

/** Where whack finds pluto when neither --ctlsocket nor --rundir is given. */
export const DEFAULT_CTL_SOCKET = "/run/pluto/pluto.ctl";

/** Exit code for malformed options (getopt errors, bad or repeated values). */
const BAD_OPTION = 1;

type CommandKind = WhackCommand["kind"];
type SimpleCommand = Exclude<CommandKind, "add" | "debug">;

/** What a whack option does. */
type Meaning =
  | { class: "help" }
  | { class: "version" }
  | { class: "global"; setting: "name" | "label" | "ctlsocket" | "rundir" | "utc" }
  | { class: "header"; flag: "status" | "shutdown" | "leaveState" | "asynchronous" }
  | { class: "command"; command: SimpleCommand; operand?: "remoteHost" | "serial" }
  /** `--debug`/`--no-debug` take a flag list; `--debug-none`/`--debug-all` carry theirs. */
  | { class: "debug"; clear: boolean; flags?: string }
  /** `value` is the keyword's value when the option is given without one. */
  | { class: "end"; keyword: string; value?: string }
  | { class: "conn"; keyword: string; value?: string }
  | { class: "to" }
  | { class: "unsupported" };

const end = (keyword: string, value?: string): Meaning => ({ class: "end", keyword, value });
const conn = (keyword: string, value?: string): Meaning => ({ class: "conn", keyword, value });
const unsupported = (): Meaning => ({ class: "unsupported" });
const command = (name: SimpleCommand, operand?: "remoteHost" | "serial"): Meaning => ({
  class: "command",
  command: name,
  operand,
});

/** `[names (first is canonical, the rest aliases), value mode, meaning]`. */
type Entry = readonly [names: readonly string[], arg: ArgMode, meaning: Meaning];

const GLOBAL_OPTIONS: readonly Entry[] = [
  [["help"], "none", { class: "help" }],
  [["version"], "none", { class: "version" }],
  [["name"], "required", { class: "global", setting: "name" }],
  [["label"], "required", { class: "global", setting: "label" }],
  [["ctlsocket"], "required", { class: "global", setting: "ctlsocket" }],
  [["rundir", "ctlbase"], "required", { class: "global", setting: "rundir" }],
  [["utc"], "none", { class: "global", setting: "utc" }],
  [["status"], "none", { class: "header", flag: "status" }],
  [["shutdown"], "none", { class: "header", flag: "shutdown" }],
  [["leave-state"], "none", { class: "header", flag: "leaveState" }],
  [["asynchronous", "async", "bg"], "optional", { class: "header", flag: "asynchronous" }],
];

const COMMAND_OPTIONS: readonly Entry[] = [
  [["listen"], "none", command("listen")],
  [["unlisten"], "none", command("unlisten")],
  [["initiate"], "none", command("initiate")],
  // Libreswan lets --remote-host alone imply --initiate.
  [["remote-host"], "required", command("initiate", "remoteHost")],
  [["terminate", "down"], "none", command("terminate")],
  [["delete"], "none", command("delete")],
  [["deletestate"], "required", command("deletestate", "serial")],
  [["route", "ondemand"], "none", command("route")],
  [["unroute"], "none", command("unroute")],
  [["rekey-ike"], "none", command("rekey-ike")],
  [["rekey-child", "rekey-ipsec"], "none", command("rekey-child")],
  [["rereadsecrets"], "none", command("rereadsecrets")],
  [["trafficstatus"], "none", command("trafficstatus")],
  [["showstates", "statestatus"], "none", command("showstates")],
  [["briefstatus"], "none", command("briefstatus")],
  [["connectionstatus"], "none", command("connectionstatus")],
  // The man page spells it --globalstats.
  [["globalstatus", "globalstats"], "none", command("globalstatus")],
  [["shuntstatus"], "none", command("shuntstatus")],
  [["listpsks"], "none", command("listpsks")],
  [["debug"], "required", { class: "debug", clear: false }],
  [["no-debug"], "required", { class: "debug", clear: true }],
  [["debug-none"], "none", { class: "debug", clear: false, flags: "none" }],
  [["debug-all"], "none", { class: "debug", clear: false, flags: "all" }],
];

/** Per-end options (§1.4.1): stored in the left end before --to, the right end after. */
const END_OPTIONS: readonly Entry[] = [
  [["host"], "required", end("host")],
  [["id"], "required", end("id")],
  [["cert"], "required", end("cert")],
  [["ckaid"], "required", end("ckaid")],
  [["ca"], "required", end("ca")],
  [["groups"], "required", end("groups")],
  [["certtype"], "required", end("certtype")],
  [["ikeport"], "required", end("ikeport")],
  [["nexthop"], "required", end("nexthop")],
  [["subnet", "client"], "required", end("subnet")],
  [["clientprotoport"], "required", end("protoport")],
  [["sourceip", "srcip"], "required", end("sourceip")],
  [["interface-ip", "interfaceip"], "required", end("interface-ip")],
  [["vti", "vtiip"], "required", end("vti")],
  [["updown"], "required", end("updown")],
  // Libreswan renamed the per-end --authby to --auth; the old name still works.
  [["auth", "authby"], "required", end("auth")],
  [["autheap"], "required", end("autheap")],
  [["sendcert"], "required", end("sendcert")],
  [["xauthserver", "xauth"], "optional", end("xauthserver", "yes")],
  [["xauthclient"], "optional", end("xauthclient", "yes")],
  [["modecfgserver", "modeconfigserver"], "optional", end("modecfgserver", "yes")],
  [["modecfgclient", "modeconfigclient"], "optional", end("modecfgclient", "yes")],
  [["addresspool"], "required", end("addresspool")],
  [["cat"], "optional", end("cat", "yes")],
  [["dnskeyondemand"], "none", end("pubkey", "%dnsondemand")],
  [["username", "xauthuser", "xauthname"], "required", end("username")],
];

/** `[names, keyword]` of per-connection yes/no options whose bare form means yes. */
const CONN_BOOLEANS: readonly (readonly [readonly string[], string])[] = [
  [["pfs"], "pfs"],
  [["compress"], "compress"],
  [["reauth"], "reauth"],
  [["encapsulation", "encaps"], "encapsulation"],
  [["ikepad"], "ikepad"],
  [["mobike"], "mobike"],
  [["allow-narrowing"], "narrowing"],
  [["initial-contact", "initialcontact"], "initial-contact"],
  [["childless"], "childless"],
  [["cisco-unity", "cisco_unity"], "cisco-unity"],
  [["fake-strongswan"], "fake-strongswan"],
  [["nm-configured", "nm_configured"], "nm-configured"],
  [["modecfgpull"], "modecfgpull"],
  [["aggressive", "aggrmode"], "aggressive"],
  [
    ["send-esp-tfc-padding-not-supported", "send-no-esp-tfc"],
    "send-esp-tfc-padding-not-supported",
  ],
  [["reject-simultaneous-ike-auth"], "reject-simultaneous-ike-auth"],
  [["vti-routing"], "vti-routing"],
  [["vti-shared"], "vti-shared"],
  [["overlapip"], "overlapip"],
  [["sha2-truncbug", "sha2_truncbug"], "sha2-truncbug"],
  [["ms-dh-downgrade"], "ms-dh-downgrade"],
  [["pfs-rekey-workaround"], "pfs-rekey-workaround"],
  [["dns-match-id"], "dns-match-id"],
  [["ignore-peer-dns"], "ignore-peer-dns"],
  [["decap-dscp"], "decap-dscp"],
  [["encap-dscp"], "encap-dscp"],
  [["nopmtudisc"], "nopmtudisc"],
  [["intermediate"], "intermediate"],
  [["session-resumption"], "session-resumption"],
  [["send-supported-auth-methods"], "send-supported-auth-methods"],
  [["iptfs"], "iptfs"],
  [["iptfs-fragmentation"], "iptfs-fragmentation"],
  [["esn"], "esn"],
];

/** `[names, keyword]` of per-connection options that take a value. */
const CONN_VALUES: readonly (readonly [readonly string[], string])[] = [
  [["ike", "ikealg"], "ike"],
  [["esp"], "esp"],
  [["ah"], "ah"],
  // Libreswan 5 removed --pfsgroup, but our man page documents it: pluto
  // gets it as a `pfsgroup` keyword and decides.
  [["pfsgroup"], "pfsgroup"],
  [["ikelifetime"], "ikelifetime"],
  [["ipsec-lifetime", "ipseclifetime"], "ipsec-lifetime"],
  [["ipsec-max-bytes"], "ipsec-max-bytes"],
  [["ipsec-max-packets"], "ipsec-max-packets"],
  [["rekeymargin", "rekeywindow"], "rekeymargin"],
  [["rekeyfuzz"], "rekeyfuzz"],
  [["keyingtries"], "keyingtries"],
  [["retransmit-timeout"], "retransmit-timeout"],
  [["retransmit-interval"], "retransmit-interval"],
  [["replay-window"], "replay-window"],
  [["dpddelay"], "dpddelay"],
  [["dpdtimeout", "timeout"], "dpdtimeout"],
  [["dpdaction"], "dpdaction"],
  [["nat-keepalive"], "nat-keepalive"],
  [["ikev1-natt", "ikev1_natt"], "nat-ikev1-method"],
  [["fragmentation"], "fragmentation"],
  [["narrowing"], "narrowing"],
  [["tcp"], "enable-tcp"],
  [["tcp-remote-port"], "tcp-remoteport"],
  [["send-redirect"], "send-redirect"],
  [["accept-redirect"], "accept-redirect"],
  [["accept-redirect-to"], "accept-redirect-to"],
  // In a connection definition; alone it would be the active-redirect
  // command, which swan does not have yet (see finish()).
  [["redirect-to"], "redirect-to"],
  [["remote-peer-type"], "remote-peer-type"],
  [["xauthby"], "xauthby"],
  [["xauthfail"], "xauthfail"],
  [["modecfgdns"], "modecfgdns"],
  [["modecfgdomains"], "modecfgdomains"],
  [["modecfgbanner"], "modecfgbanner"],
  [["mtu"], "mtu"],
  [["metric"], "metric"],
  [["priority"], "priority"],
  [["tfc"], "tfc"],
  [["reqid"], "reqid"],
  [["nflog-group"], "nflog-group"],
  [["conn-mark"], "mark"],
  [["conn-mark-in"], "mark-in"],
  [["conn-mark-out"], "mark-out"],
  [["vti-interface", "vti-iface"], "vti-interface"],
  [["ipsec-interface"], "ipsec-interface"],
  [["nic-offload"], "nic-offload"],
  [["sendca"], "sendca"],
  [["iptfs-packet-size"], "iptfs-packet-size"],
  [["iptfs-max-queue-size"], "iptfs-max-queue-size"],
  [["iptfs-reorder-window"], "iptfs-reorder-window"],
  [["iptfs-init-delay"], "iptfs-init-delay"],
  [["iptfs-drop-time"], "iptfs-drop-time"],
  [["policylabel"], "sec-label"],
  [["connalias"], "connalias"],
];

/** Per-connection options that set a fixed keyword value (§1.4.2). */
const CONN_FLAGS: readonly Entry[] = [
  [["ikev1", "ikev1-allow"], "none", conn("keyexchange", "ikev1")],
  [["ikev2", "ikev2-allow", "ikev2-propose"], "none", conn("keyexchange", "ikev2")],
  [["ipv4"], "none", conn("hostaddrfamily", "ipv4")],
  [["ipv6"], "none", conn("hostaddrfamily", "ipv6")],
  [["tunnelipv4"], "none", conn("clientaddrfamily", "ipv4")],
  [["tunnelipv6"], "none", conn("clientaddrfamily", "ipv6")],
  [["tunnel"], "none", conn("type", "tunnel")],
  [["transport"], "none", conn("type", "transport")],
  [["pass"], "none", conn("type", "passthrough")],
  [["drop"], "none", conn("type", "drop")],
  [["reject"], "none", conn("type", "reject")],
  // "initiate only when traffic needs it" is what auto=ondemand means.
  [["initiateontraffic"], "none", conn("auto", "ondemand")],
  [["negopass"], "none", conn("negotiationshunt", "passthrough")],
  [["negodrop"], "none", conn("negotiationshunt", "drop")],
  [["negohold"], "none", conn("negotiationshunt", "hold")],
  [["failnone"], "none", conn("failureshunt", "none")],
  [["failpass"], "none", conn("failureshunt", "passthrough")],
  [["faildrop"], "none", conn("failureshunt", "drop")],
  [["failhold"], "none", conn("failureshunt", "hold")],
  [["failreject"], "none", conn("failureshunt", "reject")],
  [["encrypt"], "none", conn("phase2", "esp")],
  [["authenticate"], "none", conn("phase2", "ah")],
  [["psk"], "none", conn("authby", "secret")],
  [["rsasig"], "none", conn("authby", "rsasig")],
  [["rsa-sha1"], "none", conn("authby", "rsa-sha1")],
  [["rsa-sha2"], "none", conn("authby", "rsa-sha2")],
  [["rsa-sha2_256"], "none", conn("authby", "rsa-sha2_256")],
  [["rsa-sha2_384"], "none", conn("authby", "rsa-sha2_384")],
  [["rsa-sha2_512"], "none", conn("authby", "rsa-sha2_512")],
  [["ecdsa", "ecdsa-sha2"], "none", conn("authby", "ecdsa")],
  [["ecdsa-sha2_256"], "none", conn("authby", "ecdsa-sha2_256")],
  [["ecdsa-sha2_384"], "none", conn("authby", "ecdsa-sha2_384")],
  [["ecdsa-sha2_512"], "none", conn("authby", "ecdsa-sha2_512")],
  [["auth-null"], "none", conn("authby", "null")],
  [["auth-never"], "none", conn("authby", "never")],
  [["no-esn"], "none", conn("esn", "no")],
  [["dontrekey"], "none", conn("rekey", "no")],
  [["forceencaps"], "none", conn("encapsulation", "yes")],
  [["no-nat-keepalive", "no-nat_keepalive", "no-keep-alive"], "none", conn("nat-keepalive", "no")],
  [["ikefrag-allow"], "none", conn("fragmentation", "yes")],
  [["ikefrag-force"], "none", conn("fragmentation", "force")],
  [["allow-cert-without-san-id"], "none", conn("require-id-on-certificate", "no")],
  [["dont-share-lease"], "none", conn("share-lease", "no")],
];

/** Libreswan options swan recognises but cannot carry out yet. */
const UNSUPPORTED_OPTIONS: readonly (readonly [string, ArgMode])[] = [
  ["addresspoolstatus", "none"],
  ["briefconnectionstatus", "none"],
  ["fipsstatus", "none"],
  ["processstatus", "none"],
  ["listall", "none"],
  ["listpubkeys", "none"],
  ["listcerts", "none"],
  ["listcacerts", "none"],
  ["listcrls", "none"],
  ["listevents", "none"],
  ["checkpubkeys", "none"],
  ["rereadcerts", "none"],
  ["rereadcrls", "none"],
  ["fetchcrls", "none"],
  ["rereadall", "none"],
  ["purgeocsp", "none"],
  ["clearstats", "none"],
  ["ike-socket-bufsize", "required"],
  ["ike-socket-errqueue", "required"],
  ["ike-socket-errqueue-toggle", "none"],
  ["ddos-mode", "required"],
  ["ddos-busy", "none"],
  ["ddos-unlimited", "none"],
  ["ddos-auto", "none"],
  ["ddns", "none"],
  ["delete-ike", "none"],
  ["delete-child", "none"],
  ["down-ike", "none"],
  ["down-child", "none"],
  ["suspend", "none"],
  ["deleteid", "none"],
  ["deleteuser", "none"],
  ["crash", "required"],
  ["global-redirect", "required"],
  ["global-redirect-to", "required"],
  ["oppohere", "required"],
  ["oppothere", "required"],
  ["opposport", "required"],
  ["oppodport", "required"],
  ["oppoproto", "required"],
  ["oppolabel", "required"],
  ["opporeqid", "required"],
  ["keyid", "required"],
  ["addkey", "none"],
  ["pubkeyrsa", "required"],
  ["impair", "required"],
  ["no-impair", "required"],
  ["seccomp-crashtest", "none"],
  ["magic", "required"],
  // Answers XAUTH prompts, which swan's whack does not relay yet.
  ["xauthpass", "required"],
];

function expand(entries: readonly Entry[]): LongOption<Meaning>[] {
  return entries.flatMap(([names, arg, meaning]) => names.map((name) => ({ name, arg, meaning })));
}

/** The whole whack option table. */
const WHACK_OPTIONS: readonly LongOption<Meaning>[] = [
  ...expand(GLOBAL_OPTIONS),
  ...expand(COMMAND_OPTIONS),
  ...expand([[["to"], "none", { class: "to" }]]),
  ...expand(END_OPTIONS),
  ...expand(CONN_BOOLEANS.map(([names, keyword]) => [names, "optional", conn(keyword, "yes")])),
  ...expand(CONN_VALUES.map(([names, keyword]) => [names, "required", conn(keyword)])),
  ...expand(CONN_FLAGS),
  // Each gets its own meaning so that a prefix shared by two of them is ambiguous.
  ...UNSUPPORTED_OPTIONS.map(([name, arg]) => ({
    name,
    arg,
    meaning: unsupported(),
  })),
];

/** Whether a command needs, accepts or refuses `--name` (§1.2). */
const NAME_RULE: Record<CommandKind, "required" | "allowed" | "refused"> = {
  add: "required",
  initiate: "required",
  terminate: "required",
  delete: "required",
  route: "required",
  unroute: "required",
  "rekey-ike": "required",
  "rekey-child": "required",
  trafficstatus: "allowed",
  connectionstatus: "allowed",
  showstates: "allowed",
  // Libreswan 5's whack refuses this, but pluto supports per-connection debugging.
  debug: "allowed",
  listen: "refused",
  unlisten: "refused",
  deletestate: "refused",
  rereadsecrets: "refused",
  briefstatus: "refused",
  globalstatus: "refused",
  shuntstatus: "refused",
  listpsks: "refused",
};

/** How two values for one keyword combine, for the keywords where that is allowed. */
const COMBINE: Record<string, (old: string, added: string) => string> = {
  // --psk --rsasig: both methods are acceptable.
  authby: (old, added) => `${old},${added}`,
  // --esn together with --no-esn means either is fine.
  esn: () => "either",
};

/** Keyword values plus which option set each, for conflict messages. */
interface KeywordSet {
  values: Record<string, string>;
  setBy: Record<string, string>;
}

/** Everything gathered while reading the command line. */
interface ParseState {
  label?: string;
  name?: string;
  socketPath: string;
  status: boolean;
  shutdown: boolean;
  leaveState: boolean;
  asynchronous: boolean;
  command?: { kind: CommandKind; option: string };
  remoteHost?: string;
  serial?: number;
  debugSet: string[];
  debugClear: string[];
  left: KeywordSet;
  right: KeywordSet;
  conn: KeywordSet;
  /** Names of the connection-definition options used, `to` included. */
  connOptions: string[];
  sawTo: boolean;
  /** Options that may appear once per command line. */
  seen: Set<Meaning>;
  /** Per-end options seen for the current end. */
  seenEnd: Set<Meaning>;
  operands: string[];
}

type Failure = Extract<WhackParse, { kind: "error" }>;

/** A whack-side diagnostic: `whack error: [<label> ]["<name>" ]<message>`, exit 33. */
function whackError(state: ParseState, message: string): Failure {
  const label = state.label === undefined ? "" : `${state.label} `;
  const name = state.name === undefined ? "" : `"${state.name}" `;
  return {
    kind: "error",
    message: `whack error: ${label}${name}${message}`,
    exitCode: RC.WHACK_PROBLEM,
  };
}

/** A malformed option value or a repeated option, exit 1. */
function optionError(name: string, why: string, value?: string): Failure {
  const shown = value === undefined ? "" : ` '${value}'`;
  return {
    kind: "error",
    message: `whack: ERROR: option --${name}${shown} invalid, ${why}`,
    exitCode: BAD_OPTION,
  };
}

/** getopt's own complaint plus the usage hint, exit 1. */
function getoptError(message: string): Failure {
  return {
    kind: "error",
    message: `whack: ${message}\nFor usage information: whack --help`,
    exitCode: BAD_OPTION,
  };
}

/**
 * Parses whack's arguments (without the program name). Nothing is sent
 * anywhere; the caller connects to `socketPath` with the returned request.
 */
export function parseWhackArgs(argv: string[]): WhackParse {
  const newKeywordSet = (): KeywordSet => ({ values: {}, setBy: {} });
  const state: ParseState = {
    socketPath: DEFAULT_CTL_SOCKET,
    status: false,
    shutdown: false,
    leaveState: false,
    asynchronous: false,
    debugSet: [],
    debugClear: [],
    left: newKeywordSet(),
    right: newKeywordSet(),
    conn: newKeywordSet(),
    connOptions: [],
    sawTo: false,
    seen: new Set(),
    seenEnd: new Set(),
    operands: [],
  };
  for (const event of scanLongOptions(argv, WHACK_OPTIONS)) {
    switch (event.kind) {
      case "operand":
        // getopt moves operands to the end; whack complains once it has seen every option.
        state.operands.push(event.value);
        continue;
      case "unknown":
        return getoptError(`unrecognized option '${event.text}'`);
      case "ambiguous":
        return getoptError(
          `option '${event.text}' is ambiguous; possibilities: ${
            event.candidates.map((c) => `'--${c}'`).join(" ")
          }`,
        );
      case "missing-value":
        return getoptError(`option '--${event.name}' requires an argument`);
      case "unwanted-value":
        return getoptError(`option '--${event.name}' doesn't allow an argument`);
      case "option": {
        const outcome = applyOption(state, event.name, event.meaning, event.value);
        if (outcome !== undefined) return outcome;
      }
    }
  }
  return finish(state);
}

/** Applies one option; returns a final outcome (help, version, error) to stop early. */
function applyOption(
  state: ParseState,
  name: string,
  meaning: Meaning,
  value: string | undefined,
): WhackParse | undefined {
  // Per-end options may repeat once per end; debug flags accumulate.
  const once = meaning.class === "end" ? state.seenEnd : state.seen;
  if (meaning.class !== "debug" && meaning.class !== "unsupported") {
    if (once.has(meaning)) return optionError(name, "duplicated flag");
    once.add(meaning);
  }
  switch (meaning.class) {
    case "help":
      return { kind: "help" };
    case "version":
      return { kind: "version" };
    case "unsupported":
      return whackError(state, `--${name} is not supported by swan yet`);
    case "global":
      return applyGlobal(state, meaning.setting, value ?? "");
    case "header":
      return applyHeader(state, name, meaning.flag, value);
    case "command":
      return applyCommand(state, name, meaning, value ?? "");
    case "debug":
      return applyDebug(state, name, meaning, value ?? "");
    case "to":
      state.sawTo = true;
      state.seenEnd.clear();
      return recordCommand(state, "add", name);
    case "end":
    case "conn": {
      const target = meaning.class === "conn" ? state.conn : state.sawTo ? state.right : state.left;
      const conflict = setKeyword(target, meaning.keyword, value ?? meaning.value ?? "", name);
      if (conflict !== undefined) return whackError(state, conflict);
      return recordCommand(state, "add", name);
    }
  }
}

function applyGlobal(
  state: ParseState,
  setting: "name" | "label" | "ctlsocket" | "rundir" | "utc",
  value: string,
): undefined {
  switch (setting) {
    case "name":
      state.name = value;
      break;
    case "label":
      state.label = value;
      break;
    case "ctlsocket":
      state.socketPath = value;
      break;
    case "rundir":
      state.socketPath = `${value}/pluto.ctl`;
      break;
    case "utc":
      // Only Libreswan's --list* output prints local times; swan prints none.
      break;
  }
  return undefined;
}

function applyHeader(
  state: ParseState,
  name: string,
  flag: "status" | "shutdown" | "leaveState" | "asynchronous",
  value: string | undefined,
): Failure | undefined {
  if (flag !== "asynchronous") {
    state[flag] = true;
    return undefined;
  }
  if (value === undefined || value === "yes") state.asynchronous = true;
  else if (value === "no") state.asynchronous = false;
  else return optionError(name, `'${value}' is not 'yes' or 'no'`, value);
  return undefined;
}

function applyCommand(
  state: ParseState,
  name: string,
  meaning: Extract<Meaning, { class: "command" }>,
  value: string,
): Failure | undefined {
  if (meaning.operand === "remoteHost") state.remoteHost = value;
  if (meaning.operand === "serial") {
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      return optionError(name, `'${value}' is not a state serial number`, value);
    }
    state.serial = Number(value);
  }
  return recordCommand(state, meaning.command, name);
}

function applyDebug(
  state: ParseState,
  name: string,
  meaning: Extract<Meaning, { class: "debug" }>,
  value: string,
): WhackParse | undefined {
  const flags = splitDebugFlags(meaning.flags ?? value);
  if (!meaning.clear && flags.includes("help")) return { kind: "debug-help" };
  for (const flag of flags) {
    const negated = !meaning.clear && flag.startsWith("no-");
    const bare = negated ? flag.slice("no-".length) : flag;
    if (bare === "none") {
      // Everything off: what came before is moot. pluto clears all flags
      // when `set` holds "none", before applying the rest of `set`.
      state.debugSet = ["none"];
      state.debugClear = [];
      continue;
    }
    const clear = meaning.clear || negated;
    const [into, from] = clear
      ? [state.debugClear, state.debugSet]
      : [state.debugSet, state.debugClear];
    const stale = from.indexOf(bare);
    if (stale >= 0) from.splice(stale, 1);
    if (!into.includes(bare)) into.push(bare);
  }
  return recordCommand(state, "debug", name);
}

/** Notes the action an option asks for; a second, different action is an error. */
function recordCommand(state: ParseState, kind: CommandKind, option: string): Failure | undefined {
  if (kind === "add") state.connOptions.push(option);
  if (state.command === undefined) {
    state.command = { kind, option };
    return undefined;
  }
  if (state.command.kind === kind) return undefined;
  // Libreswan's wording, typo included: scripts and tests match on it.
  return whackError(
    state,
    `conflicing command options '--${state.command.option}' and '--${option}'`,
  );
}

/** Sets a keyword once; returns a conflict message when another option already set it. */
function setKeyword(
  target: KeywordSet,
  keyword: string,
  value: string,
  option: string,
): string | undefined {
  const old = target.values[keyword];
  if (old !== undefined && old !== value) {
    const combine = COMBINE[keyword];
    if (combine === undefined) return `--${option} conflicts with --${target.setBy[keyword]}`;
    target.values[keyword] = combine(old, value);
    return undefined;
  }
  target.values[keyword] = value;
  target.setBy[keyword] = option;
  return undefined;
}

/** The checks that need the whole command line, then the request itself. */
function finish(state: ParseState): WhackParse {
  if (state.operands.length > 0) {
    return whackError(state, `unexpected argument "${state.operands[0]}"`);
  }
  if (state.command?.kind === "add") {
    if (!state.sawTo) {
      return state.connOptions.every((o) => o === "redirect-to")
        ? whackError(state, "--redirect-to is not supported by swan yet")
        : whackError(state, "connection description option, but no --to");
    }
    if (state.left.values.host === undefined) {
      return whackError(state, "connection missing --host before --to");
    }
    if (state.right.values.host === undefined) {
      return whackError(state, "connection missing --host after --to");
    }
  }
  const shutdown = state.shutdown || state.leaveState;
  if (state.command === undefined && !state.status && !shutdown) {
    return whackError(state, "no action specified; try --help for hints");
  }
  const nameRule = state.command === undefined ? "refused" : NAME_RULE[state.command.kind];
  if (nameRule === "required" && state.name === undefined) {
    return whackError(state, "missing --name <connection_name>");
  }
  if (nameRule === "refused" && state.name !== undefined) {
    return whackError(state, "no reason for --name");
  }
  const request: WhackRequest = { magic: WHACK_MAGIC };
  if (state.status) request.status = true;
  if (shutdown) request.shutdown = true;
  if (state.leaveState) request.leaveState = true;
  if (state.asynchronous) request.asynchronous = true;
  if (state.command !== undefined) request.command = buildCommand(state, state.command.kind);
  return {
    kind: "request",
    request,
    socketPath: state.socketPath,
    ...(state.label === undefined ? {} : { label: state.label }),
    ...(state.name === undefined ? {} : { name: state.name }),
  };
}

/** The WhackCommand for `kind`, once finish() has checked that what it needs is there. */
function buildCommand(state: ParseState, kind: CommandKind): WhackCommand {
  const name = state.name ?? "";
  const optionalName = state.name === undefined ? {} : { name: state.name };
  switch (kind) {
    case "add": {
      const { left, right, conn } = state;
      return {
        kind,
        connection: { name, left: left.values, right: right.values, conn: conn.values },
      };
    }
    case "initiate":
      return state.remoteHost === undefined
        ? { kind, name }
        : { kind, name, remoteHost: state.remoteHost };
    case "terminate":
    case "delete":
    case "route":
    case "unroute":
    case "rekey-ike":
    case "rekey-child":
      return { kind, name };
    case "deletestate":
      return { kind, serial: state.serial ?? 0 };
    case "trafficstatus":
    case "connectionstatus":
      return { kind, ...optionalName };
    case "debug":
      return { kind, ...optionalName, set: state.debugSet, clear: state.debugClear };
    case "listen":
    case "unlisten":
    case "rereadsecrets":
    case "showstates":
    case "briefstatus":
    case "globalstatus":
    case "shuntstatus":
    case "listpsks":
      return { kind };
  }
}
