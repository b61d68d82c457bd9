/**
 * Proposal negotiation (RFC 7296 §2.7, §3.3): the responder picks the first
 * of its own proposals the peer also offered, answers with exactly one
 * transform of each type, and the initiator accepts only answers built from
 * one proposal it actually sent.
 */
import assert from "node:assert/strict";
import {
  AUTH_HMAC_SHA1_96,
  AUTH_HMAC_SHA2_256_128,
  ENCR_AES_CBC,
  ENCR_AES_GCM_16,
  ENCR_CHACHA20_POLY1305,
  KE_CURVE25519,
  KE_ECP_256,
  KE_ECP_384,
  KE_MODP2048,
  PRF_HMAC_SHA2_256,
  PRF_HMAC_SHA2_512,
} from "../../src/config/algorithm_names.ts";
import {
  DEFAULT_ESP_PROPOSALS,
  DEFAULT_IKE_PROPOSALS,
  type ProposalSpec,
} from "../../src/config/proposals.ts";
import {
  acceptAnswer,
  chooseEsp,
  chooseIke,
  ESN_ENABLED,
  ESN_NONE,
  espProposals,
  ikeAnswer,
  ikeProposals,
  isAead,
  withSpi,
} from "../../src/ike/proposal.ts";
import { ProtocolId, TransformType } from "../../src/wire/constants.ts";
import type { Proposal, Transform } from "../../src/wire/payloads.ts";

const { ENCR, PRF, INTEG, KE, ESN } = TransformType;

const gcm256: ProposalSpec = {
  encr: [{ id: ENCR_AES_GCM_16, keyBits: 256 }],
  prf: [PRF_HMAC_SHA2_512],
  integ: [],
  ke: [KE_ECP_256, KE_CURVE25519],
};
const cbc128: ProposalSpec = {
  encr: [{ id: ENCR_AES_CBC, keyBits: 128 }],
  prf: [PRF_HMAC_SHA2_256],
  integ: [AUTH_HMAC_SHA2_256_128],
  ke: [KE_MODP2048],
};
const chacha: ProposalSpec = {
  encr: [{ id: ENCR_CHACHA20_POLY1305 }],
  prf: [PRF_HMAC_SHA2_256],
  integ: [],
  ke: [KE_CURVE25519],
};

/** An IKE proposal as a peer would send it. */
function offer(num: number, transforms: Transform[], protocol: number = ProtocolId.IKE): Proposal {
  return { num, protocol, spi: new Uint8Array(), transforms };
}

function espOffer(num: number, transforms: Transform[], spi = 0x01020304): Proposal {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, spi);
  return { num, protocol: ProtocolId.ESP, spi: b, transforms };
}

/** Sorted `type:id[/keylen]` strings, to compare transform sets regardless of order. */
function shape(p: Proposal): string[] {
  return p.transforms.map((t) => `${t.type}:${t.id}${t.keyLength ? `/${t.keyLength}` : ""}`)
    .sort();
}

Deno.test("proposal: ikeProposals numbers proposals from 1 and lists every transform of a spec", () => {
  const wire = ikeProposals([gcm256, cbc128]);
  assert.deepEqual(wire.map((p) => [p.num, p.protocol, p.spi.length]), [[1, 1, 0], [2, 1, 0]]);
  assert.deepEqual(shape(wire[0]), ["1:20/256", "2:7", "4:19", "4:31"]);
  assert.deepEqual(shape(wire[1]), ["1:12/128", "2:5", "3:12", "4:14"]);
});

Deno.test("proposal: chooseIke follows our preference order, not the peer's", () => {
  // The peer lists CBC first and GCM second; we prefer GCM.
  const peer = ikeProposals([cbc128, gcm256]);
  const picked = chooseIke([gcm256, cbc128], peer);
  assert.ok(picked);
  assert.deepEqual(picked.chosen, {
    encrId: ENCR_AES_GCM_16,
    encrKeyBits: 256,
    prfId: PRF_HMAC_SHA2_512,
    integId: 0,
    keId: KE_ECP_256,
  });
  assert.equal(picked.proposal.num, 2, "the answer carries the number of the peer's proposal");
  assert.deepEqual(shape(picked.proposal), ["1:20/256", "2:7", "4:19"]);
  // Reversing our order reverses the choice.
  assert.equal(chooseIke([cbc128, gcm256], peer)?.chosen.encrId, ENCR_AES_CBC);
});

