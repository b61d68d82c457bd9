/**
 * whack's grammar (reference §1.1–1.4, man page ipsec_pluto(8)): every
 * command form gives the exact request, every error its exact text and exit
 * code. Expected values are written out by hand from the reference tables.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { parseWhackArgs, scanLongOptions, splitDebugFlags } from "../../cli/whack_args.ts";
import type { WhackCommand, WhackRequest } from "../../src/control/request.ts";

const MAGIC = "swan-whack-1";
const DEFAULT_SOCKET = "/run/pluto/pluto.ctl";

/** The request for argv, failing the test when parsing did not produce one. */
function requestOf(argv: string[]): WhackRequest {
  const parsed = parseWhackArgs(argv);
  if (parsed.kind !== "request") {
    throw new Error(`${argv.join(" ")}: expected a request, got ${JSON.stringify(parsed)}`);
  }
  return parsed.request;
}

const commandCases: [string[], WhackCommand][] = [
  [["--listen"], { kind: "listen" }],
  [["--unlisten"], { kind: "unlisten" }],
  [["--name", "c", "--initiate"], { kind: "initiate", name: "c" }],
  [
    ["--initiate", "--name", "c", "--remote-host", "192.0.2.7"],
    { kind: "initiate", name: "c", remoteHost: "192.0.2.7" },
  ],
  // --remote-host alone implies --initiate (Libreswan pitfall #9).
  [
    ["--name", "c", "--remote-host=192.0.2.7"],
    { kind: "initiate", name: "c", remoteHost: "192.0.2.7" },
  ],
  [["--name", "c", "--terminate"], { kind: "terminate", name: "c" }],
  [["--name", "c", "--down"], { kind: "terminate", name: "c" }],
  [["--name", "c", "--delete"], { kind: "delete", name: "c" }],
  [["--deletestate", "12"], { kind: "deletestate", serial: 12 }],
  [["--deletestate=3"], { kind: "deletestate", serial: 3 }],
  [["--name", "c", "--route"], { kind: "route", name: "c" }],
  [["--name", "c", "--ondemand"], { kind: "route", name: "c" }],
  [["--name", "c", "--unroute"], { kind: "unroute", name: "c" }],
  [["--name", "c", "--rekey-ike"], { kind: "rekey-ike", name: "c" }],
  [["--name", "c", "--rekey-child"], { kind: "rekey-child", name: "c" }],
  [["--name", "c", "--rekey-ipsec"], { kind: "rekey-child", name: "c" }],
  [["--rereadsecrets"], { kind: "rereadsecrets" }],
  [["--trafficstatus"], { kind: "trafficstatus" }],
  [["--trafficstatus", "--name", "c"], { kind: "trafficstatus", name: "c" }],
  [["--showstates"], { kind: "showstates" }],
  [["--statestatus"], { kind: "showstates" }],
  // --name is allowed with --showstates but has no effect.
  [["--showstates", "--name", "c"], { kind: "showstates" }],
  [["--briefstatus"], { kind: "briefstatus" }],
  [["--connectionstatus"], { kind: "connectionstatus" }],
  [["--name=c", "--connectionstatus"], { kind: "connectionstatus", name: "c" }],
  [["--globalstatus"], { kind: "globalstatus" }],
  [["--globalstats"], { kind: "globalstatus" }],
  [["--shuntstatus"], { kind: "shuntstatus" }],
  [["--listpsks"], { kind: "listpsks" }],
  // Unambiguous prefixes, as getopt_long accepts them.
  [["--trafficstat"], { kind: "trafficstatus" }],
  [["--briefs"], { kind: "briefstatus" }],
  [["--rereadsec"], { kind: "rereadsecrets" }],
  [["--unl"], { kind: "unlisten" }],
];

Deno.test("whack: each command form gives its WhackCommand", () => {
  for (const [argv, command] of commandCases) {
    deepStrictEqual(requestOf(argv), { magic: MAGIC, command }, argv.join(" "));
  }
});

