import assert from "node:assert/strict";
import { expandGlob } from "../../src/config/glob.ts";
import { type IkeId, parseId } from "../../src/config/ids.ts";
import {
  denoSecretsFs,
  findPsk,
  loadSecrets,
  type SecretEntry,
  type SecretsFs,
} from "../../src/config/secrets.ts";

const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes);

function id(s: string): IkeId {
  const r = parseId(s);
  if (!r.ok) throw new Error(`test setup: ${s}`);
  return r.value;
}

/** An in-memory filesystem; globs support `*` and `?` within one path component. */
function memFs(files: Record<string, string>, modes: Record<string, number> = {}): SecretsFs {
  return {
    readTextFile(path) {
      const t = files[path];
      if (t === undefined) throw new Error(`No such file or directory: ${path}`);
      return t;
    },
    expandGlob(pattern) {
      const source = pattern.replace(/[.+^${}()|\\]/g, (c) => `\\${c}`)
        .replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]");
      const re = new RegExp(`^${source}$`);
      return Object.keys(files).filter((f) => re.test(f)).sort();
    },
    mode: (path) => modes[path] ?? 0o600,
  };
}

/** The real examples of the interface reference §6.1. */
const REAL_EXAMPLES = `@west @east : PSK "ABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890"
192.1.2.45 192.1.2.23 : PSK "ABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890"
%any %any : PSK "fail this is the wrong psk"
: PSK "ABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890"
@use3 : XAUTH "use1pass"
@west @east : PPKS "swan2" "narodnifrontlimannovisadsrbija"
`;

Deno.test("the §6.1 real examples load", () => {
  const r = loadSecrets("/etc/ipsec.secrets", memFs({ "/etc/ipsec.secrets": REAL_EXAMPLES }));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.log, [`loading secrets from "/etc/ipsec.secrets"`]);
  assert.deepEqual(r.entries.map((e) => [e.kind, e.line, e.file]), [
    ["PSK", 1, "/etc/ipsec.secrets"],
    ["PSK", 2, "/etc/ipsec.secrets"],
    ["PSK", 3, "/etc/ipsec.secrets"],
    ["PSK", 4, "/etc/ipsec.secrets"],
    ["XAUTH", 5, "/etc/ipsec.secrets"],
    ["PPKS", 6, "/etc/ipsec.secrets"],
  ]);
  assert.deepEqual(r.entries[0].indices.map((i) => [i.type, i.text]), [[2, "@west"], [2, "@east"]]);
  assert.deepEqual(r.entries[1].indices.map((i) => [i.type, i.text]), [
    [1, "192.1.2.45"],
    [1, "192.1.2.23"],
  ]);
  // %any is the IPv4 any-address, printed %any
  assert.deepEqual(r.entries[2].indices.map((i) => [i.type, [...i.data], i.text]), [
    [1, [0, 0, 0, 0], "%any"],
    [1, [0, 0, 0, 0], "%any"],
  ]);
  assert.deepEqual(r.entries[3].indices, []);
  assert.equal(text(r.entries[0].secret), "ABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890");
  assert.equal(text(r.entries[4].secret), "use1pass");
  assert.equal(text(r.entries[5].ppkId), "swan2");
  assert.equal(text(r.entries[5].secret), "narodnifrontlimannovisadsrbija");
});

Deno.test("PSK lookup on the §6.1 examples", () => {
  const { entries } = loadSecrets("/s", memFs({ "/s": REAL_EXAMPLES }));
  const good = "ABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890";
  assert.equal(text(findPsk(entries, id("@west"), id("@east"))), good);
  assert.equal(text(findPsk(entries, id("@east"), id("@west"))), good);
  assert.equal(text(findPsk(entries, id("192.1.2.45"), id("192.1.2.23"))), good);
  // @west with an unknown peer: the @west @east entry names only one side, so the
  // %any %any entry (better than index-less) wins
  assert.equal(text(findPsk(entries, id("@west"), id("@road"))), "fail this is the wrong psk");
  // without the %any %any entry, the index-less one is the fallback
  const noAny = entries.filter((e) => e.line !== 3);
  assert.equal(text(findPsk(noAny, id("@west"), id("@road"))), good);
  assert.equal(text(findPsk(noAny, id("@nobody"), id("@nowhere"))), good);
  // XAUTH and PPKS entries are never PSKs
  const onlyOthers = entries.filter((e) => e.kind !== "PSK");
  assert.equal(findPsk(onlyOthers, id("@west"), id("@east")), undefined);
  assert.equal(findPsk(onlyOthers, id("@use3"), id("@x")), undefined);
});

