/**
 * The XFRM requests swan builds, byte for byte against what iproute2 sends
 * for the same operation (fixtures captured with strace by
 * fixtures/capture_xfrm.sh; sequence numbers and port ids masked), and the
 * parsers against layouts derived by hand from <linux/xfrm.h>.
 */

import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { parseAddress } from "../../src/config/addresses.ts";
import {
  ANY_SELECTOR,
  buildAllocSpi,
  buildDeletePolicy,
  buildDeleteSa,
  buildGetSa,
  buildPolicyRequest,
  buildSaRequest,
  IPPROTO_ESP,
  isXfrmParseError,
  NO_LIFETIME,
  parseXfrmMessage,
  UDP_ENCAP_ESPINUDP,
  XFRM_MODE_TRANSPORT,
  XFRM_MODE_TUNNEL,
  XFRM_MSG_EXPIRE,
  XFRM_MSG_NAMES,
  XFRM_MSG_NEWSA,
  XFRM_POLICY_ALLOW,
  XFRM_STATE_AF_UNSPEC,
  XFRM_STATE_ESN,
  type XfrmRequest,
  type XfrmSelector,
} from "../../src/kernel/xfrm_messages.ts";
import { encodeMessage, NLM_F_ACK, NLM_F_REQUEST } from "../../ffi/netlink_message.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);

/** What strace printed for one `ip xfrm` request. */
interface Captured {
  command: string;
  length: number;
  type: string;
  flags: number;
  body: Uint8Array;
}

const FLAG_VALUES: Record<string, number> = { NLM_F_REQUEST, NLM_F_ACK };

/** Reads `# command` and the strace `sendmsg(…)` line of a fixture. */
function captured(name: string): Captured {
  const [commandLine, trace] = Deno.readTextFileSync(new URL(`${name}.txt`, FIXTURES)).split("\n");
  const field = (key: string) => trace.match(new RegExp(`${key}=([A-Za-z0-9_|]+)`))![1];
  const hex = trace.match(/}, "((?:\\x[0-9a-f]{2})*)"\]/)![1];
  return {
    command: commandLine.slice(2),
    length: Number(field("nlmsg_len")),
    type: field("nlmsg_type"),
    flags: field("nlmsg_flags").split("|").reduce((f, n) => f | FLAG_VALUES[n], 0),
    body: Uint8Array.from(hex.slice(2).split("\\x"), (h) => parseInt(h, 16)),
  };
}

/** Our request framed as the socket frames it (NLM_F_REQUEST added), seq and pid 0. */
function framed(r: XfrmRequest): Uint8Array {
  return encodeMessage(r.type, r.flags | NLM_F_REQUEST, 0, r.body);
}

function assertSameAsIproute(name: string, r: XfrmRequest): void {
  const c = captured(name);
  const ours = framed(r);
  const view = new DataView(ours.buffer);
  assertEquals(
    {
      length: view.getUint32(0, true),
      type: XFRM_MSG_NAMES[r.type],
      flags: view.getUint16(6, true),
    },
    { length: c.length, type: c.type, flags: c.flags },
    c.command,
  );
  assertEquals(hex(ours.subarray(16, c.length)), hex(c.body), c.command);
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function ip(text: string) {
  return parseAddress(text)!;
}

function bytes(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g)!, (h) => parseInt(h, 16));
}

/** A selector from `addr/prefix` texts, all protocols and ports unless given. */
function selector(src: string, dst: string, extra: Partial<XfrmSelector> = {}): XfrmSelector {
  const [s, sp] = src.split("/"), [d, dp] = dst.split("/");
  const sa = ip(s), da = ip(d);
  return {
    ...ANY_SELECTOR,
    family: sa.family,
    src: sa.bytes,
    srcPrefix: Number(sp),
    dst: da.bytes,
    dstPrefix: Number(dp),
    ...extra,
  };
}

const base = { selector: ANY_SELECTOR, replayWindow: 0, flags: 0, lifetime: NO_LIFETIME };

Deno.test("ALLOCSPI matches ip xfrm state allocspi", () => {
  assertSameAsIproute(
    "allocspi",
    buildAllocSpi(
      ip("192.0.2.1"),
      ip("192.0.2.2"),
      IPPROTO_ESP,
      7,
      XFRM_MODE_TUNNEL,
      0x1000,
      0xffffffff,
    ),
  );
});

