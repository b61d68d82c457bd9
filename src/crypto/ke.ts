/**
 * IKEv2 key exchange methods (Transform Type 4, RFC 7296 §3.3.2), keyed by
 * IANA id: MODP groups 14–18 (RFC 3526), ECP groups 19–21 (RFC 5903),
 * Curve25519 and Curve448 (RFC 8031).
 */
import { ecpGroup } from "./ecp_group.ts";
import { KeError } from "./ke_error.ts";
import type { KeGroup } from "./ke_group.ts";
import { modpGroup } from "./modp_group.ts";
import { montgomeryGroup } from "./montgomery_group.ts";
import { type Entropy, systemEntropy } from "./random.ts";

export { KeError };

/** 2048-bit MODP Group (RFC 3526 §3). */
export const MODP_2048 = 14;
/** 3072-bit MODP Group (RFC 3526 §4). */
export const MODP_3072 = 15;
/** 4096-bit MODP Group (RFC 3526 §5). */
export const MODP_4096 = 16;
/** 6144-bit MODP Group (RFC 3526 §6). */
export const MODP_6144 = 17;
/** 8192-bit MODP Group (RFC 3526 §7). */
export const MODP_8192 = 18;
/** 256-bit random ECP group (RFC 5903 §3.1). */
export const ECP_256 = 19;
/** 384-bit random ECP group (RFC 5903 §3.2). */
export const ECP_384 = 20;
/** 521-bit random ECP group (RFC 5903 §3.3). */
export const ECP_521 = 21;
/** Curve25519 (RFC 8031). */
export const CURVE25519 = 31;
/** Curve448 (RFC 8031). */
export const CURVE448 = 32;

/** One side's ephemeral key pair. */
export interface KeKeyPair {
  /** KE payload data exactly as on the wire (RFC 7296 §3.4 / RFC 5903 x||y / RFC 8031). */
  publicKey: Uint8Array;
  /**
   * g^ir as IKEv2 uses it (MODP: left-padded to p length; ECP: x only, RFC
   * 5903). Rejects with KeError (message names the group and the problem)
   * on a bad peer value: wrong length, point not on curve, MODP value
   * 0/1/p-1 or >= p, all-zero X25519/X448 output.
   */
  sharedSecret(peerPublic: Uint8Array): Promise<Uint8Array>;
}

/** A key exchange method. */
export interface KeAlgorithm {
  /** IANA Transform Type 4 id. */
  id: number;
  /** Libreswan's log name: `MODP2048` … `MODP8192`, `DH19` … `DH21`, `DH31`, `DH32`. */
  name: string;
  /** Length of the KE payload data. */
  publicBytes: number;
  /**
   * A fresh ephemeral key pair whose private value is drawn from `entropy`
   * (default: the system CSPRNG; pass a seeded one for reproducible runs).
   */
  generate(entropy?: Entropy): Promise<KeKeyPair>;
  /**
   * The key pair of a given private value, for test vectors and replay:
   * MODP a big-endian exponent in [2, p-2]; ECP a big-endian scalar of the
   * coordinate length in [1, n-1]; Curve25519/448 the RFC 7748 scalar string.
   * Rejects with KeError when the value is out of range.
   */
  keyPairFromPrivate(privateKey: Uint8Array): Promise<KeKeyPair>;
}

/** How often {@link KeAlgorithm.generate} redraws a private value the group refuses. */
export const MAX_DRAWS = 8;

/** Runs `work` now; its result or exception settles the returned promise. */
function settle<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()));
}

function asyncAlgorithm(group: KeGroup): KeAlgorithm {
  const keyPair = (privateKey: Uint8Array): KeKeyPair => {
    const pair = group.pairFromPrivate(privateKey);
    return {
      publicKey: pair.publicKey,
      sharedSecret: (peerPublic) => settle(() => pair.sharedSecret(peerPublic)),
    };
  };
  return {
    id: group.id,
    name: group.name,
    publicBytes: group.publicBytes,
    generate: (entropy = systemEntropy) =>
      settle(() => {
        // Only ECP refuses drawn values (scalar 0 or >= n), with
        // probability below 2^-32 per draw.
        for (let draw = 1;; draw++) {
          try {
            return keyPair(group.randomPrivate(entropy));
          } catch (e) {
            if (!(e instanceof KeError) || draw === MAX_DRAWS) throw e;
          }
        }
      }),
    keyPairFromPrivate: (privateKey) => settle(() => keyPair(privateKey)),
  };
}

const SYNC_GROUPS = new Map<number, KeGroup>(
  [
    // Exponent bytes: RFC 3526 §8's upper estimates (320/420/480/540/620 bits), rounded up.
    modpGroup(MODP_2048, 2048, 40),
    modpGroup(MODP_3072, 3072, 53),
    modpGroup(MODP_4096, 4096, 60),
    modpGroup(MODP_6144, 6144, 68),
    modpGroup(MODP_8192, 8192, 78),
    ecpGroup(ECP_256, "P-256", 256),
    ecpGroup(ECP_384, "P-384", 384),
    ecpGroup(ECP_521, "P-521", 521),
    montgomeryGroup(CURVE25519, "X25519", 32),
    montgomeryGroup(CURVE448, "X448", 56),
  ].map((group) => [group.id, group]),
);

const GROUPS = new Map<number, KeAlgorithm>(
  [...SYNC_GROUPS].map(([id, group]) => [id, asyncAlgorithm(group)]),
);

/** The key exchange method with IANA id `id`, or undefined when swan does not implement it. */
export function keAlgorithm(id: number): KeAlgorithm | undefined {
  return GROUPS.get(id);
}

/**
 * The synchronous group behind {@link keAlgorithm}`(id)`, for code that runs
 * the work elsewhere (the crypto helper threads in `helpers/`).
 */
export function keGroup(id: number): KeGroup | undefined {
  return SYNC_GROUPS.get(id);
}

/** Where the engine takes its key-exchange methods from: in-process, or a pool of helper threads. */
export interface KeProvider {
  /** The method with IANA id `id`, or undefined when swan does not implement it. */
  keAlgorithm(id: number): KeAlgorithm | undefined;
}

/** Key exchange on the calling thread (`--nhelpers 0`, simulations, tests). */
export const inlineKe: KeProvider = { keAlgorithm };
