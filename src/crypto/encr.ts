/**
 * IKEv2 encryption transforms (Transform Type 1, RFC 7296 §3.3.2), keyed by
 * IANA id and key size. The same descriptions serve ESP key derivation.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { aes192CbcDecrypt, aes192CbcEncrypt, aes192GcmOpen, aes192GcmSeal } from "./aes192.ts";
import { concatBytes } from "./bytes.ts";

/** ENCR_AES_CBC (RFC 3602). */
export const ENCR_AES_CBC = 12;
/** ENCR_AES_GCM_16: AES-GCM with a 16-octet ICV (RFC 4106, RFC 5282). */
export const ENCR_AES_GCM_16 = 20;
/** ENCR_CHACHA20_POLY1305 (RFC 7634). */
export const ENCR_CHACHA20_POLY1305 = 28;

/** A negotiated encryption algorithm at one key size. */
export interface EncrAlgorithm {
  /** IANA ENCR id: 12 ENCR_AES_CBC, 20 ENCR_AES_GCM_16, 28 ENCR_CHACHA20_POLY1305. */
  id: number;
  /** Libreswan's log name, e.g. `AES_GCM_16_256`, `CHACHA20_POLY1305`. */
  name: string;
  /** 128/192/256 (CHACHA: 256). */
  keyBits: number;
  aead: boolean;
  /** Padding alignment of the SK payload plaintext: 16 for CBC, 1 for AEAD. */
  blockSize: number;
  /** Explicit IV on the wire: 16 CBC, 8 GCM and ChaCha20-Poly1305. */
  ivBytes: number;
  /** 0 CBC, 4 GCM (RFC 4106/5282), 4 ChaCha (RFC 7634). */
  saltBytes: number;
  /** 16 for AEAD, 0 for CBC. */
  icvBytes: number;
  /** keyBits/8 + saltBytes: how many prf+ bytes one key takes (key, then salt). */
  keyMaterialBytes: number;
  /**
   * CBC: plaintext must be a multiple of blockSize; returns ciphertext.
   * AEAD: returns ciphertext||ICV. `aad` ignored for CBC. Throws RangeError
   * on wrong key, IV or plaintext lengths: those are the caller's bug.
   */
  encrypt(
    keyMaterial: Uint8Array,
    iv: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array,
  ): Uint8Array;
  /** Returns null on ICV failure or bad lengths — never throws. */
  decrypt(
    keyMaterial: Uint8Array,
    iv: Uint8Array,
    ciphertext: Uint8Array,
    aad: Uint8Array,
  ): Uint8Array | null;
}

const AES_BLOCK = 16;
const AEAD_IV_BYTES = 8;
const AEAD_SALT_BYTES = 4;
const AEAD_ICV_BYTES = 16;

/** A block cipher in CBC mode without padding (lengths already checked). */
interface CbcMode {
  encrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Uint8Array;
  decrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array;
}

/** An AEAD with a 96-bit nonce and a 16-byte tag appended to the ciphertext. */
interface AeadMode {
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null;
}

function nativeCbc(cipher: "aes-128-cbc" | "aes-256-cbc"): CbcMode {
  return {
    encrypt(key, iv, plaintext) {
      const c = createCipheriv(cipher, key, iv).setAutoPadding(false);
      return concatBytes(c.update(plaintext), c.final());
    },
    decrypt(key, iv, ciphertext) {
      const d = createDecipheriv(cipher, key, iv).setAutoPadding(false);
      return concatBytes(d.update(ciphertext), d.final());
    },
  };
}

type AeadCipherName = "aes-128-gcm" | "aes-256-gcm" | "chacha20-poly1305";

const AEAD_OPTIONS = { authTagLength: AEAD_ICV_BYTES };

// The two branches are the same call: node's typings have one overload per
// AEAD family, so the name must be narrowed before the call type-checks.
function aeadCipher(name: AeadCipherName, key: Uint8Array, nonce: Uint8Array) {
  return name === "chacha20-poly1305"
    ? createCipheriv(name, key, nonce, AEAD_OPTIONS)
    : createCipheriv(name, key, nonce, AEAD_OPTIONS);
}

function aeadDecipher(name: AeadCipherName, key: Uint8Array, nonce: Uint8Array) {
  return name === "chacha20-poly1305"
    ? createDecipheriv(name, key, nonce, AEAD_OPTIONS)
    : createDecipheriv(name, key, nonce, AEAD_OPTIONS);
}

function nativeAead(name: AeadCipherName): AeadMode {
  return {
    seal(key, nonce, plaintext, aad) {
      const c = aeadCipher(name, key, nonce);
      c.setAAD(aad, { plaintextLength: plaintext.length });
      const ciphertext = concatBytes(c.update(plaintext), c.final());
      return concatBytes(ciphertext, c.getAuthTag());
    },
    open(key, nonce, sealed, aad) {
      const split = sealed.length - AEAD_ICV_BYTES;
      try {
        const d = aeadDecipher(name, key, nonce);
        d.setAAD(aad, { plaintextLength: split });
        d.setAuthTag(sealed.subarray(split));
        return concatBytes(d.update(sealed.subarray(0, split)), d.final());
      } catch {
        // final() throws when the tag does not verify.
        return null;
      }
    },
  };
}

