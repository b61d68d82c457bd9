/**
 * The algorithm table: Libreswan print names, the spellings accepted in
 * `ike=`/`esp=`, IANA transform IDs (RFC 7296 §3.3.2 registries) and sizes.
 *
 * Two kinds of rows: algorithms swan implements (full descriptions, used by
 * the proposal parser, the status lines and the engine), and algorithms that
 * Libreswan knows but swan does not implement. The latter are kept so that a
 * configuration naming them is refused with "not supported by swan" rather
 * than "not recognized", and so that a peer's offer of them can be logged by
 * name.
 *
 * @module
 */

// IANA "Transform Type 1 - Encryption Algorithm Transform IDs".
/** ENCR_AES_CBC (RFC 3602). */
export const ENCR_AES_CBC = 12;
/** ENCR_AES_GCM_16: AES-GCM with a 16-octet ICV (RFC 4106, RFC 5282). */
export const ENCR_AES_GCM_16 = 20;
/** ENCR_CHACHA20_POLY1305 (RFC 7634). */
export const ENCR_CHACHA20_POLY1305 = 28;

// IANA "Transform Type 2 - Pseudorandom Function Transform IDs".
/** PRF_HMAC_SHA1 (RFC 2104). */
export const PRF_HMAC_SHA1 = 2;
/** PRF_HMAC_SHA2_256 (RFC 4868). */
export const PRF_HMAC_SHA2_256 = 5;
/** PRF_HMAC_SHA2_384 (RFC 4868). */
export const PRF_HMAC_SHA2_384 = 6;
/** PRF_HMAC_SHA2_512 (RFC 4868). */
export const PRF_HMAC_SHA2_512 = 7;

// IANA "Transform Type 3 - Integrity Algorithm Transform IDs".
/** NONE: no integrity transform; only with AEAD ciphers. */
export const AUTH_NONE = 0;
/** AUTH_HMAC_SHA1_96 (RFC 2404). */
export const AUTH_HMAC_SHA1_96 = 2;
/** AUTH_HMAC_SHA2_256_128 (RFC 4868). */
export const AUTH_HMAC_SHA2_256_128 = 12;
/** AUTH_HMAC_SHA2_384_192 (RFC 4868). */
export const AUTH_HMAC_SHA2_384_192 = 13;
/** AUTH_HMAC_SHA2_512_256 (RFC 4868). */
export const AUTH_HMAC_SHA2_512_256 = 14;

// IANA "Transform Type 4 - Key Exchange Method Transform IDs".
/** NONE: no key exchange (Child SA without PFS). */
export const KE_NONE = 0;
/** 2048-bit MODP Group (RFC 3526). */
export const KE_MODP2048 = 14;
/** 3072-bit MODP Group (RFC 3526). */
export const KE_MODP3072 = 15;
/** 4096-bit MODP Group (RFC 3526). */
export const KE_MODP4096 = 16;
/** 6144-bit MODP Group (RFC 3526). */
export const KE_MODP6144 = 17;
/** 8192-bit MODP Group (RFC 3526). */
export const KE_MODP8192 = 18;
/** 256-bit random ECP group (RFC 5903). */
export const KE_ECP_256 = 19;
/** 384-bit random ECP group (RFC 5903). */
export const KE_ECP_384 = 20;
/** 521-bit random ECP group (RFC 5903). */
export const KE_ECP_521 = 21;
/** Curve25519 (RFC 8031). */
export const KE_CURVE25519 = 31;
/** Curve448 (RFC 8031). */
export const KE_CURVE448 = 32;

/** The four transform types that appear in `ike=`/`esp=` strings. */
export type AlgorithmKind = "encr" | "prf" | "integ" | "ke";

/** What every row has. */
interface AlgorithmRow {
  /** IANA transform ID. */
  readonly id: number;
  /** Libreswan's print name, e.g. `AES_GCM_16`, `HMAC_SHA2_256_128`, `DH19`. */
  readonly name: string;
  /**
   * Accepted spellings, lower case, preferred spelling first (it is the one
   * suggested in error messages). The lower-cased print name is always
   * accepted as well.
   */
  readonly aliases: readonly string[];
}

