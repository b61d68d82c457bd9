/**
 * Finite-field Diffie-Hellman over the MODP groups of RFC 3526 (IKEv2
 * groups 14–18, generator 2).
 */
import { createDiffieHellman, getDiffieHellman } from "node:crypto";
import { leftPad } from "./bytes.ts";
import { KeError } from "./ke_error.ts";
import type { KeGroup } from "./ke_group.ts";
import { drawBytes } from "./random.ts";

const GENERATOR = Uint8Array.of(2);

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt("0x" + bytes.toHex());
}

/**
 * The RFC 3526 group with IANA id `id` (14–18, which are also node:crypto's
 * `modp14`–`modp18`), named `MODP<primeBits>` as Libreswan logs it.
 *
 * @param exponentBytes length of the private exponents {@link KeGroup.randomPrivate}
 *   draws: the upper "exponent size" of RFC 3526 §8 for the group. node's
 *   own key generation uses full-length exponents, which makes g^x 4–16 times
 *   slower for no gain in strength.
 */
export function modpGroup(id: number, primeBits: number, exponentBytes: number): KeGroup {
  const name = `MODP${primeBits}`;
  const publicBytes = primeBits / 8;
  // Fetched on first use so that loading the registry costs nothing.
  let group: { prime: Uint8Array; p: bigint } | undefined;
  const params = () => {
    if (group === undefined) {
      const prime = new Uint8Array(getDiffieHellman(`modp${id}`).getPrime());
      group = { prime, p: toBigInt(prime) };
    }
    return group;
  };

  return {
    id,
    name,
    publicBytes,
    randomPrivate(entropy) {
      const exponent = drawBytes(entropy, exponentBytes);
      exponent[0] |= 0x80; // full length, and never 0 or 1
      return exponent;
    },
    pairFromPrivate(privateKey) {
      const { prime, p } = params();
      const x = toBigInt(privateKey);
      if (x < 2n || x > p - 2n) throw new KeError(name, "private exponent is outside [2, p-2]");
      const dh = createDiffieHellman(prime, GENERATOR);
      dh.setPrivateKey(privateKey);
      return {
        publicKey: leftPad(dh.generateKeys(), publicBytes),
        sharedSecret(peerPublic) {
          if (peerPublic.length !== publicBytes) {
            throw new KeError(
              name,
              `peer public value is ${peerPublic.length} bytes, want ${publicBytes}`,
            );
          }
          // 1 and p-1 generate subgroups of order 1 and 2 (RFC 6989 §2.1).
          const y = toBigInt(peerPublic);
          if (y < 2n || y > p - 2n) {
            throw new KeError(name, "peer public value is outside [2, p-2]");
          }
          return leftPad(dh.computeSecret(peerPublic), publicBytes);
        },
      };
    },
  };
}