function requireLength(what: string, bytes: Uint8Array, want: number, algorithm: string): void {
  if (bytes.length !== want) {
    throw new RangeError(`${algorithm}: ${what} is ${bytes.length} bytes, want ${want}`);
  }
}

function aesCbc(keyBits: number, mode: CbcMode): EncrAlgorithm {
  const name = `AES_CBC_${keyBits}`;
  const keyBytes = keyBits / 8;
  return {
    id: ENCR_AES_CBC,
    name,
    keyBits,
    aead: false,
    blockSize: AES_BLOCK,
    ivBytes: AES_BLOCK,
    saltBytes: 0,
    icvBytes: 0,
    keyMaterialBytes: keyBytes,
    encrypt(keyMaterial, iv, plaintext) {
      requireLength("key", keyMaterial, keyBytes, name);
      requireLength("IV", iv, AES_BLOCK, name);
      if (plaintext.length % AES_BLOCK !== 0) {
        throw new RangeError(
          `${name}: plaintext is ${plaintext.length} bytes, not a multiple of ${AES_BLOCK}`,
        );
      }
      return mode.encrypt(keyMaterial, iv, plaintext);
    },
    decrypt(keyMaterial, iv, ciphertext) {
      if (
        keyMaterial.length !== keyBytes || iv.length !== AES_BLOCK ||
        ciphertext.length % AES_BLOCK !== 0
      ) return null;
      return mode.decrypt(keyMaterial, iv, ciphertext);
    },
  };
}

/** An AEAD whose key material is key || 4-byte salt and whose nonce is salt || 8-byte IV. */
function aead(id: number, name: string, keyBits: number, mode: AeadMode): EncrAlgorithm {
  const keyBytes = keyBits / 8;
  const keyMaterialBytes = keyBytes + AEAD_SALT_BYTES;
  const nonce = (keyMaterial: Uint8Array, iv: Uint8Array) =>
    concatBytes(keyMaterial.subarray(keyBytes), iv);
  return {
    id,
    name,
    keyBits,
    aead: true,
    blockSize: 1,
    ivBytes: AEAD_IV_BYTES,
    saltBytes: AEAD_SALT_BYTES,
    icvBytes: AEAD_ICV_BYTES,
    keyMaterialBytes,
    encrypt(keyMaterial, iv, plaintext, aad) {
      requireLength("key material", keyMaterial, keyMaterialBytes, name);
      requireLength("IV", iv, AEAD_IV_BYTES, name);
      return mode.seal(keyMaterial.subarray(0, keyBytes), nonce(keyMaterial, iv), plaintext, aad);
    },
    decrypt(keyMaterial, iv, ciphertext, aad) {
      if (
        keyMaterial.length !== keyMaterialBytes || iv.length !== AEAD_IV_BYTES ||
        ciphertext.length < AEAD_ICV_BYTES
      ) return null;
      return mode.open(keyMaterial.subarray(0, keyBytes), nonce(keyMaterial, iv), ciphertext, aad);
    },
  };
}

const AES192_CBC: CbcMode = { encrypt: aes192CbcEncrypt, decrypt: aes192CbcDecrypt };
const AES192_GCM: AeadMode = { seal: aes192GcmSeal, open: aes192GcmOpen };

const ALGORITHMS = new Map<string, EncrAlgorithm>(
  [
    aesCbc(128, nativeCbc("aes-128-cbc")),
    aesCbc(192, AES192_CBC),
    aesCbc(256, nativeCbc("aes-256-cbc")),
    aead(ENCR_AES_GCM_16, "AES_GCM_16_128", 128, nativeAead("aes-128-gcm")),
    aead(ENCR_AES_GCM_16, "AES_GCM_16_192", 192, AES192_GCM),
    aead(ENCR_AES_GCM_16, "AES_GCM_16_256", 256, nativeAead("aes-256-gcm")),
    aead(ENCR_CHACHA20_POLY1305, "CHACHA20_POLY1305", 256, nativeAead("chacha20-poly1305")),
  ].map((encr) => [`${encr.id}/${encr.keyBits}`, encr]),
);

/** Ciphers with a single key size, which a proposal may leave implicit. */
const IMPLIED_KEY_BITS = new Map<number, number>([[ENCR_CHACHA20_POLY1305, 256]]);

/**
 * The encryption algorithm `id` at `keyBits`, or undefined when the id or
 * size is unsupported. `keyBits` omitted means the cipher's only size
 * (CHACHA20_POLY1305: 256); AES requires it.
 */
export function encrAlgorithm(id: number, keyBits?: number): EncrAlgorithm | undefined {
  const bits = keyBits ?? IMPLIED_KEY_BITS.get(id);
  return bits === undefined ? undefined : ALGORITHMS.get(`${id}/${bits}`);
}
