import assert from "node:assert/strict";
import { parseAddress } from "../../src/config/addresses.ts";
import {
  idEquals,
  idFromAddress,
  idFromWire,
  idMatches,
  idTypeName,
  type IkeId,
  isAnyId,
  parseId,
} from "../../src/config/ids.ts";

function id(text: string): IkeId {
  const r = parseId(text);
  if (!r.ok) throw new Error(`test setup: ${text}: ${r.error}`);
  return r.value;
}

function err(text: string): string {
  const r = parseId(text);
  assert.ok(!r.ok, `${text} should be refused`);
  return r.error;
}

const ascii = (s: string) => new TextEncoder().encode(s);
const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));

Deno.test("each text form gives the RFC 7296 §3.5 type and payload bytes", () => {
  const cases: [string, number, Uint8Array, string][] = [
    ["@east", 2, ascii("east"), "@east"],
    [
      "@east.testing.libreswan.org",
      2,
      ascii("east.testing.libreswan.org"),
      "@east.testing.libreswan.org",
    ],
    ["user@example.com", 3, ascii("user@example.com"), "user@example.com"],
    ["192.1.2.23", 1, Uint8Array.of(192, 1, 2, 23), "192.1.2.23"],
    ["2001:DB8:0::1", 5, hex("20010db8000000000000000000000001"), "2001:db8::1"],
    ["@#0102abCD", 11, Uint8Array.of(1, 2, 0xab, 0xcd), "@#0x0102abcd"],
    ["@#0x0102", 11, Uint8Array.of(1, 2), "@#0x0102"],
    ["@[GroupName]", 11, ascii("GroupName"), "@#0x47726f75704e616d65"],
    ["@[open", 11, ascii("open"), "@#0x6f70656e"],
    ["%null", 13, new Uint8Array(0), "ID_NULL"],
    ["%any", 0, new Uint8Array(0), "(none)"],
    ["%none", 0, new Uint8Array(0), "(none)"],
    ["0.0.0.0", 0, new Uint8Array(0), "(none)"],
  ];
  for (const [text, type, data, printed] of cases) {
    const v = id(text);
    assert.equal(v.type, type, text);
    assert.deepEqual(v.data, data, text);
    assert.equal(v.text, printed, text);
  }
});

Deno.test("DN text is DER-encoded (checked against hand-derived bytes, as openssl asn1parse shows)", () => {
  // SEQUENCE { SET { SEQUENCE { OID 2.5.4.6, PrintableString "CA" } },
  //            SET { SEQUENCE { OID 2.5.4.10, PrintableString "Libreswan" } },
  //            SET { SEQUENCE { OID 2.5.4.3, PrintableString "east" } } }
  const expected = hex(
    "3030" +
      "310b" + "3009" + "0603550406" + "13024341" +
      "3112" + "3010" + "060355040a" + "13094c696272657377616e" +
      "310d" + "300b" + "0603550403" + "130465617374",
  );
  for (
    const text of [
      "C=CA, O=Libreswan, CN=east",
      "C=CA,O=Libreswan,CN=east",
      "@C=CA, O=Libreswan, CN=east",
      "/C=CA/O=Libreswan/CN=east",
      "c=CA, o=Libreswan, cn=east",
    ]
  ) {
    const v = id(text);
    assert.equal(v.type, 9, text);
    assert.deepEqual(v.data, expected, text);
    assert.equal(v.text, "C=CA, O=Libreswan, CN=east", text);
  }
});

Deno.test("DN attribute string types: IA5String for E/DC, UTF8String for non-printable text, long lengths", () => {
  // E = 1.2.840.113549.1.9.1 as IA5String (0x16)
  const e = id("E=a@b.c");
  assert.deepEqual(
    e.data,
    hex("3016" + "3114" + "3012" + "06092a864886f70d010901" + "1605" + "6140622e63"),
  );
  // DC = 0.9.2342.19200300.100.1.25 as IA5String
  assert.deepEqual(
    id("DC=org").data,
    hex("3015" + "3113" + "3011" + "060a0992268993f22c640119" + "1603" + "6f7267"),
  );
  // "Zürich" is not PrintableString: UTF8String (0x0c) with UTF-8 bytes
  assert.deepEqual(
    id("O=Zürich").data,
    hex("3012" + "3110" + "300e" + "060355040a" + "0c07" + "5ac3bc72696368"),
  );
  // a 200-byte CN needs long-form lengths: value 13 81 c8 (203 bytes), AVA 30 81 d0
  // (5 + 203 = 208), SET 31 81 d3 (211), Name 30 81 d6 (214)
  const long = "x".repeat(200);
  const der = id(`CN=${long}`).data;
  assert.deepEqual(der.subarray(0, 3), hex("3081d6"));
  assert.deepEqual(der.subarray(3, 6), hex("3181d3"));
  assert.deepEqual(der.subarray(6, 9), hex("3081d0"));
  assert.deepEqual(der.subarray(9, 14), hex("0603550403"));
  assert.deepEqual(der.subarray(14, 17), hex("1381c8"));
  assert.equal(der.length, 17 + 200);
});

