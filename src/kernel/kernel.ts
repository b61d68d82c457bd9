import type { IpAddress, Selector } from "../config/addresses.ts";

/**
 * What the engine asks of an IPsec stack. Adapters: `none` (keys are
 * negotiated and shown but nothing is installed), later `xfrm`, `pfkeyv2`
 * and `userspace`.
 */
export interface Kernel {
  /** Name shown in `using kernel interface: …`. */
  readonly name: string;
  /** Reserves an inbound SPI for an SA from `src` to `dst` (dst is us). */
  allocateSpi(src: IpAddress, dst: IpAddress): Promise<number>;
  /** Installs one direction of a Child SA. Rejects with KernelError when the stack cannot. */
  addSa(sa: KernelSa): Promise<void>;
  /** Removes one direction; unknown SAs are ignored. */
  deleteSa(dst: IpAddress, spi: number): Promise<void>;
  /** Bytes processed by an installed SA (0 when the stack keeps no counters). */
  bytes(dst: IpAddress, spi: number): { bytes: number; packets: number };
}

/** One direction of an ESP Child SA as the kernel needs it. */
export interface KernelSa {
  src: IpAddress;
  dst: IpAddress;
  spi: number;
  inbound: boolean;
  mode: "tunnel" | "transport";
  encrId: number;
  encrKeyBits: number;
  /** Key followed by salt for AEAD. */
  encrKey: Uint8Array;
  integId: number;
  integKey: Uint8Array;
  esn: boolean;
  replayWindow: number;
  srcSelector: Selector;
  dstSelector: Selector;
  encap?: { srcPort: number; dstPort: number };
}

/** A stack refused an operation; the text is shown to the operator as is. */
export class KernelError extends Error {}
