import assert from "node:assert/strict";
import {
  addressEquals,
  addressKey,
  formatAddress,
  formatSelector,
  hostSelector,
  parseAddress,
  parseSelector,
  type Selector,
  selectorContains,
  selectorEquals,
  selectorIntersection,
} from "../../src/config/addresses.ts";

function addr(text: string) {
  const a = parseAddress(text);
  if (a === undefined) throw new Error(`test setup: ${text} did not parse`);
  return a;
}

function sel(text: string): Selector {
  const r = parseSelector(text);
  if (!r.ok) throw new Error(`test setup: ${text}: ${r.error}`);
  return r.value;
}

Deno.test("IPv4 dotted quad parses to network-order bytes", () => {
  assert.deepEqual(addr("192.0.2.1"), { family: 4, bytes: Uint8Array.of(192, 0, 2, 1) });
  assert.deepEqual(addr("0.0.0.0").bytes, new Uint8Array(4));
  assert.deepEqual(addr("255.255.255.255").bytes, Uint8Array.of(255, 255, 255, 255));
});

Deno.test("bad IPv4 text is refused", () => {
  for (
    const bad of [
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "1.2.3.",
      "a.b.c.d",
      "",
      " 1.2.3.4",
      "1.2.3.4/32",
      "1..2.3",
    ]
  ) {
    assert.equal(parseAddress(bad), undefined, bad);
  }
});

Deno.test("IPv6 text forms (RFC 4291 §2.2) parse to the same bytes", () => {
  const expected = Uint8Array.of(
    0x20,
    0x01,
    0x0d,
    0xb8,
    0,
    0,
    0,
    0,
    0,
    0x08,
    0x08,
    0x00,
    0x20,
    0x0c,
    0x41,
    0x7a,
  );
  for (
    const text of [
      "2001:DB8:0:0:8:800:200C:417A",
      "2001:db8::8:800:200c:417a",
      "2001:0db8:0000:0000:0008:0800:200c:417a",
    ]
  ) {
    assert.deepEqual(addr(text), { family: 6, bytes: expected }, text);
  }
  assert.deepEqual(addr("::").bytes, new Uint8Array(16));
  const loopback = new Uint8Array(16);
  loopback[15] = 1;
  assert.deepEqual(addr("::1").bytes, loopback);
  // embedded IPv4 (RFC 4291 §2.2 form 3)
  assert.deepEqual(
    addr("::ffff:192.0.2.1").bytes,
    Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1),
  );
  assert.deepEqual(
    addr("0:0:0:0:0:FFFF:129.144.52.38").bytes,
    Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 129, 144, 52, 38),
  );
});

Deno.test("bad IPv6 text is refused", () => {
  for (
    const bad of [
      "2001:db8::1::2",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "1:2:3:4::5:6:7:8", // "::" must stand for at least one group
      "12345::",
      "g::1",
      "fe80::1%eth0",
      "[::1]",
      ":1:2:3:4:5:6:7",
      "::1.2.3.4:5",
      "::256.1.1.1",
    ]
  ) {
    assert.equal(parseAddress(bad), undefined, bad);
  }
});

