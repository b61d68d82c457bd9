/**
 * The updown runner: runs the local end's `updown=` command as
 * `/bin/sh -c "<command>"` with only PATH and the PLUTO_* variables, in
 * Libreswan 5.x's emission order (whack-pluto-interface §5.1, §5.3), and
 * relays every output line and a non-zero exit as pluto does. The default
 * command (`ipsec _updown`) is built in (default_updown.ts); `updown=""`
 * and `%disabled` run nothing.
 */
import { constants } from "node:os";
import {
  addressEquals,
  formatAddress,
  type IpAddress,
  rangePrefix,
  type Selector,
} from "../config/addresses.ts";
import { DEFAULT_UPDOWN } from "../config/connection.ts";
import { localEnd, remoteEnd } from "../ike/connection.ts";
import { policyText } from "../ike/status.ts";
import type { Updown, UpdownCall, UpdownVerb } from "../ike/updown_events.ts";

/** What the environment needs from the daemon around the engine. */
export interface UpdownSite {
  /** pluto's own PATH, the one variable scripts inherit. */
  path: string | undefined;
  /** The kernel interface (`--protostack`), PLUTO_STACK. */
  stack: string;
  /** The device whose address carries IKE (PLUTO_INTERFACE), when known. */
  device(address: IpAddress): string | undefined;
  /** `--debug updown`: adds UPDOWN_DEBUG=yes. */
  debug(): boolean;
}

/** The built-in default command: reads the same environment a script would. */
export interface BuiltinUpdown {
  run(env: ReadonlyMap<string, string>, say: UpdownCall["say"]): Promise<boolean>;
}

/** PATH for scripts when pluto itself has none. */
const FALLBACK_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * PLUTO_VERB: the verb with `-host` when the local selector is exactly the
 * local host address (protocol and ports aside), else `-client`; `-v6`
 * follows the host address's family for `-host`, the selector's for `-client`.
 */
export function updownVerb(verb: UpdownVerb, local: Selector, host: IpAddress): string {
  const start = { family: local.family, bytes: local.start };
  const end = { family: local.family, bytes: local.end };
  if (addressEquals(start, host) && addressEquals(end, host)) {
    return `${verb}-host${host.family === 6 ? "-v6" : ""}`;
  }
  return `${verb}-client${local.family === 6 ? "-v6" : ""}`;
}

/** The environment of one run, in Libreswan 5.x's order (§5.3), as name/value pairs. */
export function updownEnvironment(call: UpdownCall, site: UpdownSite): [string, string][] {
  const { child, local, remote } = call;
  const conn = child.conn;
  const me = child.ike.local.address, peer = child.ike.remote.address;
  const ours = localEnd(conn), theirs = remoteEnd(conn);
  const env: [string, string][] = [];
  const put = (name: string, value: string | number) => env.push([name, String(value)]);
  // Transport mode with the peer behind a NAT: its selector is its own (public) address.
  const natedTransport = child.mode === "transport" && child.ike.natDetected?.remote === true;
  put("PATH", site.path ?? FALLBACK_PATH);
  put("PLUTO_VERB", updownVerb(call.verb, local, me));
  put("PLUTO_CONNECTION", conn.name);
  put("PLUTO_CONNECTION_TYPE", child.mode);
  put("PLUTO_VIRT_INTERFACE", "NULL");
  put("PLUTO_INTERFACE", site.device(me) ?? "NULL");
  put("PLUTO_XFRMI_ROUTE", "");
  if (ours.nextHop) put("PLUTO_NEXT_HOP", formatAddress(ours.nextHop));
  put("PLUTO_ME", formatAddress(me));
  put("PLUTO_MY_ID", ours.id.text);
  put("PLUTO_CLIENT_FAMILY", familyText(local.family));
  put("PLUTO_MY_CLIENT", rangeText(local));
  put("PLUTO_MY_CLIENT_NET", formatAddress(network(local)));
  put("PLUTO_MY_CLIENT_MASK", formatAddress(mask(local)));
  put("PLUTO_MY_PORT", port(local));
  put("PLUTO_MY_PROTOCOL", local.protocol);
  // Libreswan gives each protocol its own reqid: ESP's is the connection's plus one.
  put("PLUTO_SA_REQID", conn.reqid + 1);
  put("PLUTO_SA_TYPE", "ESP");
  put("PLUTO_PEER", formatAddress(peer));
  put("PLUTO_PEER_ID", child.ike.peerId?.text ?? theirs.id.text);
  put(
    "PLUTO_PEER_CLIENT",
    natedTransport ? `${formatAddress(peer)}/${me.family === 4 ? 32 : 128}` : rangeText(remote),
  );
  put("PLUTO_PEER_CLIENT_NET", formatAddress(natedTransport ? peer : network(remote)));
  put("PLUTO_PEER_CLIENT_MASK", formatAddress(mask(remote)));
  put("PLUTO_PEER_PORT", port(remote));
  put("PLUTO_PEER_PROTOCOL", remote.protocol);
  put("PLUTO_PEER_CA", ""); // no public keys: PSK only
  put("PLUTO_STACK", site.stack);
  put("PLUTO_DNS_RESOLVER", "file");
  put("PLUTO_ADDTIME", child.addTime ?? 0);
  put("PLUTO_CONN_POLICY", policyText(conn));
  // A connection to %any answers as an instance in Libreswan.
  put("PLUTO_CONN_KIND", theirs.host ? "CK_PERMANENT" : "CK_INSTANCE");
  put("PLUTO_CONN_ADDRFAMILY", familyText(me.family));
  put("XAUTH_FAILED", 0);
  if (ours.sourceIp) {
    put("PLUTO_MY_SOURCEIP", formatAddress(ours.sourceIp));
    put("PLUTO_MOBIKE_EVENT", "");
  }
  put("PLUTO_IS_PEER_CISCO", 0);
  put("PLUTO_PEER_DNS_INFO", "");
  put("PLUTO_PEER_DOMAIN_INFO", "");
  put("PLUTO_PEER_BANNER", "");
  put("PLUTO_CFG_SERVER", 0);
  put("PLUTO_CFG_CLIENT", 0);
  put("PLUTO_NM_CONFIGURED", 0);
  if (call.traffic) {
    put("PLUTO_INBYTES", call.traffic.inBytes);
    put("PLUTO_OUTBYTES", call.traffic.outBytes);
  }
  put("VTI_IFACE", "");
  put("VTI_ROUTING", "no");
  put("VTI_SHARED", "no");
  // Named from the peer's view, as pluto does: SPI_IN carries our outbound SPI.
  put("SPI_IN", `0x${(child.outSpi ?? 0).toString(16)}`);
  put("SPI_OUT", `0x${child.inSpi.toString(16)}`);
  if (site.debug()) put("UPDOWN_DEBUG", "yes");
  return env;
}