Deno.test("proposal: chooseIke prefers the KE group the peer already sent, among acceptable ones", () => {
  const peer = ikeProposals([gcm256]);
  assert.equal(chooseIke([gcm256], peer)?.chosen.keId, KE_ECP_256);
  assert.equal(chooseIke([gcm256], peer, KE_CURVE25519)?.chosen.keId, KE_CURVE25519);
  // A group we do not accept is not preferred: our first common one is chosen (INVALID_KE follows).
  assert.equal(chooseIke([gcm256], peer, KE_ECP_384)?.chosen.keId, KE_ECP_256);
});

Deno.test("proposal: chooseIke refuses a different key size, missing types and other protocols", () => {
  const gcm128 = offer(1, [
    { type: ENCR, id: ENCR_AES_GCM_16, keyLength: 128 },
    { type: PRF, id: PRF_HMAC_SHA2_512 },
    { type: KE, id: KE_ECP_256 },
  ]);
  assert.equal(chooseIke([gcm256], [gcm128]), undefined, "AES-GCM-128 is not AES-GCM-256");
  const noKe = offer(1, [
    { type: ENCR, id: ENCR_AES_GCM_16, keyLength: 256 },
    { type: PRF, id: PRF_HMAC_SHA2_512 },
  ]);
  assert.equal(chooseIke([gcm256], [noKe]), undefined, "an IKE proposal without KE");
  const noPrf = offer(1, [
    { type: ENCR, id: ENCR_AES_GCM_16, keyLength: 256 },
    { type: KE, id: KE_ECP_256 },
  ]);
  assert.equal(chooseIke([gcm256], [noPrf]), undefined, "an IKE proposal without PRF");
  const cbcNoInteg = offer(1, [
    { type: ENCR, id: ENCR_AES_CBC, keyLength: 128 },
    { type: PRF, id: PRF_HMAC_SHA2_256 },
    { type: KE, id: KE_MODP2048 },
  ]);
  assert.equal(chooseIke([cbc128], [cbcNoInteg]), undefined, "CBC needs an integrity transform");
  const aesNoLength = offer(1, [
    { type: ENCR, id: ENCR_AES_CBC },
    { type: PRF, id: PRF_HMAC_SHA2_256 },
    { type: INTEG, id: AUTH_HMAC_SHA2_256_128 },
    { type: KE, id: KE_MODP2048 },
  ]);
  assert.equal(chooseIke([cbc128], [aesNoLength]), undefined, "AES without a Key Length");
  const esp = { ...ikeProposals([gcm256])[0], protocol: ProtocolId.ESP };
  assert.equal(chooseIke([gcm256], [esp]), undefined, "an ESP proposal in an IKE SA payload");
});

Deno.test("proposal: chooseIke refuses an AEAD proposal that also carries an integrity algorithm", () => {
  const mixed = offer(1, [
    { type: ENCR, id: ENCR_AES_GCM_16, keyLength: 256 },
    { type: PRF, id: PRF_HMAC_SHA2_512 },
    { type: INTEG, id: AUTH_HMAC_SHA2_256_128 },
    { type: KE, id: KE_ECP_256 },
  ]);
  assert.equal(chooseIke([gcm256], [mixed]), undefined);
  // INTEG NONE alongside an AEAD cipher is what RFC 5282 §8 allows.
  const withNone = offer(1, [...mixed.transforms.filter((t) => t.type !== INTEG), {
    type: INTEG,
    id: 0,
  }]);
  assert.equal(chooseIke([gcm256], [withNone])?.chosen.integId, 0);
});

Deno.test("proposal: ChaCha20-Poly1305 matches with or without the redundant 256-bit Key Length", () => {
  const bare = ikeProposals([chacha]);
  assert.equal(bare[0].transforms[0].keyLength, undefined);
  assert.equal(chooseIke([chacha], bare)?.chosen.encrId, ENCR_CHACHA20_POLY1305);
  const withLength = offer(1, [
    { type: ENCR, id: ENCR_CHACHA20_POLY1305, keyLength: 256 },
    { type: PRF, id: PRF_HMAC_SHA2_256 },
    { type: KE, id: KE_CURVE25519 },
  ]);
  assert.equal(chooseIke([chacha], [withLength])?.chosen.encrId, ENCR_CHACHA20_POLY1305);
  assert.equal(isAead(ENCR_CHACHA20_POLY1305), true);
  assert.equal(isAead(ENCR_AES_CBC), false);
});

