/**
 * The whack → pluto request. whack turns its command line into one of these,
 * sends it as one JSON line over the control socket, and pluto answers with
 * `NNN text\n` reply lines and closes the socket (see reply.ts).
 *
 * Connection options travel as ipsec.conf keyword strings (Libreswan 5.x
 * does the same), so pluto parses and validates them in one place whether
 * they came from whack or from a config file.
 */

/** Per-end keywords, without the left/right prefix: `host`, `id`, `subnet`, `nexthop`, `ikeport`, `updown`, `sourceip`, ... */
export type EndKeywords = Record<string, string>;

/** A connection definition: `--name N <left> --to <right> <conn opts>`. */
export interface ConnectionDefinition {
  name: string;
  left: EndKeywords;
  right: EndKeywords;
  /** Connection-wide keywords: `authby`, `ike`, `esp`, `type`, `phase2`, `pfs`, `keyexchange`, `ikelifetime`, `ipsec-lifetime`, `rekeymargin`, `rekeyfuzz`, `rekey`, `keyingtries`, `hostaddrfamily`, ... */
  conn: Record<string, string>;
}

/** The single command a whack invocation asks for (Libreswan allows exactly one). */
export type WhackCommand =
  | { kind: "add"; connection: ConnectionDefinition }
  | { kind: "listen" }
  | { kind: "unlisten" }
  | { kind: "initiate"; name: string; remoteHost?: string }
  | { kind: "terminate"; name: string }
  | { kind: "delete"; name: string }
  | { kind: "deletestate"; serial: number }
  | { kind: "route"; name: string }
  | { kind: "unroute"; name: string }
  | { kind: "rekey-ike"; name: string }
  | { kind: "rekey-child"; name: string }
  | { kind: "rereadsecrets" }
  | { kind: "trafficstatus"; name?: string }
  | { kind: "showstates" }
  | { kind: "briefstatus" }
  | { kind: "connectionstatus"; name?: string }
  | { kind: "globalstatus" }
  | { kind: "shuntstatus" }
  | { kind: "listpsks" }
  | { kind: "debug"; name?: string; set: string[]; clear: string[] };

/** What whack sends. `status`/`shutdown` are header flags, as in Libreswan. */
export interface WhackRequest {
  /** Protocol magic so an incompatible whack is refused with RC 50. */
  magic: typeof WHACK_MAGIC;
  status?: boolean;
  shutdown?: boolean;
  leaveState?: boolean;
  /** Detach right after the first reply line of a long command. */
  asynchronous?: boolean;
  command?: WhackCommand;
}

export const WHACK_MAGIC = "swan-whack-1";
