/**
 * `ike=`/`esp=` parsing and printing against Libreswan's `algparse`.
 *
 * Expected strings come from Libreswan's own expected output,
 * `testing/pluto/algparse-01/west.console.txt` (5.x, `algparse -tp -v2` and
 * `-v2 -pfs`), from Debian 12's `ipsec algparse -v2` (4.10, same semantics
 * where noted), and from §6.5 of the whack/pluto interface reference. Where
 * swan deliberately differs (algorithms it does not implement, the 5.4+
 * ENCRYPT-PRF-INTEG-KE order) the test says so.
 */
import assert from "node:assert/strict";
import {
  DEFAULT_ESP_PROPOSALS,
  DEFAULT_IKE_PROPOSALS,
  formatEspProposals,
  formatIkeProposals,
  parseEspProposals,
  parseIkeProposals,
  type ProposalSpec,
} from "../../src/config/proposals.ts";
import {
  encrName,
  ikeAlgorithmStatusLines,
  integName,
  keName,
  kernelAlgorithmStatusLines,
  prfName,
} from "../../src/config/algorithm_names.ts";

/** The 5.x default IKE KE list (§6.5.2), as printed. */
const KE5 = "DH19+DH20+DH21+DH31+MODP4096+MODP3072+MODP2048+MODP8192";
/** The 5.x default IKE PRF list, as printed. */
const PRF5 = "HMAC_SHA2_512+HMAC_SHA2_256";

function ike(text: string | undefined): { printed: string[]; warnings: string[] } {
  const r = parseIkeProposals(text);
  if (!r.ok) throw new Error(`ike=${text}: unexpected error: ${r.error}`);
  return { printed: formatIkeProposals(r.proposals).split(", "), warnings: r.warnings };
}

function esp(text: string | undefined, pfs = false): { printed: string[]; warnings: string[] } {
  const r = parseEspProposals(text, pfs);
  if (!r.ok) throw new Error(`esp=${text}: unexpected error: ${r.error}`);
  return { printed: formatEspProposals(r.proposals).split(", "), warnings: r.warnings };
}

function ikeSpecs(text: string | undefined): ProposalSpec[] {
  const r = parseIkeProposals(text);
  if (!r.ok) throw new Error(`ike=${text}: unexpected error: ${r.error}`);
  return r.proposals;
}

function espSpecs(text: string | undefined, pfs = false): ProposalSpec[] {
  const r = parseEspProposals(text, pfs);
  if (!r.ok) throw new Error(`esp=${text}: unexpected error: ${r.error}`);
  return r.proposals;
}

function ikeError(text: string): string {
  const r = parseIkeProposals(text);
  if (r.ok) {
    throw new Error(`ike=${text}: expected an error, got ${formatIkeProposals(r.proposals)}`);
  }
  return r.error;
}

function espError(text: string, pfs = false): string {
  const r = parseEspProposals(text, pfs);
  if (r.ok) {
    throw new Error(`esp=${text}: expected an error, got ${formatEspProposals(r.proposals)}`);
  }
  return r.error;
}

Deno.test("ike defaults print exactly the 5.x algparse lines", () => {
  assert.deepEqual(ike(undefined), {
    printed: [
      `AES_GCM_16_256-${PRF5}-${KE5}`,
      `AES_GCM_16_128-${PRF5}-${KE5}`,
      `CHACHA20_POLY1305-${PRF5}-${KE5}`,
      `AES_CBC_256-${PRF5}-${KE5}`,
      `AES_CBC_128-${PRF5}-${KE5}`,
    ],
    warnings: [],
  });
  assert.equal(formatIkeProposals(DEFAULT_IKE_PROPOSALS), ike(undefined).printed.join(", "));
});

Deno.test("ike defaults as transforms: AEAD without integ, CBC with the PRF-paired integ, DH32 absent", () => {
  const specs = ikeSpecs(undefined);
  assert.deepEqual(specs[0], {
    encr: [{ id: 20, keyBits: 256 }],
    prf: [7, 5],
    integ: [],
    ke: [19, 20, 21, 31, 16, 15, 14, 18],
  });
  assert.deepEqual(specs[2].encr, [{ id: 28 }]);
  assert.deepEqual(specs[3], {
    encr: [{ id: 12, keyBits: 256 }],
    prf: [7, 5],
    integ: [14, 12],
    ke: [19, 20, 21, 31, 16, 15, 14, 18],
  });
  for (const spec of specs) assert.ok(!spec.ke.includes(32));
});

Deno.test("esp defaults print exactly the 5.x lines", () => {
  assert.deepEqual(esp(undefined), {
    printed: [
      "AES_GCM_16_256",
      "AES_GCM_16_128",
      "CHACHA20_POLY1305",
      "AES_CBC_256-HMAC_SHA2_512_256+HMAC_SHA2_256_128",
      "AES_CBC_128-HMAC_SHA2_512_256+HMAC_SHA2_256_128",
    ],
    warnings: [],
  });
  assert.equal(formatEspProposals(DEFAULT_ESP_PROPOSALS), esp(undefined).printed.join(", "));
  for (const spec of espSpecs(undefined, true)) {
    assert.deepEqual(spec.prf, []);
    assert.deepEqual(spec.ke, [], "PFS defaults reuse the IKE SA's group");
  }
});