function pskFile(body: string) {
  const r = loadSecrets("/s", memFs({ "/s": body }));
  assert.deepEqual(r.errors, [], body);
  return r.entries;
}

Deno.test("specificity: both > local+%any > single local index > remote+%any > %any > index-less", () => {
  const all = pskFile(`: PSK "index-less-1"
%any %any : PSK "any-any-22"
@peer %any : PSK "remote-any-3"
@me : PSK "single-local-4"
@me %any : PSK "local-any-55"
@me @peer : PSK "both-named-6"
`);
  const me = id("@me");
  const peer = id("@peer");
  const order = [
    "both-named-6",
    "local-any-55",
    "single-local-4",
    "remote-any-3",
    "any-any-22",
    "index-less-1",
  ];
  for (let i = 0; i < order.length; i++) {
    const remaining = all.filter((e) => order.slice(i).includes(text(e.secret)!));
    assert.equal(text(findPsk(remaining, me, peer)), order[i]);
  }
  // a single index naming only the peer is not a match (Libreswan accepts that only for asymmetric keys)
  const peerOnly = pskFile(`@peer : PSK "peer-only-xx"\n`);
  assert.equal(findPsk(peerOnly, me, peer), undefined);
  // two indices where only ours matches: not for this pair
  const other = pskFile(`@me @other : PSK "me-and-other"\n`);
  assert.equal(findPsk(other, me, peer), undefined);
  assert.equal(text(findPsk(other, me, id("@other"))), "me-and-other");
  // an unknown remote (type 0, e.g. IKEv1 before the ID arrives) is matched by any index
  assert.equal(text(findPsk(other, me, id("%any"))), "me-and-other");
  // IP addresses and FQDN case
  const ips = pskFile(
    `192.0.2.1 2001:db8::2 : PSK "mixed-families"\n@EAST.example @west : PSK "casey-key"\n`,
  );
  assert.equal(text(findPsk(ips, id("2001:0db8::2"), id("192.0.2.1"))), "mixed-families");
  assert.equal(text(findPsk(ips, id("@west"), id("@east.EXAMPLE."))), "casey-key");
});

Deno.test("equal-best matches: same secret is fine, different secrets are ambiguous", () => {
  const same = pskFile(`@a @b : PSK "same-secret"\n@b @a : PSK "same-secret"\n`);
  assert.equal(text(findPsk(same, id("@a"), id("@b"))), "same-secret");
  const differ = pskFile(`@a @b : PSK "first-secret"\n@b @a : PSK "second-secret"\n`);
  assert.equal(findPsk(differ, id("@a"), id("@b")), undefined);
  // a strictly better match overrides an earlier ambiguity
  const resolved = pskFile(
    `%any : PSK "wildcard-1"\n%any6 : PSK "wildcard-2"\n@a @b : PSK "explicit"\n`,
  );
  assert.equal(text(findPsk(resolved, id("@a"), id("@b"))), "explicit");
  assert.equal(findPsk(resolved, id("@a"), id("@c")), undefined);
  // index-less entries tie with each other too
  const twoDefaults = pskFile(`: PSK "default-one"\n: PSK "default-two"\n`);
  assert.equal(findPsk(twoDefaults, id("@a"), id("@b")), undefined);
  assert.equal(findPsk([], id("@a"), id("@b")), undefined);
});

