/**
 * The interop proposal matrix, each entry in both grammars: strongSwan's
 * (`proposals =`/`esp_proposals =`) and Libreswan's (`--ike`/`--esp`).
 * Both name the same IANA transforms: ENCR 20 (AES-GCM-16) with 128/256-bit
 * keys, ENCR 12 (AES-CBC) + AUTH 12 (HMAC-SHA2-256-128), ENCR 28
 * (ChaCha20-Poly1305); PRF 5/6 (HMAC-SHA2-256/384); groups 31 (Curve25519),
 * 14 (MODP-2048), 19/20 (ECP-256/384).
 */

/** One row of the matrix. */
export interface ProposalPair {
  /** A short name for test titles. */
  name: string;
  strongswan: { ike: string; esp: string };
  /** Absent fields: the implementation's own defaults. */
  libreswan: { ike?: string; esp?: string };
}

/** The matrix the brief asks for; the last row leaves every side to its defaults. */
export const PROPOSAL_MATRIX: readonly ProposalPair[] = [
  {
    name: "aes128gcm16-prfsha256-x25519",
    strongswan: { ike: "aes128gcm16-prfsha256-x25519", esp: "aes128gcm16" },
    libreswan: { ike: "aes_gcm128-sha2_256;dh31", esp: "aes_gcm128" },
  },
  {
    name: "aes256-sha256-modp2048",
    strongswan: { ike: "aes256-sha256-modp2048", esp: "aes256-sha256" },
    libreswan: { ike: "aes256-sha2_256;modp2048", esp: "aes256-sha2_256" },
  },
  {
    name: "chacha20poly1305-prfsha256-ecp256",
    strongswan: { ike: "chacha20poly1305-prfsha256-ecp256", esp: "chacha20poly1305" },
    libreswan: { ike: "chacha20_poly1305-sha2_256;dh19", esp: "chacha20_poly1305" },
  },
  {
    name: "aes256gcm16-prfsha384-ecp384",
    strongswan: { ike: "aes256gcm16-prfsha384-ecp384", esp: "aes256gcm16" },
    libreswan: { ike: "aes_gcm256-sha2_384;dh20", esp: "aes_gcm256" },
  },
  {
    name: "defaults",
    strongswan: { ike: "default", esp: "default" },
    libreswan: {},
  },
];
