/**
 * pluto's command line (reference §4.1, man page synopsis): defaults, each
 * implemented option, refusal of the unimplemented ones, and the errors.
 */
import { deepStrictEqual } from "node:assert/strict";
import { parsePlutoArgs, type PlutoOptions } from "../../cli/pluto_args.ts";

const DEFAULTS: PlutoOptions = {
  nofork: false,
  stderrlog: false,
  logTime: true,
  logAppend: true,
  logIp: true,
  rundir: "/run/pluto",
  ctlsocket: "/run/pluto/pluto.ctl",
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

function optionsOf(argv: string[]): PlutoOptions {
  const parsed = parsePlutoArgs(argv);
  if (parsed.kind !== "run") throw new Error(`${argv.join(" ")}: got ${JSON.stringify(parsed)}`);
  return parsed.options;
}

Deno.test("pluto: defaults", () => {
  deepStrictEqual(optionsOf([]), DEFAULTS);
});

const optionCases: [string[], Partial<PlutoOptions>][] = [
  [["--nofork"], { nofork: true }],
  [["--stderrlog"], { stderrlog: true }],
  [["--logfile", "/var/log/pluto.log"], { logfile: "/var/log/pluto.log" }],
  // An empty --logfile goes back to the default.
  [["--logfile", "/x", "--logfile="], {}],
  [["--log-no-time"], { logTime: false }],
  [["--log-no-append"], { logAppend: false }],
  [["--logip=no"], { logIp: false }],
  [["--log-no-ip", "--logip"], { logIp: true }],
  [["--log-no-ip"], { logIp: false }],
  [["--rundir", "/tmp/r"], { rundir: "/tmp/r", ctlsocket: "/tmp/r/pluto.ctl" }],
  [["--ctlbase=/tmp/r"], { rundir: "/tmp/r", ctlsocket: "/tmp/r/pluto.ctl" }],
  [["--ctlsocket", "/tmp/c.ctl"], { ctlsocket: "/tmp/c.ctl" }],
  // An explicit --ctlsocket wins wherever it appears.
  [["--ctlsocket", "/tmp/c.ctl", "--rundir", "/tmp/r"], {
    rundir: "/tmp/r",
    ctlsocket: "/tmp/c.ctl",
  }],
  [["--secretsfile", "/tmp/s"], { secretsfile: "/tmp/s" }],
  [["--ikeport", "4501"], { ikeport: 4501 }],
  [["--natikeport=4502"], { natikeport: 4502 }],
  [["--ikeport", "65535"], { ikeport: 65535 }],
  [["--listen", "192.0.2.1"], { listen: "192.0.2.1" }],
  [["--listen", "2001:db8::1"], { listen: "2001:db8::1" }],
  [["--interface", "eth0", "--interface", "eth1"], { interfaces: ["eth0", "eth1"] }],
  [["--debug", "base", "--debug", "cpu-usage+tmi"], { debug: ["base", "cpu-usage", "tmi"] }],
  [["--debug-all", "--debug-none"], { debug: ["all", "none"] }],
  [["--nhelpers", "0"], { nhelpers: 0 }],
  [["--nhelpers", "-1"], { nhelpers: -1 }],
  [["--nhelpers", "4"], { nhelpers: 4 }],
  [["--protostack", "userspace"], { protostack: "userspace" }],
  [["--protostack", "pfkeyv2"], { protostack: "pfkeyv2" }],
  [["--protostack", "none"], { protostack: "none" }],
  [["--use-bsdkame"], { protostack: "pfkeyv2" }],
  [["--use-pfkeyv2"], { protostack: "pfkeyv2" }],
  // The last stack option wins.
  [["--use-bsdkame", "--use-netkey"], { protostack: "xfrm" }],
  [["--protostack", "none", "--use-xfrm"], { protostack: "xfrm" }],
  [["--keep-alive", "30"], { keepAlive: 30 }],
  [["--uniqueids=no"], { uniqueids: false }],
  [["--uniqueids"], { uniqueids: true }],
  [["--ipsecdir", "/tmp/d"], { ipsecdir: "/tmp/d" }],
  [["--nssdir", "/tmp/n"], { nssdir: "/tmp/n" }],
  [["--coredir", "/tmp/core"], { dumpdir: "/tmp/core" }],
  [["--dumpdir", "/tmp/core"], { dumpdir: "/tmp/core" }],
  [["--vendorid", "swan-test"], { vendorid: "swan-test" }],
  [["--config", "/etc/ipsec.conf"], { config: "/etc/ipsec.conf" }],
  // Unambiguous prefixes work as with getopt_long.
  [["--nofo", "--stderr"], { nofork: true, stderrlog: true }],
];

Deno.test("pluto: each implemented option sets its field", () => {
  for (const [argv, changes] of optionCases) {
    deepStrictEqual(optionsOf(argv), { ...DEFAULTS, ...changes }, argv.join(" "));
  }
});

const errorCases: [string[], string][] = [
  [["--bogus"], 'pluto: unknown option "--bogus"; see pluto --help'],
  [["--bogus=1"], 'pluto: unknown option "--bogus"; see pluto --help'],
  [["-n"], 'pluto: unknown option "-n"; see pluto --help'],
  [
    ["--log-no"],
    'pluto: ambiguous option "--log-no" (could be --log-no-time, --log-no-append, ' +
    "--log-no-ip, --log-no-audit); see pluto --help",
  ],
  [["--ikeport"], "pluto: --ikeport needs a value; see pluto --help"],
  [["--nofork=yes"], "pluto: --nofork does not take a value"],
  [["--ikeport", "5oo"], 'pluto: --ikeport: "5oo" is not a port (1-65535)'],
  [["--ikeport", "0"], 'pluto: --ikeport: "0" is not a port (1-65535)'],
  [["--natikeport", "65536"], 'pluto: --natikeport: "65536" is not a port (1-65535)'],
  [["--ikeport", "-5"], 'pluto: --ikeport: "-5" is not a port (1-65535)'],
  [
    ["--protostack", "netkey"],
    'pluto: --protostack: "netkey" is not a protocol stack ' +
    "(use one of xfrm, pfkeyv2, userspace, none)",
  ],
  [
    ["--nhelpers", "-2"],
    'pluto: --nhelpers: "-2" is not a helper count ' +
    "(a number, or -1 for one per CPU less one)",
  ],
  [["--keep-alive", "20s"], 'pluto: --keep-alive: "20s" is not a number of seconds'],
  [["--uniqueids=maybe"], 'pluto: --uniqueids: "maybe" is not yes or no'],
  [["--listen", "eth0"], 'pluto: --listen: "eth0" is not an IP address'],
  [["--nofork", "extra"], "pluto: unexpected trailing argument: extra"],
  [["--", "--nofork"], "pluto: unexpected trailing argument: --nofork"],
  [
    ["--virtual-private", "%v4:10.0.0.0/8"],
    "pluto: --virtual-private is not supported by swan yet",
  ],
  [["--crl-strict"], "pluto: --crl-strict is not supported by swan yet"],
  [["--leak-detective"], "pluto: --leak-detective is not supported by swan yet"],
  [["--impair", "x"], "pluto: --impair is not supported by swan yet"],
  // The first problem in order is reported.
  [["--ikeport", "x", "--bogus"], 'pluto: --ikeport: "x" is not a port (1-65535)'],
];

Deno.test("pluto: errors name the option and the fix, exit 1", () => {
  for (const [argv, message] of errorCases) {
    deepStrictEqual(parsePlutoArgs(argv), { kind: "error", message, exitCode: 1 }, argv.join(" "));
  }
});

Deno.test("pluto: --help and --version", () => {
  deepStrictEqual(parsePlutoArgs(["--help"]), { kind: "help" });
  deepStrictEqual(parsePlutoArgs(["--nofork", "--version", "--bogus"]), { kind: "version" });
});

/** Every pluto option of the man page synopsis and of reference §4.1. */
const KNOWN_PLUTO_OPTIONS = [
  // man page synopsis
  "config coredir crl-strict crlcheckinterval efence-protect force-busy help ikeport interface",
  "ipsecdir keep-alive leak-detective listen log-no-append log-no-audit log-no-ip log-no-time",
  "logfile natikeport nhelpers nofork nssdir rundir secctx-attr-type secretsfile seedbits",
  "statsbin stderrlog uniqueids use-bsdkame use-netkey vendorid version virtual-private",
  "force-keepalive ctlbase",
  // reference §4.1
  "dumpdir no-dnssec dnssec-enable dnssec-rootkey-file dnssec-anchors dnssec-trusted ddos-mode",
  "force-unlimited ddos-ike-threshold max-halfopen-ike protostack use-xfrm use-pfkeyv2",
  "listen-udp listen-tcp no-listen-udp ike-socket-bufsize ike-socket-errqueue",
  "ike-socket-no-errqueue nflog-all expire-shunt-interval seeddev ikev1-secctx-attr-type",
  "ikev1-reject ikev1-drop drop-oppo-null logip audit-log global-redirect global-redirect-to",
  "seccomp seccomp-enabled seccomp-tolerant ocsp-enable ocsp-strict ocsp-uri ocsp-trustname",
  "ocsp-timeout ocsp-cache-size ocsp-cache-min-age ocsp-cache-max-age ocsp-method curl-iface",
  "curl-timeout debug-none debug-all debug impair selftest no-leak-detective foodgroupsdir",
].join(" ").split(" ");

Deno.test("pluto: every documented option is recognised", () => {
  for (const option of KNOWN_PLUTO_OPTIONS) {
    const parsed = parsePlutoArgs([`--${option}`]);
    if (parsed.kind === "error") {
      deepStrictEqual(
        /unknown option|ambiguous option/.test(parsed.message),
        false,
        parsed.message,
      );
    }
  }
});
