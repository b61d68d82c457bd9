/**
 * A separately written, minimal ESP (RFC 4303) for cross-checking the codec:
 * node:crypto called directly, no code shared with src/. AEAD per RFC 4106
 * §3–5 and RFC 7634 §2–3 (nonce = salt || IV, AAD = SPI || [seq-high ||]
 * seq-low), CBC per RFC 3602 with the HMAC over SPI..ciphertext followed by
 * seq-high under ESN (RFC 4303 §2.2.1), truncated as RFC 2404/4868 say.
 */
import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";

/** The suites the reference knows, by the names it uses for node:crypto. */
export interface ReferenceSuite {
  cipher:
    | "aes-128-gcm"
    | "aes-256-gcm"
    | "chacha20-poly1305"
    | "aes-128-cbc"
    | "aes-256-cbc";
  /** HMAC hash and truncation for CBC. */
  hmac?: { hash: "sha1" | "sha256" | "sha384" | "sha512"; bytes: number };
  /** Cipher key (AEAD: followed by the 4-byte salt). */
  key: Uint8Array;
  hmacKey?: Uint8Array;
  esn: boolean;
}

const aead = (s: ReferenceSuite) => !s.cipher.endsWith("cbc");

function u32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function split(s: ReferenceSuite): { key: Uint8Array; salt: Uint8Array } {
  return aead(s)
    ? { key: s.key.subarray(0, s.key.length - 4), salt: s.key.subarray(s.key.length - 4) }
    : { key: s.key, salt: new Uint8Array(0) };
}

function aad(s: ReferenceSuite, spi: number, seqHigh: number, seqLow: number): Uint8Array {
  return s.esn ? cat(u32(spi), u32(seqHigh), u32(seqLow)) : cat(u32(spi), u32(seqLow));
}

/**
 * Encrypts `payload` into an ESP packet with the given IV. `padding`
 * replaces the default 1, 2, 3, … (the caller keeps the alignment) and
 * `padLength` the Pad Length field (default: the padding's length).
 */
export function referenceSeal(
  s: ReferenceSuite,
  spi: number,
  seqHigh: number,
  seqLow: number,
  iv: Uint8Array,
  payload: Uint8Array,
  nextHeader: number,
  padding?: Uint8Array,
  padLength?: number,
): Uint8Array {
  const block = aead(s) ? 4 : 16;
  const defaultLength = (block - ((payload.length + 2) % block)) % block;
  const pad = padding ?? Uint8Array.from({ length: defaultLength }, (_, i) => i + 1);
  const plaintext = cat(payload, pad, Uint8Array.of(padLength ?? pad.length, nextHeader));
  const { key, salt } = split(s);
  const header = cat(u32(spi), u32(seqLow), iv);
  if (aead(s)) {
    const c = createCipheriv(s.cipher as "aes-128-gcm", key, cat(salt, iv), { authTagLength: 16 });
    c.setAAD(aad(s, spi, seqHigh, seqLow), { plaintextLength: plaintext.length });
    return cat(header, c.update(plaintext), c.final(), c.getAuthTag());
  }
  const c = createCipheriv(s.cipher, key, iv).setAutoPadding(false);
  const body = cat(header, c.update(plaintext), c.final());
  const mac = createHmac(s.hmac!.hash, s.hmacKey!)
    .update(s.esn ? cat(body, u32(seqHigh)) : body).digest().subarray(0, s.hmac!.bytes);
  return cat(body, mac);
}

/** Decrypts an ESP packet; undefined when authentication fails. */
export function referenceOpen(
  s: ReferenceSuite,
  packet: Uint8Array,
  seqHigh: number,
):
  | { spi: number; seqLow: number; payload: Uint8Array; padding: Uint8Array; nextHeader: number }
  | undefined {
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const spi = view.getUint32(0);
  const seqLow = view.getUint32(4);
  const ivLength = aead(s) ? 8 : 16;
  const iv = packet.subarray(8, 8 + ivLength);
  const { key, salt } = split(s);
  let plaintext: Uint8Array;
  try {
    if (aead(s)) {
      const body = packet.subarray(8 + ivLength, packet.length - 16);
      const d = createDecipheriv(s.cipher as "aes-128-gcm", key, cat(salt, iv), {
        authTagLength: 16,
      });
      d.setAAD(aad(s, spi, seqHigh, seqLow), { plaintextLength: body.length });
      d.setAuthTag(packet.subarray(packet.length - 16));
      plaintext = cat(d.update(body), d.final());
    } else {
      const macStart = packet.length - s.hmac!.bytes;
      const covered = packet.subarray(0, macStart);
      const mac = createHmac(s.hmac!.hash, s.hmacKey!)
        .update(s.esn ? cat(covered, u32(seqHigh)) : covered).digest().subarray(0, s.hmac!.bytes);
      if (!mac.equals(packet.subarray(macStart))) return undefined;
      const d = createDecipheriv(s.cipher, key, iv).setAutoPadding(false);
      plaintext = cat(d.update(packet.subarray(8 + ivLength, macStart)), d.final());
    }
  } catch {
    return undefined;
  }
  const padLength = plaintext[plaintext.length - 2];
  const end = plaintext.length - 2 - padLength;
  return {
    spi,
    seqLow,
    payload: plaintext.subarray(0, end),
    padding: plaintext.subarray(end, plaintext.length - 2),
    nextHeader: plaintext[plaintext.length - 1],
  };
}