Deno.test("returned defaults are copies: changing them does not change the next parse", () => {
  const first = ikeSpecs(undefined);
  first[0].ke.push(2);
  first[0].encr[0].keyBits = 1;
  espSpecs(undefined)[3].integ.length = 0;
  assert.deepEqual(ikeSpecs(undefined)[0].ke, [19, 20, 21, 31, 16, 15, 14, 18]);
  assert.deepEqual(ikeSpecs(undefined)[0].encr, [{ id: 20, keyBits: 256 }]);
  assert.deepEqual(espSpecs(undefined)[3].integ, [14, 12]);
});

Deno.test("ike= strings normalise as algparse -v2 prints them", () => {
  const cases: [string, string[]][] = [
    ["aes_gcm256-sha2_512;dh19", ["AES_GCM_16_256-HMAC_SHA2_512-DH19"]],
    // Debian 4.10 algparse prints the same; integrity equal to the PRF's pair is not shown.
    ["aes128-sha1;modp2048", ["AES_CBC_128-HMAC_SHA1-MODP2048"]],
    ["AES_GCM256-SHA2_512;DH19", ["AES_GCM_16_256-HMAC_SHA2_512-DH19"]],
    ["aes256-sha2;dh19", ["AES_CBC_256-HMAC_SHA2_256-DH19"]],
    ["aes256-sha2", [`AES_CBC_256-HMAC_SHA2_256-${KE5}`]],
    ["aes_gcm", [`AES_GCM_16-${PRF5}-${KE5}`]],
    ["aes_gcm-sha2", [`AES_GCM_16-HMAC_SHA2_256-${KE5}`]],
    ["aes_gcm-sha2-modp2048", ["AES_GCM_16-HMAC_SHA2_256-MODP2048"]],
    ["aes_gcm-sha2;modp2048", ["AES_GCM_16-HMAC_SHA2_256-MODP2048"]],
    ["aes_gcm;modp2048", [`AES_GCM_16-${PRF5}-MODP2048`]],
    ["aes_gcm-none", [`AES_GCM_16-${PRF5}-${KE5}`]],
    ["aes_gcm-none;modp2048", [`AES_GCM_16-${PRF5}-MODP2048`]],
    ["aes_gcm_16_256-sha2", [`AES_GCM_16_256-HMAC_SHA2_256-${KE5}`]],
    ["aes_gcm_c-256", [`AES_GCM_16_256-${PRF5}-${KE5}`]],
    ["aes_gcm_192", [`AES_GCM_16_192-${PRF5}-${KE5}`]],
    ["aes-128", [`AES_CBC_128-${PRF5}-${KE5}`]],
    ["aes_cbc-sha384-dh20", ["AES_CBC-HMAC_SHA2_384-DH20"]],
    ["aes;curve25519", [`AES_CBC-${PRF5}-DH31`]],
    ["chacha20poly1305-sha512;ecp_384", ["CHACHA20_POLY1305-HMAC_SHA2_512-DH20"]],
    ["aes-sha1-ecp_521", ["AES_CBC-HMAC_SHA1-DH21"]],
    ["aes;dh14+dh15+dh16+dh17+dh18", [
      `AES_CBC-${PRF5}-MODP2048+MODP3072+MODP4096+MODP6144+MODP8192`,
    ]],
    ["aes-sha1-modp8192,aes-sha1-modp8192,aes-sha1-modp8192", ["AES_CBC-HMAC_SHA1-MODP8192"]],
    [
      "aes-sha1-modp8192,aes-sha2-modp8192,aes-sha1-modp8192",
      ["AES_CBC-HMAC_SHA1-MODP8192", "AES_CBC-HMAC_SHA2_256-MODP8192"],
    ],
    ["aes128+aes256+aes_cbc_192-sha1;dh19", ["AES_CBC_128+AES_CBC_256+AES_CBC_192-HMAC_SHA1-DH19"]],
    // swan trims blanks around proposals and names (Libreswan does not).
    [" aes-sha1 , aes-sha2 ", [`AES_CBC-HMAC_SHA1-${KE5}`, `AES_CBC-HMAC_SHA2_256-${KE5}`]],
  ];
  for (const [text, printed] of cases) {
    assert.deepEqual(ike(text), { printed, warnings: [] }, `ike=${text}`);
  }
});

Deno.test("ike= swan extras: DH32 under its names, x25519 for DH31", () => {
  for (const name of ["dh32", "curve448", "x448", "DH32"]) {
    assert.deepEqual(ike(`aes_gcm256-sha2_512;${name}`).printed, [
      "AES_GCM_16_256-HMAC_SHA2_512-DH32",
    ]);
  }
  assert.deepEqual(ike("aes-sha2;x25519").printed, ["AES_CBC-HMAC_SHA2_256-DH31"]);
});

