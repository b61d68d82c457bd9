/**
 * pluto's command line → PlutoOptions. Every option of the man page and of
 * Libreswan 5.x's pluto is recognised; the ones swan cannot honour yet are
 * refused by name rather than ignored, so a copied command line never
 * silently means less than it says.
 */
import { isIP } from "node:net";
import { type ArgMode, type LongOption, scanLongOptions, splitDebugFlags } from "./whack_args.ts";

/** The IPsec kernel interfaces pluto can drive. */
export type Protostack = "xfrm" | "pfkeyv2" | "userspace" | "none";

const PROTOSTACKS: readonly Protostack[] = ["xfrm", "pfkeyv2", "userspace", "none"];

/** Everything the daemon needs from its command line. */
export interface PlutoOptions {
  /** Stay in the foreground. */
  nofork: boolean;
  /** Log to stderr. */
  stderrlog: boolean;
  /** Log file; absent means syslog (unless `stderrlog`). */
  logfile?: string;
  /** Timestamp log lines. */
  logTime: boolean;
  /** Append to `logfile` rather than truncating it. */
  logAppend: boolean;
  /** Show peer addresses in log lines (else `<address>`). */
  logIp: boolean;
  /** Holds `pluto.pid` and, by default, `pluto.ctl`; default `/run/pluto`. */
  rundir: string;
  /** Control socket; default `<rundir>/pluto.ctl`. */
  ctlsocket: string;
  /** Secrets file (a glob); default `/etc/ipsec.secrets`. */
  secretsfile: string;
  /** IKE port; default 500. */
  ikeport: number;
  /** NAT-traversal port; default 4500. */
  natikeport: number;
  /** The only address to listen on. */
  listen?: string;
  /** Interfaces to consider (`--interface`, repeatable); empty means all. */
  interfaces: string[];
  /** Debug flags in the order given (`--debug-none` → `none`, `--debug-all` → `all`). */
  debug: string[];
  /** Crypto helper count; -1 means one per CPU less one. */
  nhelpers: number;
  /** Kernel interface. */
  protostack: Protostack;
  /** NAT keepalive period in seconds; default 20. */
  keepAlive: number;
  /** A new IKE SA with a peer ID replaces the older ones; default true. */
  uniqueids: boolean;
  /** Default `/etc/ipsec.d`. */
  ipsecdir: string;
  /** NSS database directory; default `/var/lib/ipsec/nss`. */
  nssdir: string;
  /** Where core dumps go; default `/run/pluto`. */
  dumpdir: string;
  /** Our Vendor ID, when overridden. */
  vendorid?: string;
  /**
   * swan extra: a directory where pluto appends Wireshark's
   * `ikev2_decryption_table` and `esp_sa` rows for every SA it keys, so
   * captures can be decrypted (copy them into a Wireshark profile).
   */
  wiresharkKeys?: string;
  /** ipsec.conf whose `config setup` section applies. */
  config?: string;
}

/** The outcome of parsing pluto's command line. */
export type PlutoParse =
  | { kind: "run"; options: PlutoOptions }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "error"; message: string; exitCode: number };

/** Options as they accumulate; `ctlsocket` is derived from `rundir` at the end. */
type Draft = Omit<PlutoOptions, "ctlsocket"> & { ctlsocket?: string };

/** Applies an option's value; returns an error message, or undefined when fine. */
type Apply = (draft: Draft, value: string | undefined, name: string) => string | undefined;

type Meaning =
  | { kind: "apply"; apply: Apply }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "unsupported" };

const set = (apply: Apply): Meaning => ({ kind: "apply", apply });
const unsupported = (): Meaning => ({ kind: "unsupported" });

/** Flags: an option without a value that sets one field. */
function flag<K extends keyof Draft>(key: K, value: Draft[K]): Apply {
  return (draft) => {
    draft[key] = value;
    return undefined;
  };
}

/** Options whose value is stored as given. */
function text(
  key:
    | "rundir"
    | "ctlsocket"
    | "secretsfile"
    | "ipsecdir"
    | "nssdir"
    | "dumpdir"
    | "vendorid"
    | "wiresharkKeys"
    | "config",
): Apply {
  return (draft, value) => {
    draft[key] = value ?? "";
    return undefined;
  };
}

/** Ports, 1-65535. */
function port(key: "ikeport" | "natikeport"): Apply {
  return (draft, value, name) => {
    const n = decimal(value);
    if (n === undefined || n < 1 || n > 65535) {
      return `--${name}: "${value}" is not a port (1-65535)`;
    }
    draft[key] = n;
    return undefined;
  };
}

