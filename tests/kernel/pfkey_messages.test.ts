/**
 * PF_KEY v2 messages against layouts written out by hand from RFC 2367 §2
 * and the KAME extensions (x86-64, little-endian host order; SPIs and ports
 * in network order), plus the adapter's failure on a kernel without PF_KEY.
 */

import assert from "node:assert/strict";
import { parseAddress } from "../../src/config/addresses.ts";
import { KernelError } from "../../src/kernel/kernel.ts";
import { PfkeyKernel } from "../../src/kernel/pfkey.ts";
import {
  buildAddSa,
  buildGetSpi,
  buildSaQuery,
  buildSpd,
  IPSEC_DIR_OUTBOUND,
  IPSEC_MODE_TUNNEL,
  isPfkeyParseError,
  parseAcquire,
  parseExpire,
  parsePfkey,
  SADB_DELETE,
  SADB_X_AALG_SHA2_256HMAC,
  SADB_X_EALG_AESCBC,
} from "../../src/kernel/pfkey_messages.ts";

const ip = (t: string) => parseAddress(t)!;
const header = { seq: 7, pid: 0x1234 };

/** Hex with spaces and `//` comments removed, one field per line. */
function hex(text: string): string {
  return text.split("\n").map((l) => l.replace(/\/\/.*$/, "").replace(/\s+/g, "")).join("");
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function fromHex(text: string): Uint8Array {
  return Uint8Array.from(hex(text).match(/../g)!, (h) => parseInt(h, 16));
}

const SOCKADDR_IN_192_0_2_1 = `
  0200 0000 c0000201 0000000000000000  // sockaddr_in: AF_INET, port 0, 192.0.2.1, zero[8]`;
const SOCKADDR_IN_192_0_2_2 = `
  0200 0000 c0000202 0000000000000000  // sockaddr_in: AF_INET, port 0, 192.0.2.2, zero[8]`;

Deno.test("SADB_GETSPI: sa2, addresses and SPI range", () => {
  const expected = hex(`
    02 01 00 03 0c00 0000 07000000 34120000  // sadb_msg: v2, GETSPI, errno 0, ESP, len 12 words, seq 7, pid 0x1234
    0200 1300 02 00 0000 00000000 05000000   // sadb_x_sa2: 2 words, type 19, mode tunnel, seq 0, reqid 5
    0300 0500 ff 20 0000                     // sadb_address src: 3 words, type 5, proto any, /32
    ${SOCKADDR_IN_192_0_2_2}
    0300 0600 ff 20 0000                     // sadb_address dst: 3 words, type 6, proto any, /32
    ${SOCKADDR_IN_192_0_2_1}
    0200 1000 00100000 ffffffff 00000000     // sadb_spirange: 2 words, type 16, min 0x1000, max 0xffffffff
  `);
  const built = buildGetSpi(
    header,
    ip("192.0.2.2"),
    ip("192.0.2.1"),
    IPSEC_MODE_TUNNEL,
    5,
    0x1000,
    0xffffffff,
  );
  assert.equal(toHex(built), expected);
});

Deno.test("SADB_UPDATE: SA, keys and NAT-T ports", () => {
  const expected = hex(`
    02 02 00 03 1700 0000 07000000 34120000  // sadb_msg: UPDATE, ESP, len 23 words
    0200 0100 c0ffee01 20 01 05 0c 00000000  // sadb_sa: spi 0xc0ffee01, replay 32, MATURE, auth SHA2_256HMAC, enc AESCBC, flags 0
    0200 1300 01 00 0000 00000000 02000000   // sadb_x_sa2: transport, reqid 2
    0300 0500 ff 20 0000                     // sadb_address src
    ${SOCKADDR_IN_192_0_2_1}
    0300 0600 ff 20 0000                     // sadb_address dst
    ${SOCKADDR_IN_192_0_2_2}
    0500 0800 0001 0000                      // sadb_key auth: 5 words, type 8, 256 bits
    ${"11".repeat(32)}
    0300 0900 8000 0000                      // sadb_key encrypt: 3 words, type 9, 128 bits
    ${"22".repeat(16)}
    0100 1400 02 000000                      // sadb_x_nat_t_type: ESPINUDP
    0100 1500 1194 0000                      // sadb_x_nat_t_port sport: 4500
    0100 1600 1194 0000                      // sadb_x_nat_t_port dport: 4500
  `);
  const built = buildAddSa(header, {
    src: ip("192.0.2.1"),
    dst: ip("192.0.2.2"),
    spi: 0xc0ffee01,
    mode: 1,
    reqid: 2,
    replay: 32,
    authAlg: SADB_X_AALG_SHA2_256HMAC,
    authKey: new Uint8Array(32).fill(0x11),
    encAlg: SADB_X_EALG_AESCBC,
    encKey: new Uint8Array(16).fill(0x22),
    natt: { sport: 4500, dport: 4500 },
  }, true);
  assert.equal(toHex(built), expected);
});

Deno.test("SADB_DELETE over IPv6: sockaddr_in6 padded to 8 bytes", () => {
  const expected = hex(`
    02 04 00 03 0e00 0000 07000000 34120000  // sadb_msg: DELETE, ESP, len 14 words
    0200 0100 00001001 00 01 00 00 00000000  // sadb_sa: spi 0x1001
    0500 0500 ff 80 0000                     // sadb_address src: 5 words, /128
    0a00 0000 00000000 20010db8000000000000000000000001 00000000 00000000  // sockaddr_in6 (28) + 4 pad
    0500 0600 ff 80 0000                     // sadb_address dst
    0a00 0000 00000000 20010db8000000000000000000000002 00000000 00000000
  `);
  const built = buildSaQuery(header, SADB_DELETE, 0x1001, ip("2001:db8::1"), ip("2001:db8::2"));
  assert.equal(toHex(built), expected);
});

Deno.test("SADB_X_SPDADD and SADB_X_SPDDELETE: selectors, policy, tunnel request", () => {
  const policy = {
    src: { address: ip("198.51.100.0"), prefix: 24, proto: 6, port: 0 },
    dst: { address: ip("203.0.113.0"), prefix: 24, proto: 6, port: 22 },
    dir: IPSEC_DIR_OUTBOUND,
    priority: 0x1000,
    mode: IPSEC_MODE_TUNNEL,
    reqid: 9,
    tunnel: { src: ip("192.0.2.1"), dst: ip("192.0.2.2") },
  };
  const selectors = `
    0300 0500 06 18 0000                     // sadb_address src: proto TCP, /24
    0200 0000 c6336400 0000000000000000      // 198.51.100.0, any port
    0300 0600 06 18 0000                     // sadb_address dst: proto TCP, /24
    0200 0016 cb007100 0000000000000000      // 203.0.113.0 port 22`;
  assert.equal(
    toHex(buildSpd(header, policy, true)),
    hex(`
      02 0e 00 00 10 00 0000 07000000 34120000 // sadb_msg: X_SPDADD, satype 0, len 16 words
      ${selectors}
      0800 1200 0200 02 00 00000000 00100000   // sadb_x_policy: 8 words, IPSEC, outbound, id 0, priority 0x1000
      3000 3200 02 02 0000 09000000 00000000   // sadb_x_ipsecrequest: 48 bytes, ESP, tunnel, require, reqid 9
      ${SOCKADDR_IN_192_0_2_1}
      ${SOCKADDR_IN_192_0_2_2}
    `),
  );
  assert.equal(
    toHex(buildSpd(header, policy, false)),
    hex(`
      02 0f 00 00 0a 00 0000 07000000 34120000 // sadb_msg: X_SPDDELETE, len 10 words
      ${selectors}
      0200 1200 0200 02 00 00000000 00100000   // sadb_x_policy without a request
    `),
  );
});

Deno.test("SADB_ACQUIRE and SADB_EXPIRE decode; malformed messages do not", () => {
  const acquire = parsePfkey(fromHex(`
    02 06 00 03 0a00 0000 2a000000 00000000  // sadb_msg: ACQUIRE, ESP, len 10 words, seq 42, pid 0 (kernel)
    0300 0500 ff 20 0000 ${SOCKADDR_IN_192_0_2_1}
    0300 0600 ff 20 0000 ${SOCKADDR_IN_192_0_2_2}
    0200 1200 0200 02 00 63000000 00000000   // sadb_x_policy: id 99
  `));
  assert.ok(!isPfkeyParseError(acquire));
  assert.deepEqual(parseAcquire(acquire), {
    seq: 42,
    src: ip("192.0.2.1"),
    dst: ip("192.0.2.2"),
    policyId: 99,
  });

  const expire = parsePfkey(fromHex(`
    02 08 00 03 1200 0000 00000000 00000000  // sadb_msg: EXPIRE, ESP, len 18 words
    0200 0100 c0ffee01 20 01 05 0c 00000000  // sadb_sa
    0400 0200 00000000 e803000000000000 0000000000000000 0000000000000000 // current: 1000 bytes
    0400 0400 00000000 0000000000000000 0000000000000000 0000000000000000 // soft lifetime
    0300 0500 ff 20 0000 ${SOCKADDR_IN_192_0_2_1}
    0300 0600 ff 20 0000 ${SOCKADDR_IN_192_0_2_2}
  `));
  assert.ok(!isPfkeyParseError(expire));
  assert.deepEqual(parseExpire(expire), {
    spi: 0xc0ffee01,
    src: ip("192.0.2.1"),
    dst: ip("192.0.2.2"),
    hard: false,
    bytes: 1000n,
  });

  assert.ok(isPfkeyParseError(parsePfkey(new Uint8Array(8))));
  // An extension claiming 3 words where 2 remain.
  assert.ok(
    isPfkeyParseError(
      parsePfkey(fromHex("02 06 00 03 0300 0000 00000000 00000000 0300 0500 ff200000")),
    ),
  );
  assert.ok(isPfkeyParseError(parseExpire(acquire)));
});

Deno.test("PfkeyKernel.open names the missing PF_KEY family", () => {
  // This machine's kernel has no af_key; the brief's expected sentence, errno included.
  assert.throws(() => PfkeyKernel.open(), (e: unknown) => {
    assert.ok(e instanceof KernelError);
    assert.equal(e.message, "PF_KEY is not available on this kernel (socket: EAFNOSUPPORT)");
    return true;
  });
});