/** An encryption algorithm swan implements. */
export interface EncrInfo extends AlgorithmRow {
  /** Combined-mode cipher: no separate integrity transform. */
  readonly aead: boolean;
  /** Valid key sizes in bits, ascending. */
  readonly keySizes: readonly number[];
  /**
   * Whether the key size is negotiated (IKEv2 Key Length attribute) and may
   * be written in the proposal string; false for fixed-size ciphers such as
   * CHACHA20_POLY1305, whose name never carries a size.
   */
  readonly variableKeySize: boolean;
  /** Libreswan's default key size (`keydeflen`). */
  readonly defaultKeyBits: number;
  /** Cipher block size in bytes as Libreswan reports it. */
  readonly blockBytes: number;
  /** IKEv1 (Oakley) ID and name, when the cipher exists in IKEv1. */
  readonly ikev1?: { readonly id: number; readonly name: string };
}

/** A pseudorandom function swan implements. */
export interface PrfInfo extends AlgorithmRow {
  /** PRF output length in bytes (`hashlen`). */
  readonly outputBytes: number;
  /** The integrity algorithm paired with this PRF when only a PRF is given. */
  readonly integ: number;
}

/** An integrity algorithm swan implements. */
export interface IntegInfo extends AlgorithmRow {
  /** Key length in bits (`key-length` in the kernel algorithm list). */
  readonly keyBits: number;
}

/** A key exchange method swan implements. */
export interface KeInfo extends AlgorithmRow {
  /** Size Libreswan reports: MODP modulus bits, or public value bits for ECP/ECX. */
  readonly bits: number;
}

/** Encryption algorithms swan implements, in Libreswan's table order. */
export const IMPLEMENTED_ENCR: readonly EncrInfo[] = [
  {
    id: ENCR_AES_GCM_16,
    name: "AES_GCM_16",
    aliases: ["aes_gcm", "aes_gcm_c"],
    aead: true,
    keySizes: [128, 192, 256],
    variableKeySize: true,
    defaultKeyBits: 128,
    blockBytes: 16,
  },
  {
    id: ENCR_AES_CBC,
    name: "AES_CBC",
    aliases: ["aes"],
    aead: false,
    keySizes: [128, 192, 256],
    variableKeySize: true,
    defaultKeyBits: 128,
    blockBytes: 16,
    ikev1: { id: 7, name: "OAKLEY_AES_CBC" },
  },
  {
    id: ENCR_CHACHA20_POLY1305,
    name: "CHACHA20_POLY1305",
    aliases: ["chacha20poly1305"],
    aead: true,
    keySizes: [256],
    variableKeySize: false,
    defaultKeyBits: 256,
    blockBytes: 16,
  },
];

/** PRFs swan implements, in Libreswan's table order. */
export const IMPLEMENTED_PRF: readonly PrfInfo[] = [
  {
    id: PRF_HMAC_SHA1,
    name: "HMAC_SHA1",
    aliases: ["sha1", "sha"],
    outputBytes: 20,
    integ: AUTH_HMAC_SHA1_96,
  },
  {
    id: PRF_HMAC_SHA2_256,
    name: "HMAC_SHA2_256",
    aliases: ["sha2_256", "sha2", "sha256"],
    outputBytes: 32,
    integ: AUTH_HMAC_SHA2_256_128,
  },
  {
    id: PRF_HMAC_SHA2_384,
    name: "HMAC_SHA2_384",
    aliases: ["sha2_384", "sha384"],
    outputBytes: 48,
    integ: AUTH_HMAC_SHA2_384_192,
  },
  {
    id: PRF_HMAC_SHA2_512,
    name: "HMAC_SHA2_512",
    aliases: ["sha2_512", "sha512"],
    outputBytes: 64,
    integ: AUTH_HMAC_SHA2_512_256,
  },
];

