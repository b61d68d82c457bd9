/**
 * Traffic selectors (RFC 7296 §2.9, §3.13): the wire form, the responder's
 * decision (our configuration must lie inside what the peer proposed) and
 * the initiator's check of the answer (equal, or narrower only when
 * narrowing is allowed).
 */
import assert from "node:assert/strict";
import {
  hostSelector,
  parseAddress,
  parseSelector,
  type Selector,
} from "../../src/config/addresses.ts";
import {
  acceptNarrowed,
  endSelectors,
  fromWire,
  narrow,
  toWire,
} from "../../src/ike/traffic_selectors.ts";
import { TsType } from "../../src/wire/constants.ts";

/** `198.51.100.0/24`, `2001:db8::/32`, `192.0.2.1/32/tcp/443` … as a selector. */
function sel(text: string): Selector {
  const parsed = parseSelector(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

/** A range that is not one prefix, as a peer may send it. */
function range(start: string, end: string): Selector {
  return {
    ...sel(`${start}/32`),
    end: parseAddress(end)!.bytes,
  };
}

Deno.test("traffic selectors: toWire gives the RFC 7296 §3.13.1 range fields", () => {
  const v4 = toWire(sel("198.51.100.0/24/tcp/443"));
  assert.deepEqual(v4, {
    tsType: TsType.TS_IPV4_ADDR_RANGE,
    ipProtocol: 6,
    startPort: 443,
    endPort: 443,
    startAddress: Uint8Array.of(198, 51, 100, 0),
    endAddress: Uint8Array.of(198, 51, 100, 255),
  });
  assert.equal(TsType.TS_IPV4_ADDR_RANGE, 7);
  const v6 = toWire(sel("2001:db8::/32"));
  assert.equal(v6.tsType, TsType.TS_IPV6_ADDR_RANGE);
  assert.equal(TsType.TS_IPV6_ADDR_RANGE, 8);
  assert.deepEqual([v6.ipProtocol, v6.startPort, v6.endPort], [0, 0, 65535]);
  assert.equal(v6.startAddress.length, 16);
  assert.deepEqual([...v6.endAddress.subarray(4)], Array(12).fill(0xff));
});

Deno.test("traffic selectors: fromWire inverts toWire and skips what it cannot represent", () => {
  for (const text of ["198.51.100.0/24", "203.0.113.7/32/udp/4500", "2001:db8:1::/48/tcp"]) {
    assert.deepEqual(fromWire(toWire(sel(text))), sel(text), text);
  }
  const v4 = toWire(sel("198.51.100.0/24"));
  assert.equal(fromWire({ ...v4, tsType: 13 }), undefined, "TS_FC_ADDR_RANGE is not handled");
  assert.equal(
    fromWire({ ...v4, tsType: TsType.TS_IPV6_ADDR_RANGE }),
    undefined,
    "IPv6 type with 4-octet addresses",
  );
  assert.equal(
    fromWire({ ...toWire(sel("2001:db8::/32")), tsType: TsType.TS_IPV4_ADDR_RANGE }),
    undefined,
    "IPv4 type with 16-octet addresses",
  );
});

Deno.test("traffic selectors: endSelectors falls back to the host when no subnet is set", () => {
  const host = parseAddress("192.0.2.1")!;
  assert.deepEqual(endSelectors([sel("198.51.100.0/24")], host, hostSelector), [
    sel("198.51.100.0/24"),
  ]);
  assert.deepEqual(endSelectors([], host, hostSelector), [sel("192.0.2.1/32")]);
  assert.deepEqual(endSelectors([], undefined, hostSelector), []);
});

Deno.test("traffic selectors: narrow answers our configuration when the proposal covers it", () => {
  const ours = [sel("198.51.100.0/24")];
  assert.deepEqual(narrow(ours, [sel("198.51.100.0/24")]), ours, "equal");
  assert.deepEqual(narrow(ours, [sel("0.0.0.0/0")]), ours, "the peer proposed everything");
  assert.deepEqual(narrow(ours, [range("198.51.99.0", "198.51.101.255")]), ours, "a wider range");
  assert.deepEqual(
    narrow(ours, [sel("2001:db8::/32"), sel("198.51.0.0/16")]),
    ours,
    "one of several proposed selectors covers it",
  );
  // Two configured selectors, each covered by a different proposed one.
  const two = [sel("198.51.100.0/25"), sel("198.51.100.128/25")];
  assert.deepEqual(narrow(two, [sel("198.51.100.128/25"), sel("198.51.100.0/25")]), two);
});

Deno.test("traffic selectors: narrow refuses (TS_UNACCEPTABLE) what does not cover our configuration", () => {
  const ours = [sel("198.51.100.0/24")];
  const refused: [string, Selector[]][] = [
    ["nothing proposed", []],
    ["a narrower subnet", [sel("198.51.100.0/25")]],
    ["a partial overlap", [range("198.51.100.128", "198.51.101.255")]],
    ["a disjoint subnet", [sel("203.0.113.0/24")]],
    ["the other family", [sel("::/0")]],
    ["one protocol only", [sel("198.51.100.0/24/tcp")]],
    ["one port only", [sel("198.51.100.0/24/udp/500")]],
    ["halves that only together cover it", [sel("198.51.100.0/25"), sel("198.51.100.128/25")]],
  ];
  for (const [what, proposed] of refused) {
    assert.equal(narrow(ours, proposed), undefined, `${what} was accepted`);
  }
  // Every configured selector must be covered, not just one of them.
  assert.equal(
    narrow([sel("198.51.100.0/24"), sel("203.0.113.0/24")], [sel("198.51.100.0/24")]),
    undefined,
  );
});

Deno.test("traffic selectors: acceptNarrowed takes an equal answer and refuses a wider or empty one", () => {
  const proposed = [sel("198.51.100.0/24")];
  for (const narrowing of [false, true]) {
    assert.equal(acceptNarrowed(proposed, [sel("198.51.100.0/24")], narrowing), true);
    assert.equal(acceptNarrowed(proposed, [], narrowing), false, "an empty answer");
    assert.equal(acceptNarrowed(proposed, [sel("198.51.0.0/16")], narrowing), false, "wider");
    assert.equal(acceptNarrowed(proposed, [sel("203.0.113.0/24")], narrowing), false, "disjoint");
    assert.equal(
      acceptNarrowed(proposed, [range("198.51.100.128", "198.51.101.0")], narrowing),
      false,
      "overlapping but sticking out",
    );
    assert.equal(
      acceptNarrowed(proposed, [sel("198.51.100.0/24"), sel("203.0.113.0/24")], narrowing),
      false,
      "one answered selector outside the proposal spoils the answer",
    );
  }
});

Deno.test("traffic selectors: acceptNarrowed takes a narrower answer only with narrowing allowed", () => {
  const proposed = [sel("198.51.100.0/24"), sel("2001:db8:1::/64")];
  const narrower: Selector[][] = [
    [sel("198.51.100.0/25")],
    [sel("198.51.100.7/32/tcp/22")],
    [sel("2001:db8:1::/96"), sel("198.51.100.128/26")],
  ];
  for (const answer of narrower) {
    assert.equal(acceptNarrowed(proposed, answer, false), false);
    assert.equal(acceptNarrowed(proposed, answer, true), true);
  }
  // The answer naming a protocol where we proposed one: equal only when the protocol matches.
  const tcp = [sel("198.51.100.0/24/tcp")];
  assert.equal(acceptNarrowed(tcp, [sel("198.51.100.0/24/tcp")], false), true);
  assert.equal(acceptNarrowed(tcp, [sel("198.51.100.0/24/udp")], true), false);
  assert.equal(acceptNarrowed(tcp, [sel("198.51.100.0/24")], true), false, "any protocol is wider");
});