Deno.test("NEWSA with AES-GCM (XFRMA_ALG_AEAD) matches ip xfrm state add", () => {
  assertSameAsIproute(
    "newsa_gcm",
    buildSaRequest({
      ...base,
      src: ip("192.0.2.1"),
      dst: ip("192.0.2.2"),
      spi: 0x12345678,
      proto: IPPROTO_ESP,
      reqid: 1,
      mode: XFRM_MODE_TUNNEL,
      replayWindow: 32,
      flags: XFRM_STATE_AF_UNSPEC,
      aead: {
        name: "rfc4106(gcm(aes))",
        key: bytes("0102030405060708090a0b0c0d0e0f1011121314"),
        icvBits: 128,
      },
    }, false),
  );
});

Deno.test("NEWSA with AES-CBC, HMAC-SHA2-256, ESPinUDP, ESN and lifetimes matches ip xfrm", () => {
  assertSameAsIproute(
    "newsa_cbc_encap",
    buildSaRequest({
      ...base,
      src: ip("192.0.2.1"),
      dst: ip("192.0.2.2"),
      spi: 0xc0ffee01,
      proto: IPPROTO_ESP,
      reqid: 2,
      mode: XFRM_MODE_TRANSPORT,
      flags: XFRM_STATE_ESN,
      lifetime: {
        ...NO_LIFETIME,
        softAddSeconds: 3000n,
        hardAddSeconds: 3600n,
        softBytes: 900000n,
        hardBytes: 1000000n,
        softPackets: 9000n,
        hardPackets: 10000n,
      },
      crypt: { name: "cbc(aes)", key: bytes("00112233445566778899aabbccddeeff") },
      auth: {
        name: "hmac(sha256)",
        key: bytes("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"),
        truncBits: 128,
      },
      encap: { type: UDP_ENCAP_ESPINUDP, sport: 4500, dport: 4500 },
      esnWindow: 128,
    }, false),
  );
});

Deno.test("UPDSA over IPv6 with ChaCha20-Poly1305 matches ip xfrm state update", () => {
  const key = new Uint8Array(36).map((_, i) => i);
  assertSameAsIproute(
    "updsa_v6_chacha",
    buildSaRequest({
      ...base,
      src: ip("2001:db8::1"),
      dst: ip("2001:db8::2"),
      spi: 0x1001,
      proto: IPPROTO_ESP,
      reqid: 3,
      mode: XFRM_MODE_TUNNEL,
      esnWindow: 64,
      aead: { name: "rfc7539esp(chacha20,poly1305)", key, icvBits: 128 },
    }, true),
  );
});

Deno.test("DELSA and GETSA match ip xfrm state delete/get (with XFRMA_SRCADDR)", () => {
  const id = { src: ip("192.0.2.1"), dst: ip("192.0.2.2"), spi: 0x12345678, proto: IPPROTO_ESP };
  assertSameAsIproute("delsa", buildDeleteSa(id));
  assertSameAsIproute("getsa", buildGetSa(id));
});

Deno.test("NEWPOLICY out with a tunnel template matches ip xfrm policy add", () => {
  assertSameAsIproute(
    "newpolicy_out",
    buildPolicyRequest({
      selector: selector("198.51.100.0/24", "203.0.113.0/24"),
      dir: "out",
      priority: 1000,
      action: XFRM_POLICY_ALLOW,
      lifetime: NO_LIFETIME,
      templates: [{
        family: 4,
        src: ip("192.0.2.1"),
        dst: ip("192.0.2.2"),
        spi: 0,
        proto: IPPROTO_ESP,
        reqid: 1,
        mode: XFRM_MODE_TUNNEL,
        optional: false,
      }],
    }, false),
  );
});