/** Integrity algorithms swan implements, in Libreswan's table order. */
export const IMPLEMENTED_INTEG: readonly IntegInfo[] = [
  {
    id: AUTH_HMAC_SHA1_96,
    name: "HMAC_SHA1_96",
    aliases: ["sha1", "sha", "sha1_96", "hmac_sha1"],
    keyBits: 160,
  },
  {
    id: AUTH_HMAC_SHA2_512_256,
    name: "HMAC_SHA2_512_256",
    aliases: ["sha2_512", "sha512", "sha2_512_256", "hmac_sha2_512"],
    keyBits: 512,
  },
  {
    id: AUTH_HMAC_SHA2_384_192,
    name: "HMAC_SHA2_384_192",
    aliases: ["sha2_384", "sha384", "sha2_384_192", "hmac_sha2_384"],
    keyBits: 384,
  },
  {
    id: AUTH_HMAC_SHA2_256_128,
    name: "HMAC_SHA2_256_128",
    aliases: ["sha2_256", "sha2", "sha256", "sha2_256_128", "hmac_sha2_256"],
    keyBits: 256,
  },
  { id: AUTH_NONE, name: "NONE", aliases: ["none", "null"], keyBits: 0 },
];

/** Key exchange methods swan implements, in Libreswan's table order (DH32 is swan's own). */
export const IMPLEMENTED_KE: readonly KeInfo[] = [
  { id: KE_NONE, name: "NONE", aliases: ["none", "null", "dh0"], bits: 0 },
  { id: KE_MODP2048, name: "MODP2048", aliases: ["modp2048", "dh14"], bits: 2048 },
  { id: KE_MODP3072, name: "MODP3072", aliases: ["modp3072", "dh15"], bits: 3072 },
  { id: KE_MODP4096, name: "MODP4096", aliases: ["modp4096", "dh16"], bits: 4096 },
  { id: KE_MODP6144, name: "MODP6144", aliases: ["modp6144", "dh17"], bits: 6144 },
  { id: KE_MODP8192, name: "MODP8192", aliases: ["modp8192", "dh18"], bits: 8192 },
  { id: KE_ECP_256, name: "DH19", aliases: ["dh19", "ecp_256", "ecp256"], bits: 512 },
  { id: KE_ECP_384, name: "DH20", aliases: ["dh20", "ecp_384", "ecp384"], bits: 768 },
  { id: KE_ECP_521, name: "DH21", aliases: ["dh21", "ecp_521", "ecp521"], bits: 1056 },
  { id: KE_CURVE25519, name: "DH31", aliases: ["dh31", "curve25519", "x25519"], bits: 256 },
  { id: KE_CURVE448, name: "DH32", aliases: ["dh32", "curve448", "x448"], bits: 448 },
];

/**
 * Algorithms Libreswan knows (or once knew) that swan does not implement,
 * with their IANA IDs so a peer's offer can still be named.
 */
