/**
 * AEAD with a key schedule kept per key, through OpenSSL's libcrypto
 * (`EVP_CIPHER_CTX`): node:crypto can only make a new cipher object per
 * nonce, which repeats the key schedule and a handful of op crossings for
 * every ESP packet (about 7× the cost of the cipher itself on 1,400-byte
 * packets). A context is keyed once; each packet only sets the nonce.
 *
 * libcrypto is optional: where `libcrypto.so.3` cannot be opened,
 * {@link AeadContext.create} returns undefined and callers use node:crypto.
 */

/** `EVP_CTRL_AEAD_GET_TAG` / `SET_TAG` (the GCM and ChaCha20-Poly1305 values are the same). */
const EVP_CTRL_AEAD_GET_TAG = 0x10;
const EVP_CTRL_AEAD_SET_TAG = 0x11;
/** The tag length of every AEAD here (ESP's ICV: RFC 4106 §6, RFC 7634 §2). */
const TAG_BYTES = 16;

const SYMBOLS = {
  EVP_CIPHER_CTX_new: { parameters: [], result: "pointer" },
  EVP_CIPHER_CTX_free: { parameters: ["pointer"], result: "void" },
  EVP_aes_128_gcm: { parameters: [], result: "pointer" },
  EVP_aes_192_gcm: { parameters: [], result: "pointer" },
  EVP_aes_256_gcm: { parameters: [], result: "pointer" },
  EVP_chacha20_poly1305: { parameters: [], result: "pointer" },
  EVP_EncryptInit_ex: {
    parameters: ["pointer", "pointer", "pointer", "buffer", "buffer"],
    result: "i32",
  },
  EVP_EncryptUpdate: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  EVP_EncryptFinal_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  EVP_DecryptInit_ex: {
    parameters: ["pointer", "pointer", "pointer", "buffer", "buffer"],
    result: "i32",
  },
  EVP_DecryptUpdate: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  EVP_DecryptFinal_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  EVP_CIPHER_CTX_ctrl: { parameters: ["pointer", "i32", "i32", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** The bound symbols, or null once opening libcrypto failed (it is not tried again). */
let library: Symbols | null | undefined;

function libcrypto(): Symbols | null {
  if (library === undefined) {
    try {
      library = Deno.dlopen("libcrypto.so.3", SYMBOLS).symbols;
    } catch {
      library = null;
    }
  }
  return library;
}

/** The AEADs offered, by node:crypto's names. */
export type AeadName = "aes-128-gcm" | "aes-192-gcm" | "aes-256-gcm" | "chacha20-poly1305";

const CIPHERS: Record<AeadName, (s: Symbols) => Deno.PointerValue> = {
  "aes-128-gcm": (s) => s.EVP_aes_128_gcm(),
  "aes-192-gcm": (s) => s.EVP_aes_192_gcm(),
  "aes-256-gcm": (s) => s.EVP_aes_256_gcm(),
  "chacha20-poly1305": (s) => s.EVP_chacha20_poly1305(),
};

/** Contexts are freed with the object that holds them. */
const contexts = new FinalizationRegistry<Deno.PointerValue>((ctx) =>
  libcrypto()?.EVP_CIPHER_CTX_free(ctx)
);

/** One key of an AEAD with 12-byte nonces and 16-byte tags, ready for any number of messages. */
export class AeadContext {
  readonly #s: Symbols;
  readonly #cipher: Deno.PointerValue;
  readonly #key: Uint8Array;
  #sealCtx: Deno.PointerValue | undefined;
  #openCtx: Deno.PointerValue | undefined;
  /** `int *outl`, written by every call and never read: lengths are known in advance. */
  readonly #outLength = new Int32Array(1);
  /** Where the final step may write (GCM and ChaCha20-Poly1305 write nothing there). */
  readonly #scratch = new Uint8Array(TAG_BYTES);

  private constructor(s: Symbols, cipher: Deno.PointerValue, key: Uint8Array) {
    this.#s = s;
    this.#cipher = cipher;
    this.#key = key.slice();
  }

  /** A context for `key`, or undefined when libcrypto is not available. */
  static create(name: AeadName, key: Uint8Array): AeadContext | undefined {
    const s = libcrypto();
    if (s === null) return undefined;
    return new AeadContext(s, CIPHERS[name](s), key);
  }

  /** A keyed context for one direction, made on first use (an SA only ever seals or opens). */
  #context(encrypt: boolean): Deno.PointerValue {
    const ctx = this.#s.EVP_CIPHER_CTX_new();
    if (ctx === null) throw new Error("EVP_CIPHER_CTX_new failed");
    contexts.register(this, ctx);
    const init = encrypt ? this.#s.EVP_EncryptInit_ex : this.#s.EVP_DecryptInit_ex;
    if (init(ctx, this.#cipher, null, this.#key, null) !== 1) {
      throw new Error("EVP cipher initialisation failed");
    }
    return ctx;
  }

  /**
   * Encrypts `plaintext` with `nonce` (12 bytes) and `aad` into `out`:
   * ciphertext then the 16-byte tag, so `out` is `plaintext.length + 16`
   * bytes long (it may be a view into a larger packet).
   */
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array): void {
    const s = this.#s;
    const ctx = this.#sealCtx ??= this.#context(true);
    const n = this.#outLength;
    const tag = out.subarray(plaintext.length, plaintext.length + TAG_BYTES);
    if (
      s.EVP_EncryptInit_ex(ctx, null, null, null, nonce) !== 1 ||
      s.EVP_EncryptUpdate(ctx, null, n, aad, aad.length) !== 1 ||
      s.EVP_EncryptUpdate(ctx, out, n, plaintext, plaintext.length) !== 1 ||
      s.EVP_EncryptFinal_ex(ctx, tag, n) !== 1 ||
      s.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_BYTES, tag) !== 1
    ) throw new Error("EVP AEAD encryption failed");
  }

  /**
   * Verifies and decrypts `sealed` (ciphertext then the 16-byte tag): the
   * plaintext, or null when the tag does not verify.
   */
  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null {
    if (sealed.length < TAG_BYTES) return null;
    const s = this.#s;
    const ctx = this.#openCtx ??= this.#context(false);
    const n = this.#outLength;
    const split = sealed.length - TAG_BYTES;
    const out = new Uint8Array(split);
    // The tag is copied: EVP may write to the buffer it is given.
    const tag = sealed.slice(split);
    const ok = s.EVP_DecryptInit_ex(ctx, null, null, null, nonce) === 1 &&
      s.EVP_DecryptUpdate(ctx, null, n, aad, aad.length) === 1 &&
      s.EVP_DecryptUpdate(ctx, out, n, sealed.subarray(0, split), split) === 1 &&
      s.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_BYTES, tag) === 1 &&
      s.EVP_DecryptFinal_ex(ctx, this.#scratch, n) === 1;
    return ok ? out : null;
  }
}
