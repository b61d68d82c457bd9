import type { IpAddress, Selector } from "../config/addresses.ts";
import type { KernelEvent, KernelSubscription } from "./kernel_events.ts";

/**
 * What the engine asks of an IPsec stack. Adapters: `none` (keys are
 * negotiated and shown but nothing is installed), later `xfrm`, `pfkeyv2`
 * and `userspace`.
 */
export interface Kernel {
  /** Name shown in `using kernel interface: …`. */
  readonly name: string;
  /**
   * ESP must travel in UDP (RFC 3948) whatever NAT detection says: a userspace
   * datapath reads ESP only from the NAT-T socket. The engine then claims a
   * NAT so both sides encapsulate, as strongSwan's kernel-libipsec does.
   */
  readonly requiresEncapsulation?: boolean;
  /** Reserves an inbound SPI for an SA from `src` to `dst` (dst is us). */
  allocateSpi(src: IpAddress, dst: IpAddress): Promise<number>;
  /** Installs one direction of a Child SA. Rejects with KernelError when the stack cannot. */
  addSa(sa: KernelSa): Promise<void>;
  /** Removes one direction; unknown SAs are ignored. */
  deleteSa(dst: IpAddress, spi: number): Promise<void>;
  /** Bytes processed by an installed SA (0 when the stack keeps no counters). */
  bytes(dst: IpAddress, spi: number): { bytes: number; packets: number };
  /**
   * Installs or replaces a policy sending matching traffic through IPsec.
   * Stacks with a policy database (xfrm, pfkeyv2) have it; addSa already
   * installs the policies of the SA's own selectors, so this is for routes
   * without SAs. Rejects with KernelError.
   */
  addPolicy?(policy: KernelPolicy): Promise<void>;
  /** Removes a policy added by {@link addPolicy}; an absent one is ignored. */
  deletePolicy?(policy: KernelPolicy): Promise<void>;
  /**
   * Delivers ACQUIRE and EXPIRE as they happen until closed. Stacks that
   * raise no such events (none) leave it out. Throws KernelError
   * when the stack cannot report them.
   */
  subscribe?(
    listener: (event: KernelEvent) => void,
    onError?: (text: string) => void,
  ): KernelSubscription;
  /** Datapath counters for `whack --globalstatus` (`total.…` keys); stacks in the kernel have none. */
  counters?(): ReadonlyMap<string, number>;
}

/** One IPsec policy: traffic from `src` to `dst` in direction `dir` must use ESP between the SA ends. */
export interface KernelPolicy {
  dir: "in" | "out" | "fwd";
  src: Selector;
  dst: Selector;
  /** The SA's outer source and destination (for `in`/`fwd`, the peer is the source). */
  saSrc: IpAddress;
  saDst: IpAddress;
  mode: "tunnel" | "transport";
  /** Ties the policy to its SAs; 0 lets any SA with matching addresses serve it. */
  reqid: number;
  /**
   * A shunt instead of protection: `pass` lets the traffic through in the
   * clear, `drop` discards it. Absent: ESP between the SA ends, and without
   * an SA the stack asks for one (ACQUIRE), which makes the policy a trap.
   */
  shunt?: "pass" | "drop";
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
  /** Ties the SA to its policies (see {@link KernelPolicy.reqid}); 0 when absent. */
  reqid?: number;
  /** Byte and packet lifetimes (ipsec-max-bytes/-packets); absent: unlimited. */
  limits?: SaLimits;
  /**
   * The peer installed its side before we install ours: we initiated the
   * exchange that created the SA, and its answer came after its install.
   * When not, a stack may keep sending on an older SA for the same traffic
   * until the peer shows it has the new keys (the RFC 7296 §2.8 rekey race).
   */
  peerReady?: boolean;
}

/**
 * Byte and packet lifetimes of one SA direction (RFC 4301 §4.4.2.1): at a
 * soft limit the stack raises a soft EXPIRE (time to rekey), at a hard one
 * it stops using the SA and raises a hard EXPIRE.
 */
export interface SaLimits {
  softBytes: bigint;
  hardBytes: bigint;
  softPackets: bigint;
  hardPackets: bigint;
}

/** A stack refused an operation; the text is shown to the operator as is. */
export class KernelError extends Error {}