Deno.test("ike= duplicates are discarded with algparse's warnings", () => {
  assert.deepEqual(ike("aes+aes-sha1+sha1-modp8192+modp8192"), {
    printed: ["AES_CBC-HMAC_SHA1-MODP8192"],
    warnings: [
      "discarding duplicate IKE encryption algorithm AES_CBC",
      "discarding duplicate IKE PRF algorithm HMAC_SHA1",
      "discarding duplicate IKE DH algorithm MODP8192",
    ],
  });
  // A bare cipher already covers every size of it.
  assert.deepEqual(ike("aes+aes128+aes256"), {
    printed: [`AES_CBC-${PRF5}-${KE5}`],
    warnings: [
      "discarding duplicate IKE encryption algorithm AES_CBC_128",
      "discarding duplicate IKE encryption algorithm AES_CBC_256",
    ],
  });
  assert.deepEqual(ike("aes128+aes+aes256"), {
    printed: [`AES_CBC_128+AES_CBC-${PRF5}-${KE5}`],
    warnings: ["discarding duplicate IKE encryption algorithm AES_CBC_256"],
  });
});

Deno.test("ike= PRF then INTEG (5.4 order); INTEG first still parses, with a warning", () => {
  // Integrity equal to the PRF's pair is implied and not printed.
  assert.deepEqual(ike("aes-sha2-sha2;ecp_521"), {
    printed: ["AES_CBC-HMAC_SHA2_256-DH21"],
    warnings: [],
  });
  assert.deepEqual(ikeSpecs("aes-sha2-sha1;ecp_521")[0].integ, [2]);
  assert.deepEqual(ike("aes-sha2-sha1;ecp_521").printed, [
    "AES_CBC-HMAC_SHA2_256-HMAC_SHA1_96-DH21",
  ]);
  const warning =
    "WARNING: IKE proposal has integ specified before prf; use encrypt-prf-integ-ke order";
  // sha1_96 is integrity only, so it cannot be the PRF: old ENCRYPT-INTEG-PRF-KE order.
  assert.deepEqual(ike("aes-sha1_96-sha2-ecp_521"), {
    printed: ["AES_CBC-HMAC_SHA2_256-HMAC_SHA1_96-DH21"],
    warnings: [warning],
  });
  const specs = ikeSpecs("aes-sha1_96-sha2-ecp_521");
  assert.deepEqual(specs[0].prf, [5]);
  assert.deepEqual(specs[0].integ, [2]);
  assert.deepEqual(ike("aes_gcm-none-sha2-modp2048"), {
    printed: ["AES_GCM_16-HMAC_SHA2_256-MODP2048"],
    warnings: [warning],
  });
  // Integrity without a PRF: PRFs come from the defaults, the given integrity is kept.
  assert.deepEqual(ike("aes-sha1_96;dh19"), {
    printed: [`AES_CBC-${PRF5}-HMAC_SHA1_96-DH19`],
    warnings: [],
  });
});

Deno.test("ike= TYPE=ALGS sections add to the positional transforms", () => {
  assert.deepEqual(ike("aes-sha2;prf=sha1;ke=dh20").printed, [
    "AES_CBC-HMAC_SHA2_256+HMAC_SHA1-DH20",
  ]);
  assert.deepEqual(ike("encrypt=aes_gcm256;prf=sha2_512;ke=dh19+dh31").printed, [
    "AES_GCM_16_256-HMAC_SHA2_512-DH19+DH31",
  ]);
  // The `;KE` segment may also come after a section (Libreswan issue #2435).
  for (const text of ["aes-sha2;integ=sha1;dh19", "aes-sha2;dh19;INTEG=sha1"]) {
    assert.deepEqual(ike(text).printed, ["AES_CBC-HMAC_SHA2_256-HMAC_SHA1_96-DH19"], text);
  }
  assert.equal(
    ikeError("aes;dh19;encrypt=aes_gcm128"),
    "AEAD and non-AEAD IKE encryption algorithm cannot be combined",
  );
  assert.deepEqual(ike("aes-sha1;ke=dh19;ke=dh19"), {
    printed: ["AES_CBC-HMAC_SHA1-DH19"],
    warnings: ["discarding duplicate IKE DH algorithm DH19"],
  });
});