const UNIMPLEMENTED: Readonly<Record<AlgorithmKind, readonly AlgorithmRow[]>> = {
  encr: [
    { id: 2, name: "DES_CBC", aliases: ["des"] },
    { id: 3, name: "3DES_CBC", aliases: ["3des"] },
    { id: 6, name: "CAST_CBC", aliases: ["cast"] },
    { id: 7, name: "BLOWFISH_CBC", aliases: ["blowfish"] },
    { id: 11, name: "NULL", aliases: [] },
    { id: 13, name: "AES_CTR", aliases: ["aesctr"] },
    { id: 14, name: "AES_CCM_8", aliases: ["aes_ccm_a"] },
    { id: 15, name: "AES_CCM_12", aliases: ["aes_ccm_b"] },
    { id: 16, name: "AES_CCM_16", aliases: ["aes_ccm", "aes_ccm_c"] },
    { id: 18, name: "AES_GCM_8", aliases: ["aes_gcm_a"] },
    { id: 19, name: "AES_GCM_12", aliases: ["aes_gcm_b"] },
    { id: 21, name: "NULL_AUTH_AES_GMAC", aliases: ["aes_gmac"] },
    { id: 23, name: "CAMELLIA_CBC", aliases: ["camellia"] },
    { id: 24, name: "CAMELLIA_CTR", aliases: [] },
    { id: 65004, name: "SERPENT_CBC", aliases: ["serpent"] },
    { id: 65005, name: "TWOFISH_CBC", aliases: ["twofish"] },
  ],
  prf: [
    { id: 1, name: "HMAC_MD5", aliases: ["md5"] },
    { id: 4, name: "AES_XCBC", aliases: ["aes128_xcbc"] },
  ],
  integ: [
    { id: 1, name: "HMAC_MD5_96", aliases: ["md5", "hmac_md5"] },
    { id: 5, name: "AES_XCBC_96", aliases: ["aes_xcbc", "aes128_xcbc", "aes128_xcbc_96"] },
    { id: 8, name: "AES_CMAC_96", aliases: ["aes_cmac"] },
  ],
  ke: [
    { id: 1, name: "MODP768", aliases: ["modp768", "dh1"] },
    { id: 2, name: "MODP1024", aliases: ["modp1024", "dh2"] },
    { id: 5, name: "MODP1536", aliases: ["modp1536", "dh5"] },
    { id: 22, name: "DH22", aliases: ["dh22"] },
    { id: 23, name: "DH23", aliases: ["dh23"] },
    { id: 24, name: "DH24", aliases: ["dh24"] },
    { id: 35, name: "ML_KEM_512", aliases: ["ml_kem_512", "mlkem512"] },
    { id: 36, name: "ML_KEM_768", aliases: ["ml_kem_768", "mlkem768"] },
    { id: 37, name: "ML_KEM_1024", aliases: ["ml_kem_1024", "mlkem1024"] },
  ],
};

/** Row type for each kind of implemented algorithm. */
export interface InfoByKind {
  encr: EncrInfo;
  prf: PrfInfo;
  integ: IntegInfo;
  ke: KeInfo;
}

const IMPLEMENTED: { readonly [K in AlgorithmKind]: readonly InfoByKind[K][] } = {
  encr: IMPLEMENTED_ENCR,
  prf: IMPLEMENTED_PRF,
  integ: IMPLEMENTED_INTEG,
  ke: IMPLEMENTED_KE,
};

/** Result of looking up a spelling. */
export type NameLookup<T> =
  | { readonly status: "implemented"; readonly info: T }
  | { readonly status: "unimplemented"; readonly name: string }
  | { readonly status: "unknown" };

/** Maps every accepted lower-case spelling of one kind to its row. */
function spellingIndex<T extends AlgorithmRow>(
  implemented: readonly T[],
  unimplemented: readonly AlgorithmRow[],
): Map<string, NameLookup<T>> {
  const index = new Map<string, NameLookup<T>>();
  for (const row of unimplemented) {
    for (const spelling of [row.name.toLowerCase(), ...row.aliases]) {
      index.set(spelling, { status: "unimplemented", name: row.name });
    }
  }
  // Implemented rows win where Libreswan reuses a spelling.
  for (const info of implemented) {
    for (const spelling of [info.name.toLowerCase(), ...info.aliases]) {
      index.set(spelling, { status: "implemented", info });
    }
  }
  return index;
}

const SPELLINGS: { readonly [K in AlgorithmKind]: Map<string, NameLookup<InfoByKind[K]>> } = {
  encr: spellingIndex(IMPLEMENTED_ENCR, UNIMPLEMENTED.encr),
  prf: spellingIndex(IMPLEMENTED_PRF, UNIMPLEMENTED.prf),
  integ: spellingIndex(IMPLEMENTED_INTEG, UNIMPLEMENTED.integ),
  ke: spellingIndex(IMPLEMENTED_KE, UNIMPLEMENTED.ke),
};

/**
 * Looks up one spelling (case-insensitive, exact: no key size suffix) of an
 * algorithm of the given kind.
 */
export function lookupAlgorithm<K extends AlgorithmKind>(
  kind: K,
  spelling: string,
): NameLookup<InfoByKind[K]> {
  return SPELLINGS[kind].get(spelling.toLowerCase()) ?? { status: "unknown" };
}

