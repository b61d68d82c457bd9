/**
 * What a kernel IPsec stack tells the daemon on its own (DESIGN §1, "kernel
 * event"): outbound traffic hit a trap policy that has no SA yet (ACQUIRE),
 * or an SA reached a byte, packet or time limit the kernel enforces (EXPIRE).
 *
 * @module
 */

import type { IpAddress } from "../config/addresses.ts";

/** Traffic matched a policy asking for an SA that does not exist yet. */
export interface KernelAcquire {
  kind: "acquire";
  /** The triggering packet's addresses and IP protocol (0 when the stack does not say). */
  src: IpAddress;
  dst: IpAddress;
  protocol: number;
}

/** An SA reached a soft limit (rekey now) or a hard one (the kernel removed it). */
export interface KernelExpire {
  kind: "expire";
  hard: boolean;
  dst: IpAddress;
  spi: number;
}

export type KernelEvent = KernelAcquire | KernelExpire;

/** Ends a subscription started with `Kernel.subscribe`. */
export interface KernelSubscription {
  close(): void;
}
