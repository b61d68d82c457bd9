/**
 * Key exchange methods against published vectors and the RFCs' definitions:
 * - Curve25519/Curve448: RFC 7748 §5.2 (scalar multiplication, iterated)
 *   and §6.1/§6.2 (Diffie-Hellman); RFC 8031 §2.3 (all-zero output refused).
 * - ECP: RFC 5903 §8.1–8.3 (KE data x||y, g^ir = x only).
 * - MODP: each prime as RFC 3526 defines it, p = 2^n - 2^(n-64) - 1 +
 *   2^64 * ([2^(n-130) pi] + k), recomputed here from pi; plus RFC 3526 §3's
 *   printed 2048-bit prime.
 */
import assert from "node:assert/strict";
import {
  CURVE25519,
  CURVE448,
  ECP_256,
  ECP_384,
  ECP_521,
  type KeAlgorithm,
  keAlgorithm,
  KeError,
  MODP_2048,
  MODP_3072,
  MODP_4096,
  MODP_6144,
  MODP_8192,
} from "../../src/crypto/ke.ts";
import { seededEntropy } from "../../src/crypto/random.ts";

const hex = (s: string) => Uint8Array.fromHex(s.replace(/\s+/g, ""));

function ke(id: number): KeAlgorithm {
  const found = keAlgorithm(id);
  assert.ok(found, `KE ${id} is registered`);
  return found;
}

async function assertKeError(promise: Promise<unknown>, group: string, what: string) {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof KeError, `${what}: KeError expected, got ${e}`);
    assert.equal(e.group, group, what);
    assert.ok(e.message.startsWith(`${group}: `), `${what}: message names the group`);
    return true;
  }, what);
}

// ---------------------------------------------------------------- RFC 7748

Deno.test("Curve25519: RFC 7748 §5.2 scalar multiplication vectors", async () => {
  const x25519 = ke(CURVE25519);
  const vectors: [string, string, string][] = [
    [
      "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
      "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
      "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
    ],
    [
      // The u-coordinate has its top bit set, which RFC 7748 §5 says to mask.
      "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
      "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
      "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
    ],
  ];
  for (const [scalar, u, out] of vectors) {
    const pair = await x25519.keyPairFromPrivate(hex(scalar));
    assert.equal((await pair.sharedSecret(hex(u))).toHex(), out);
  }
});

Deno.test("Curve448: RFC 7748 §5.2 scalar multiplication vectors", async () => {
  const x448 = ke(CURVE448);
  const vectors: [string, string, string][] = [
    [
      "3d262fddf9ec8e88495266fea19a34d28882acef045104d0d1aae121700a779c984c24f8cdd78fbff44943eba368f54b29259a4f1c600ad3",
      "06fce640fa3487bfda5f6cf2d5263f8aad88334cbd07437f020f08f9814dc031ddbdc38c19c6da2583fa5429db94ada18aa7a7fb4ef8a086",
      "ce3e4ff95a60dc6697da1db1d85e6afbdf79b50a2412d7546d5f239fe14fbaadeb445fc66a01b0779d98223961111e21766282f73dd96b6f",
    ],
    [
      "203d494428b8399352665ddca42f9de8fef600908e0d461cb021f8c538345dd77c3e4806e25f46d3315c44e0a5b4371282dd2c8d5be3095f",
      "0fbcc2f993cd56d3305b0b7d9e55d4c1a8fb5dbb52f8e9a1e9b6201b165d015894e56c4d3570bee52fe205e28a78b91cdfbde71ce8d157db",
      "884a02576239ff7a2f2f63b2db6a9ff37047ac13568e1e30fe63c4a7ad1b3ee3a5700df34321d62077e63633c575c1c954514e99da7c179d",
    ],
  ];
  for (const [scalar, u, out] of vectors) {
    const pair = await x448.keyPairFromPrivate(hex(scalar));
    assert.equal((await pair.sharedSecret(hex(u))).toHex(), out);
  }
});