const debugCases: [string[], WhackCommand][] = [
  [["--debug", "base"], { kind: "debug", set: ["base"], clear: [] }],
  [["--debug", "base+cpu-usage"], { kind: "debug", set: ["base", "cpu-usage"], clear: [] }],
  [["--debug", "base, routing\ttmi"], {
    kind: "debug",
    set: ["base", "routing", "tmi"],
    clear: [],
  }],
  [["--no-debug", "tmi"], { kind: "debug", set: [], clear: ["tmi"] }],
  [["--debug", "no-tmi"], { kind: "debug", set: [], clear: ["tmi"] }],
  // Accumulates over several options; a later mention of a flag overrides an earlier one.
  [["--debug", "base,routing", "--no-debug", "base"], {
    kind: "debug",
    set: ["routing"],
    clear: ["base"],
  }],
  // "none" (in `set`, where pluto applies it first) drops what came before it.
  [["--debug", "base", "--debug", "none", "--debug", "cpu-usage"], {
    kind: "debug",
    set: ["none", "cpu-usage"],
    clear: [],
  }],
  [["--debug-none"], { kind: "debug", set: ["none"], clear: [] }],
  [["--no-debug", "tmi", "--debug-none"], { kind: "debug", set: ["none"], clear: [] }],
  [["--debug-all"], { kind: "debug", set: ["all"], clear: [] }],
  [["--name", "c", "--debug", "base"], { kind: "debug", name: "c", set: ["base"], clear: [] }],
];

Deno.test("whack: --debug and --no-debug accumulate set/clear lists", () => {
  for (const [argv, command] of debugCases) {
    deepStrictEqual(requestOf(argv), { magic: MAGIC, command }, argv.join(" "));
  }
  deepStrictEqual(parseWhackArgs(["--debug", "help"]), { kind: "debug-help" });
  deepStrictEqual(parseWhackArgs(["--debug=base+help"]), { kind: "debug-help" });
});

Deno.test("whack: header flags --status --shutdown --leave-state --asynchronous", () => {
  deepStrictEqual(requestOf(["--status"]), { magic: MAGIC, status: true });
  deepStrictEqual(requestOf(["--shutdown"]), { magic: MAGIC, shutdown: true });
  const leave = { magic: MAGIC, shutdown: true, leaveState: true };
  deepStrictEqual(requestOf(["--shutdown", "--leave-state"]), leave);
  deepStrictEqual(requestOf(["--leave-state"]), leave);
  // --status travels with a command; pluto then prints status only.
  deepStrictEqual(requestOf(["--status", "--listen"]), {
    magic: MAGIC,
    status: true,
    command: { kind: "listen" },
  });
  const initiate = { kind: "initiate", name: "c" } as const;
  for (const flag of ["--asynchronous", "--async", "--bg", "--asynchronous=yes", "--bg=yes"]) {
    deepStrictEqual(requestOf(["--name", "c", "--initiate", flag]), {
      magic: MAGIC,
      asynchronous: true,
      command: initiate,
    }, flag);
  }
  deepStrictEqual(requestOf(["--name", "c", "--initiate", "--asynchronous=no"]), {
    magic: MAGIC,
    command: initiate,
  });
});

Deno.test("whack: control socket, label and name in the parse result", () => {
  const socketOf = (argv: string[]) => {
    const parsed = parseWhackArgs(argv);
    return parsed.kind === "request" ? parsed.socketPath : `not a request: ${parsed.kind}`;
  };
  equal(socketOf(["--status"]), DEFAULT_SOCKET);
  equal(socketOf(["--ctlsocket", "/tmp/x.ctl", "--status"]), "/tmp/x.ctl");
  equal(socketOf(["--ctlsocket=/tmp/x.ctl", "--status"]), "/tmp/x.ctl");
  equal(socketOf(["--rundir", "/tmp/r", "--status"]), "/tmp/r/pluto.ctl");
  equal(socketOf(["--ctlbase", "/tmp/r", "--status"]), "/tmp/r/pluto.ctl");
  // The later of --rundir and --ctlsocket wins.
  equal(socketOf(["--ctlsocket", "/a.ctl", "--rundir", "/b", "--status"]), "/b/pluto.ctl");
  equal(socketOf(["--rundir", "/b", "--ctlsocket", "/a.ctl", "--status"]), "/a.ctl");
  deepStrictEqual(parseWhackArgs(["--label", "L", "--name", "c", "--route", "--utc"]), {
    kind: "request",
    request: { magic: MAGIC, command: { kind: "route", name: "c" } },
    socketPath: DEFAULT_SOCKET,
    label: "L",
    name: "c",
  });
});