Deno.test("Libreswan's test DN round-trips through DER to the text status shows", () => {
  const text =
    "C=CA, ST=Ontario, L=Toronto, O=Libreswan, OU=Test Department, CN=east.testing.libreswan.org, E=user-east@testing.libreswan.org";
  const v = id(text);
  assert.equal(v.text, text);
  assert.equal(v.data[0], 0x30);
  assert.equal(v.data.length, 183); // 30 81 b4 + 180 content bytes (openssl asn1parse: l=180)
  assert.equal(idFromWire(9, v.data).text, text);
  // escaping survives a round trip
  const tricky = id("CN=a\\,b, O=x\\+y");
  assert.equal(tricky.text, "CN=a\\,b, O=x\\+y");
  assert.ok(idEquals(id(tricky.text), tricky));
});

Deno.test("DN errors", () => {
  assert.match(err("C=Canada"), /not a two-letter country code/);
  assert.match(err("XX=1, CN=east"), /unknown DN attribute "XX"/);
  assert.match(err("CN=east, junk"), /DN part "junk" is not KEY=value/);
  assert.match(err("CN="), /empty value/);
  assert.match(err("CN=a+OU=b"), /multi-valued RDNs/);
  assert.match(err("E=jürgen@example.com"), /must be plain ASCII/);
});

Deno.test("other refused ID texts say why", () => {
  assert.match(err("%fromcert"), /not support/);
  assert.match(err("east"), /not an IP address; write "@east"/);
  assert.match(err("1.2.3"), /not an IP address/);
  assert.match(err("@#012"), /even number of hex digits/);
  assert.match(err("@#zz"), /even number of hex digits/);
  assert.match(err("@"), /needs a name/);
  assert.match(err(""), /empty ID/);
  assert.match(err("@~3000zz"), /DER-encoded DN/);
});

Deno.test("@~hex gives a DN from its DER", () => {
  const der = id("CN=east").data;
  const v = id(`@~${[...der].map((b) => b.toString(16).padStart(2, "0")).join("")}`);
  assert.equal(v.type, 9);
  assert.equal(v.text, "CN=east");
});

Deno.test("wire round trip: idFromWire(type, data) reproduces the parsed ID", () => {
  for (
    const text of [
      "@east",
      "user@example.com",
      "192.0.2.1",
      "2001:db8::1",
      "C=CA, CN=x",
      "@#0xdead",
      "%null",
    ]
  ) {
    const v = id(text);
    const w = idFromWire(v.type, v.data);
    assert.equal(w.text, v.text, text);
    assert.ok(idEquals(v, w), text);
  }
});

Deno.test("idFromWire never throws on malformed bodies", () => {
  assert.equal(idFromWire(1, Uint8Array.of(1, 2, 3)).text, "(IPV4_ADDR of 3 bytes, not 4)");
  assert.equal(idFromWire(5, new Uint8Array(4)).text, "(IPV6_ADDR of 4 bytes, not 16)");
  assert.equal(idFromWire(9, Uint8Array.of(0x30, 0x05, 0x31)).text, "@~300531");
  assert.equal(idFromWire(9, new Uint8Array(0)).text, "@~");
  assert.equal(idFromWire(2, Uint8Array.of(0x65, 0x0a, 0x00)).text, "@e\\x0a\\x00");
  assert.equal(idFromWire(99, Uint8Array.of(1)).text, "unknown id kind 99");
  assert.equal(idFromWire(1, new Uint8Array(4)).text, "%any");
  // a DN whose value is not a string prints as #hex of the element
  const oddValue = hex("300c" + "310a" + "3008" + "0603550403" + "020105");
  assert.equal(idFromWire(9, oddValue).text, "CN=#020105");
  // a DN with an unknown OID prints the dotted OID (1.2.3.4)
  const unknownOid = hex("300d" + "310b" + "3009" + "06032a0304" + "13026869");
  assert.equal(idFromWire(9, unknownOid).text, "1.2.3.4=hi");
  // random garbage of every length up to 64 bytes
  let seed = 7;
  for (let n = 0; n < 64; n++) {
    const bytes = new Uint8Array(n).map(() => (seed = (seed * 1103515245 + 12345) & 0xff));
    if (n > 0) bytes[0] = 0x30;
    for (const type of [0, 1, 2, 3, 5, 9, 10, 11, 12, 13, 200]) {
      assert.equal(typeof idFromWire(type, bytes).text, "string");
    }
  }
});