/** RFC 7748 §5.2 iteration: k = u = base point; k, u ← X(k, u), k. */
async function iterate(alg: KeAlgorithm, basePoint: number, rounds: number): Promise<string> {
  let k: Uint8Array = new Uint8Array(alg.publicBytes);
  k[0] = basePoint;
  let u = k;
  for (let i = 0; i < rounds; i++) {
    const next = await (await alg.keyPairFromPrivate(k)).sharedSecret(u);
    u = k;
    k = next;
  }
  return k.toHex();
}

Deno.test("Curve25519: RFC 7748 §5.2 iterated vectors (1 and 1,000 rounds)", async () => {
  const x25519 = ke(CURVE25519);
  assert.equal(
    await iterate(x25519, 9, 1),
    "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
  );
  assert.equal(
    await iterate(x25519, 9, 1000),
    "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51",
  );
});

Deno.test("Curve448: RFC 7748 §5.2 iterated vectors (1 and 1,000 rounds)", async () => {
  const x448 = ke(CURVE448);
  assert.equal(
    await iterate(x448, 5, 1),
    "3f482c8a9f19b01e6c46ee9711d9dc14fd4bf67af30765c2ae2b846a4d23a8cd0db897086239492caf350b51f833868b9bc2b3bca9cf4113",
  );
  assert.equal(
    await iterate(x448, 5, 1000),
    "aa3b4749d55b9daf1e5b00288826c467274ce3ebbdd5c17b975e09d4af6c67cf10d087202db88286e2b79fceea3ec353ef54faa26e219f38",
  );
});

interface DhVector {
  id: number;
  source: string;
  privateI: string;
  publicI: string;
  privateR: string;
  publicR: string;
  shared: string;
}

const DH_VECTORS: DhVector[] = [
  {
    id: CURVE25519,
    source: "RFC 7748 §6.1",
    privateI: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    publicI: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
    privateR: "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
    publicR: "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
    shared: "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
  },
  {
    id: CURVE448,
    source: "RFC 7748 §6.2",
    privateI:
      "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b",
    publicI:
      "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0",
    privateR:
      "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d",
    publicR:
      "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609",
    shared:
      "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56fd2464c335543936521c24403085d59a449a5037514a879d",
  },
  {
    id: ECP_256,
    source: "RFC 5903 §8.1",
    privateI: "c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433",
    publicI: "dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3772581180" +
      "5271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3",
    privateR: "c6ef9c5d78ae012a011164acb397ce2088685d8f06bf9be0b283ab46476bee53",
    publicR: "d12dfb5289c8d4f81208b70270398c342296970a0bccb74c736fc7554494bf63" +
      "56fbf3ca366cc23e8157854c13c58d6aac23f046ada30f8353e74f33039872ab",
    shared: "d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de",
  },
  {
    id: ECP_384,
    source: "RFC 5903 §8.2",
    privateI:
      "099f3c7034d4a2c699884d73a375a67f7624ef7c6b3c0f160647b67414dce655e35b538041e649ee3faef896783ab194",
    publicI:
      "667842d7d180ac2cde6f74f37551f55755c7645c20ef73e31634fe72b4c55ee6de3ac808acb4bdb4c88732aee95f41aa" +
      "9482ed1fc0eeb9cafc4984625ccfc23f65032149e0e144ada024181535a0f38eeb9fcff3c2c947dae69b4c634573a81c",
    privateR:
      "41cb0779b4bdb85d47846725fbec3c9430fab46cc8dc5060855cc9bda0aa2942e0308312916b8ed2960e4bd55a7448fc",
    publicR:
      "e558dbef53eecde3d3fccfc1aea08a89a987475d12fd950d83cfa41732bc509d0d1ac43a0336def96fda41d0774a3571" +
      "dcfbec7aacf3196472169e838430367f66eebe3c6e70c416dd5f0c68759dd1fff83fa40142209dff5eaad96db9e6386c",
    shared:
      "11187331c279962d93d604243fd592cb9d0a926f422e47187521287e7156c5c4d603135569b9e9d09cf5d4a270f59746",
  },
  {
    id: ECP_521,
    source: "RFC 5903 §8.3",
    privateI:
      "0037ade9319a89f4dabdb3ef411aaccca5123c61acab57b5393dce47608172a095aa85a30fe1c2952c6771d937ba9777f5957b2639bab072462f68c27a57382d4a52",
    publicI:
      "0015417e84dbf28c0ad3c278713349dc7df153c897a1891bd98bab4357c9ecbee1e3bf42e00b8e380aeae57c2d107564941885942af5a7f4601723c4195d176ced3e" +
      "017cae20b6641d2eeb695786d8c946146239d099e18e1d5a514c739d7cb4a10ad8a788015ac405d7799dc75e7b7d5b6cf2261a6a7f1507438bf01beb6ca3926f9582",
    privateR:
      "0145ba99a847af43793fdd0e872e7cdfa16be30fdc780f97bccc3f078380201e9c677d600b343757a3bdbf2a3163e4c2f869cca7458aa4a4effc311f5cb151685eb9",
    publicR:
      "00d0b3975ac4b799f5bea16d5e13e9af971d5e9b984c9f39728b5e5739735a219b97c356436adc6e95bb0352f6be64a6c2912d4ef2d0433ced2b6171640012d9460f" +
      "015c68226383956e3bd066e797b623c27ce0eac2f551a10c2c724d9852077b87220b6536c5c408a1d2aebb8e86d678ae49cb57091f4732296579ab44fcd17f0fc56a",
    shared:
      "01144c7d79ae6956bc8edb8e7c787c4521cb086fa64407f97894e5e6b2d79b04d1427e73ca4baa240a34786859810c06b3c715a3a8cc3151f2bee417996d19f3ddea",
  },
];

