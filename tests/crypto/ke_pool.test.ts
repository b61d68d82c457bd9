/**
 * The crypto helper pool (pluto --nhelpers) against the same published
 * vectors as the in-process methods (RFC 7748 §6.1, RFC 5903 §8.1), against
 * the in-process MODP2048 for the same seeded private values, and for the
 * errors that must cross the thread boundary as they are (KeError).
 */
import assert from "node:assert/strict";
import { KeHelperPool } from "../../src/crypto/helpers/ke_pool.ts";
import { CURVE25519, ECP_256, keAlgorithm, KeError, MODP_2048 } from "../../src/crypto/ke.ts";
import { seededEntropy } from "../../src/crypto/random.ts";

const hex = (s: string) => Uint8Array.fromHex(s);

const VECTORS = [
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
];

Deno.test("ke pool: published Diffie-Hellman vectors computed on helper threads", async () => {
  const pool = new KeHelperPool(2, { offload: () => true });
  try {
    for (const v of VECTORS) {
      const ke = pool.keAlgorithm(v.id)!;
      const [i, r] = await Promise.all([
        ke.keyPairFromPrivate(hex(v.privateI)),
        ke.keyPairFromPrivate(hex(v.privateR)),
      ]);
      assert.equal(i.publicKey.toHex(), v.publicI, `${v.source}: initiator public value`);
      assert.equal(r.publicKey.toHex(), v.publicR, `${v.source}: responder public value`);
      assert.equal((await i.sharedSecret(r.publicKey)).toHex(), v.shared, `${v.source}: i`);
      assert.equal((await r.sharedSecret(i.publicKey)).toHex(), v.shared, `${v.source}: r`);
      // Asked again, the helper no longer holds the pair and rebuilds it from the private value.
      assert.equal((await i.sharedSecret(r.publicKey)).toHex(), v.shared, `${v.source}: again`);
    }
  } finally {
    pool.close();
  }
});

Deno.test("ke pool: MODP2048 draws the same private values from the engine's entropy as inline", async () => {
  const pool = new KeHelperPool(1);
  try {
    const pooled = await pool.keAlgorithm(MODP_2048)!.generate(seededEntropy(7));
    const inline = await keAlgorithm(MODP_2048)!.generate(seededEntropy(7));
    assert.equal(pooled.publicKey.toHex(), inline.publicKey.toHex(), "same g^x");
    const peer = await keAlgorithm(MODP_2048)!.generate(seededEntropy(8));
    const a = await pooled.sharedSecret(peer.publicKey);
    assert.equal(a.length, 256);
    assert.equal(a.toHex(), (await peer.sharedSecret(pooled.publicKey)).toHex(), "same g^xy");
  } finally {
    pool.close();
  }
});

Deno.test("ke pool: a refused peer value arrives as the group's KeError", async () => {
  const pool = new KeHelperPool(1, { offload: () => true });
  try {
    const pair = await pool.keAlgorithm(CURVE25519)!.generate(seededEntropy(1));
    for (const [bad, problem] of [[new Uint8Array(32), /low-order/], [new Uint8Array(31), /31/]]) {
      await assert.rejects(pair.sharedSecret(bad as Uint8Array), (e: unknown) => {
        assert.ok(e instanceof KeError, `KeError expected, got ${e}`);
        assert.equal(e.group, "DH31");
        assert.match(e.message, /^DH31: /);
        assert.match(e.message, problem as RegExp);
        return true;
      });
    }
    const modp = pool.keAlgorithm(MODP_2048)!;
    await assert.rejects(modp.keyPairFromPrivate(Uint8Array.of(1)), KeError, "exponent 1");
  } finally {
    pool.close();
  }
});

Deno.test("ke pool: close() fails pending and later work instead of hanging", async () => {
  const pool = new KeHelperPool(1);
  const ke = pool.keAlgorithm(MODP_2048)!;
  const pending = ke.generate(seededEntropy(3));
  pool.close();
  await assert.rejects(pending, /crypto helpers stopped/);
  await assert.rejects(ke.generate(seededEntropy(4)), /crypto helpers stopped/);
  assert.equal(pool.keAlgorithm(9999), undefined, "unknown group");
});

Deno.test("ke pool: light groups stay on the calling thread, heavy ones go to helpers", () => {
  const pool = new KeHelperPool(1);
  try {
    assert.equal(pool.keAlgorithm(CURVE25519), keAlgorithm(CURVE25519), "X25519 inline");
    assert.equal(pool.keAlgorithm(ECP_256), keAlgorithm(ECP_256), "P-256 inline");
    assert.notEqual(pool.keAlgorithm(MODP_2048), keAlgorithm(MODP_2048), "MODP2048 pooled");
  } finally {
    pool.close();
  }
});

Deno.test("ke pool: helpers that cannot start leave key exchange inline, and say so", async () => {
  const deaths: string[] = [];
  // A helper module that fails as it loads, as a missing or broken one would.
  const missing = new URL("data:application/javascript,throw new Error('no helper here')");
  const pool = new KeHelperPool(1, {
    onDeath: (why) => deaths.push(why),
    offload: () => true,
    script: missing,
  });
  try {
    const v = VECTORS[0];
    const ke = pool.keAlgorithm(v.id)!;
    const i = await ke.keyPairFromPrivate(hex(v.privateI));
    assert.equal(i.publicKey.toHex(), v.publicI, "public value computed inline");
    assert.equal((await i.sharedSecret(hex(v.publicR))).toHex(), v.shared, "g^ir inline");
    const later = await ke.keyPairFromPrivate(hex(v.privateR));
    assert.equal(later.publicKey.toHex(), v.publicR, "later work inline too");
    assert.equal(deaths.length, 1, `one death reported: ${deaths.join("; ")}`);
    assert.match(deaths[0], /without helper threads/);
  } finally {
    pool.close();
  }
});