/** Runs the operator's updown command (see the module comment). */
export class UpdownRunner implements Updown {
  constructor(private readonly site: UpdownSite, private readonly builtin: BuiltinUpdown) {}

  async run(call: UpdownCall): Promise<boolean> {
    const command = localEnd(call.child.conn).updown;
    if (command === "") return true;
    const env = updownEnvironment(call, this.site);
    if (command === DEFAULT_UPDOWN) return await this.builtin.run(new Map(env), call.say);
    return await runShell(command, call.verb, env, call.say);
  }
}

/**
 * `/bin/sh -c command` with exactly `env`, stdin closed; each output line
 * (stdout and stderr, as they come) is said as `command "<verb>" output: …`.
 */
export async function runShell(
  command: string,
  verb: UpdownVerb,
  env: [string, string][],
  say: UpdownCall["say"],
): Promise<boolean> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("/bin/sh", {
      args: ["-c", command],
      env: Object.fromEntries(env),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    say(`command "${verb}": cannot run /bin/sh: ${(e as Error).message}`, "warning");
    return false;
  }
  const output = (line: string) => say(`command "${verb}" output: ${line}`);
  const [status] = await Promise.all([
    child.status,
    relayLines(child.stdout, output),
    relayLines(child.stderr, output),
  ]);
  if (status.signal !== null) {
    const number = constants.signals[status.signal as keyof typeof constants.signals];
    say(`command "${verb}": terminated with signal ${status.signal} (${number})`, "warning");
    return false;
  }
  if (status.code !== 0) {
    say(`command "${verb}": exited with status ${status.code}`, "warning");
    return false;
  }
  return true;
}

/** Calls `line` for every line of `stream` (a last line without newline included). */
async function relayLines(
  stream: ReadableStream<Uint8Array>,
  line: (text: string) => void,
): Promise<void> {
  let pending = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (pending + text).split("\n");
    pending = parts.pop()!;
    for (const part of parts) line(part);
  }
  if (pending !== "") line(pending);
}

function familyText(family: 4 | 6): string {
  return family === 4 ? "ipv4" : "ipv6";
}

/** `addr/len`, or `lo-hi` when the range is not one prefix (protocol and ports apart). */
function rangeText(s: Selector): string {
  const prefix = rangePrefix(s.start, s.end);
  const start = formatAddress({ family: s.family, bytes: s.start });
  return prefix !== undefined
    ? `${start}/${prefix}`
    : `${start}-${formatAddress({ family: s.family, bytes: s.end })}`;
}

/** The length of the longest prefix the range's two ends share. */
function sharedPrefix(s: Selector): number {
  let bits = 0;
  for (let i = 0; i < s.start.length; i++) {
    const differ = s.start[i] ^ s.end[i];
    if (differ === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(differ) - 24;
  }
  return bits;
}

/** The netmask of the selector's prefix, as an address (`255.255.255.0`). */
function mask(s: Selector): IpAddress {
  const len = sharedPrefix(s);
  const bytes = new Uint8Array(s.start.length);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = 0xff & ~(0xff >> Math.max(0, Math.min(8, len - 8 * i)));
  }
  return { family: s.family, bytes };
}

/** The selector's prefix address (its start with the host bits cleared). */
function network(s: Selector): IpAddress {
  const m = mask(s).bytes;
  return { family: s.family, bytes: s.start.map((b, i) => b & m[i]) };
}

/** One port, or 0 for a range (all ports included). */
function port(s: Selector): number {
  return s.startPort === s.endPort ? s.startPort : 0;
}
