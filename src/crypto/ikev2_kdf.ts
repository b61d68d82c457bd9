/**
 * IKEv2 key derivation: prf+ (RFC 7296 §2.13), SKEYSEED and the IKE SA keys
 * (§2.14), Child SA KEYMAT (§2.17) and SKEYSEED on IKE SA rekey (§2.18).
 * Only HMAC PRFs are supported, so Ni and Nr enter SKEYSEED whole (the
 * 64-bit truncation of §2.14 applies to fixed-key-size PRFs only).
 */
import { concatBytes } from "./bytes.ts";
import type { EncrAlgorithm } from "./encr.ts";
import type { IntegAlgorithm } from "./integ.ts";
import type { PrfAlgorithm } from "./prf.ts";

/** prf+ is not defined beyond 255 iterations (RFC 7296 §2.13). */
const MAX_PRF_PLUS_BLOCKS = 255;

/**
 * prf+(K, S) = T1 | T2 | … truncated to `length` bytes, where
 * T1 = prf(K, S | 0x01) and Tn = prf(K, Tn-1 | S | n).
 * Throws RangeError beyond 255 PRF outputs.
 */
export function prfPlus(
  prf: PrfAlgorithm,
  key: Uint8Array,
  seed: Uint8Array,
  length: number,
): Uint8Array {
  const blocks = Math.ceil(length / prf.outputBytes);
  if (!Number.isInteger(length) || length < 0 || blocks > MAX_PRF_PLUS_BLOCKS) {
    throw new RangeError(
      `prf+ cannot produce ${length} bytes with ${prf.name} (at most ${MAX_PRF_PLUS_BLOCKS} blocks)`,
    );
  }
  const size = prf.outputBytes;
  const out = new Uint8Array(blocks * size);
  // One input buffer, Tn-1 | S | n, rewritten in place each round; T0 is empty.
  const input = new Uint8Array(size + seed.length + 1);
  input.set(seed, size);
  for (let n = 1; n <= blocks; n++) {
    input[input.length - 1] = n;
    const t = prf.compute(key, n === 1 ? input.subarray(size) : input);
    out.set(t, (n - 1) * size);
    input.set(t, 0);
  }
  return out.subarray(0, length);
}

/** SKEYSEED = prf(Ni | Nr, g^ir) (RFC 7296 §2.14). */
export function skeyseed(
  prf: PrfAlgorithm,
  ni: Uint8Array,
  nr: Uint8Array,
  gir: Uint8Array,
): Uint8Array {
  return prf.compute(concatBytes(ni, nr), gir);
}

/** SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) for a rekeyed IKE SA (RFC 7296 §2.18). */
export function rekeySkeyseed(
  prf: PrfAlgorithm,
  oldSkD: Uint8Array,
  gir: Uint8Array,
  ni: Uint8Array,
  nr: Uint8Array,
): Uint8Array {
  return prf.compute(oldSkD, concatBytes(gir, ni, nr));
}

/** The seven secrets of an IKE SA (RFC 7296 §2.14). */
export interface IkeSaKeys {
  skD: Uint8Array;
  skAi: Uint8Array;
  skAr: Uint8Array;
  skEi: Uint8Array;
  skEr: Uint8Array;
  skPi: Uint8Array;
  skPr: Uint8Array;
}

/**
 * Cuts `stream` into consecutive pieces of the given lengths: views of the
 * one buffer, which an SA keeps for its lifetime (one allocation per key
 * would cost ~100 bytes of bookkeeping each).
 */
function split(stream: Uint8Array, lengths: number[]): Uint8Array[] {
  let offset = 0;
  return lengths.map((length) => length === 0 ? NO_KEY : stream.subarray(offset, offset += length));
}

/** The integrity "key" of AEAD suites: one shared empty array (it has no bytes to change). */
const NO_KEY = new Uint8Array(0);

function total(lengths: number[]): number {
  return lengths.reduce((sum, length) => sum + length, 0);
}

/**
 * {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
 *   = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)  (RFC 7296 §2.14).
 * `integ` undefined for AEAD (SK_ai/SK_ar empty). SK_e* are keyMaterialBytes
 * long (key||salt for AEAD). SK_d, SK_pi and SK_pr take the PRF's key length.
 */
export function deriveIkeSaKeys(
  prf: PrfAlgorithm,
  encr: EncrAlgorithm,
  integ: IntegAlgorithm | undefined,
  skeyseed: Uint8Array,
  ni: Uint8Array,
  nr: Uint8Array,
  spiI: Uint8Array,
  spiR: Uint8Array,
): IkeSaKeys {
  const a = integ?.keyBytes ?? 0;
  const e = encr.keyMaterialBytes;
  const p = prf.keyBytes;
  const lengths = [p, a, a, e, e, p, p];
  const stream = prfPlus(prf, skeyseed, concatBytes(ni, nr, spiI, spiR), total(lengths));
  const [skD, skAi, skAr, skEi, skEr, skPi, skPr] = split(stream, lengths);
  return { skD, skAi, skAr, skEi, skEr, skPi, skPr };
}

/** The keys of a Child SA, per direction (RFC 7296 §2.17). */
export interface ChildSaKeys {
  encrI: Uint8Array;
  integI: Uint8Array;
  encrR: Uint8Array;
  integR: Uint8Array;
}

/**
 * KEYMAT = prf+(SK_d, [g^ir (new)] | Ni | Nr); taken in the order encr i->r,
 * integ i->r, encr r->i, integ r->i (RFC 7296 §2.17). `integ` undefined for
 * AEAD (integrity keys empty); encryption keys are keyMaterialBytes long.
 */
export function deriveChildSaKeys(
  prf: PrfAlgorithm,
  skD: Uint8Array,
  encr: EncrAlgorithm,
  integ: IntegAlgorithm | undefined,
  ni: Uint8Array,
  nr: Uint8Array,
  gir?: Uint8Array,
): ChildSaKeys {
  const e = encr.keyMaterialBytes;
  const a = integ?.keyBytes ?? 0;
  const lengths = [e, a, e, a];
  const seed = gir === undefined ? concatBytes(ni, nr) : concatBytes(gir, ni, nr);
  const [encrI, integI, encrR, integR] = split(prfPlus(prf, skD, seed, total(lengths)), lengths);
  return { encrI, integI, encrR, integR };
}