Deno.test("IPv6 output is RFC 5952 canonical (§4 examples)", () => {
  const cases: [string, string][] = [
    // §4.1 leading zeros suppressed
    ["2001:0db8::0001", "2001:db8::1"],
    // §4.2.1 shorten as much as possible
    ["2001:db8:0:0:0:0:2:1", "2001:db8::2:1"],
    ["2001:db8::0:1", "2001:db8::1"],
    // §4.2.2 a single 16-bit 0 field is not shortened
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    // §4.2.3 the longest run, the first on a tie
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    // §4.3 lower case
    ["2001:DB8::ABCD", "2001:db8::abcd"],
    // §5 IPv4-mapped addresses use the dotted quad
    ["::FFFF:c000:0201", "::ffff:192.0.2.1"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["fe80:0:0:0:0:0:0:0", "fe80::"],
  ];
  for (const [input, canonical] of cases) {
    assert.equal(formatAddress(addr(input)), canonical, input);
  }
  assert.equal(formatAddress(addr("192.0.2.1")), "192.0.2.1");
});

Deno.test("address equality and keys", () => {
  assert.ok(addressEquals(addr("2001:db8::1"), addr("2001:0DB8:0:0::1")));
  assert.ok(!addressEquals(addr("192.0.2.1"), addr("192.0.2.2")));
  // ::ffff:192.0.2.1 is an IPv6 address, not the IPv4 one
  assert.ok(!addressEquals(addr("192.0.2.1"), addr("::ffff:192.0.2.1")));
  assert.equal(addressKey(addr("2001:db8::1")), addressKey(addr("2001:0DB8:0:0::1")));
  assert.notEqual(addressKey(addr("192.0.2.1")), addressKey(addr("::ffff:192.0.2.1")));
});

Deno.test("selectors: address/prefix, protocol and port", () => {
  const s = sel("192.0.2.0/24");
  assert.deepEqual(s.start, Uint8Array.of(192, 0, 2, 0));
  assert.deepEqual(s.end, Uint8Array.of(192, 0, 2, 255));
  assert.equal(s.protocol, 0);
  assert.deepEqual([s.startPort, s.endPort], [0, 65535]);
  assert.equal(formatSelector(s), "192.0.2.0/24");

  const host = sel("192.0.2.1");
  assert.ok(selectorEquals(host, hostSelector(addr("192.0.2.1"))));
  assert.equal(formatSelector(host), "192.0.2.1/32");

  const udp = sel("192.0.2.1/32/udp/1701");
  assert.equal(udp.protocol, 17);
  assert.deepEqual([udp.startPort, udp.endPort], [1701, 1701]);
  // Libreswan status prints e.g. 172.19.0.2/32/UDP/1701
  assert.equal(formatSelector(udp), "192.0.2.1/32/UDP/1701");
  assert.equal(formatSelector(sel("10.0.0.0/8/6")), "10.0.0.0/8/TCP");
  assert.equal(formatSelector(sel("10.0.0.0/8/tcp/%any")), "10.0.0.0/8/TCP");
  assert.equal(sel("2001:db8::/32/icmpv6").protocol, 58);
  assert.equal(sel("0.0.0.0/0/icmp").protocol, 1);
  assert.equal(sel("0.0.0.0/0/%any").protocol, 0);
  assert.equal(formatSelector(sel("2001:db8::/32")), "2001:db8::/32");
  assert.equal(formatSelector(sel("::/0")), "::/0");
  const all6 = sel("::/0");
  assert.deepEqual(all6.end, new Uint8Array(16).fill(0xff));
  assert.equal(formatSelector(hostSelector(addr("2001:db8::1"))), "2001:db8::1/128");
});

Deno.test("selector errors name the problem", () => {
  const err = (text: string) => {
    const r = parseSelector(text);
    assert.ok(!r.ok, text);
    return r.error;
  };
  assert.equal(
    err("192.0.2.1/24"),
    `"192.0.2.1/24" has host bits set; did you mean "192.0.2.0/24"?`,
  );
  assert.equal(
    err("2001:db8::1/64"),
    `"2001:db8::1/64" has host bits set; did you mean "2001:db8::/64"?`,
  );
  assert.match(err("192.0.2.0/33"), /prefix length "33" is not a number from 0 to 32/);
  assert.match(err("192.0.2.0/x"), /prefix length "x"/);
  assert.match(err("1.2.3/24"), /"1\.2\.3" is not an IP address/);
  assert.match(err("192.0.2.0/24/foo"), /"foo" is not an IP protocol/);
  assert.match(err("192.0.2.0/24/256"), /"256" is not an IP protocol/);
  assert.match(err("192.0.2.0/24/tcp/65536"), /"65536" is not a port/);
  assert.match(err("192.0.2.0/24/0/22"), /a port needs a protocol/);
  assert.match(err("192.0.2.0/24/tcp/22/1"), /is not a selector/);
});

Deno.test("selector containment", () => {
  assert.ok(selectorContains(sel("192.0.2.0/24"), sel("192.0.2.128/25")));
  assert.ok(selectorContains(sel("192.0.2.0/24"), sel("192.0.2.0/24")));
  assert.ok(!selectorContains(sel("192.0.2.128/25"), sel("192.0.2.0/24")));
  assert.ok(selectorContains(sel("0.0.0.0/0"), sel("192.0.2.7/32/tcp/22")));
  assert.ok(selectorContains(sel("192.0.2.0/24/tcp"), sel("192.0.2.7/32/tcp/22")));
  assert.ok(!selectorContains(sel("192.0.2.0/24/tcp/22"), sel("192.0.2.7/32/tcp")));
  assert.ok(!selectorContains(sel("192.0.2.0/24/udp"), sel("192.0.2.7/32/tcp/22")));
  assert.ok(!selectorContains(sel("::/0"), sel("192.0.2.7/32")));
});

Deno.test("selector intersection (narrowing)", () => {
  const both = selectorIntersection(sel("192.0.2.0/24"), sel("192.0.2.128/25/tcp"));
  assert.ok(both !== undefined);
  assert.ok(selectorEquals(both, sel("192.0.2.128/25/tcp")));
  assert.equal(selectorIntersection(sel("192.0.2.0/25"), sel("192.0.2.128/25")), undefined);
  assert.equal(selectorIntersection(sel("192.0.2.0/24/tcp"), sel("192.0.2.0/24/udp")), undefined);
  assert.equal(selectorIntersection(sel("192.0.2.0/24"), sel("::/0")), undefined);
  const port = selectorIntersection(sel("0.0.0.0/0/tcp"), sel("192.0.2.1/32/6/443"));
  assert.ok(port !== undefined);
  assert.equal(formatSelector(port), "192.0.2.1/32/TCP/443");
  assert.equal(selectorIntersection(sel("0.0.0.0/0/tcp/80"), sel("0.0.0.0/0/tcp/443")), undefined);
});

Deno.test("a range that is not one prefix prints as lo-hi", () => {
  // 192.0.2.0/24 ∩ (hand-made range .5-.20) = .5-.20
  const range: Selector = {
    family: 4,
    start: Uint8Array.of(192, 0, 2, 5),
    end: Uint8Array.of(192, 0, 2, 20),
    protocol: 0,
    startPort: 0,
    endPort: 65535,
  };
  const r = selectorIntersection(sel("192.0.2.0/24"), range);
  assert.ok(r !== undefined);
  assert.equal(formatSelector(r), "192.0.2.5-192.0.2.20");
  assert.equal(
    formatSelector({ ...range, protocol: 6, startPort: 1000, endPort: 2000 }),
    "192.0.2.5-192.0.2.20/TCP/1000-2000",
  );
});