Deno.test("whack: connection form places end options left/right and conn options in conn", () => {
  const request = requestOf([
    "--name",
    "west-east",
    "--psk", // a connection option before --to belongs to the connection
    "--host",
    "192.0.2.1",
    "--id",
    "@west",
    "--subnet",
    "10.1.0.0/16",
    "--srcip",
    "10.1.0.1",
    "--to",
    "--host=192.0.2.2",
    "--id",
    "@east",
    "--client",
    "10.2.0.0/16,10.3.0.0/16",
    "--nexthop",
    "%direct",
    "--ikeport",
    "4501",
    "--ikev2",
    "--ike",
    "aes256-sha2;dh19",
    "--esp",
    "aes_gcm256",
    "--pfs=no",
    "--ikelifetime",
    "3600",
    "--ipseclifetime",
    "1800s",
    "--encrypt",
    "--tunnel",
  ]);
  deepStrictEqual(request, {
    magic: MAGIC,
    command: {
      kind: "add",
      connection: {
        name: "west-east",
        left: { host: "192.0.2.1", id: "@west", subnet: "10.1.0.0/16", sourceip: "10.1.0.1" },
        right: {
          host: "192.0.2.2",
          id: "@east",
          subnet: "10.2.0.0/16,10.3.0.0/16",
          nexthop: "%direct",
          ikeport: "4501",
        },
        conn: {
          authby: "secret",
          keyexchange: "ikev2",
          ike: "aes256-sha2;dh19",
          esp: "aes_gcm256",
          pfs: "no",
          ikelifetime: "3600",
          "ipsec-lifetime": "1800s",
          phase2: "esp",
          type: "tunnel",
        },
      },
    },
  });
});

/** The add request for `--name c --host a <left> --to --host b <right> <conn>`. */
function addOf(left: string[], right: string[], connOpts: string[]) {
  const request = requestOf([
    "--name",
    "c",
    "--host",
    "a",
    ...left,
    "--to",
    "--host",
    "b",
    ...right,
    ...connOpts,
  ]);
  if (request.command?.kind !== "add") throw new Error("not an add request");
  return request.command.connection;
}

const endCases: [string[], Record<string, string>][] = [
  [["--cert", "west-cert"], { cert: "west-cert" }],
  [["--ckaid", "0a1b"], { ckaid: "0a1b" }],
  [["--ca", "CN=ca"], { ca: "CN=ca" }],
  [["--sendcert", "never"], { sendcert: "never" }],
  [["--clientprotoport", "17/1701"], { protoport: "17/1701" }],
  [["--sourceip", "10.0.0.1"], { sourceip: "10.0.0.1" }],
  [["--updown", "/bin/true"], { updown: "/bin/true" }],
  [["--xauthserver"], { xauthserver: "yes" }],
  [["--xauthclient=no"], { xauthclient: "no" }],
  [["--modecfgserver"], { modecfgserver: "yes" }],
  [["--modecfgclient"], { modecfgclient: "yes" }],
  [["--dnskeyondemand"], { pubkey: "%dnsondemand" }],
  [["--username", "alice"], { username: "alice" }],
  [["--xauthuser", "alice"], { username: "alice" }],
  [["--auth", "psk"], { auth: "psk" }],
  [["--addresspool", "10.9.0.1-10.9.0.9"], { addresspool: "10.9.0.1-10.9.0.9" }],
  [["--vti", "10.8.0.1/30"], { vti: "10.8.0.1/30" }],
  [["--interface-ip", "10.7.0.1/24"], { "interface-ip": "10.7.0.1/24" }],
];