Deno.test("ike= without a size offers both sizes, largest first; with one, only that size", () => {
  assert.deepEqual(ikeSpecs("aes")[0].encr, [
    { id: 12, keyBits: 256, keyBitsImplied: true },
    { id: 12, keyBits: 128, keyBitsImplied: true },
  ]);
  assert.deepEqual(ikeSpecs("aes")[0].integ, [14, 12], "integ paired with the default PRFs");
  assert.deepEqual(ikeSpecs("aes_gcm256-sha2_512;dh19"), [
    { encr: [{ id: 20, keyBits: 256 }], prf: [7], integ: [], ke: [19] },
  ]);
  assert.deepEqual(ikeSpecs("aes128-sha1;modp2048"), [
    { encr: [{ id: 12, keyBits: 128 }], prf: [2], integ: [2], ke: [14] },
  ]);
  assert.deepEqual(ikeSpecs("chacha20poly1305")[0].encr, [{ id: 28 }]);
  // "aes128+aes": the bare cipher adds only the size not yet offered.
  assert.deepEqual(ikeSpecs("aes128+aes")[0].encr, [
    { id: 12, keyBits: 128 },
    { id: 12, keyBits: 256, keyBitsImplied: true },
  ]);
  assert.deepEqual(ike("aes128+aes").printed, [`AES_CBC_128+AES_CBC-${PRF5}-${KE5}`]);
});

Deno.test("ike= grammar errors use algparse's wording", () => {
  assert.equal(ikeError(""), "IKE proposal is empty");
  assert.equal(ikeError("  "), "IKE proposal is empty");
  for (
    const text of [",", "aes,", "aes,,aes", ",aes", "-", "+", ";", "-aes", "+aes", ";aes", "aes+"]
      .concat(["aes+-", "aes+;", "aes++"])
  ) {
    assert.equal(ikeError(text), "IKE encryption algorithm is empty", `ike=${text}`);
  }
  assert.equal(ikeError("aes-"), "IKE PRF algorithm is empty");
  assert.equal(ikeError("aes;"), "IKE DH algorithm is empty");
  assert.equal(ikeError("aes-sha1+"), "IKE PRF algorithm is empty");
  assert.equal(
    ikeError("aes_gcm-sha2;modp2048-modp2048"),
    "IKE proposal contains unexpected 'modp2048'",
  );
  assert.equal(ikeError("aes-sha1-modp2048;dh19"), "IKE proposal contains unexpected 'dh19'");
  assert.equal(
    ikeError("aes-sha1-sha1-dh19-dh20"),
    "IKE proposal contains unexpected 'dh20'",
  );
  assert.equal(ikeError("aes;dh19;dh20"), "IKE proposal contains unexpected 'dh20'");
  assert.equal(
    ikeError("aes+aes_gcm"),
    "AEAD and non-AEAD IKE encryption algorithm cannot be combined",
  );
  assert.equal(ikeError("prf=sha1"), "IKE proposal 'prf=sha1' has no encryption algorithm");
  assert.equal(
    ikeError("aes;foo=sha1"),
    "IKE proposal transform type 'foo' is not recognized; use encrypt, prf, integ or ke",
  );
  assert.equal(
    ikeError("aes;addke1=ml_kem_768"),
    "IKE proposal transform type 'addke1' (additional key exchange) is not supported by swan; " +
      "use encrypt, prf, integ or ke",
  );
});

Deno.test("ike= names that are not algorithms at that position say what is accepted", () => {
  const encrUse = "use aes_gcm, aes or chacha20poly1305";
  const prfUse = "use sha1, sha2_256, sha2_384 or sha2_512";
  const keUse =
    "use modp2048, modp3072, modp4096, modp6144, modp8192, dh19, dh20, dh21, dh31 or dh32";
  assert.equal(ikeError("id2"), `IKE encryption algorithm 'id2' is not recognized; ${encrUse}`);
  assert.equal(ikeError("aes-id2"), `IKE PRF algorithm 'id2' is not recognized; ${prfUse}`);
  assert.equal(ikeError("AES-FOO"), `IKE PRF algorithm 'FOO' is not recognized; ${prfUse}`);
  assert.equal(
    ikeError("aes_gcm-modp2048"),
    `IKE PRF algorithm 'modp2048' is not recognized; ${prfUse}`,
  );
  assert.equal(
    ikeError("aes_gcm-none-modp2048"),
    `IKE PRF algorithm 'modp2048' is not recognized; ${prfUse}`,
  );
  assert.equal(ikeError("aes-sha1-sha2-foo"), `IKE DH algorithm 'foo' is not recognized; ${keUse}`);
  assert.equal(ikeError("aes;none"), `IKE DH algorithm 'NONE' is not permitted; ${keUse}`);
  assert.equal(ikeError("aes;dh0"), `IKE DH algorithm 'NONE' is not permitted; ${keUse}`);
  assert.equal(
    ikeError("aes-none"),
    "non-AEAD IKE encryption algorithm AES_CBC cannot have 'NONE' as the integrity algorithm",
  );
  assert.equal(
    ikeError("aes_gcm-sha1-sha2"),
    "AEAD IKE encryption algorithm AES_GCM_16 must have 'NONE' as the integrity algorithm",
  );
});

