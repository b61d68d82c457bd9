/**
 * The synchronous contract each key-exchange family (MODP, ECP, Montgomery
 * curves) implements. node:crypto does this work synchronously; ke.ts wraps
 * it in the asynchronous {@link KeAlgorithm} API the engine uses, which
 * leaves room to move expensive groups to worker threads later.
 */
import type { Entropy } from "./random.ts";

/** One side's ephemeral key pair, synchronously. */
export interface KeGroupPair {
  /** KE payload data exactly as on the wire. */
  publicKey: Uint8Array;
  /** g^ir as IKEv2 uses it; throws KeError on a bad peer value. */
  sharedSecret(peerPublic: Uint8Array): Uint8Array;
}

/** A key-exchange group, synchronously. */
export interface KeGroup {
  /** IANA Transform Type 4 id. */
  id: number;
  /** Libreswan's log name, e.g. `MODP2048`, `DH19`. */
  name: string;
  /** Length of the KE payload data. */
  publicBytes: number;
  /** Fresh private-value bytes in the format {@link pairFromPrivate} takes. */
  randomPrivate(entropy: Entropy): Uint8Array;
  /** The key pair of a given private value; throws KeError when the group refuses it. */
  pairFromPrivate(privateKey: Uint8Array): KeGroupPair;
}