Deno.test("lexing: continuation lines, comments, ':' rules, quoting and ttodata forms", () => {
  const entries = pskFile(`# a comment
@a
\t@b
    : psk "continued record"   # trailing comment
@c @d: Psk 'single quoted'
"2001:db8::" @e : PSK 0x0102_0304_0506_0708
@f : PSK 0X0a0B0c0D0e0F1011
@g : PSK 0sSGVsbG8gV29ybGQh
@h : PSK 0tsome text with spaces
@i : XAUTH 0x7061737377

@j : PSK "a#not-a-comment#x"
k@x.example : PSK "user-fqdn-key"
@l : PSK "" 
C=CA,O=Libreswan,CN=east : PSK "dn indexed key"
"C=CA, O=Libreswan, CN=west" : PSK "quoted dn key"
`);
  const by = (line: number) => {
    const e = entries.find((x) => x.line === line);
    assert.ok(e !== undefined, `no entry on line ${line}`);
    return e;
  };
  assert.deepEqual(by(2).indices.map((i) => i.text), ["@a", "@b"]);
  assert.equal(text(by(2).secret), "continued record");
  assert.deepEqual(by(5).indices.map((i) => i.text), ["@c", "@d"]);
  assert.equal(text(by(5).secret), "single quoted");
  assert.deepEqual(by(6).indices.map((i) => [i.type, i.text]), [[5, "2001:db8::"], [2, "@e"]]);
  assert.deepEqual([...by(6).secret], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual([...by(7).secret], [0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11]);
  assert.equal(text(by(8).secret), "Hello World!");
  assert.equal(text(by(9).secret), "some text with spaces");
  assert.equal(by(10).kind, "XAUTH");
  assert.equal(text(by(10).secret), "passw");
  assert.equal(text(by(12).secret), "a#not-a-comment#x");
  assert.deepEqual(by(13).indices.map((i) => [i.type, i.text]), [[3, "k@x.example"]]);
  assert.equal(by(14).secret.length, 0);
  assert.deepEqual(by(15).indices.map((i) => [i.type, i.text]), [[
    9,
    "C=CA, O=Libreswan, CN=east",
  ]]);
  assert.deepEqual(by(16).indices.map((i) => [i.type, i.text]), [[
    9,
    "C=CA, O=Libreswan, CN=west",
  ]]);
  assert.equal(entries.length, 12);
});

Deno.test("CRLF line endings are tolerated", () => {
  const entries = pskFile(
    `@a @b : PSK "crlf-secret"\r\n  # note\r\n@c : PSK 0x3132333435363738\r\n`,
  );
  assert.equal(text(entries[0].secret), "crlf-secret");
  assert.equal(text(entries[1].secret), "12345678");
});

Deno.test("every error and warning text", () => {
  const file = "/etc/ipsec.secrets";
  const body = [
    /* 1 */ `  @indented : PSK "abcdefgh"`,
    /* 2 */ `@a @b : PSK "short"`,
    /* 3 */ `@a : RSA { Modulus 0x01 }`,
    /* 4 */ `@a : PSK`,
    /* 5 */ `@a : XAUTH`,
    /* 6 */ `@a : PSK 0x123`,
    /* 7 */ `@a : PSK 0xzz`,
    /* 8 */ `@a : PSK 0s####`,
    /* 9 */ `@a : PSK plain`,
    /* 10 */ `@a : PSK "abcdefgh" extra`,
    /* 11 */ `@a 1.2.3 : PSK "abcdefgh"`,
    /* 12 */ `@a @b PSK "abcdefgh"`,
    /* 13 */ `@a : PSK "unterminated`,
    /* 14 */ `@a :`,
    /* 15 */ `@a : PPKS unquoted 0x01`,
    /* 16 */ `@a : PPKS "id"`,
    /* 17 */ `include`,
    /* 18 */ `include a b`,
    /* 19 */ `include nothing-here/*.secrets`,
    /* 20 */ `@a : PPKS "id" 0xq1`,
    /* 21 */ `@a : "quoted-keyword"`,
    /* 22 */ `@a : PSK 0x`,
    /* 23 */ `@a : PIN "1234"`,
    /* 24 */ `@a : mysecretword`,
    /* 25 */ `east : PSK "abcdefgh"`,
  ].join("\n");
  const r = loadSecrets(file, memFs({ [file]: body }, { [file]: 0o644 }));
  assert.deepEqual(r.log, [
    `loading secrets from "/etc/ipsec.secrets"`,
    `no secrets filename matched "/etc/nothing-here/*.secrets"`,
  ]);
  assert.deepEqual(r.warnings, [
    `WARNING: "/etc/ipsec.secrets" is readable by others; chmod 600 it`,
    `"/etc/ipsec.secrets" line 2: WARNING: using a weak secret (PSK)`,
    `"/etc/ipsec.secrets" line 3: WARNING: ignored unrecognized keyword: RSA`,
    `"/etc/ipsec.secrets" line 23: WARNING: ignored unrecognized keyword: PIN`,
    `"/etc/ipsec.secrets" line 24: WARNING: ignored unrecognized keyword (not shown: it may be a secret)`,
  ]);
  assert.deepEqual(r.errors, [
    `"/etc/ipsec.secrets" line 1: file starts with indentation (continuation notation)`,
    `"/etc/ipsec.secrets" line 13: unterminated string`,
    `"/etc/ipsec.secrets" line 4: ERROR: unexpected end of record in PSK`,
    `"/etc/ipsec.secrets" line 5: ERROR: unexpected end of record in XAUTH`,
    `"/etc/ipsec.secrets" line 6: PSK data malformed (odd number of hex digits)`,
    `"/etc/ipsec.secrets" line 7: PSK data malformed (non-hex character at hex digit 1)`,
    `"/etc/ipsec.secrets" line 8: PSK data malformed (not valid base64 after 0s)`,
    `"/etc/ipsec.secrets" line 9: PSK data malformed (unknown format; write a "quoted string", 0x<hex>, 0s<base64> or 0t<text>)`,
    `"/etc/ipsec.secrets" line 10: expected record boundary in key`,
    `ERROR "/etc/ipsec.secrets" line 11: index "1.2.3" "1.2.3" is not an IP address; write "@1.2.3" for a name ID (swan does not resolve DNS names)`,
    `"/etc/ipsec.secrets" line 12: unexpected end of id list`,
    `"/etc/ipsec.secrets" line 14: ERROR: expected PSK, XAUTH or PPKS after ":"`,
    `"/etc/ipsec.secrets" line 15: ERROR: PPK ID should be in quotation marks`,
    `"/etc/ipsec.secrets" line 16: ERROR: No PPK found. PPK should be specified after PPK ID`,
    `"/etc/ipsec.secrets" line 17: unexpected end of include directive`,
    `"/etc/ipsec.secrets" line 18: ignoring malformed INCLUDE -- expected Record Boundary after filename`,
    `"/etc/ipsec.secrets" line 20: PPK data malformed (non-hex character at hex digit 1)`,
    `"/etc/ipsec.secrets" line 21: ERROR: expected PSK, XAUTH or PPKS after ":"`,
    `"/etc/ipsec.secrets" line 22: PSK data malformed (no hex digits after 0x)`,
    `ERROR "/etc/ipsec.secrets" line 25: index "east" "east" is not an IP address; write "@east" for a name ID (swan does not resolve DNS names)`,
  ]);
  // only the weak (but valid) PSK on line 2 survives
  assert.deepEqual(r.entries.map((e) => e.line), [2]);
});

Deno.test("secret bytes never appear in any message", () => {
  const marker = "SeKrEt";
  const lines = [
    `@a : PSK "${marker}" ${marker}`,
    `@a : PSK ${marker}`,
    `@a : PSK 0x${marker}`,
    `@a : PSK 0s${marker}`,
    `@a : ${marker}`,
    `@a : "${marker}"`,
    `@a @b "${marker}"`,
    `@a ${marker}`,
    `@a : PPKS "id" ${marker}`,
    `@a : XAUTH ${marker}`,
    `@a : PSK "${marker}`,
  ];
  const r = loadSecrets("/s", memFs({ "/s": lines.join("\n") }, { "/s": 0o666 }));
  const messages = [...r.log, ...r.warnings, ...r.errors];
  assert.ok(r.errors.length >= lines.length - 1);
  for (const m of messages) assert.ok(!m.includes(marker), m);
});

Deno.test("includes: relative to the including file, globbed, nested at most 10 deep", () => {
  const files: Record<string, string> = {
    "/etc/ipsec.secrets": `include ipsec.d/*.secrets\n@top : PSK "top-secret-key"\n`,
    "/etc/ipsec.d/a.secrets": `@a : PSK "aaaaaaaaaa"\ninclude sub/b.inc\n`,
    "/etc/ipsec.d/sub/b.inc": `@b : PSK "bbbbbbbbbb"\n`,
    "/etc/ipsec.d/c.secrets": `include /abs/d.secrets\n`,
    "/abs/d.secrets": `@d : PSK "dddddddddd"\n`,
  };
  const r = loadSecrets("/etc/ipsec.secrets", memFs(files));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.log, [
    `loading secrets from "/etc/ipsec.secrets"`,
    `loading secrets from "/etc/ipsec.d/a.secrets"`,
    `loading secrets from "/etc/ipsec.d/sub/b.inc"`,
    `loading secrets from "/etc/ipsec.d/c.secrets"`,
    `loading secrets from "/abs/d.secrets"`,
  ]);
  assert.deepEqual(r.entries.map((e) => [e.indices[0].text, e.file, e.line]), [
    ["@a", "/etc/ipsec.d/a.secrets", 1],
    ["@b", "/etc/ipsec.d/sub/b.inc", 1],
    ["@d", "/abs/d.secrets", 1],
    ["@top", "/etc/ipsec.secrets", 2],
  ]);

  // a relative top-level pattern includes relative to the current directory
  const rel = loadSecrets(
    "x.secrets",
    memFs({ "x.secrets": `include y.secrets\n`, "y.secrets": `@y : PSK "yyyyyyyyyy"\n` }),
  );
  assert.deepEqual(rel.entries.map((e) => e.file), ["y.secrets"]);

  // a chain of 12 files: depth 0 … 10 load, the 11th include is refused
  const chain: Record<string, string> = {};
  for (let i = 0; i < 12; i++) {
    chain[`/c/${i}`] = `include ${i + 1}\n@n${i} : PSK "chain-key-${i}"\n`;
  }
  const deep = loadSecrets("/c/0", memFs(chain));
  assert.equal(deep.entries.length, 11);
  assert.deepEqual(deep.errors, [`preshared secrets file "/c/11" nested too deeply`]);

  // a file including itself stops at the same limit rather than looping forever
  const loop = loadSecrets("/l", memFs({ "/l": `include l\n` }));
  assert.deepEqual(loop.errors, [`preshared secrets file "/l" nested too deeply`]);
  assert.equal(loop.log.length, 11);

  // top-level pattern with no match
  const none = loadSecrets("/etc/none/*.secrets", memFs({}));
  assert.deepEqual(none, {
    entries: [],
    log: [`no secrets filename matched "/etc/none/*.secrets"`],
    warnings: [],
    errors: [],
  });
});