Deno.test("ike= Libreswan algorithms swan does not implement are refused by name", () => {
  const encrUse = "use aes_gcm, aes or chacha20poly1305";
  for (
    const name of ["3des", "3DES", "camellia", "camellia256", "aes_ctr", "aesctr", "aes_ctr128"]
      .concat(["aes_ccm", "aes_ccm_c-256", "aes_gcm_a", "aes_gcm_8", "3des_cbc", "null"])
  ) {
    const token = name.split("-")[0];
    assert.equal(
      ikeError(name),
      `IKE encryption algorithm '${token}' is not supported by swan; ${encrUse}`,
      `ike=${name}`,
    );
  }
  assert.equal(
    ikeError("aes-md5"),
    "IKE PRF algorithm 'md5' is not supported by swan; use sha1, sha2_256, sha2_384 or sha2_512",
  );
  assert.equal(
    ikeError("aes-aes_xcbc"),
    "IKE PRF algorithm 'aes_xcbc' is not supported by swan; use sha1, sha2_256, sha2_384 or sha2_512",
  );
  for (const name of ["modp1024", "dh2", "modp1536", "dh5", "dh22", "ml_kem_768", "mlkem1024"]) {
    assert.match(
      ikeError(`aes;${name}`),
      new RegExp(`^IKE DH algorithm '${name}' is not supported by swan; use modp2048, `),
    );
  }
});

Deno.test("ike= key sizes are checked against the cipher", () => {
  assert.equal(
    ikeError("aes224"),
    "IKE encryption algorithm AES_CBC with key length 224 invalid; valid key lengths: 128, 192, 256",
  );
  assert.equal(
    ikeError("aes-224-sha1"),
    "IKE encryption algorithm AES_CBC with key length 224 invalid; valid key lengths: 128, 192, 256",
  );
  assert.equal(
    ikeError("aes_gcm-16"),
    "IKE encryption algorithm AES_GCM_16 with key length 16 invalid; valid key lengths: 128, 192, 256",
  );
  assert.equal(ikeError("aes0"), "IKE encryption key length is zero");
  assert.equal(ikeError("aes-0-sha1"), "IKE encryption key length is zero");
  assert.equal(
    ikeError("chacha20poly1305-256"),
    "IKE encryption algorithm CHACHA20_POLY1305 does not allow a key length",
  );
  assert.equal(
    ikeError("chacha20_poly1305256"),
    "IKE encryption algorithm CHACHA20_POLY1305 does not allow a key length",
  );
});

Deno.test("esp= strings normalise as algparse -v2 prints them", () => {
  const cases: [string, string[]][] = [
    ["aes", ["AES_CBC-HMAC_SHA2_512_256+HMAC_SHA2_256_128"]],
    ["aes_cbc", ["AES_CBC-HMAC_SHA2_512_256+HMAC_SHA2_256_128"]],
    ["aes-128", ["AES_CBC_128-HMAC_SHA2_512_256+HMAC_SHA2_256_128"]],
    ["aes-sha1", ["AES_CBC-HMAC_SHA1_96"]],
    ["aes-sha", ["AES_CBC-HMAC_SHA1_96"]],
    ["aes-128-sha1", ["AES_CBC_128-HMAC_SHA1_96"]],
    ["aes128-sha1", ["AES_CBC_128-HMAC_SHA1_96"]],
    ["aes192-sha1", ["AES_CBC_192-HMAC_SHA1_96"]],
    ["aes-sha2", ["AES_CBC-HMAC_SHA2_256_128"]],
    ["aes-sha256", ["AES_CBC-HMAC_SHA2_256_128"]],
    ["aes-sha384", ["AES_CBC-HMAC_SHA2_384_192"]],
    ["aes-sha512", ["AES_CBC-HMAC_SHA2_512_256"]],
    ["aes256-sha2_256", ["AES_CBC_256-HMAC_SHA2_256_128"]],
    ["aes256-sha2_384", ["AES_CBC_256-HMAC_SHA2_384_192"]],
    ["aes256-sha2_512", ["AES_CBC_256-HMAC_SHA2_512_256"]],
    ["aes128-hmac_sha2_256", ["AES_CBC_128-HMAC_SHA2_256_128"]],
    // 5.x prints AEAD ESP without "-NONE" (4.10 and the 5.0 test printed "AES_GCM_16-NONE").
    ["aes_gcm", ["AES_GCM_16"]],
    ["aes_gcm-null", ["AES_GCM_16"]],
    ["aes_gcm_c-128-null", ["AES_GCM_16_128"]],
    ["aes_gcm_c-256-null", ["AES_GCM_16_256"]],
    ["aes_gcm-192-null", ["AES_GCM_16_192"]],
    ["aes_gcm_192-null", ["AES_GCM_16_192"]],
    ["aes_gcm_16-256-null", ["AES_GCM_16_256"]],
    ["aes_gcm_16_256-null", ["AES_GCM_16_256"]],
    ["chacha20poly1305", ["CHACHA20_POLY1305"]],
    ["aes-sha1,aes-sha2", ["AES_CBC-HMAC_SHA1_96", "AES_CBC-HMAC_SHA2_256_128"]],
    ["aes-sha1,aes-sha1", ["AES_CBC-HMAC_SHA1_96"]],
  ];
  for (const [text, printed] of cases) {
    assert.deepEqual(esp(text), { printed, warnings: [] }, `esp=${text}`);
  }
});