Deno.test("UPDPOLICY fwd over IPv6 with protocol and port matches ip xfrm policy update", () => {
  const sel = selector("2001:db8:1::/48", "2001:db8:2::1/128", {
    proto: 6,
    dport: 22,
    dportMask: 0xffff,
  });
  assertSameAsIproute(
    "updpolicy_fwd_v6",
    buildPolicyRequest({
      selector: sel,
      dir: "fwd",
      priority: 2000,
      action: XFRM_POLICY_ALLOW,
      lifetime: NO_LIFETIME,
      templates: [{
        family: 6,
        src: ip("2001:db8::2"),
        dst: ip("2001:db8::1"),
        spi: 0,
        proto: IPPROTO_ESP,
        reqid: 3,
        mode: XFRM_MODE_TUNNEL,
        optional: false,
      }],
    }, true),
  );
  assertSameAsIproute("delpolicy_v6", buildDeletePolicy(sel, "fwd"));
});

Deno.test("NEWPOLICY in with a transport template matches; DELPOLICY matches", () => {
  assertSameAsIproute(
    "newpolicy_in_transport",
    buildPolicyRequest({
      selector: selector("192.0.2.2/32", "192.0.2.1/32", {
        proto: 17,
        sport: 1701,
        sportMask: 0xffff,
      }),
      dir: "in",
      priority: 500,
      action: XFRM_POLICY_ALLOW,
      lifetime: NO_LIFETIME,
      templates: [{
        family: 4,
        spi: 0,
        proto: IPPROTO_ESP,
        reqid: 2,
        mode: XFRM_MODE_TRANSPORT,
        optional: false,
      }],
    }, false),
  );
  assertSameAsIproute(
    "delpolicy",
    buildDeletePolicy(selector("198.51.100.0/24", "203.0.113.0/24"), "out"),
  );
});

/** A NEWSA/EXPIRE body laid out by hand: `struct xfrm_usersa_info` with counters, then `hard`. */
function saBody(size: number): Uint8Array {
  const body = new Uint8Array(size);
  const v = new DataView(body.buffer);
  body.set([192, 0, 2, 1], 56); // id.daddr
  v.setUint32(72, 0xc0ffee01); // id.spi, network order
  body[76] = IPPROTO_ESP; // id.proto
  body.set([192, 0, 2, 2], 80); // saddr
  v.setBigUint64(160, 123456789n, true); // curlft.bytes
  v.setBigUint64(168, 4242n, true); // curlft.packets
  v.setUint32(208, 9, true); // reqid
  v.setUint16(212, 2, true); // family AF_INET
  body[214] = XFRM_MODE_TUNNEL;
  return body;
}

Deno.test("GETSA replies and soft EXPIRE decode counters; truncated messages are errors", () => {
  const reply = parseXfrmMessage({
    type: XFRM_MSG_NEWSA,
    flags: 0,
    seq: 1,
    pid: 0,
    body: saBody(224),
  });
  assert(!isXfrmParseError(reply) && reply.kind === "sa");
  assertEquals(
    {
      dst: Array.from(reply.sa.dst.bytes),
      src: Array.from(reply.sa.src.bytes),
      spi: reply.sa.spi,
      bytes: reply.sa.current.bytes,
      packets: reply.sa.current.packets,
      reqid: reply.sa.reqid,
      mode: reply.sa.mode,
    },
    {
      dst: [192, 0, 2, 1],
      src: [192, 0, 2, 2],
      spi: 0xc0ffee01,
      bytes: 123456789n,
      packets: 4242n,
      reqid: 9,
      mode: XFRM_MODE_TUNNEL,
    },
  );
  const expire = parseXfrmMessage({
    type: XFRM_MSG_EXPIRE,
    flags: 0,
    seq: 0,
    pid: 0,
    body: saBody(232),
  });
  assert(!isXfrmParseError(expire) && expire.kind === "expire");
  assertEquals(expire.hard, false);
  for (const [type, size] of [[XFRM_MSG_NEWSA, 223], [XFRM_MSG_EXPIRE, 231]]) {
    assert(
      isXfrmParseError(parseXfrmMessage({ type, flags: 0, seq: 0, pid: 0, body: saBody(size) })),
    );
  }
  // A trailing attribute whose length overruns the message.
  const bad = new Uint8Array(228);
  bad.set(saBody(224));
  bad.set([0xff, 0x00, 0x02, 0x00], 224);
  assert(
    isXfrmParseError(
      parseXfrmMessage({ type: XFRM_MSG_NEWSA, flags: 0, seq: 0, pid: 0, body: bad }),
    ),
  );
});