Deno.test("proposal: the defaults of both ends agree on AES-GCM-256, SHA2-512 and DH19", () => {
  const picked = chooseIke(DEFAULT_IKE_PROPOSALS, ikeProposals(DEFAULT_IKE_PROPOSALS));
  assert.deepEqual(picked?.chosen, {
    encrId: ENCR_AES_GCM_16,
    encrKeyBits: 256,
    prfId: PRF_HMAC_SHA2_512,
    integId: 0,
    keId: KE_ECP_256,
  });
});

Deno.test("proposal: chooseEsp takes the peer's SPI, negotiates ESN and ignores KE without PFS", () => {
  const offered = espProposals([cbc128], 0xc0ffee01, () => [KE_MODP2048], "either");
  assert.deepEqual(shape(offered[0]), ["1:12/128", "3:12", "4:14", "5:0", "5:1"]);
  const picked = chooseEsp([cbc128], offered, "either");
  assert.ok(picked);
  assert.equal(picked.peerSpi, 0xc0ffee01);
  assert.deepEqual(picked.chosen, {
    encrId: ENCR_AES_CBC,
    encrKeyBits: 128,
    prfId: 0,
    integId: AUTH_HMAC_SHA2_256_128,
    keId: 0,
    esn: true,
  });
  assert.deepEqual(shape(picked.proposal), ["1:12/128", "3:12", "5:1"]);
  assert.equal(chooseEsp([cbc128], offered, "no")?.chosen.esn, false);
  // With PFS the KE becomes mandatory and must be one we accept.
  assert.equal(chooseEsp([cbc128], offered, "no", () => [KE_MODP2048])?.chosen.keId, KE_MODP2048);
  assert.equal(chooseEsp([cbc128], offered, "no", () => [KE_ECP_256]), undefined);
});

Deno.test("proposal: chooseEsp refuses ESN mismatches, bad SPIs and AEAD with integrity", () => {
  const esnOnly = espProposals([cbc128], 7, () => [], "yes");
  assert.equal(chooseEsp([cbc128], esnOnly, "no"), undefined, "peer insists on ESN, we refuse it");
  const noEsn = espOffer(1, [
    { type: ENCR, id: ENCR_AES_CBC, keyLength: 128 },
    { type: INTEG, id: AUTH_HMAC_SHA2_256_128 },
  ]);
  assert.equal(chooseEsp([cbc128], [noEsn], "no")?.chosen.esn, false, "no ESN transform = no ESN");
  assert.equal(chooseEsp([cbc128], [noEsn], "yes"), undefined);
  const shortSpi = { ...noEsn, spi: new Uint8Array(3) };
  assert.equal(chooseEsp([cbc128], [shortSpi], "no"), undefined, "an ESP SPI is 4 octets");
  const aeadInteg = espOffer(1, [
    { type: ENCR, id: ENCR_AES_GCM_16, keyLength: 256 },
    { type: INTEG, id: AUTH_HMAC_SHA1_96 },
    { type: ESN, id: ESN_NONE },
  ]);
  assert.equal(chooseEsp([gcm256], [aeadInteg], "either"), undefined);
});

Deno.test("proposal: acceptAnswer takes what the responder chose from our own offer", () => {
  const sent = ikeProposals([gcm256, cbc128]);
  for (const [local, encrId] of [[[cbc128], ENCR_AES_CBC], [[gcm256], ENCR_AES_GCM_16]] as const) {
    const responder = chooseIke(local, sent);
    assert.ok(responder);
    const chosen = acceptAnswer(sent, [responder.proposal], ProtocolId.IKE);
    assert.equal(typeof chosen, "object", String(chosen));
    assert.deepEqual(chosen, { ...responder.chosen, esn: false });
    assert.equal((chosen as { encrId: number }).encrId, encrId);
  }
  const espSent = espProposals(DEFAULT_ESP_PROPOSALS, 0x11223344, () => [], "either");
  const espChoice = chooseEsp(DEFAULT_ESP_PROPOSALS, espSent, "either");
  assert.ok(espChoice);
  const espAnswer = withSpi(espChoice.proposal, 0x55667788);
  assert.deepEqual(acceptAnswer(espSent, [espAnswer], ProtocolId.ESP), espChoice.chosen);
});