Deno.test("esp= without a size offers the default size first, then the largest", () => {
  assert.deepEqual(espSpecs("aes_gcm"), [{
    encr: [
      { id: 20, keyBits: 128, keyBitsImplied: true },
      { id: 20, keyBits: 256, keyBitsImplied: true },
    ],
    prf: [],
    integ: [],
    ke: [],
  }]);
  assert.deepEqual(espSpecs("aes128-sha2_256"), [{
    encr: [{ id: 12, keyBits: 128 }],
    prf: [],
    integ: [12],
    ke: [],
  }]);
});

Deno.test("esp= KE without PFS is dropped with Libreswan's warning", () => {
  assert.deepEqual(esp("aes;modp2048"), {
    printed: ["AES_CBC-HMAC_SHA2_512_256+HMAC_SHA2_256_128"],
    warnings: ["ignoring ESP Key Exchange algorithm 'MODP2048' as PFS policy is disabled"],
  });
  assert.deepEqual(espSpecs("aes-sha1-modp2048")[0].ke, []);
  assert.deepEqual(esp("aes-sha1;dh21"), {
    printed: ["AES_CBC-HMAC_SHA1_96"],
    warnings: ["ignoring ESP Key Exchange algorithm 'DH21' as PFS policy is disabled"],
  });
  // Identical proposals collapse before the KE is dropped, so one warning.
  assert.deepEqual(esp("aes-sha1-modp8192,aes-sha1-modp8192,aes-sha1-modp8192"), {
    printed: ["AES_CBC-HMAC_SHA1_96"],
    warnings: ["ignoring ESP Key Exchange algorithm 'MODP8192' as PFS policy is disabled"],
  });
  assert.deepEqual(esp("aes-sha1,aes-sha2;modp8192"), {
    printed: ["AES_CBC-HMAC_SHA1_96", "AES_CBC-HMAC_SHA2_256_128"],
    warnings: ["ignoring ESP Key Exchange algorithm 'MODP8192' as PFS policy is disabled"],
  });
  assert.deepEqual(esp("aes;none"), {
    printed: ["AES_CBC-HMAC_SHA2_512_256+HMAC_SHA2_256_128"],
    warnings: ["ignoring redundant ESP Key Exchange algorithm 'NONE' as PFS policy is disabled"],
  });
  assert.deepEqual(esp("aes;none,aes").printed, [
    "AES_CBC-HMAC_SHA2_512_256+HMAC_SHA2_256_128",
    "AES_CBC-HMAC_SHA2_512_256+HMAC_SHA2_256_128",
  ]);
});

Deno.test("esp= KE with PFS is kept; none given means the IKE SA's group", () => {
  assert.deepEqual(esp("aes;modp2048", true), {
    printed: ["AES_CBC-HMAC_SHA2_512_256+HMAC_SHA2_256_128-MODP2048"],
    warnings: [],
  });
  assert.deepEqual(esp("aes-sha1-modp2048", true).printed, ["AES_CBC-HMAC_SHA1_96-MODP2048"]);
  assert.deepEqual(esp("aes-128-sha1-modp2048", true).printed, [
    "AES_CBC_128-HMAC_SHA1_96-MODP2048",
  ]);
  assert.deepEqual(esp("aes-sha1;ecp_521", true).printed, ["AES_CBC-HMAC_SHA1_96-DH21"]);
  assert.deepEqual(esp("aes;none", true).printed, [
    "AES_CBC-HMAC_SHA2_512_256+HMAC_SHA2_256_128-NONE",
  ]);
  assert.deepEqual(espSpecs("aes;none", true)[0].ke, [0]);
  assert.deepEqual(esp("aes;none,aes;modp2048", true).printed, [
    "AES_CBC-HMAC_SHA2_512_256+HMAC_SHA2_256_128-NONE",
    "AES_CBC-HMAC_SHA2_512_256+HMAC_SHA2_256_128-MODP2048",
  ]);
  assert.deepEqual(esp("aes_gcm256;dh19+dh20", true).printed, ["AES_GCM_16_256-DH19+DH20"]);
  assert.deepEqual(espSpecs("aes-sha1", true)[0].ke, []);
  const mixed = "either all or no ESP proposals should specify Key Exchange";
  assert.equal(espError("aes;none,aes", true), mixed);
  assert.equal(espError("aes-sha1,aes-sha2;modp8192", true), mixed);
  assert.equal(espError("aes-sha1-modp8192,aes-sha2", true), mixed);
});