/** The implemented row with this IANA ID, if any. */
export function implementedAlgorithm<K extends AlgorithmKind>(
  kind: K,
  id: number,
): InfoByKind[K] | undefined {
  return IMPLEMENTED[kind].find((info) => info.id === id);
}

/** The preferred spelling of each implemented algorithm of a kind, for error hints. */
export function preferredSpellings(kind: AlgorithmKind): string[] {
  return IMPLEMENTED[kind].map((info) => info.aliases[0]);
}

/** Print name for any known ID of a kind, or Libreswan's `<id>??` for an unknown one. */
function printName(kind: AlgorithmKind, id: number): string {
  const row = implementedAlgorithm(kind, id) ??
    UNIMPLEMENTED[kind].find((r) => r.id === id);
  return row?.name ?? `${id}??`;
}

/**
 * Libreswan print name of an encryption transform: `AES_GCM_16_256`,
 * `AES_CBC_128`, `CHACHA20_POLY1305`; without `keyBits` just the algorithm
 * (`AES_GCM_16`). Fixed-size ciphers never carry a size.
 */
export function encrName(id: number, keyBits?: number): string {
  const name = printName("encr", id);
  const fixed = implementedAlgorithm("encr", id)?.variableKeySize === false;
  return keyBits === undefined || fixed ? name : `${name}_${keyBits}`;
}

/** Libreswan print name of a PRF transform, e.g. `HMAC_SHA2_512`. */
export function prfName(id: number): string {
  return printName("prf", id);
}

/** Libreswan print name of an integrity transform, e.g. `HMAC_SHA2_256_128`, `NONE`. */
export function integName(id: number): string {
  return printName("integ", id);
}

/** Libreswan print name of a key exchange transform, e.g. `DH19`, `MODP2048`, `NONE`. */
export function keName(id: number): string {
  return printName("ke", id);
}

/**
 * The IKE algorithm lines of `whack --status` (the text after `algorithm `),
 * in Libreswan 5.x wording:
 * `IKE encrypt: v1id=-1, v1name=n/a, v2id=20, v2name=AES_GCM_16, blocksize=16, keydeflen=128`,
 * `IKE PRF: name=HMAC_SHA1, hashlen=20`,
 * `IKE Key Exchange Method (DH): name=MODP2048, bits=2048`.
 */
export function ikeAlgorithmStatusLines(): string[] {
  const encrypt = IMPLEMENTED_ENCR.map((e) =>
    `IKE encrypt: v1id=${e.ikev1?.id ?? -1}, v1name=${e.ikev1?.name ?? "n/a"}, ` +
    `v2id=${e.id}, v2name=${e.name}, blocksize=${e.blockBytes}, keydeflen=${e.defaultKeyBits}`
  );
  const prf = IMPLEMENTED_PRF.map((p) => `IKE PRF: name=${p.name}, hashlen=${p.outputBytes}`);
  // NONE is not a key exchange one can use for an IKE SA.
  const ke = IMPLEMENTED_KE.filter((k) => k.id !== KE_NONE).map((k) =>
    `IKE Key Exchange Method (DH): name=${k.name}, bits=${k.bits}`
  );
  return [...encrypt, ...prf, ...ke];
}

/** Code-unit order, as Libreswan sorts the kernel lists. */
function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * The kernel algorithm lines of `whack --status` (the text after
 * `algorithm `), each group alphabetical:
 * `ESP encrypt: name=AES_GCM_16, keysizemin=128, keysizemax=256`,
 * `AH/ESP auth: name=HMAC_SHA1_96, key-length=160`.
 */
export function kernelAlgorithmStatusLines(): string[] {
  const encrypt = [...IMPLEMENTED_ENCR].sort(byName).map((e) =>
    `ESP encrypt: name=${e.name}, keysizemin=${e.keySizes[0]}, ` +
    `keysizemax=${e.keySizes[e.keySizes.length - 1]}`
  );
  const auth = [...IMPLEMENTED_INTEG].sort(byName).map((i) =>
    `AH/ESP auth: name=${i.name}, key-length=${i.keyBits}`
  );
  return [...encrypt, ...auth];
}