Deno.test("whack: per-end options map to their keyword on the end they follow", () => {
  for (const [opts, keywords] of endCases) {
    const before = addOf(opts, [], []);
    deepStrictEqual(before.left, { host: "a", ...keywords }, `left ${opts.join(" ")}`);
    deepStrictEqual(before.right, { host: "b" }, `left ${opts.join(" ")}`);
    const after = addOf([], opts, []);
    deepStrictEqual(after.left, { host: "a" }, `right ${opts.join(" ")}`);
    deepStrictEqual(after.right, { host: "b", ...keywords }, `right ${opts.join(" ")}`);
  }
});

const connCases: [string[], Record<string, string>][] = [
  [["--rsasig"], { authby: "rsasig" }],
  [["--psk", "--rsasig"], { authby: "secret,rsasig" }],
  [["--ecdsa"], { authby: "ecdsa" }],
  [["--auth-null"], { authby: "null" }],
  [["--auth-never"], { authby: "never" }],
  [["--authenticate"], { phase2: "ah" }],
  [["--transport"], { type: "transport" }],
  [["--pass"], { type: "passthrough" }],
  [["--drop"], { type: "drop" }],
  [["--reject"], { type: "reject" }],
  [["--pfs"], { pfs: "yes" }],
  [["--pfsgroup", "modp2048"], { pfsgroup: "modp2048" }],
  [["--ikev1"], { keyexchange: "ikev1" }],
  [["--ipv4"], { hostaddrfamily: "ipv4" }],
  [["--ipv6"], { hostaddrfamily: "ipv6" }],
  [["--tunnelipv4"], { clientaddrfamily: "ipv4" }],
  [["--tunnelipv6"], { clientaddrfamily: "ipv6" }],
  [["--failnone"], { failureshunt: "none" }],
  [["--failpass"], { failureshunt: "passthrough" }],
  [["--faildrop"], { failureshunt: "drop" }],
  [["--failreject"], { failureshunt: "reject" }],
  [["--negopass"], { negotiationshunt: "passthrough" }],
  [["--dontrekey"], { rekey: "no" }],
  [["--keyingtries", "3"], { keyingtries: "3" }],
  [["--rekeymargin", "540"], { rekeymargin: "540" }],
  [["--rekeyfuzz", "50"], { rekeyfuzz: "50" }],
  [["--ipsec-lifetime", "1h"], { "ipsec-lifetime": "1h" }],
  [["--dpddelay", "30"], { dpddelay: "30" }],
  [["--dpdtimeout", "120"], { dpdtimeout: "120" }],
  [["--timeout", "120"], { dpdtimeout: "120" }],
  [["--dpdaction", "restart"], { dpdaction: "restart" }],
  [["--forceencaps"], { encapsulation: "yes" }],
  [["--encapsulation=auto"], { encapsulation: "auto" }],
  [["--forceencaps", "--encapsulation"], { encapsulation: "yes" }],
  [["--no-nat-keepalive"], { "nat-keepalive": "no" }],
  [["--nat-keepalive", "yes"], { "nat-keepalive": "yes" }],
  [["--retransmit-interval", "500"], { "retransmit-interval": "500" }],
  [["--retransmit-timeout", "60s"], { "retransmit-timeout": "60s" }],
  [["--replay-window", "64"], { "replay-window": "64" }],
  [["--esn"], { esn: "yes" }],
  [["--no-esn"], { esn: "no" }],
  [["--esn", "--no-esn"], { esn: "either" }],
  [["--compress"], { compress: "yes" }],
  [["--aggrmode"], { aggressive: "yes" }],
  [["--metric", "10"], { metric: "10" }],
  [["--conn-mark", "5/0xff"], { mark: "5/0xff" }],
  [["--policylabel", "system_u:object_r:ipsec_spd_t:s0"], {
    "sec-label": "system_u:object_r:ipsec_spd_t:s0",
  }],
  [["--allow-cert-without-san-id"], { "require-id-on-certificate": "no" }],
  [["--dont-share-lease"], { "share-lease": "no" }],
  [["--initiateontraffic"], { auto: "ondemand" }],
  [["--ikefrag-force"], { fragmentation: "force" }],
  [["--tcp", "fallback"], { "enable-tcp": "fallback" }],
  [["--modecfgdns", "10.0.0.53"], { modecfgdns: "10.0.0.53" }],
  [["--sendca", "issuer"], { sendca: "issuer" }],
  [["--redirect-to", "192.0.2.9"], { "redirect-to": "192.0.2.9" }],
];

