/**
 * Crypto hot paths of one IKE SA setup, each group against a baseline
 * measured in the same run (`deno bench` prints the ratio):
 * - KDF: SKEYSEED + SK_* derivation against one raw node:crypto HMAC-SHA-256;
 * - seal/open of an IKE_AUTH-sized SK payload against raw node:crypto
 *   AES-128-GCM over the same plaintext;
 * - key exchange: MODP2048 against X25519 (generate + shared secret), which
 *   is what separates the two suites' setup rates.
 */
import { createCipheriv, createHmac } from "node:crypto";
import { encrAlgorithm } from "../src/crypto/encr.ts";
import { deriveIkeSaKeys, skeyseed } from "../src/crypto/ikev2_kdf.ts";
import { keAlgorithm } from "../src/crypto/ke.ts";
import { prfAlgorithm } from "../src/crypto/prf.ts";
import { systemEntropy } from "../src/crypto/random.ts";
import { open, seal } from "../src/ike/sk.ts";
import { ExchangeType, FLAG_INITIATOR, IKEV2_VERSION, PayloadType } from "../src/wire/constants.ts";
import { decodeMessage, findPayload, type Payload } from "../src/wire/payloads.ts";

const prf = prfAlgorithm(5)!; // PRF_HMAC_SHA2_256
const gcm = encrAlgorithm(20, 128)!; // ENCR_AES_GCM_16, 128-bit key
const ni = new Uint8Array(32).fill(1), nr = new Uint8Array(32).fill(2);
const spiI = new Uint8Array(8).fill(3), spiR = new Uint8Array(8).fill(4);
const gir = new Uint8Array(32).fill(5);

Deno.bench("one HMAC-SHA-256 (node:crypto)", { group: "kdf", baseline: true }, () => {
  createHmac("sha256", ni).update(gir).digest();
});
Deno.bench("SKEYSEED + SK_* (AES-GCM-128, SHA2-256)", { group: "kdf" }, () => {
  deriveIkeSaKeys(prf, gcm, undefined, skeyseed(prf, ni, nr, gir), ni, nr, spiI, spiR);
});

const keys = { encr: gcm, encrKey: new Uint8Array(20).fill(6), integKey: new Uint8Array() };
/** Roughly an IKE_AUTH request's inner payloads: IDi, AUTH, and padding-sized data. */
const inner: Payload[] = [
  { type: PayloadType.IDi, idType: 2, data: new TextEncoder().encode("west.example") },
  { type: PayloadType.AUTH, method: 2, data: new Uint8Array(32).fill(8) },
  { type: PayloadType.NONCE, data: new Uint8Array(200).fill(9) },
];
const header = {
  spiI,
  spiR,
  version: IKEV2_VERSION,
  exchange: ExchangeType.IKE_AUTH,
  flags: FLAG_INITIATOR,
  messageId: 1,
};
const sealed = seal(header, inner, keys, systemEntropy);
const decoded = decodeMessage(sealed);
if (!decoded.ok) throw new Error("sealed bench message does not decode");
const sk = findPayload(decoded.value.payloads, PayloadType.SK)!;
if (!open(sealed, sk, keys).ok) throw new Error("sealed bench message does not open");
const plain = new Uint8Array(sk.body.length - gcm.ivBytes - gcm.icvBytes);
const rawKey = keys.encrKey.subarray(0, 16), nonce = new Uint8Array(12);

Deno.bench("raw AES-128-GCM (node:crypto), same size", { group: "sk", baseline: true }, () => {
  const c = createCipheriv("aes-128-gcm", rawKey, nonce);
  c.setAAD(sealed.subarray(0, 32));
  c.update(plain);
  c.final();
  c.getAuthTag();
});
Deno.bench("seal IKE_AUTH-sized SK payload", { group: "sk" }, () => {
  seal(header, inner, keys, systemEntropy);
});
Deno.bench("open IKE_AUTH-sized SK payload", { group: "sk" }, () => {
  open(sealed, sk, keys);
});

const x25519 = keAlgorithm(31)!, modp2048 = keAlgorithm(14)!;
const peer25519 = (await x25519.generate()).publicKey;
const peerModp = (await modp2048.generate()).publicKey;

Deno.bench("X25519 generate + shared secret", { group: "ke", baseline: true }, async () => {
  await (await x25519.generate()).sharedSecret(peer25519);
});
Deno.bench("MODP2048 generate + shared secret", { group: "ke" }, async () => {
  await (await modp2048.generate()).sharedSecret(peerModp);
});