Deno.test("unreadable files are reported, not thrown", () => {
  const fs: SecretsFs = {
    readTextFile: () => {
      throw new Error("Permission denied");
    },
    expandGlob: (p) => [p],
    mode: () => undefined,
  };
  const r = loadSecrets("/root/x", fs);
  assert.deepEqual(r.errors, [`could not open "/root/x": Permission denied`]);
  assert.deepEqual(r.entries, []);
});

Deno.test("glob.ts and denoSecretsFs on a real directory", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${dir}/ipsec.d`);
    Deno.writeTextFileSync(`${dir}/ipsec.secrets`, `include ipsec.d/*.secrets\n`);
    Deno.writeTextFileSync(`${dir}/ipsec.d/b.secrets`, `@b : PSK "bbbbbbbbbb"\n`);
    Deno.writeTextFileSync(`${dir}/ipsec.d/a.secrets`, `@a : PSK "aaaaaaaaaa"\n`);
    Deno.writeTextFileSync(`${dir}/ipsec.d/.hidden.secrets`, `@h : PSK "hhhhhhhhhh"\n`);
    Deno.writeTextFileSync(`${dir}/ipsec.d/c.conf`, ``);
    Deno.chmodSync(`${dir}/ipsec.secrets`, 0o600);
    Deno.chmodSync(`${dir}/ipsec.d/a.secrets`, 0o600);
    Deno.chmodSync(`${dir}/ipsec.d/b.secrets`, 0o640);

    assert.deepEqual(expandGlob(`${dir}/ipsec.d/*.secrets`), [
      `${dir}/ipsec.d/a.secrets`,
      `${dir}/ipsec.d/b.secrets`,
    ]);
    assert.deepEqual(expandGlob(`${dir}/ipsec.d/.*.secrets`), [`${dir}/ipsec.d/.hidden.secrets`]);
    assert.deepEqual(expandGlob(`${dir}/ipsec.d/?.secrets`), [
      `${dir}/ipsec.d/a.secrets`,
      `${dir}/ipsec.d/b.secrets`,
    ]);
    assert.deepEqual(expandGlob(`${dir}/ipsec.d/[!a].*`), [
      `${dir}/ipsec.d/b.secrets`,
      `${dir}/ipsec.d/c.conf`,
    ]);
    assert.deepEqual(expandGlob(`${dir}/ipsec.d/[a-b].secrets`), [
      `${dir}/ipsec.d/a.secrets`,
      `${dir}/ipsec.d/b.secrets`,
    ]);
    assert.deepEqual(expandGlob(`${dir}/*/c.conf`), [`${dir}/ipsec.d/c.conf`]);
    assert.deepEqual(expandGlob(`${dir}/ipsec.secrets`), [`${dir}/ipsec.secrets`]);
    assert.deepEqual(expandGlob(`${dir}/missing`), []);
    assert.deepEqual(expandGlob(`${dir}/missing/*`), []);

    const r = loadSecrets(`${dir}/ipsec.secrets`, denoSecretsFs);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, [
      `WARNING: "${dir}/ipsec.d/b.secrets" is readable by others; chmod 600 it`,
    ]);
    assert.deepEqual(r.entries.map((e: SecretEntry) => e.indices[0].text), ["@a", "@b"]);
    assert.equal(denoSecretsFs.mode(`${dir}/nope`), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