Deno.test("whack: connection options map to ipsec.conf keywords", () => {
  for (const [opts, conn] of connCases) {
    deepStrictEqual(addOf([], [], opts).conn, conn, opts.join(" "));
    // Placement does not matter for connection-wide options.
    deepStrictEqual(addOf(opts, [], []).conn, conn, `before --to: ${opts.join(" ")}`);
  }
});

const errorCases: [string[], string, number][] = [
  [["foo"], 'whack error: unexpected argument "foo"', 33],
  [["--status", "foo", "bar"], 'whack error: unexpected argument "foo"', 33],
  [["--status", "--", "--listen"], 'whack error: unexpected argument "--listen"', 33],
  // Optional values need "=": a separate word is a stray argument.
  [
    ["--name", "c", "--host", "a", "--to", "--host", "b", "--pfs", "no"],
    'whack error: "c" unexpected argument "no"',
    33,
  ],
  [["--status", "--status"], "whack: ERROR: option --status invalid, duplicated flag", 1],
  [
    ["--name", "a", "--name", "b", "--initiate"],
    "whack: ERROR: option --name invalid, duplicated flag",
    1,
  ],
  [
    ["--route", "--ondemand", "--name", "c"],
    "whack: ERROR: option --ondemand invalid, duplicated flag",
    1,
  ],
  [
    ["--initiate", "--route", "--name", "c"],
    "whack error: conflicing command options '--initiate' and '--route'",
    33,
  ],
  [
    ["--name", "c", "--host", "a", "--to", "--host", "b", "--initiate"],
    `whack error: "c" conflicing command options '--host' and '--initiate'`,
    33,
  ],
  [
    ["--debug", "base", "--listen"],
    "whack error: conflicing command options '--debug' and '--listen'",
    33,
  ],
  [["--initiate"], "whack error: missing --name <connection_name>", 33],
  [["--rekey-ike"], "whack error: missing --name <connection_name>", 33],
  [["--host", "a", "--to", "--host", "b"], "whack error: missing --name <connection_name>", 33],
  [["--listen", "--name", "c"], 'whack error: "c" no reason for --name', 33],
  [["--status", "--name", "c"], 'whack error: "c" no reason for --name', 33],
  [["--deletestate", "4", "--name", "c"], 'whack error: "c" no reason for --name', 33],
  [[], "whack error: no action specified; try --help for hints", 33],
  [["--asynchronous"], "whack error: no action specified; try --help for hints", 33],
  [["--name", "c"], 'whack error: "c" no action specified; try --help for hints', 33],
  [["--label", "L", "--utc"], "whack error: L no action specified; try --help for hints", 33],
  [["--label", "L", "--initiate"], "whack error: L missing --name <connection_name>", 33],
  [
    ["--label", "L", "--name", "c", "--initiate", "x"],
    'whack error: L "c" unexpected argument "x"',
    33,
  ],
  [
    ["--name", "c", "--host", "a"],
    'whack error: "c" connection description option, but no --to',
    33,
  ],
  [["--name", "c", "--psk"], 'whack error: "c" connection description option, but no --to', 33],
  [
    ["--name", "c", "--to", "--host", "b"],
    'whack error: "c" connection missing --host before --to',
    33,
  ],
  [
    ["--name", "c", "--host", "a", "--to"],
    'whack error: "c" connection missing --host after --to',
    33,
  ],
  [
    ["--name", "c", "--host", "a", "--host", "b", "--to"],
    "whack: ERROR: option --host invalid, duplicated flag",
    1,
  ],
  [
    ["--name", "c", "--host", "a", "--subnet", "x", "--client", "y", "--to", "--host", "b"],
    "whack: ERROR: option --client invalid, duplicated flag",
    1,
  ],
  [["--name", "c", "--to", "--to"], "whack: ERROR: option --to invalid, duplicated flag", 1],
  [["--name", "c", "--pfs", "--pfs"], "whack: ERROR: option --pfs invalid, duplicated flag", 1],
  [
    ["--name", "c", "--tunnel", "--transport"],
    'whack error: "c" --transport conflicts with --tunnel',
    33,
  ],
  [["--name", "c", "--ikev1", "--ikev2"], 'whack error: "c" --ikev2 conflicts with --ikev1', 33],
  [["--listcerts"], "whack error: --listcerts is not supported by swan yet", 33],
  [
    ["--label", "L", "--name", "c", "--impair", "x"],
    'whack error: L "c" --impair is not supported by swan yet',
    33,
  ],
  [["--crash", "192.0.2.1"], "whack error: --crash is not supported by swan yet", 33],
  [["--xauthpass", "pw"], "whack error: --xauthpass is not supported by swan yet", 33],
  [["--redirect-to", "192.0.2.1"], "whack error: --redirect-to is not supported by swan yet", 33],
  [["--ddos-busy"], "whack error: --ddos-busy is not supported by swan yet", 33],
  [
    ["--deletestate", "abc"],
    "whack: ERROR: option --deletestate 'abc' invalid, 'abc' is not a state serial number",
    1,
  ],
  [
    ["--name", "c", "--initiate", "--asynchronous=maybe"],
    "whack: ERROR: option --asynchronous 'maybe' invalid, 'maybe' is not 'yes' or 'no'",
    1,
  ],
  [["--bogus"], "whack: unrecognized option '--bogus'\nFor usage information: whack --help", 1],
  [["--bogus=1"], "whack: unrecognized option '--bogus'\nFor usage information: whack --help", 1],
  [["-x"], "whack: unrecognized option '-x'\nFor usage information: whack --help", 1],
  [
    ["--name"],
    "whack: option '--name' requires an argument\nFor usage information: whack --help",
    1,
  ],
  [
    ["--status=yes"],
    "whack: option '--status' doesn't allow an argument\nFor usage information: whack --help",
    1,
  ],
  [
    ["--rekey-"],
    "whack: option '--rekey-' is ambiguous; possibilities: '--rekey-ike' '--rekey-child' " +
    "'--rekey-ipsec'\nFor usage information: whack --help",
    1,
  ],
  // Options are taken in order: the first problem is the one reported.
  [
    ["--bogus", "--help"],
    "whack: unrecognized option '--bogus'\nFor usage information: whack --help",
    1,
  ],
];

