/**
 * Shared-key AUTH (RFC 7296 §2.15). No published vector exists for HMAC
 * PRFs, so the RFC formula is recomputed on WebCrypto's HMAC (an independent
 * code path) and checked together with the properties AUTH must have.
 */
import assert from "node:assert/strict";
import { constantTimeEqual, pskAuth, signedOctets } from "../../src/crypto/psk_auth.ts";
import {
  PRF_HMAC_SHA1,
  PRF_HMAC_SHA2_256,
  PRF_HMAC_SHA2_384,
  PRF_HMAC_SHA2_512,
  type PrfAlgorithm,
  prfAlgorithm,
} from "../../src/crypto/prf.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

const PRFS: [number, string][] = [
  [PRF_HMAC_SHA1, "SHA-1"],
  [PRF_HMAC_SHA2_256, "SHA-256"],
  [PRF_HMAC_SHA2_384, "SHA-384"],
  [PRF_HMAC_SHA2_512, "SHA-512"],
];

function prf(id: number): PrfAlgorithm {
  const found = prfAlgorithm(id);
  assert.ok(found, `PRF ${id} is registered`);
  return found;
}

async function webCryptoHmac(
  hash: string,
  key: Uint8Array<ArrayBuffer>,
  data: Uint8Array<ArrayBuffer>,
) {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}

// An IKE_SA_INIT stand-in, a peer nonce, SK_pi and an ID_FQDN payload body
// ("@west": type 2, three reserved zero bytes, then the data).
const MESSAGE = Uint8Array.from({ length: 300 }, (_, i) => (i * 31) & 0xff);
const PEER_NONCE = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
const SK_PI = Uint8Array.from({ length: 64 }, (_, i) => i);
const ID_BODY = Uint8Array.of(2, 0, 0, 0, ...ascii("west"));
const PSK = ascii("a very secret pre-shared key");

Deno.test("signedOctets = RealMessage | NonceOfPeer | prf(SK_p, IDPayloadBody)", async () => {
  for (const [id, hash] of PRFS) {
    const p = prf(id);
    const skP = SK_PI.slice(0, p.keyBytes);
    const octets = signedOctets(p, MESSAGE, PEER_NONCE, skP, ID_BODY);
    const maced = await webCryptoHmac(hash, skP, ID_BODY);
    assert.deepEqual(octets, Uint8Array.of(...MESSAGE, ...PEER_NONCE, ...maced), hash);
  }
});

Deno.test('pskAuth = prf(prf(Shared Secret, "Key Pad for IKEv2"), SignedOctets)', async () => {
  for (const [id, hash] of PRFS) {
    const p = prf(id);
    const octets = signedOctets(p, MESSAGE, PEER_NONCE, SK_PI.slice(0, p.keyBytes), ID_BODY);
    // The pad is the 17 ASCII octets, no terminating NUL.
    const padKey = await webCryptoHmac(hash, PSK, ascii("Key Pad for IKEv2"));
    const expected = await webCryptoHmac(hash, padKey, Uint8Array.from(octets));
    const auth = pskAuth(p, PSK, octets);
    assert.deepEqual(auth, expected, hash);
    assert.equal(auth.length, p.outputBytes, hash);
  }
});

Deno.test("AUTH changes with the PSK, the message, the nonce, SK_p and the ID", () => {
  const p = prf(PRF_HMAC_SHA2_256);
  const skP = SK_PI.slice(0, 32);
  const base = pskAuth(p, PSK, signedOctets(p, MESSAGE, PEER_NONCE, skP, ID_BODY));
  const flip = (bytes: Uint8Array, at: number) => {
    const copy = bytes.slice();
    copy[at] ^= 0x01;
    return copy;
  };
  const variants: [string, Uint8Array][] = [
    ["psk", pskAuth(p, flip(PSK, 0), signedOctets(p, MESSAGE, PEER_NONCE, skP, ID_BODY))],
    ["message", pskAuth(p, PSK, signedOctets(p, flip(MESSAGE, 299), PEER_NONCE, skP, ID_BODY))],
    ["nonce", pskAuth(p, PSK, signedOctets(p, MESSAGE, flip(PEER_NONCE, 0), skP, ID_BODY))],
    ["SK_p", pskAuth(p, PSK, signedOctets(p, MESSAGE, PEER_NONCE, flip(skP, 31), ID_BODY))],
    ["ID", pskAuth(p, PSK, signedOctets(p, MESSAGE, PEER_NONCE, skP, flip(ID_BODY, 0)))],
  ];
  for (const [what, auth] of variants) {
    assert.equal(constantTimeEqual(auth, base), false, what);
  }
  assert.equal(
    constantTimeEqual(pskAuth(p, PSK, signedOctets(p, MESSAGE, PEER_NONCE, skP, ID_BODY)), base),
    true,
    "deterministic",
  );
});

Deno.test("constantTimeEqual: equal, differing and different-length inputs", () => {
  const a = Uint8Array.from({ length: 32 }, (_, i) => i);
  assert.equal(constantTimeEqual(a, a.slice()), true);
  assert.equal(constantTimeEqual(new Uint8Array(0), new Uint8Array(0)), true);
  for (const at of [0, 15, 31]) {
    const b = a.slice();
    b[at] ^= 0x80;
    assert.equal(constantTimeEqual(a, b), false, `byte ${at}`);
  }
  assert.equal(constantTimeEqual(a, a.subarray(0, 31)), false, "shorter");
  assert.equal(constantTimeEqual(a.subarray(0, 31), a), false, "longer");
});