/** `[=yes|no]` options; bare means yes. */
function yesNo(key: "uniqueids" | "logIp"): Apply {
  return (draft, value, name) => {
    if (value !== undefined && value !== "yes" && value !== "no") {
      return `--${name}: "${value}" is not yes or no`;
    }
    draft[key] = value !== "no";
    return undefined;
  };
}

/** A non-negative decimal integer, or undefined. */
function decimal(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

const applyLogfile: Apply = (draft, value) => {
  // An empty file name goes back to the default (syslog), as in Libreswan.
  if (value) draft.logfile = value;
  else delete draft.logfile;
  return undefined;
};

const applyListen: Apply = (draft, value, name) => {
  if (isIP(value ?? "") === 0) return `--${name}: "${value}" is not an IP address`;
  draft.listen = value;
  return undefined;
};

const applyInterface: Apply = (draft, value) => {
  draft.interfaces.push(value ?? "");
  return undefined;
};

const applyDebug: Apply = (draft, value) => {
  draft.debug.push(...splitDebugFlags(value ?? ""));
  return undefined;
};

const applyNhelpers: Apply = (draft, value, name) => {
  const n = value === "-1" ? -1 : decimal(value);
  if (n === undefined) {
    return `--${name}: "${value}" is not a helper count (a number, or -1 for one per CPU less one)`;
  }
  draft.nhelpers = n;
  return undefined;
};

const applyKeepAlive: Apply = (draft, value, name) => {
  const n = decimal(value);
  if (n === undefined) return `--${name}: "${value}" is not a number of seconds`;
  draft.keepAlive = n;
  return undefined;
};

const applyProtostack: Apply = (draft, value, name) => {
  const stack = PROTOSTACKS.find((s) => s === value);
  if (stack === undefined) {
    return `--${name}: "${value}" is not a protocol stack (use one of ${PROTOSTACKS.join(", ")})`;
  }
  draft.protostack = stack;
  return undefined;
};

/** `[names, value mode, meaning]`; aliases share the meaning. */
type Entry = readonly [names: readonly string[], arg: ArgMode, meaning: Meaning];

const IMPLEMENTED: readonly Entry[] = [
  [["help"], "none", { kind: "help" }],
  [["version"], "none", { kind: "version" }],
  [["nofork"], "none", set(flag("nofork", true))],
  [["stderrlog"], "none", set(flag("stderrlog", true))],
  [["logfile"], "required", set(applyLogfile)],
  [["log-no-time"], "none", set(flag("logTime", false))],
  [["log-no-append"], "none", set(flag("logAppend", false))],
  [["logip"], "optional", set(yesNo("logIp"))],
  [["log-no-ip"], "none", set(flag("logIp", false))],
  [["rundir", "ctlbase"], "required", set(text("rundir"))],
  [["ctlsocket"], "required", set(text("ctlsocket"))],
  [["secretsfile"], "required", set(text("secretsfile"))],
  [["ikeport"], "required", set(port("ikeport"))],
  [["natikeport"], "required", set(port("natikeport"))],
  [["listen"], "required", set(applyListen)],
  [["interface"], "required", set(applyInterface)],
  [["debug"], "required", set(applyDebug)],
  [["debug-none"], "none", set((draft) => applyDebug(draft, "none", "debug-none"))],
  [["debug-all"], "none", set((draft) => applyDebug(draft, "all", "debug-all"))],
  [["nhelpers"], "required", set(applyNhelpers)],
  [["protostack"], "required", set(applyProtostack)],
  [["use-xfrm", "use-netkey"], "none", set(flag("protostack", "xfrm"))],
  [["use-bsdkame", "use-pfkeyv2"], "none", set(flag("protostack", "pfkeyv2"))],
  [["keep-alive"], "required", set(applyKeepAlive)],
  [["uniqueids"], "optional", set(yesNo("uniqueids"))],
  [["ipsecdir", "foodgroupsdir"], "required", set(text("ipsecdir"))],
  [["nssdir"], "required", set(text("nssdir"))],
  [["dumpdir", "coredir"], "required", set(text("dumpdir"))],
  [["vendorid"], "required", set(text("vendorid"))],
  [["wireshark-keys"], "required", set(text("wiresharkKeys"))],
  [["config"], "required", set(text("config"))],
];

/** Libreswan pluto options swan recognises but does not implement yet. */
const UNSUPPORTED: readonly (readonly [string, ArgMode])[] = [
  ["leak-detective", "optional"],
  ["no-leak-detective", "none"],
  ["efence-protect", "none"],
  ["selftest", "none"],
  ["dnssec-enable", "optional"],
  ["no-dnssec", "none"],
  ["dnssec-rootkey-file", "required"],
  ["dnssec-anchors", "required"],
  ["dnssec-trusted", "required"],
  ["ddos-mode", "required"],
  ["force-busy", "none"],
  ["force-unlimited", "none"],
  ["ddos-ike-threshold", "required"],
  ["max-halfopen-ike", "required"],
  ["listen-udp", "optional"],
  ["listen-tcp", "optional"],
  ["no-listen-udp", "none"],
  ["ike-socket-bufsize", "required"],
  ["ike-socket-errqueue", "required"],
  ["ike-socket-no-errqueue", "none"],
  ["nflog-all", "required"],
  ["virtual-private", "required"],
  ["force-keepalive", "none"],
  ["expire-shunt-interval", "required"],
  ["seeddev", "required"],
  ["seedbits", "required"],
  ["ikev1-secctx-attr-type", "required"],
  ["secctx-attr-type", "required"],
  ["ikev1-reject", "none"],
  ["ikev1-drop", "none"],
  ["drop-oppo-null", "optional"],
  ["audit-log", "optional"],
  ["log-no-audit", "none"],
  ["global-redirect", "required"],
  ["global-redirect-to", "required"],
  ["seccomp", "required"],
  ["seccomp-enabled", "none"],
  ["seccomp-tolerant", "none"],
  ["ocsp-enable", "none"],
  ["ocsp-strict", "none"],
  ["ocsp-uri", "required"],
  ["ocsp-trustname", "required"],
  ["ocsp-timeout", "required"],
  ["ocsp-cache-size", "required"],
  ["ocsp-cache-min-age", "required"],
  ["ocsp-cache-max-age", "required"],
  ["ocsp-method", "required"],
  ["crl-strict", "none"],
  ["crlcheckinterval", "required"],
  ["curl-iface", "required"],
  ["curl-timeout", "required"],
  ["impair", "required"],
  ["statsbin", "required"],
];

const PLUTO_OPTIONS: readonly LongOption<Meaning>[] = [
  ...IMPLEMENTED.flatMap(([names, arg, meaning]) => names.map((name) => ({ name, arg, meaning }))),
  // A distinct object per option, so a prefix shared by two of them stays ambiguous.
  ...UNSUPPORTED.map(([name, arg]) => ({ name, arg, meaning: unsupported() })),
];

/** Exit code for every command-line problem. */
const BAD_COMMAND_LINE = 1;

function failure(message: string): PlutoParse {
  return { kind: "error", message: `pluto: ${message}`, exitCode: BAD_COMMAND_LINE };
}

/**
 * Parses pluto's arguments (without the program name). Options are applied
 * in order, so for a field set twice the last one wins; `--debug` and
 * `--interface` accumulate. An explicit `--ctlsocket` wins over `--rundir`
 * wherever it appears.
 */
export function parsePlutoArgs(argv: string[]): PlutoParse {
  const draft: Draft = {
    nofork: false,
    stderrlog: false,
    logTime: true,
    logAppend: true,
    logIp: true,
    rundir: "/run/pluto",
    secretsfile: "/etc/ipsec.secrets",
    ikeport: 500,
    natikeport: 4500,
    interfaces: [],
    debug: [],
    nhelpers: -1,
    protostack: "xfrm",
    keepAlive: 20,
    uniqueids: true,
    ipsecdir: "/etc/ipsec.d",
    nssdir: "/var/lib/ipsec/nss",
    dumpdir: "/run/pluto",
  };
  const stray: string[] = [];
  for (const event of scanLongOptions(argv, PLUTO_OPTIONS)) {
    switch (event.kind) {
      case "operand":
        stray.push(event.value);
        continue;
      case "unknown":
        return failure(`unknown option "${event.text}"; see pluto --help`);
      case "ambiguous":
        return failure(
          `ambiguous option "${event.text}" (could be ${
            event.candidates.map((c) => `--${c}`).join(", ")
          }); see pluto --help`,
        );
      case "missing-value":
        return failure(`--${event.name} needs a value; see pluto --help`);
      case "unwanted-value":
        return failure(`--${event.name} does not take a value`);
      case "option": {
        const { meaning, name, value } = event;
        if (meaning.kind === "help" || meaning.kind === "version") return { kind: meaning.kind };
        if (meaning.kind === "unsupported") {
          return failure(`--${name} is not supported by swan yet`);
        }
        const problem = meaning.apply(draft, value, name);
        if (problem !== undefined) return failure(problem);
      }
    }
  }
  if (stray.length > 0) return failure(`unexpected trailing argument: ${stray[0]}`);
  const options: PlutoOptions = {
    ...draft,
    ctlsocket: draft.ctlsocket ?? `${draft.rundir}/pluto.ctl`,
  };
  return { kind: "run", options };
}