for (const v of DH_VECTORS) {
  Deno.test(`${v.source}: public values and g^ir in both directions`, async () => {
    const alg = ke(v.id);
    const i = await alg.keyPairFromPrivate(hex(v.privateI));
    const r = await alg.keyPairFromPrivate(hex(v.privateR));
    assert.equal(i.publicKey.toHex(), hex(v.publicI).toHex(), "initiator KE data");
    assert.equal(r.publicKey.toHex(), hex(v.publicR).toHex(), "responder KE data");
    assert.equal(i.publicKey.length, alg.publicBytes);
    assert.equal((await i.sharedSecret(r.publicKey)).toHex(), v.shared, "g^ir at initiator");
    assert.equal((await r.sharedSecret(i.publicKey)).toHex(), v.shared, "g^ir at responder");
  });
}

Deno.test("Curve25519/448 refuse low-order peer values (RFC 8031 §2.3) and wrong lengths", async () => {
  for (const id of [CURVE25519, CURVE448]) {
    const alg = ke(id);
    const pair = await alg.generate();
    const zero = new Uint8Array(alg.publicBytes);
    const one = zero.slice();
    one[0] = 1;
    await assertKeError(pair.sharedSecret(zero), alg.name, `${alg.name} u = 0`);
    await assertKeError(pair.sharedSecret(one), alg.name, `${alg.name} u = 1`);
    await assertKeError(pair.sharedSecret(zero.subarray(1)), alg.name, `${alg.name} short`);
    await assertKeError(alg.keyPairFromPrivate(new Uint8Array(5)), alg.name, `${alg.name} private`);
  }
});

Deno.test("ECP refuses points off the curve, bad encodings and bad scalars", async () => {
  for (const v of DH_VECTORS.filter((v) => [ECP_256, ECP_384, ECP_521].includes(v.id))) {
    const alg = ke(v.id);
    const pair = await alg.keyPairFromPrivate(hex(v.privateI));
    const peer = hex(v.publicR);
    const offCurve = peer.slice();
    offCurve[offCurve.length - 1] ^= 0x01;
    await assertKeError(pair.sharedSecret(offCurve), alg.name, `${alg.name} off curve`);
    await assertKeError(
      pair.sharedSecret(new Uint8Array(alg.publicBytes)),
      alg.name,
      `${alg.name} (0,0)`,
    );
    await assertKeError(
      pair.sharedSecret(Uint8Array.of(0x04, ...peer)),
      alg.name,
      `${alg.name} SEC1 prefix`,
    );
    await assertKeError(pair.sharedSecret(peer.subarray(1)), alg.name, `${alg.name} short`);
    const coordinate = alg.publicBytes / 2;
    await assertKeError(
      alg.keyPairFromPrivate(new Uint8Array(coordinate)),
      alg.name,
      `${alg.name} scalar 0`,
    );
    await assertKeError(
      alg.keyPairFromPrivate(new Uint8Array(coordinate).fill(0xff)),
      alg.name,
      `${alg.name} scalar >= n`,
    );
    await assertKeError(
      alg.keyPairFromPrivate(hex(v.privateI).subarray(1)),
      alg.name,
      `${alg.name} short scalar`,
    );
  }
});

