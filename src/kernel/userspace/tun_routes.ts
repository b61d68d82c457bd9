/**
 * Routes that steer protected traffic into the TUN device: one route per
 * CIDR block of a remote traffic selector, with a source address taken
 * from the local selector when the host has one (so that locally generated
 * packets carry an address the SPD entry matches; kernel-libipsec does the
 * same). Routes are reference-counted: an SA and its rekeyed successor, or
 * a trap and its SA, share one route.
 */
import { formatAddress, type IpAddress, type Selector } from "../../config/addresses.ts";
import { hostAddresses, runIp } from "./ip_command.ts";

function toBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function fromBigInt(n: bigint, family: 4 | 6): IpAddress {
  const bytes = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return { family, bytes };
}

/** The shortest list of CIDR blocks (`a.b.c.d/n`) covering exactly the selector's address range. */
export function selectorCidrs(s: Selector): string[] {
  const bits = s.family === 4 ? 32 : 128;
  let start = toBigInt(s.start);
  const end = toBigInt(s.end);
  const blocks: string[] = [];
  while (start <= end) {
    let prefix = bits;
    let size = 1n;
    // Grow the block while it stays aligned at `start` and inside the range.
    while (prefix > 0 && (start & (size * 2n - 1n)) === 0n && start + size * 2n - 1n <= end) {
      size *= 2n;
      prefix--;
    }
    blocks.push(`${formatAddress(fromBigInt(start, s.family))}/${prefix}`);
    start += size;
  }
  return blocks;
}

function inRange(address: IpAddress, s: Selector): boolean {
  if (address.family !== s.family) return false;
  const a = toBigInt(address.bytes);
  return toBigInt(s.start) <= a && a <= toBigInt(s.end);
}

/** What {@link TunRoutes} runs; replaceable in tests. */
export interface RouteCommands {
  ip(args: string[]): Promise<string>;
  addresses(): Promise<IpAddress[]>;
}

const SYSTEM_COMMANDS: RouteCommands = { ip: runIp, addresses: hostAddresses };

/** The routes into one TUN device. */
export class TunRoutes {
  #uses = new Map<string, number>();

  constructor(private device: string, private commands: RouteCommands = SYSTEM_COMMANDS) {}

  /** Routes `remote` into the device (source address from `local` when the host has one). */
  async add(local: Selector, remote: Selector): Promise<void> {
    const cidrs = selectorCidrs(remote).filter((cidr) => this.#count(cidr, +1) === 1);
    if (cidrs.length === 0) return;
    const hosts = await this.commands.addresses();
    const src = hosts.find((a) => inRange(a, local));
    for (const cidr of cidrs) {
      await this.commands.ip([
        "route",
        "replace",
        cidr,
        "dev",
        this.device,
        ...(src === undefined ? [] : ["src", formatAddress(src)]),
      ]);
    }
  }

  /** Drops one use of the routes for `remote`; the last use deletes them. */
  async remove(remote: Selector): Promise<void> {
    for (const cidr of selectorCidrs(remote)) {
      if (!this.#uses.has(cidr) || this.#count(cidr, -1) !== 0) continue;
      // The route may be gone already (device deleted, an operator): nothing to undo then.
      await this.commands.ip(["route", "del", cidr, "dev", this.device]).catch(() => {});
    }
  }

  /** Adjusts the use count of `cidr` by `delta` and returns the new count. */
  #count(cidr: string, delta: number): number {
    const n = (this.#uses.get(cidr) ?? 0) + delta;
    if (n === 0) this.#uses.delete(cidr);
    else this.#uses.set(cidr, n);
    return n;
  }
}