Deno.test("idFromAddress and type names", () => {
  const v4 = idFromAddress(parseAddress("192.1.2.45")!);
  assert.deepEqual([v4.type, v4.text], [1, "192.1.2.45"]);
  const v6 = idFromAddress(parseAddress("2001:db8:0::7")!);
  assert.deepEqual([v6.type, v6.text], [5, "2001:db8::7"]);
  const names = [0, 1, 2, 3, 5, 9, 11, 13].map(idTypeName);
  assert.deepEqual(names, [
    "%none",
    "IPV4_ADDR",
    "FQDN",
    "USER_FQDN",
    "IPV6_ADDR",
    "DER_ASN1_DN",
    "KEY_ID",
    "NULL",
  ]);
});

Deno.test("equality: FQDN case-insensitive with trailing dot, DN by value, addresses by bytes", () => {
  assert.ok(idEquals(id("@East.Example.COM"), id("@east.example.com.")));
  assert.ok(idEquals(id("User@Example.com"), id("user@example.com")));
  assert.ok(!idEquals(id("@east"), id("@west")));
  assert.ok(!idEquals(id("@east"), id("east@x")));
  assert.ok(idEquals(id("2001:db8::1"), id("2001:0db8:0:0:0:0:0:1")));
  assert.ok(!idEquals(id("192.0.2.1"), id("192.0.2.2")));
  assert.ok(idEquals(id("CN=East, O=X"), id("cn=east,o=x")));
  assert.ok(!idEquals(id("CN=east, O=X"), id("O=X, CN=east")));
  // same DN with UTF8String instead of PrintableString values (as openssl writes it)
  const utf8Dn = hex("3011" + "310f" + "300d" + "0603550403" + "0c06" + "6d6f6f6e6965");
  assert.ok(idEquals(id("CN=moonie"), idFromWire(9, utf8Dn)));
  assert.ok(idEquals(id("%null"), idFromWire(13, new Uint8Array(0))));
  assert.ok(!idEquals(id("%any"), id("@east")));
  assert.ok(idEquals(id("@#0102"), idFromWire(11, Uint8Array.of(1, 2))));
});

Deno.test("matching: %any is a wildcard, DN patterns allow * and any RDN order", () => {
  for (const actual of ["@east", "192.0.2.1", "C=CA, CN=east", "%null", "user@x"]) {
    assert.ok(idMatches(id("%any"), id(actual)), actual);
    assert.ok(!idMatches(id(actual), id("%any")) || actual === "%any", actual);
  }
  assert.ok(isAnyId(idFromWire(5, new Uint8Array(16))));
  assert.ok(idMatches(idFromWire(1, new Uint8Array(4)), id("@anything")));
  assert.ok(idMatches(id("@EAST"), id("@east")));
  assert.ok(!idMatches(id("@east"), id("east@east")));
  assert.ok(idMatches(id("C=CA, O=Libreswan, CN=*"), id("C=CA, O=Libreswan, CN=road")));
  assert.ok(idMatches(id("CN=road, C=CA, O=Libreswan"), id("C=CA, O=Libreswan, CN=road")));
  assert.ok(!idMatches(id("C=CA, O=Libreswan, CN=*"), id("C=CA, O=Other, CN=road")));
  assert.ok(!idMatches(id("C=CA, CN=*"), id("C=CA, O=Libreswan, CN=road")));
  // equality (not matching) never treats * as a wildcard
  assert.ok(!idEquals(id("C=CA, CN=*"), id("C=CA, CN=road")));
});
