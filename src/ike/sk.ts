/**
 * The Encrypted payload (RFC 7296 §3.14): sealing inner payloads into a
 * complete message and opening a received one. With AEAD ciphers the AAD is
 * the IKE header plus the SK generic header (RFC 5282 §5.1); otherwise the
 * ICV covers the whole message up to the ICV itself.
 */
import type { EncrAlgorithm } from "../crypto/encr.ts";
import type { IntegAlgorithm } from "../crypto/integ.ts";
import type { Entropy } from "../crypto/random.ts";
import type { IkeHeader } from "../wire/header.ts";
import { PayloadType } from "../wire/constants.ts";
import { decodePayloads, encodeMessage, encodePayloads, type Payload } from "../wire/payloads.ts";
import { padPlaintext, unpadPlaintext } from "../wire/sk_layout.ts";

/** Keys protecting one direction of an IKE SA. */
export interface DirectionKeys {
  encr: EncrAlgorithm;
  encrKey: Uint8Array;
  integ?: IntegAlgorithm;
  integKey: Uint8Array;
}

/** Builds a complete message whose only payload is SK{inner}. */
export function seal(
  header: Omit<IkeHeader, "length" | "nextPayload">,
  inner: Payload[],
  keys: DirectionKeys,
  entropy: Entropy,
): Uint8Array {
  const { encr, integ } = keys;
  const { first, bytes } = encodePayloads(inner);
  const plain = padPlaintext(bytes, encr.blockSize);
  const iv = new Uint8Array(encr.ivBytes);
  entropy.fill(iv);
  const icvBytes = encr.aead ? encr.icvBytes : integ!.icvBytes;
  const body = new Uint8Array(iv.length + plain.length + icvBytes);
  const msg = encodeMessage(header, [{ type: PayloadType.SK, innerFirst: first, body }]);
  const skOffset = msg.length - body.length - 4;
  const bodyOffset = skOffset + 4;
  msg.set(iv, bodyOffset);
  if (encr.aead) {
    const sealed = encr.encrypt(keys.encrKey, iv, plain, msg.subarray(0, bodyOffset));
    msg.set(sealed, bodyOffset + iv.length);
  } else {
    msg.set(encr.encrypt(keys.encrKey, iv, plain, new Uint8Array()), bodyOffset + iv.length);
    const icv = integ!.compute(keys.integKey, msg.subarray(0, msg.length - icvBytes));
    msg.set(icv, msg.length - icvBytes);
  }
  return msg;
}

/** Why opening failed; integrity failures are silently dropped per RFC 7296 §2.21.2. */
/**
 * `integrity: true` — the message failed authentication (drop it silently);
 * `false` — it authenticated but its contents are malformed (a request is
 * answered, RFC 7296 §2.21.3), `unsupportedCritical` naming an unknown
 * critical payload (§2.5).
 */
export type OpenResult = { ok: true; payloads: Payload[] } | {
  ok: false;
  integrity: boolean;
  reason: string;
  unsupportedCritical?: number;
};

/** Opens the SK payload of a received message (`sk` as decoded from `msg`). */
export function open(
  msg: Uint8Array,
  sk: { innerFirst: number; body: Uint8Array; offset?: number },
  keys: DirectionKeys,
): OpenResult {
  const { encr, integ } = keys;
  const icvBytes = encr.aead ? encr.icvBytes : integ!.icvBytes;
  if (sk.offset === undefined) {
    return { ok: false, integrity: false, reason: "SK payload offset unknown" };
  }
  const bodyOffset = sk.offset + 4;
  if (sk.body.length < encr.ivBytes + icvBytes + 1) {
    return { ok: false, integrity: true, reason: "Encrypted payload too short" };
  }
  const iv = sk.body.subarray(0, encr.ivBytes);
  let plain: Uint8Array | null;
  if (encr.aead) {
    plain = encr.decrypt(
      keys.encrKey,
      iv,
      sk.body.subarray(encr.ivBytes),
      msg.subarray(0, bodyOffset),
    );
    if (!plain) return { ok: false, integrity: true, reason: "integrity check failed" };
  } else {
    const end = bodyOffset + sk.body.length;
    if (end !== msg.length) return { ok: false, integrity: true, reason: "SK payload is not last" };
    const icv = msg.subarray(end - icvBytes, end);
    if (!integ!.verify(keys.integKey, msg.subarray(0, end - icvBytes), icv)) {
      return { ok: false, integrity: true, reason: "integrity check failed" };
    }
    const ct = sk.body.subarray(encr.ivBytes, sk.body.length - icvBytes);
    if (ct.length % encr.blockSize !== 0) {
      return {
        ok: false,
        integrity: false,
        reason: "ciphertext is not a multiple of the block size",
      };
    }
    plain = encr.decrypt(keys.encrKey, iv, ct, new Uint8Array());
    if (!plain) return { ok: false, integrity: false, reason: "decryption failed" };
  }
  const unpadded = unpadPlaintext(plain);
  if (!unpadded.ok) return { ok: false, integrity: false, reason: unpadded.error.reason };
  const inner = decodePayloads(sk.innerFirst, unpadded.value, 0, unpadded.value.length);
  if (!inner.ok) {
    return {
      ok: false,
      integrity: false,
      reason: `${inner.error.payload}: ${inner.error.reason}`,
      unsupportedCritical: inner.error.unsupportedCritical,
    };
  }
  return { ok: true, payloads: inner.value };
}
