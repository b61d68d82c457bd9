/** A loaded connection: its configuration plus runtime facts (orientation, newest SAs). */
import { addressKey, type IpAddress } from "../config/addresses.ts";
import type { ConnectionConfig, EndConfig } from "../config/connection.ts";

export interface Connection {
  readonly name: string;
  /** `$N`, global and never reused. */
  readonly serial: number;
  readonly config: ConnectionConfig;
  /** Which configured end is ours; undefined while unoriented. */
  localIsLeft?: boolean;
  /** The operator asked for it to be up (initiate); cleared by terminate. */
  up: boolean;
  newestIke?: number;
  newestChild?: number;
  attempts: number;
  readonly reqid: number;
}

export function localEnd(c: Connection): EndConfig {
  return c.localIsLeft === false ? c.config.right : c.config.left;
}

export function remoteEnd(c: Connection): EndConfig {
  return c.localIsLeft === false ? c.config.left : c.config.right;
}

export function oriented(c: Connection): boolean {
  return c.localIsLeft !== undefined;
}

/**
 * Decides which end is local from our addresses, as pluto does.
 * Returns an explanation when neither or both ends match.
 */
export function orient(c: Connection, local: (a: IpAddress) => boolean): string | undefined {
  const { left, right } = c.config;
  const l = left.host !== undefined && local(left.host);
  const r = right.host !== undefined && local(right.host);
  if (l && r) {
    c.localIsLeft = undefined;
    return `both left=${left.hostText} and right=${right.hostText} match an interface`;
  }
  if (!l && !r) {
    c.localIsLeft = undefined;
    return `neither left=${left.hostText} nor right=${right.hostText} match an interface`;
  }
  c.localIsLeft = l;
  return undefined;
}

/** Index key for responder lookup by (our address, peer address); `*` for a %any peer. */
export function hostPairKey(local: IpAddress, remote: IpAddress | undefined): string {
  return `${addressKey(local)}|${remote ? addressKey(remote) : "*"}`;
}