// ---------------------------------------------------------------- RFC 3526

/** floor(pi * 2^bits), by Machin's formula in fixed point with guard bits. */
function piTimesPowerOfTwo(bits: number): bigint {
  const guard = 64n;
  const one = 1n << (BigInt(bits) + guard);
  const arctanInverse = (x: bigint): bigint => {
    let sum = 0n;
    let term = one / x;
    const x2 = x * x;
    for (let n = 1n; term !== 0n; n += 2n) {
      sum += (n % 4n === 1n ? term : -term) / n;
      term /= x2;
    }
    return sum;
  };
  return (16n * arctanInverse(5n) - 4n * arctanInverse(239n)) >> guard;
}

/** The RFC 3526 definition: p = 2^n - 2^(n-64) - 1 + 2^64 * ([2^(n-130) pi] + k). */
function rfc3526Prime(n: number, k: bigint): bigint {
  const N = BigInt(n);
  return (1n << N) - (1n << (N - 64n)) - 1n + (1n << 64n) * (piTimesPowerOfTwo(n - 130) + k);
}

const MODP_GROUPS: [number, number, bigint][] = [
  [MODP_2048, 2048, 124476n],
  [MODP_3072, 3072, 1690314n],
  [MODP_4096, 4096, 240904n],
  [MODP_6144, 6144, 929484n],
  [MODP_8192, 8192, 4743158n],
];

