/** IKE SA and Child SA records: plain data the exchanges update. */
import type { Selector } from "../config/addresses.ts";
import type { IkeId } from "../config/ids.ts";
import type { KeKeyPair } from "../crypto/ke.ts";
import type { IkeSaKeys } from "../crypto/ikev2_kdf.ts";
import type { PrfAlgorithm } from "../crypto/prf.ts";
import type { Endpoint } from "../net/transport.ts";
import type { IkeHeader } from "../wire/header.ts";
import type { Payload, Proposal } from "../wire/payloads.ts";
import type { Connection } from "./connection.ts";
import type { Chosen } from "./proposal.ts";
import type { DirectionKeys } from "./sk.ts";
import type { NamedTimers } from "./timer_heap.ts";

/** Libreswan's IKEv2 state names, used in logs and `--globalstatus`. */
export type IkeState =
  | "IKE_SA_INIT_I"
  | "IKE_SA_INIT_R"
  | "IKE_AUTH_I"
  | "ESTABLISHED_IKE_SA"
  | "DELETING";

/** A whack client waiting on an operation; lines go to it until `finish`. */
export interface WhackObserver {
  line(text: string): void;
  /** Ends the conversation; rc ≥ 20 is sent as the failure code. */
  finish(rc: number): void;
}

/** A request we sent and are retransmitting until its response arrives. */
export interface Outstanding {
  messageId: number;
  exchange: number;
  packet: Uint8Array;
  sends: number;
  firstSent: number;
  onResponse: (payloads: Payload[], raw: Uint8Array, header: IkeHeader) => Promise<void> | void;
  onTimeout: () => void;
  /** Give up when no answer came this long after the first send. */
  timeoutMs: number;
}

export interface IkeSa {
  readonly serial: number;
  conn: Connection;
  /** We were the original initiator (RFC 7296 §2.2). */
  readonly initiator: boolean;
  spiI: Uint8Array;
  spiR: Uint8Array;
  /** Our own SPI as a map key. */
  readonly ourSpi: bigint;
  local: Endpoint;
  remote: Endpoint;
  state: IkeState;
  /** Keying attempt number (1-based) of the connection this SA belongs to. */
  attempt: number;
  ni?: Uint8Array;
  nr?: Uint8Array;
  keGroup: number;
  keyPair?: KeKeyPair;
  chosen?: Chosen;
  prf?: PrfAlgorithm;
  keys?: IkeSaKeys;
  sendKeys?: DirectionKeys;
  recvKeys?: DirectionKeys;
  /** Raw IKE_SA_INIT messages, signed in AUTH. */
  initRequest?: Uint8Array;
  initResponse?: Uint8Array;
  /** Our IKE_SA_INIT offer (initiator), until the response has chosen from it. */
  sentProposals?: Proposal[];
  cookie?: Uint8Array;
  /** COOKIE / INVALID_KE_PAYLOAD restarts of IKE_SA_INIT so far. */
  retries?: number;
  nextRequestId: number;
  expectedRequestId: number;
  outstanding?: Outstanding;
  /** Requests waiting for the outstanding one to be answered (created on first use). */
  pendingRequests?: (() => void)[];
  lastResponse?: { messageId: number; packet: Uint8Array };
  /** Replaced, never changed (exact_arrays.ts): exactly sized, safe to iterate while Child SAs come and go. */
  children: readonly ChildSa[];
  /** Whack clients following this SA (created on first use). */
  whacks?: Set<WhackObserver>;
  /** Per-SA work queue: events for one SA never interleave; {@link IDLE_QUEUE} when idle. */
  queue: Promise<void>;
  events: NamedTimers;
  peerId?: IkeId;
  establishedAt?: number;
  /** When the last authenticated message from the peer arrived (liveness). */
  lastInbound?: number;
  /** Key of the half-open index while responding to IKE_SA_INIT. */
  halfOpenKey?: string;
  /** NAT_DETECTION results: whether we / the peer are behind a NAT. */
  natDetected?: { local: boolean; remote: boolean };
  /** IKE (and ESP) use the NAT-T port with UDP encapsulation (RFC 3948). */
  natT?: boolean;
  /** The peer sent CHILDLESS_IKEV2_SUPPORTED (RFC 6023). */
  peerChildless?: boolean;
  /** Rekey bookkeeping while this IKE SA is being replaced (create_child_sa.ts). */
  rekey?: RekeyState<IkeSa>;
  deleted: boolean;
}

export interface ChildSa {
  readonly serial: number;
  ike: IkeSa;
  conn: Connection;
  established: boolean;
  inSpi: number;
  outSpi?: number;
  chosen?: Chosen;
  localTs: Selector[];
  remoteTs: Selector[];
  mode: "tunnel" | "transport";
  addTime?: number;
  events: NamedTimers;
  installed: boolean;
  /** Rekey bookkeeping while this Child SA is being replaced (create_child_sa.ts). */
  rekey?: RekeyState<ChildSa>;
}

/**
 * What an SA being rekeyed remembers, so that simultaneous rekeys (RFC 7296
 * §2.8.1, §2.8.2) can be resolved once both exchanges are known.
 */
export interface RekeyState<T> {
  /** Our rekey request is outstanding; its nonce. */
  ours?: { ni: Uint8Array };
  /** We answered the peer's rekey of this SA: that exchange's nonces and the SA it created. */
  peers?: { ni: Uint8Array; nr: Uint8Array; created: T };
  /** A rekey completed: this SA only waits for its Delete. */
  replaced?: boolean;
}

/** The settled queue every idle IKE SA shares (one promise, not one per SA). */
export const IDLE_QUEUE: Promise<void> = Promise.resolve();

/** 8 bytes → bigint map key. */
export function spiKey(spi: Uint8Array): bigint {
  return new DataView(spi.buffer, spi.byteOffset, 8).getBigUint64(0);
}

export function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** `0x1a2b3c4d` as Libreswan prints SPIs. */
export function spiText(spi: number): string {
  return `0x${spi.toString(16).padStart(8, "0")}`;
}
