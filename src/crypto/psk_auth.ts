/**
 * Shared-key authentication of IKEv2 (RFC 7296 §2.15): the AUTH payload
 * data for Auth Method 2, and the octets it signs.
 */
import { concatBytes } from "./bytes.ts";
import type { PrfAlgorithm } from "./prf.ts";

export { constantTimeEqual } from "./constant_time.ts";

/** The pad string of RFC 7296 §2.15, 17 ASCII octets without a terminator. */
const KEY_PAD = new TextEncoder().encode("Key Pad for IKEv2");

/**
 * AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
 * (RFC 7296 §2.15).
 */
export function pskAuth(prf: PrfAlgorithm, psk: Uint8Array, signed: Uint8Array): Uint8Array {
  return prf.compute(prf.compute(psk, KEY_PAD), signed);
}

/**
 * SignedOctets = RealMessage | NonceOfPeer | prf(SK_p, IDPayloadBody)
 * (RFC 7296 §2.15), where RealMessage is the sender's IKE_SA_INIT message,
 * NonceOfPeer the Nonce Data of the other side, SK_p the sender's SK_pi or
 * SK_pr, and IDPayloadBody the sender's ID payload after the generic header
 * (ID type, 3 reserved bytes, data).
 */
export function signedOctets(
  prf: PrfAlgorithm,
  message: Uint8Array,
  peerNonce: Uint8Array,
  skP: Uint8Array,
  idPayloadBody: Uint8Array,
): Uint8Array {
  return concatBytes(message, peerNonce, prf.compute(skP, idPayloadBody));
}