function toBytes(value: bigint, length: number): Uint8Array {
  return Uint8Array.fromHex(value.toString(16).padStart(2 * length, "0"));
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  for (base %= modulus; exponent > 0n; exponent >>= 1n) {
    if (exponent & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
  }
  return result;
}

Deno.test("the pi formula reproduces RFC 3526 §3's printed 2048-bit prime", () => {
  const printed = BigInt(
    "0x" +
      `FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1 29024E08 8A67CC74 020BBEA6 3B139B22
       514A0879 8E3404DD EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245 E485B576 625E7EC6
       F44C42E9 A637ED6B 0BFF5CB6 F406B7ED EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D
       C2007CB8 A163BF05 98DA4836 1C55D39A 69163FA8 FD24CF5F 83655D23 DCA3AD96 1C62F356 208552BB
       9ED52907 7096966D 670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B E39E772C 180E8603
       9B2783A2 EC07A28F B5C55DF0 6F4C52C9 DE2BCBF6 95581718 3995497C EA956AE5 15D22618 98FA0510
       15728E5A 8AACAA68 FFFFFFFF FFFFFFFF`.replace(/\s+/g, ""),
  );
  assert.equal(rfc3526Prime(2048, 124476n), printed);
});

for (const [id, bits, k] of MODP_GROUPS) {
  const bytes = bits / 8;

  Deno.test(`MODP${bits}: the group is RFC 3526's prime with generator 2`, async () => {
    const alg = ke(id);
    const p = rfc3526Prime(bits, k);
    assert.equal(alg.publicBytes, bytes);
    // g^n mod p with g = 2 and 2^(n-1) < p < 2^n is 2^n - p: the public value
    // of exponent n reveals the prime and the generator at once.
    const pair = await alg.keyPairFromPrivate(toBytes(BigInt(bits), 2));
    assert.equal(pair.publicKey.toHex(), toBytes((1n << BigInt(bits)) - p, bytes).toHex());
  });

  Deno.test(`MODP${bits}: generated key pairs agree; g^ir is left-padded to p's length`, async () => {
    const alg = ke(id);
    const [i, r] = [await alg.generate(), await alg.generate()];
    assert.equal(i.publicKey.length, bytes);
    const gir = await i.sharedSecret(r.publicKey);
    assert.equal(gir.length, bytes);
    assert.deepEqual(await r.sharedSecret(i.publicKey), gir);
    assert.notDeepEqual(i.publicKey, r.publicKey);
  });

  Deno.test(`MODP${bits}: refuses 0, 1, p-1, p, p+1 and wrong lengths`, async () => {
    const alg = ke(id);
    const p = rfc3526Prime(bits, k);
    const pair = await alg.generate();
    for (
      const [label, y] of [["0", 0n], ["1", 1n], ["p-1", p - 1n], ["p", p], [
        "p+1",
        p + 1n,
      ]] as const
    ) {
      await assertKeError(
        pair.sharedSecret(toBytes(y, bytes)),
        alg.name,
        `${alg.name} y = ${label}`,
      );
    }
    const good = toBytes(4n, bytes);
    await assertKeError(pair.sharedSecret(good.subarray(1)), alg.name, `${alg.name} short`);
    await assertKeError(pair.sharedSecret(Uint8Array.of(0, ...good)), alg.name, `${alg.name} long`);
    await assertKeError(
      alg.keyPairFromPrivate(Uint8Array.of(1)),
      alg.name,
      `${alg.name} exponent 1`,
    );
    await assertKeError(
      alg.keyPairFromPrivate(toBytes(p - 1n, bytes)),
      alg.name,
      `${alg.name} exponent p-1`,
    );
  });
}

Deno.test("MODP2048: g^ir equals an independent BigInt modular exponentiation", async () => {
  const alg = ke(MODP_2048);
  const p = rfc3526Prime(2048, 124476n);
  const x = 0x1234567890abcdef1234567890abcdefn;
  const y = modPow(2n, 0xfedcba0987654321n, p);
  const pair = await alg.keyPairFromPrivate(toBytes(x, 16));
  assert.equal(pair.publicKey.toHex(), toBytes(modPow(2n, x, p), 256).toHex());
  assert.equal(
    (await pair.sharedSecret(toBytes(y, 256))).toHex(),
    toBytes(modPow(y, x, p), 256).toHex(),
  );
});

// ---------------------------------------------------------------- all groups

const ALL_IDS = [
  MODP_2048,
  MODP_3072,
  MODP_4096,
  MODP_6144,
  MODP_8192,
  ECP_256,
  ECP_384,
  ECP_521,
  CURVE25519,
  CURVE448,
];

Deno.test("every group: generated pairs agree, and a seeded entropy source replays keys", async () => {
  for (const id of ALL_IDS.filter((id) => id >= ECP_256)) {
    const alg = ke(id);
    const [i, r] = [await alg.generate(), await alg.generate()];
    assert.equal(i.publicKey.length, alg.publicBytes, alg.name);
    assert.deepEqual(
      await i.sharedSecret(r.publicKey),
      await r.sharedSecret(i.publicKey),
      alg.name,
    );
  }
  for (const id of ALL_IDS) {
    const alg = ke(id);
    const a = await alg.generate(seededEntropy(7));
    const b = await alg.generate(seededEntropy(7));
    const c = await alg.generate(seededEntropy(8));
    assert.deepEqual(a.publicKey, b.publicKey, `${alg.name} same seed`);
    assert.notDeepEqual(a.publicKey, c.publicKey, `${alg.name} other seed`);
  }
});

Deno.test("KE metadata: names and public value lengths", () => {
  const table: [number, string, number][] = [
    [MODP_2048, "MODP2048", 256],
    [MODP_3072, "MODP3072", 384],
    [MODP_4096, "MODP4096", 512],
    [MODP_6144, "MODP6144", 768],
    [MODP_8192, "MODP8192", 1024],
    [ECP_256, "DH19", 64],
    [ECP_384, "DH20", 96],
    [ECP_521, "DH21", 132],
    [CURVE25519, "DH31", 32],
    [CURVE448, "DH32", 56],
  ];
  for (const [id, name, publicBytes] of table) {
    const alg = ke(id);
    assert.deepEqual([alg.id, alg.name, alg.publicBytes], [id, name, publicBytes]);
  }
  // 2 (MODP1024), 5 (MODP1536), 22–24 (RFC 5114) are not implemented.
  for (const id of [0, 1, 2, 5, 22, 23, 24, 33]) assert.equal(keAlgorithm(id), undefined);
});