Deno.test("proposal: acceptAnswer refuses an answer with a transform we never offered", () => {
  const sent = ikeProposals([gcm256]);
  const good = ikeAnswer(1, {
    encrId: ENCR_AES_GCM_16,
    encrKeyBits: 256,
    prfId: PRF_HMAC_SHA2_512,
    integId: 0,
    keId: KE_ECP_256,
  });
  assert.equal(typeof acceptAnswer(sent, [good], ProtocolId.IKE), "object");
  const swap = (type: number, t: Transform) => ({
    ...good,
    transforms: good.transforms.map((x) => x.type === type ? t : x),
  });
  const cases: [string, Proposal][] = [
    ["a KE group", swap(KE, { type: KE, id: KE_ECP_384 })],
    ["a PRF", swap(PRF, { type: PRF, id: PRF_HMAC_SHA2_256 })],
    ["a cipher", swap(ENCR, { type: ENCR, id: ENCR_CHACHA20_POLY1305 })],
    ["a key size", swap(ENCR, { type: ENCR, id: ENCR_AES_GCM_16, keyLength: 128 })],
    ["an integrity algorithm", {
      ...good,
      transforms: [...good.transforms, { type: INTEG, id: AUTH_HMAC_SHA2_256_128 }],
    }],
  ];
  for (const [what, answer] of cases) {
    const result = acceptAnswer(sent, [answer], ProtocolId.IKE);
    assert.equal(typeof result, "string", `${what} we did not offer was accepted`);
    assert.match(
      result as string,
      /answer contains a transform we did not propose \(type \d+ id \d+/,
    );
  }
  // An ESN choice we did not offer (we said esn=no).
  const espSent = espProposals([cbc128], 1, () => [], "no");
  const espAnswer = espOffer(1, [
    { type: ENCR, id: ENCR_AES_CBC, keyLength: 128 },
    { type: INTEG, id: AUTH_HMAC_SHA2_256_128 },
    { type: ESN, id: ESN_ENABLED },
  ]);
  assert.match(
    acceptAnswer(espSent, [espAnswer], ProtocolId.ESP) as string,
    /did not propose \(type 5 id 1\)/,
  );
});

Deno.test("proposal: acceptAnswer refuses mixing transforms of two offered proposals", () => {
  // We offered GCM (no integrity) and CBC with SHA2-256; an answer of GCM plus
  // that integrity transform matches no proposal we sent (RFC 7296 §3.3.6).
  const sent = ikeProposals([gcm256, cbc128]);
  const mixed = offer(1, [
    { type: ENCR, id: ENCR_AES_GCM_16, keyLength: 256 },
    { type: PRF, id: PRF_HMAC_SHA2_512 },
    { type: INTEG, id: AUTH_HMAC_SHA2_256_128 },
    { type: KE, id: KE_ECP_256 },
  ]);
  assert.equal(typeof acceptAnswer(sent, [mixed], ProtocolId.IKE), "string");
  // CBC from proposal 2 with the KE only proposal 1 offered.
  const crossed = offer(2, [
    { type: ENCR, id: ENCR_AES_CBC, keyLength: 128 },
    { type: PRF, id: PRF_HMAC_SHA2_256 },
    { type: INTEG, id: AUTH_HMAC_SHA2_256_128 },
    { type: KE, id: KE_ECP_256 },
  ]);
  assert.equal(typeof acceptAnswer(sent, [crossed], ProtocolId.IKE), "string");
  // The same answer numbered as a proposal we never sent.
  const unnumbered = { ...chooseIke([cbc128], sent)!.proposal, num: 3 };
  assert.equal(typeof acceptAnswer(sent, [unnumbered], ProtocolId.IKE), "string");
});

Deno.test("proposal: acceptAnswer refuses malformed answers with a reason", () => {
  const sent = ikeProposals([gcm256, cbc128]);
  const good = chooseIke([gcm256], sent)!.proposal;
  const check = (answer: Proposal[], reason: RegExp, protocol: number = ProtocolId.IKE) => {
    const result = acceptAnswer(sent, answer, protocol);
    assert.equal(typeof result, "string", `accepted: ${JSON.stringify(answer)}`);
    assert.match(result as string, reason);
  };
  check([], /expected one proposal in the answer, got 0/);
  check([good, good], /expected one proposal in the answer, got 2/);
  check([good], /answer is for another protocol/, ProtocolId.ESP);
  check(
    [{ ...good, transforms: good.transforms.filter((t) => t.type !== ENCR) }],
    /single encryption/,
  );
  check(
    [{ ...good, transforms: [...good.transforms, { type: KE, id: KE_CURVE25519 }] }],
    /more than one transform of a type/,
  );
  check([{ ...good, transforms: good.transforms.filter((t) => t.type !== KE) }], /lacks PRF or KE/);
  const cbc = chooseIke([cbc128], sent)!.proposal;
  check(
    [{ ...cbc, transforms: cbc.transforms.filter((t) => t.type !== INTEG) }],
    /lacks integrity/,
  );
});
