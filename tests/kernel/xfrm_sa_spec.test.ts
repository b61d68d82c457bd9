/**
 * The XFRM state swan asks for, per Child SA direction: kernel algorithm
 * names and ICV sizes (linux/xfrm.h, crypto API names), ipsec-max-bytes/-packets
 * as soft/hard lifetimes, NAT-T encapsulation and the ESN replay state.
 */
import assert from "node:assert/strict";
import { hostSelector, parseAddress } from "../../src/config/addresses.ts";
import type { KernelSa } from "../../src/kernel/kernel.ts";
import { xfrmSaSpec } from "../../src/kernel/xfrm.ts";
import { NO_LIFETIME } from "../../src/kernel/xfrm_messages.ts";

const a = parseAddress("192.0.2.1")!, b = parseAddress("192.0.2.2")!;
const base: KernelSa = {
  src: a,
  dst: b,
  spi: 0x1234,
  inbound: false,
  mode: "tunnel",
  encrId: 20,
  encrKeyBits: 128,
  encrKey: new Uint8Array(20),
  integId: 0,
  integKey: new Uint8Array(),
  esn: true,
  replayWindow: 128,
  srcSelector: hostSelector(a),
  dstSelector: hostSelector(b),
};

Deno.test("xfrm SA spec: AES-GCM, ESN replay state, no limits when none are configured", () => {
  const spec = xfrmSaSpec(base);
  assert.deepEqual(spec.aead && { name: spec.aead.name, icvBits: spec.aead.icvBits }, {
    name: "rfc4106(gcm(aes))",
    icvBits: 128,
  });
  assert.equal(spec.crypt, undefined);
  assert.equal(spec.esnWindow, 128);
  assert.equal(spec.replayWindow, 0);
  assert.deepEqual(spec.lifetime, NO_LIFETIME);
  assert.equal(spec.encap, undefined);
  // XFRM_STATE_ESN (128) | XFRM_STATE_AF_UNSPEC (32): a tunnel may carry the other family inside.
  assert.equal(spec.flags, 128 | 32);
  assert.equal(xfrmSaSpec({ ...base, mode: "transport", esn: false }).flags, 0);
});

Deno.test("xfrm SA spec: byte and packet limits become soft/hard lifetimes; NAT-T encapsulation", () => {
  const spec = xfrmSaSpec({
    ...base,
    encrId: 12,
    encrKey: new Uint8Array(16),
    integId: 12,
    integKey: new Uint8Array(32),
    esn: false,
    replayWindow: 32,
    limits: { softBytes: 800n, hardBytes: 1000n, softPackets: 80n, hardPackets: 100n },
    encap: { srcPort: 4500, dstPort: 4500 },
  });
  assert.equal(spec.crypt?.name, "cbc(aes)");
  assert.deepEqual(spec.auth && { name: spec.auth.name, truncBits: spec.auth.truncBits }, {
    name: "hmac(sha256)",
    truncBits: 128,
  });
  assert.equal(spec.lifetime.softBytes, 800n);
  assert.equal(spec.lifetime.hardBytes, 1000n);
  assert.equal(spec.lifetime.softPackets, 80n);
  assert.equal(spec.lifetime.hardPackets, 100n);
  assert.equal(spec.lifetime.hardAddSeconds, 0n); // time limits stay with the engine's timers
  assert.deepEqual(spec.encap, { type: 2, sport: 4500, dport: 4500 });
  assert.equal(spec.replayWindow, 32);
});