Deno.test("whack: error messages and exit codes", () => {
  for (const [argv, message, exitCode] of errorCases) {
    deepStrictEqual(parseWhackArgs(argv), { kind: "error", message, exitCode }, argv.join(" "));
  }
});

Deno.test("whack: --help and --version stop parsing where they appear", () => {
  deepStrictEqual(parseWhackArgs(["--help"]), { kind: "help" });
  deepStrictEqual(parseWhackArgs(["--help", "--bogus"]), { kind: "help" });
  deepStrictEqual(parseWhackArgs(["--version"]), { kind: "version" });
  deepStrictEqual(parseWhackArgs(["--vers"]), { kind: "version" });
});

/** Every whack option named in the man page's synopses (ipsec_pluto.8). */
const MAN_PAGE_WHACK_OPTIONS = [
  "addkey addresspoolstatus aggrmode asynchronous authenticate ca cert certtype ckaid clearstats",
  "client clientprotoport compress conn-mark crash ctlbase ctlsocket ddns ddos-auto ddos-busy",
  "ddos-unlimited debug delete deletestate deleteuser dnskeyondemand dontrekey dpdaction dpddelay",
  "dpdtimeout drop encrypt esp faildrop failnone failpass failreject fetchcrls forceencaps",
  "global-redirect global-redirect-to globalstats groups help host id ike-socket-bufsize",
  "ike-socket-errqueue-toggle ikelifetime ikeport impair initiate initiateontraffic ipseclifetime",
  "ipv4 ipv6 keyid keyingtries label leave-state listall listcacerts listcerts listcrls listen",
  "listevents listpubkeys metric modecfgbanner modecfgclient modecfgdns modecfgdomains modecfgpull",
  "modecfgserver name nexthop nflog-group no-debug no-impair no-keep-alive oppodport oppohere",
  "oppoproto opposport oppothere pass pfs pfsgroup processstatus psk pubkeyrsa purgeocsp",
  "redirect-to reject rekey-ike rekey-ipsec rekeyfuzz rekeymargin remote-host rereadall rereadcrls",
  "rereadsecrets route rsasig rundir sendca sendcert shuntstatus shutdown srcip status terminate",
  "timeout to trafficstatus tunnel tunnelipv4 tunnelipv6 unlisten unroute updown utc version",
  "xauthclient xauthpass xauthserver xauthuser",
].join(" ").split(" ");

