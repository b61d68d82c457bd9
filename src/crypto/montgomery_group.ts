/**
 * Diffie-Hellman over Curve25519 and Curve448 (RFC 7748) as IKEv2 uses them
 * (RFC 8031): KE data and shared secret are the raw little-endian
 * u-coordinate strings.
 */
import { createPublicKey, diffieHellman, type KeyObject } from "node:crypto";
import { KeError } from "./ke_error.ts";
import type { KeGroup } from "./ke_group.ts";
import { importMontgomeryPrivateKey, type MontgomeryCurve } from "./pkcs8.ts";
import { drawBytes } from "./random.ts";

const BASE64URL = { alphabet: "base64url", omitPadding: true } as const;

/**
 * The RFC 8031 group with IANA id `id` on `curve`, whose keys are `bytes`
 * long. Private values are RFC 7748 scalar strings (clamped when used).
 */
export function montgomeryGroup(id: number, curve: MontgomeryCurve, bytes: number): KeGroup {
  const name = `DH${id}`;
  return {
    id,
    name,
    publicBytes: bytes,
    randomPrivate: (entropy) => drawBytes(entropy, bytes),
    pairFromPrivate(privateKey) {
      if (privateKey.length !== bytes) {
        throw new KeError(name, `private key is ${privateKey.length} bytes, want ${bytes}`);
      }
      const key = importMontgomeryPrivateKey(curve, privateKey);
      const jwk = createPublicKey(key).export({ format: "jwk" });
      return {
        publicKey: Uint8Array.fromBase64(jwk.x ?? "", BASE64URL),
        sharedSecret(peerPublic) {
          if (peerPublic.length !== bytes) {
            throw new KeError(
              name,
              `peer public value is ${peerPublic.length} bytes, want ${bytes}`,
            );
          }
          // Every u string is a valid input; the only refusal is a low-order
          // point, whose all-zero output RFC 8031 §2.3 says to reject. The
          // native derivation reports exactly that case by throwing.
          const x = peerPublic.toBase64(BASE64URL);
          const peer: KeyObject = createPublicKey({
            key: { kty: "OKP", crv: curve, x },
            format: "jwk",
          });
          try {
            return new Uint8Array(diffieHellman({ privateKey: key, publicKey: peer }));
          } catch {
            throw new KeError(name, "peer public value is a low-order point (all-zero secret)");
          }
        },
      };
    },
  };
}