Deno.test("esp= errors use algparse's wording", () => {
  assert.equal(espError(""), "ESP proposal is empty");
  assert.equal(espError("aes-"), "ESP integrity algorithm is empty");
  assert.equal(
    espError("aes-null"),
    "non-AEAD ESP encryption algorithm AES_CBC cannot have 'NONE' as the integrity algorithm",
  );
  assert.equal(
    espError("aes128-none"),
    "non-AEAD ESP encryption algorithm AES_CBC cannot have 'NONE' as the integrity algorithm",
  );
  assert.equal(
    espError("aes_gcm-sha1"),
    "AEAD ESP encryption algorithm AES_GCM_16 must have 'NONE' as the integrity algorithm",
  );
  assert.equal(
    espError("aes-sha1555"),
    "ESP integrity algorithm 'sha1555' is not recognized; " +
      "use sha1, sha2_512, sha2_384, sha2_256 or none",
  );
  assert.match(
    espError("aes128-sha2_128"),
    /^ESP integrity algorithm 'sha2_128' is not recognized/,
  );
  assert.match(
    espError("aes256-sha2_256-4096"),
    /^ESP DH algorithm '4096' is not recognized; use none, /,
  );
  assert.match(espError("aes256-sha2_256-128"), /^ESP DH algorithm '128' is not recognized/);
  assert.match(
    espError("vanitycipher"),
    /^ESP encryption algorithm 'vanitycipher' is not recognized/,
  );
  assert.match(espError("ase-sah"), /^ESP encryption algorithm 'ase' is not recognized/);
  assert.match(espError("aes-sah1"), /^ESP integrity algorithm 'sah1' is not recognized/);
  assert.match(espError("id3"), /^ESP encryption algorithm 'id3' is not recognized/);
  assert.equal(
    espError("aes_gcm;modp2048-modp2048", true),
    "ESP proposal contains unexpected 'modp2048'",
  );
  assert.equal(espError("aes-sha1;modp2048;dh19"), "ESP proposal contains unexpected 'dh19'");
  assert.equal(
    espError("aes224-sha1"),
    "ESP encryption algorithm AES_CBC with key length 224 invalid; valid key lengths: 128, 192, 256",
  );
  assert.equal(
    espError("aes512-sha1"),
    "ESP encryption algorithm AES_CBC with key length 512 invalid; valid key lengths: 128, 192, 256",
  );
  assert.equal(espError("aes0-sha1"), "ESP encryption key length is zero");
  assert.equal(espError("aes_gcm-0"), "ESP encryption key length is zero");
  assert.equal(
    espError("aes128+aes_gcm"),
    "AEAD and non-AEAD ESP encryption algorithm cannot be combined",
  );
  assert.equal(
    espError("aes;prf=sha1"),
    "ESP proposal transform type 'prf' is not recognized; use encrypt, integ or ke",
  );
  assert.equal(
    espError("aes;sn=yes"),
    "ESP proposal transform type 'sn' is not supported in esp=; use the esn= keyword",
  );
});

Deno.test("esp= Libreswan algorithms swan does not implement are refused by name", () => {
  assert.equal(
    espError("3des-sha1"),
    "ESP encryption algorithm '3des' is not supported by swan; use aes_gcm, aes or chacha20poly1305",
  );
  for (const name of ["camellia", "aes_ctr", "aes_ccm", "aes_ccm_a-128-null", "null-sha1"]) {
    assert.match(espError(name), /^ESP encryption algorithm '[a-z_0-9]+' is not supported by swan/);
  }
  assert.equal(
    espError("3des168-sha1"),
    "ESP encryption algorithm '3des168' is not supported by swan; " +
      "use aes_gcm, aes or chacha20poly1305",
  );
  assert.match(espError("aes-md5"), /^ESP integrity algorithm 'md5' is not supported by swan/);
  assert.match(
    espError("aes-aes_xcbc"),
    /^ESP integrity algorithm 'aes_xcbc' is not supported by swan/,
  );
  assert.match(
    espError("aes-sha1;modp1024", true),
    /^ESP DH algorithm 'modp1024' is not supported by swan/,
  );
  assert.match(espError("aes-sha1;dh22"), /^ESP DH algorithm 'dh22' is not supported by swan/);
});

Deno.test("printed proposals parse back to the same transforms", () => {
  const ikeTexts = [
    undefined,
    "aes",
    "aes_gcm-sha2;modp2048",
    "aes-sha2-sha1;ecp_521",
    "aes128+aes",
    "chacha20poly1305-sha384;x448",
    "aes-sha1_96;dh19",
  ];
  for (const text of ikeTexts) {
    const specs = ikeSpecs(text);
    assert.deepEqual(ikeSpecs(formatIkeProposals(specs)), specs, `ike=${text}`);
  }
  for (const text of [undefined, "aes_gcm", "aes-sha1;dh19", "aes128-sha2_512+sha2_256"]) {
    const specs = espSpecs(text, true);
    assert.deepEqual(espSpecs(formatEspProposals(specs), true), specs, `esp=${text}`);
  }
});