Deno.test("whack: every option of the man page is recognised", () => {
  for (const option of MAN_PAGE_WHACK_OPTIONS) {
    const parsed = parseWhackArgs([`--${option}`]);
    if (parsed.kind === "error") {
      ok(!parsed.message.includes("unrecognized"), parsed.message);
      ok(!parsed.message.includes("ambiguous"), parsed.message);
    }
  }
});

Deno.test("scanLongOptions: getopt_long rules", () => {
  const a = { id: "a" }, b = { id: "b" };
  const table = [
    { name: "alpha", arg: "required", meaning: a },
    { name: "alpine", arg: "required", meaning: a }, // an alias: same meaning
    { name: "beta", arg: "optional", meaning: b },
  ] as const;
  deepStrictEqual([...scanLongOptions(["--alp", "x"], table)], [
    { kind: "option", name: "alpha", meaning: a, value: "x" },
  ]);
  deepStrictEqual([...scanLongOptions(["--beta", "x"], table)], [
    { kind: "option", name: "beta", meaning: b, value: undefined },
    { kind: "operand", value: "x" },
  ]);
  deepStrictEqual([...scanLongOptions(["--beta=", "-", "--", "--beta"], table)], [
    { kind: "option", name: "beta", meaning: b, value: "" },
    { kind: "operand", value: "-" },
    { kind: "operand", value: "--beta" },
  ]);
  deepStrictEqual([...scanLongOptions(["--alpha=--beta"], table)], [
    { kind: "option", name: "alpha", meaning: a, value: "--beta" },
  ]);
  // A required value is taken from the next word even when it looks like an option.
  deepStrictEqual([...scanLongOptions(["--alpha", "--beta"], table)], [
    { kind: "option", name: "alpha", meaning: a, value: "--beta" },
  ]);
  deepStrictEqual([...scanLongOptions(["--", "x"], table)], [{ kind: "operand", value: "x" }]);
  deepStrictEqual([...scanLongOptions(["--=x"], table)], [{ kind: "unknown", text: "--" }]);
});

Deno.test("splitDebugFlags: separators are + , space and tab", () => {
  deepStrictEqual(splitDebugFlags("a+b,c d\te"), ["a", "b", "c", "d", "e"]);
  deepStrictEqual(splitDebugFlags(" +,"), []);
});
