/**
 * `--wireshark-keys DIR`: appends one row per SA to Wireshark's IKEv2
 * decryption table (`ikev2_decryption_table`) and ESP SA table (`esp_sa`),
 * the files Wireshark keeps in a profile directory, so a capture of swan's
 * traffic can be decrypted. Algorithm names are the exact strings of
 * Wireshark's tables; what Wireshark cannot decrypt is written as a comment.
 */
import { formatAddress } from "../config/addresses.ts";
import type { EspSaKeyRecord, IkeSaKeyRecord, KeyLog } from "../ike/key_log.ts";
import { hex } from "../ike/ike_sa.ts";

/** Wireshark's IKEv2 table names for an ENCR transform and key size. */
export function ikeEncrName(encrId: number, keyBits: number): string | undefined {
  if (encrId === 12) return `AES-CBC-${keyBits} [RFC3602]`;
  if (encrId === 20) return `AES-GCM-${keyBits} with 16 octet ICV [RFC5282]`;
  return undefined; // ChaCha20-Poly1305 has no entry in Wireshark's IKEv2 table
}

const IKE_INTEG: Record<number, string> = {
  0: "NONE [RFC4306]",
  2: "HMAC_SHA1_96 [RFC2404]",
  12: "HMAC_SHA2_256_128 [RFC4868]",
  13: "HMAC_SHA2_384_192 [RFC4868]",
  14: "HMAC_SHA2_512_256 [RFC4868]",
};

const ESP_ENCR: Record<number, string> = {
  12: "AES-CBC [RFC3602]",
  20: "AES-GCM with 16 octet ICV [RFC4106]",
  28: "ChaCha20 with Poly1305 [RFC7634]",
};

const ESP_INTEG: Record<number, string> = {
  0: "NULL",
  2: "HMAC-SHA-1-96 [RFC2404]",
  12: "HMAC-SHA-256-128 [RFC4868]",
  13: "HMAC-SHA-384-192 [RFC4868]",
  14: "HMAC-SHA-512-256 [RFC4868]",
};

/** One `ikev2_decryption_table` row (or a comment when Wireshark lacks the cipher). */
export function ikeRow(r: IkeSaKeyRecord): string {
  const encr = ikeEncrName(r.encrId, r.encrKeyBits);
  const ids = `${hex(r.spiI)},${hex(r.spiR)}`;
  if (!encr) {
    return `# ${ids}: encryption ${r.encrId} cannot be decrypted by Wireshark's IKEv2 table`;
  }
  return `${ids},${hex(r.skEi)},${hex(r.skEr)},"${encr}",${hex(r.skAi)},${hex(r.skAr)},"${
    IKE_INTEG[r.integId]
  }"`;
}

/** One `esp_sa` row: protocol, source, destination, SPI, encryption, key, authentication, key. */
export function espRow(r: EspSaKeyRecord): string {
  const proto = r.src.family === 4 ? "IPv4" : "IPv6";
  const spi = `0x${r.spi.toString(16).padStart(8, "0")}`;
  const integKey = r.integKey.length ? `0x${hex(r.integKey)}` : "";
  return `"${proto}","${formatAddress(r.src)}","${formatAddress(r.dst)}","${spi}","${
    ESP_ENCR[r.encrId]
  }","0x${hex(r.encrKey)}","${ESP_INTEG[r.integId]}","${integKey}"`;
}

/** A KeyLog appending to the two files in `dir` (created mode 0600). */
export function wiresharkKeyLog(dir: string): KeyLog {
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const append = (name: string, line: string) =>
    Deno.writeTextFileSync(`${dir}/${name}`, line + "\n", {
      append: true,
      create: true,
      mode: 0o600,
    });
  return {
    ike: (r) => append("ikev2_decryption_table", ikeRow(r)),
    esp: (r) => append("esp_sa", espRow(r)),
  };
}