Deno.test("parsing is total: arbitrary strings give a result, never an exception", () => {
  const alphabet = ["aes", "gcm", "sha", "1", "2", "256", "_", "-", "+", ";", ",", "=", " ", "dh"]
    .concat(["none", "prf", "ke", "x", "0", "modp", "integ", "encrypt", "\u00e9"]);
  let seed = 0x2545f491;
  const next = () => {
    // xorshift32: deterministic, so a failure is reproducible.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  for (let i = 0; i < 3000; i++) {
    const length = Math.floor(next() * 10);
    let text = "";
    for (let j = 0; j < length; j++) text += alphabet[Math.floor(next() * alphabet.length)];
    for (const r of [parseIkeProposals(text), parseEspProposals(text, i % 2 === 0)]) {
      if (r.ok) {
        assert.ok(r.proposals.length > 0, text);
        for (const p of r.proposals) assert.ok(p.encr.length > 0, text);
      } else {
        assert.equal(typeof r.error, "string");
        assert.ok(r.error.length > 0, text);
      }
    }
  }
});

Deno.test("names by IANA ID", () => {
  assert.equal(encrName(20, 256), "AES_GCM_16_256");
  assert.equal(encrName(20), "AES_GCM_16");
  assert.equal(encrName(12, 128), "AES_CBC_128");
  assert.equal(encrName(28), "CHACHA20_POLY1305");
  assert.equal(encrName(28, 256), "CHACHA20_POLY1305");
  assert.equal(encrName(3), "3DES_CBC", "known to Libreswan, not implemented");
  assert.equal(encrName(13, 128), "AES_CTR_128");
  assert.equal(encrName(1000), "1000??");
  assert.equal(prfName(2), "HMAC_SHA1");
  assert.equal(prfName(5), "HMAC_SHA2_256");
  assert.equal(prfName(6), "HMAC_SHA2_384");
  assert.equal(prfName(7), "HMAC_SHA2_512");
  assert.equal(integName(0), "NONE");
  assert.equal(integName(2), "HMAC_SHA1_96");
  assert.equal(integName(12), "HMAC_SHA2_256_128");
  assert.equal(integName(13), "HMAC_SHA2_384_192");
  assert.equal(integName(14), "HMAC_SHA2_512_256");
  assert.equal(keName(0), "NONE");
  assert.equal(keName(14), "MODP2048");
  assert.equal(keName(18), "MODP8192");
  assert.equal(keName(19), "DH19");
  assert.equal(keName(21), "DH21");
  assert.equal(keName(31), "DH31");
  assert.equal(keName(32), "DH32");
  assert.equal(keName(2), "MODP1024");
  assert.equal(keName(36), "ML_KEM_768");
});

Deno.test("IKE algorithm status lines (5.x wording, swan's algorithms)", () => {
  assert.deepEqual(ikeAlgorithmStatusLines(), [
    "IKE encrypt: v1id=-1, v1name=n/a, v2id=20, v2name=AES_GCM_16, blocksize=16, keydeflen=128",
    "IKE encrypt: v1id=7, v1name=OAKLEY_AES_CBC, v2id=12, v2name=AES_CBC, blocksize=16, keydeflen=128",
    "IKE encrypt: v1id=-1, v1name=n/a, v2id=28, v2name=CHACHA20_POLY1305, blocksize=16, keydeflen=256",
    "IKE PRF: name=HMAC_SHA1, hashlen=20",
    "IKE PRF: name=HMAC_SHA2_256, hashlen=32",
    "IKE PRF: name=HMAC_SHA2_384, hashlen=48",
    "IKE PRF: name=HMAC_SHA2_512, hashlen=64",
    "IKE Key Exchange Method (DH): name=MODP2048, bits=2048",
    "IKE Key Exchange Method (DH): name=MODP3072, bits=3072",
    "IKE Key Exchange Method (DH): name=MODP4096, bits=4096",
    "IKE Key Exchange Method (DH): name=MODP6144, bits=6144",
    "IKE Key Exchange Method (DH): name=MODP8192, bits=8192",
    "IKE Key Exchange Method (DH): name=DH19, bits=512",
    "IKE Key Exchange Method (DH): name=DH20, bits=768",
    "IKE Key Exchange Method (DH): name=DH21, bits=1056",
    "IKE Key Exchange Method (DH): name=DH31, bits=256",
    "IKE Key Exchange Method (DH): name=DH32, bits=448",
  ]);
});

Deno.test("kernel algorithm status lines are alphabetical per group", () => {
  assert.deepEqual(kernelAlgorithmStatusLines(), [
    "ESP encrypt: name=AES_CBC, keysizemin=128, keysizemax=256",
    "ESP encrypt: name=AES_GCM_16, keysizemin=128, keysizemax=256",
    "ESP encrypt: name=CHACHA20_POLY1305, keysizemin=256, keysizemax=256",
    "AH/ESP auth: name=HMAC_SHA1_96, key-length=160",
    "AH/ESP auth: name=HMAC_SHA2_256_128, key-length=256",
    "AH/ESP auth: name=HMAC_SHA2_384_192, key-length=384",
    "AH/ESP auth: name=HMAC_SHA2_512_256, key-length=512",
    "AH/ESP auth: name=NONE, key-length=0",
  ]);
});
