/**
 * The swan side of an interop test: its connection as `swan whack` adds it,
 * what `--status` says about its SAs, and its key log.
 */

import assert from "node:assert/strict";
import { type CommandResult, eventually, type Pluto, tail } from "../netns/lab.ts";
import { parseSwanKeyLog, type PeerIkeSaKeys } from "./keys.ts";

/** pluto options that make swan log its keys with the SA's serial in front. */
export const SWAN_KEYLOG_ARGS: readonly string[] = ["--debug", "private", "--debug", "add-prefix"];

/** One connection for `swan whack` (Libreswan 5.x grammar). */
export interface SwanConnection {
  name: string;
  local: string;
  remote: string;
  /** IDs in Libreswan syntax (`@west`). */
  localId: string;
  remoteId: string;
  localSubnet: string;
  remoteSubnet: string;
  /** `--ike`/`--esp`; swan's (Libreswan 5.x) defaults when absent. */
  ike?: string;
  esp?: string;
  /** RFC 6023: initiate the IKE SA without a Child SA (`--childless`). */
  childless?: boolean;
  /** `--pfs=yes|no` for Child SA rekeys (RFC 7296 §1.3.1); swan's default (yes) when absent. */
  pfs?: boolean;
}

/** `swan whack` arguments that add `conn`. */
export function swanConnectionArgs(conn: SwanConnection): string[] {
  return [
    ...["--name", conn.name, "--ikev2", "--psk", "--encrypt", "--tunnel"],
    ...(conn.ike === undefined ? [] : ["--ike", conn.ike]),
    ...(conn.esp === undefined ? [] : ["--esp", conn.esp]),
    ...(conn.childless ? ["--childless"] : []),
    ...(conn.pfs === undefined ? [] : [`--pfs=${conn.pfs ? "yes" : "no"}`]),
    ...["--host", conn.local, "--id", conn.localId, "--subnet", conn.localSubnet],
    "--to",
    ...["--host", conn.remote, "--id", conn.remoteId, "--subnet", conn.remoteSubnet],
  ];
}

/** A whack result for an assertion message. */
export function show(result: CommandResult): string {
  return `exit ${result.code}\nstdout:\n${tail(result.stdout)}\nstderr:\n${tail(result.stderr)}`;
}

/** Adds `conn` to `swan` and makes it listen; asserts both worked. */
export async function addSwanConnection(swan: Pluto, conn: SwanConnection): Promise<void> {
  const added = await swan.whack(swanConnectionArgs(conn));
  assert.equal(added.code, 0, `swan: add ${conn.name}\n${show(added)}`);
  const listen = await swan.whack(["--listen"]);
  assert.equal(listen.code, 0, `swan: --listen\n${show(listen)}`);
}

/** What swan's `--status` says about one connection. */
export interface SwanSas {
  /** Serials of established IKE SAs. */
  ikeSerials: number[];
  /**
   * Established Child SAs: serial, SPIs (8 hex digits) as swan sees them and
   * the serial of the IKE SA they belong to (NaN if `--status` names none).
   */
  children: { serial: number; outSpi: string; inSpi: string; ikeSerial: number }[];
  /** Every state line, for messages. */
  states: string[];
}

/** Runs `swan whack --status` and extracts the established SAs of connection `name`. */
export async function swanSas(swan: Pluto, name: string): Promise<SwanSas> {
  const status = await swan.whack(["--status"]);
  assert.equal(status.code, 0, `swan: --status\n${show(status)}`);
  const states = status.stdout.split("\n").filter((line) => /^#\d+: /.test(line));
  const quoted = `"${name}"`;
  const ikeSerials = states.flatMap((line) => {
    const m = /^#(\d+): "([^"]*)"\S* established IKE SA;/.exec(line);
    return m && `"${m[2]}"` === quoted ? [Number(m[1])] : [];
  });
  const parents = new Map(states.flatMap((line) => {
    const m = /^#(\d+): "[^"]*"\S* established Child SA;.* IKE SA #(\d+);/.exec(line);
    return m ? [[Number(m[1]), Number(m[2])] as const] : [];
  }));
  const said =
    /^#(\d+): "([^"]*)"\S*(?: used \d+s ago;)? esp[.:]([0-9a-f]+)@\S+ esp[.:]([0-9a-f]+)@/;
  const children = states.flatMap((line) => {
    const m = said.exec(line);
    if (m === null || `"${m[2]}"` !== quoted) return [];
    const serial = Number(m[1]);
    return [{
      serial,
      outSpi: m[3].padStart(8, "0"),
      inSpi: m[4].padStart(8, "0"),
      ikeSerial: parents.get(serial) ?? NaN,
    }];
  });
  return { ikeSerials, children, states };
}

/** Waits (bounded) until swan has no state at all for `name`, then asserts it. */
export async function assertSwanClean(swan: Pluto, name: string): Promise<void> {
  const left = await eventually(
    () => swanSas(swan, name).then((sas) => sas.states.filter((l) => l.includes(`"${name}"`))),
    (states) => states.length === 0,
  );
  assert.deepEqual(left, [], `swan: states of ${name} remain`);
}

/** swan's keys for its IKE SA `serial` (with every ESP SA it logged), or a failed assertion. */
export function swanKeys(swan: Pluto, serial: number): PeerIkeSaKeys {
  const { ike } = parseSwanKeyLog(swan.log());
  const keys = ike.get(serial);
  assert.ok(
    keys,
    `swan logged no keys for IKE SA #${serial} (serials with keys: ${
      [...ike.keys()].join(", ") || "none"
    }); ` +
      "is it running with --debug private --debug add-prefix?",
  );
  return keys;
}
