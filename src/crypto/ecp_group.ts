/**
 * Elliptic-curve Diffie-Hellman over the NIST prime curves as IKEv2 uses
 * them (RFC 5903): KE data is x || y without the SEC1 0x04 prefix, and the
 * shared secret is the x coordinate alone.
 */
import { createPublicKey, diffieHellman, type KeyObject } from "node:crypto";
import { concatBytes, leftPad } from "./bytes.ts";
import { KeError } from "./ke_error.ts";
import type { KeGroup } from "./ke_group.ts";
import { type EcCurve, importEcPrivateKey } from "./pkcs8.ts";
import { drawBytes } from "./random.ts";

const BASE64URL = { alphabet: "base64url", omitPadding: true } as const;

/**
 * The RFC 5903 group with IANA id `id` on `curve`, whose order has
 * `orderBits` bits. Private values are big-endian scalars of the coordinate
 * length.
 */
export function ecpGroup(id: number, curve: EcCurve, orderBits: number): KeGroup {
  const name = `DH${id}`;
  const coordinateBytes = Math.ceil(orderBits / 8);
  // Keeps a drawn scalar within the order's bit length (P-521: 1 bit of the top byte).
  const topByteMask = 0xff >> (coordinateBytes * 8 - orderBits);

  const coordinate = (jwkValue: string | undefined) =>
    leftPad(Uint8Array.fromBase64(jwkValue ?? "", BASE64URL), coordinateBytes);

  const importPeer = (peerPublic: Uint8Array): KeyObject => {
    const x = peerPublic.subarray(0, coordinateBytes).toBase64(BASE64URL);
    const y = peerPublic.subarray(coordinateBytes).toBase64(BASE64URL);
    return createPublicKey({ key: { kty: "EC", crv: curve, x, y }, format: "jwk" });
  };

  return {
    id,
    name,
    publicBytes: 2 * coordinateBytes,
    randomPrivate(entropy) {
      const scalar = drawBytes(entropy, coordinateBytes);
      scalar[0] &= topByteMask;
      return scalar;
    },
    pairFromPrivate(privateKey) {
      if (privateKey.length !== coordinateBytes) {
        throw new KeError(
          name,
          `private scalar is ${privateKey.length} bytes, want ${coordinateBytes}`,
        );
      }
      let key: KeyObject;
      try {
        key = importEcPrivateKey(curve, privateKey);
      } catch {
        throw new KeError(name, "private scalar is outside [1, n-1]");
      }
      const jwk = createPublicKey(key).export({ format: "jwk" });
      return {
        publicKey: concatBytes(coordinate(jwk.x), coordinate(jwk.y)),
        sharedSecret(peerPublic) {
          if (peerPublic.length !== 2 * coordinateBytes) {
            throw new KeError(
              name,
              `peer public value is ${peerPublic.length} bytes, want ${2 * coordinateBytes}`,
            );
          }
          // The native import performs SP 800-56A partial public-key
          // validation: coordinates below p and the point on the curve.
          let peer: KeyObject;
          try {
            peer = importPeer(peerPublic);
          } catch {
            throw new KeError(name, "peer public value is not a point on the curve");
          }
          return leftPad(diffieHellman({ privateKey: key, publicKey: peer }), coordinateBytes);
        },
      };
    },
  };
}
