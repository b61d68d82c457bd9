/**
 * Two engines over the in-memory network on a virtual clock: establishment,
 * failures, deletes, loss and INVALID_KE — each checked on both sides'
 * state and on the keys each side derived independently.
 */
import assert from "node:assert/strict";
import { PSK, RecordingWhack, Sim, westEast } from "./sim.ts";
import type { Node } from "./sim.ts";
import { hex } from "../../src/ike/ike_sa.ts";
import { parseAddress } from "../../src/config/addresses.ts";
import { ExchangeType, NotifyType, PayloadType } from "../../src/wire/constants.ts";
import { decodeMessage, findPayload } from "../../src/wire/payloads.ts";
import { open } from "../../src/ike/sk.ts";

function established(n: Node) {
  const ike = [...n.engine.ikeBySerial.values()].filter((s) => s.state === "ESTABLISHED_IKE_SA");
  const child = [...n.engine.childBySerial.values()].filter((c) => c.established);
  return { ike, child };
}

function empty(n: Node): boolean {
  return n.engine.ikeBySerial.size === 0 && n.engine.childBySerial.size === 0 &&
    n.engine.childByInSpi.size === 0 &&
    n.engine.halfOpen.size === 0 && n.kernel.installed.length === 0;
}

function pair(
  opts: {
    loss?: number;
    seed?: number;
    west?: Record<string, string>;
    east?: Record<string, string>;
    eastPsk?: string;
  } = {},
) {
  const sim = new Sim({ loss: opts.loss, seed: opts.seed });
  const west = sim.node("west", "192.0.2.1", PSK, 11 + (opts.seed ?? 0));
  const east = sim.node("east", "192.0.2.2", opts.eastPsk ?? PSK, 22 + (opts.seed ?? 0));
  assert.equal(sim.add(west, westEast(opts.west)).rc, 0);
  assert.equal(sim.add(east, westEast(opts.east)).rc, 0);
  return { sim, west, east };
}

async function initiate(sim: Sim, west: Node, ms = 60_000): Promise<RecordingWhack> {
  const w = new RecordingWhack();
  west.engine.initiate("west-east", w, false);
  await sim.run(ms, () => w.rc !== undefined);
  return w;
}

Deno.test("sim: IKE SA and Child SA establish; both sides derive the same keys", async () => {
  const { sim, west, east } = pair();
  const w = await initiate(sim, west);
  assert.equal(w.rc, 0, w.lines.join("\n"));
  assert.match(w.lines.join("\n"), /#1: initiating IKEv2 connection to 192\.0\.2\.2 using UDP/);
  assert.match(
    w.lines.join("\n"),
    /"west-east" #1: initiator established IKE SA; authenticated peer using authby=secret and FQDN '@east'/,
  );
  assert.match(
    w.lines.at(-1)!,
    /"west-east" #2: initiator established Child SA using #1; IPsec tunnel \[198\.51\.100\.0\/24===203\.0\.113\.0\/24\] \{ESP\/ESN=>0x[0-9a-f]{8} <0x[0-9a-f]{8} xfrm=AES_GCM_16_256 DPD=passive\}/,
  );
  const W = established(west), E = established(east);
  assert.equal(W.ike.length, 1);
  assert.equal(E.ike.length, 1);
  assert.equal(W.child.length, 1);
  assert.equal(E.child.length, 1);
  // IKE SA keys: each side computed them from its own DH half.
  const wk = W.ike[0].keys!, ek = E.ike[0].keys!;
  for (const k of ["skD", "skAi", "skAr", "skEi", "skEr", "skPi", "skPr"] as const) {
    assert.equal(hex(wk[k]), hex(ek[k]), k);
  }
  assert.equal(hex(W.ike[0].spiI), hex(E.ike[0].spiI));
  assert.equal(hex(W.ike[0].spiR), hex(E.ike[0].spiR));
  // Child SA: SPIs cross-match and each direction's keys agree.
  assert.equal(W.child[0].outSpi, E.child[0].inSpi);
  assert.equal(W.child[0].inSpi, E.child[0].outSpi);
  for (const sa of west.kernel.installed) {
    const twin = east.kernel.installed.find((e) => e.spi === sa.spi && e.inbound !== sa.inbound);
    assert.ok(twin, `east lacks SPI ${sa.spi}`);
    assert.equal(hex(sa.encrKey), hex(twin.encrKey));
    assert.equal(hex(sa.integKey), hex(twin.integKey));
    assert.equal(sa.encrKey.length, 36); // AES-256 key + 4-byte salt (RFC 4106)
  }
  assert.equal(west.kernel.installed.length, 2);
  assert.match(
    east.log.lines.join("\n"),
    /responder established IKE SA; authenticated peer using authby=secret and FQDN '@west'/,
  );
});

Deno.test("sim: CBC + HMAC, MODP2048, transport mode, IPv6", async () => {
  const sim = new Sim();
  const west = sim.node("west", "2001:db8::1", PSK, 5);
  const east = sim.node("east", "2001:db8::2", PSK, 6);
  const over = { ike: "aes256-sha2_256-modp2048", esp: "aes128-sha1", type: "transport" };
  const def = westEast(over, { left: { subnet: "" }, right: { subnet: "" } }, [
    "2001:db8::1",
    "2001:db8::2",
  ]);
  delete def.left.subnet;
  delete def.right.subnet;
  sim.add(west, def);
  sim.add(east, def);
  const w = await initiate(sim, west);
  assert.equal(w.rc, 0, w.lines.join("\n"));
  assert.match(
    w.lines.at(-1)!,
    /IPsec transport \[2001:db8::1\/128===2001:db8::2\/128\] \{ESP(\/ESN)?=>0x[0-9a-f]{8} <0x[0-9a-f]{8} xfrm=AES_CBC_128-HMAC_SHA1_96 DPD=passive\}/,
  );
  assert.equal(established(east).child[0].mode, "transport");
  const wk = west.kernel.installed.find((s) => !s.inbound)!;
  const ek = east.kernel.installed.find((s) => s.inbound && s.spi === wk.spi)!;
  assert.equal(hex(wk.integKey), hex(ek.integKey));
  assert.equal(wk.integKey.length, 20);
});

Deno.test("sim: wrong PSK fails with AUTHENTICATION_FAILED and leaves no state", async () => {
  const { sim, west, east } = pair({
    eastPsk: '@west @east : PSK "a different secret entirely"\n',
  });
  const w = await initiate(sim, west);
  assert.equal(w.rc, 56, w.lines.join("\n"));
  assert.match(
    w.lines.join("\n"),
    /IKE SA authentication request rejected by peer: AUTHENTICATION_FAILED/,
  );
  assert.match(
    east.log.lines.join("\n"),
    /authentication failed: AUTH from FQDN '@west' does not match our PSK/,
  );
  await sim.run(60_000);
  assert.ok(empty(west), "west keeps state");
  assert.ok(empty(east), "east keeps state");
});

Deno.test("sim: no common IKE proposal: NO_PROPOSAL_CHOSEN explained, no state", async () => {
  const { sim, west, east } = pair({
    west: { ike: "aes256-sha2_512;dh21" },
    east: { ike: "aes128-sha2_256;dh19" },
  });
  const w = await initiate(sim, west);
  assert.equal(w.rc, 56);
  assert.match(w.lines.join("\n"), /IKE_SA_INIT request rejected by peer: NO_PROPOSAL_CHOSEN/);
  assert.match(
    east.log.lines.join("\n"),
    /NO_PROPOSAL_CHOSEN: peer offered AES_CBC_256-HMAC_SHA2_512-HMAC_SHA2_512_256-DH21; "west-east" accepts AES_CBC_128-HMAC_SHA2_256-DH19/,
  );
  await sim.run(60_000);
  assert.ok(empty(west) && empty(east));
});

Deno.test("sim: no common ESP proposal: IKE SA up, Child SA refused", async () => {
  const { sim, west, east } = pair({
    west: { esp: "aes256-sha2_512" },
    east: { esp: "aes_gcm128" },
  });
  const w = await initiate(sim, west);
  assert.equal(w.rc, 56);
  assert.match(w.lines.join("\n"), /IKE_AUTH response rejected Child SA with NO_PROPOSAL_CHOSEN/);
  assert.equal(established(west).ike.length, 1);
  assert.equal(established(west).child.length, 0);
  assert.equal(established(east).child.length, 0);
  assert.equal(west.kernel.installed.length + east.kernel.installed.length, 0);
});

Deno.test("sim: mismatched subnets: TS_UNACCEPTABLE", async () => {
  const { sim, west, east } = pair({});
  // east wants a different remote subnet than west offers.
  east.engine.connections.clear();
  sim.add(
    east,
    westEast({}, { left: { subnet: "198.51.100.128/25" }, right: { subnet: "192.0.2.128/25" } }),
  );
  const w = await initiate(sim, west);
  assert.equal(w.rc, 56);
  assert.match(w.lines.join("\n"), /TS_UNACCEPTABLE/);
  assert.match(
    east.log.lines.join("\n"),
    /Child SA refused with TS_UNACCEPTABLE: peer proposed \[198\.51\.100\.0\/24===203\.0\.113\.0\/24\]/,
  );
});

Deno.test("sim: delete from the initiator and from the responder", async () => {
  for (const from of ["west", "east"] as const) {
    const { sim, west, east } = pair();
    assert.equal((await initiate(sim, west)).rc, 0);
    const w = new RecordingWhack();
    if (from === "west") west.engine.terminate("west-east", w);
    else east.engine.deleteState(established(east).ike[0].serial, w);
    await sim.run(30_000, () => w.rc !== undefined && empty(west) && empty(east));
    assert.equal(w.rc, 0);
    assert.ok(empty(west), `${from}: west keeps state`);
    assert.ok(empty(east), `${from}: east keeps state`);
    assert.match(w.lines.join("\n"), /sent INFORMATIONAL request to delete IKE SA/);
  }
});

Deno.test("sim: deleting only the Child SA keeps the IKE SA on both sides", async () => {
  const { sim, west, east } = pair();
  assert.equal((await initiate(sim, west)).rc, 0);
  const w = new RecordingWhack();
  east.engine.deleteState(established(east).child[0].serial, w);
  await sim.run(30_000, () => w.rc !== undefined);
  await sim.run(1000);
  assert.equal(w.rc, 0);
  assert.equal(established(west).child.length, 0);
  assert.equal(established(east).child.length, 0);
  assert.equal(established(west).ike.length, 1);
  assert.equal(established(east).ike.length, 1);
  assert.equal(west.kernel.installed.length + east.kernel.installed.length, 0);
});

Deno.test("sim: establishes under 30% loss by retransmitting", async () => {
  let established_ = 0;
  for (let seed = 1; seed <= 8; seed++) {
    const { sim, west, east } = pair({ loss: 0.3, seed });
    const w = await initiate(sim, west, 120_000);
    if (w.rc === 0) {
      established_++;
      assert.equal(established(east).child.length, 1);
      assert.match(west.log.lines.join("\n") + east.log.lines.join("\n"), /retransmit/);
    }
    assert.ok(sim.net.dropped > 0);
  }
  // With a 30 s retransmit budget per exchange a 30% loss rate should almost never defeat us.
  assert.ok(established_ >= 7, `only ${established_}/8 runs established`);
});

Deno.test("sim: INVALID_KE_PAYLOAD makes the initiator retry with the responder's group", async () => {
  const { sim, west, east } = pair({
    west: { ike: "aes_gcm256-sha2_256-dh19+dh31" },
    east: { ike: "aes_gcm256-sha2_256-dh31" },
  });
  const w = await initiate(sim, west);
  assert.equal(w.rc, 0, w.lines.join("\n"));
  assert.match(
    w.lines.join("\n"),
    /received INVALID_KE_PAYLOAD suggesting KE DH31 instead of DH19/,
  );
  assert.match(
    east.log.lines.join("\n"),
    /responding with INVALID_KE_PAYLOAD: peer sent KE DH19, "west-east" wants DH31/,
  );
  assert.equal(established(west).ike[0].chosen!.keId, 31);
});

Deno.test("sim: a dead peer exhausts retransmissions; keyingtries=1 gives up with RC 51", async () => {
  const { sim, west } = pair({ west: { keyingtries: "1" } });
  sim.net.detach(sim.nodes[1].address);
  const w = await initiate(sim, west, 120_000);
  assert.equal(w.rc, 51);
  assert.match(
    w.lines.join("\n"),
    /retransmitting IKE_SA_INIT request; will wait 1 second for response/,
  );
  assert.match(
    w.lines.join("\n"),
    /IKE_SA_INIT_I: max number of retransmissions \(\d+\) reached after 3\d seconds/,
  );
  await sim.run(120_000);
  assert.ok(empty(west));
});

Deno.test("sim: initiator behind a NAPT floats to 4500, encapsulates ESP and sends keepalives", async () => {
  const inside = "198.51.100.10", outside = "192.0.2.1";
  const sim = new Sim({
    nat: { inside: parseAddress(inside)!, outside: parseAddress(outside)! },
  });
  const west = sim.node("west", inside, PSK, 31);
  const east = sim.node("east", "192.0.2.2", PSK, 32);
  const ends = { left: { subnet: "198.51.100.128/25" } };
  sim.add(west, westEast({}, ends, [inside, "192.0.2.2"]));
  sim.add(east, westEast({}, ends, [outside, "192.0.2.2"]));
  const ports: number[] = [];
  sim.net.tap = (_d, from, to) => {
    if (from.address.bytes.join() === parseAddress(inside)!.bytes.join()) ports.push(to.port);
  };
  const w = await initiate(sim, west);
  assert.equal(w.rc, 0, w.lines.join("\n"));
  assert.match(
    w.lines.at(-1)!,
    /\{ESPinUDP\/ESN=>0x[0-9a-f]{8} <0x[0-9a-f]{8} xfrm=AES_GCM_16_256 DPD=passive\}/,
  );
  // IKE_SA_INIT to 500, then everything to 4500.
  assert.equal(ports[0], 500);
  assert.ok(ports.slice(1).every((p) => p === 4500), ports.join(","));
  const W = established(west), E = established(east);
  assert.ok(W.ike[0].natDetected!.local && !W.ike[0].natDetected!.remote);
  assert.equal(E.ike[0].remote.port, 40001); // the NAPT's mapping of west's 4500 socket
  assert.equal(E.ike[0].remote.address.bytes.join("."), "192.0.2.1");
  const out = west.kernel.installed.find((s) => !s.inbound)!;
  assert.deepEqual(out.encap, { srcPort: 4500, dstPort: 4500 });
  const eastIn = east.kernel.installed.find((s) => s.inbound)!;
  assert.deepEqual(eastIn.encap, { srcPort: 40001, dstPort: 4500 });
  // Behind the NAT west keeps the mapping open.
  const before = sim.net.keepalives;
  await sim.run(65_000);
  assert.ok(sim.net.keepalives - before >= 3, `keepalives: ${sim.net.keepalives - before}`);
  // Delete from the responder reaches west through the NAT mapping.
  const d = new RecordingWhack();
  east.engine.deleteState(E.ike[0].serial, d);
  await sim.run(30_000, () => d.rc !== undefined && empty(west));
  assert.ok(empty(west) && empty(east));
});

Deno.test("sim: encapsulation=yes forces NAT-T without a NAT; childless IKE SA (RFC 6023)", async () => {
  const { sim, west, east } = pair({ west: { encapsulation: "yes", childless: "yes" } });
  const w = await initiate(sim, west);
  assert.equal(w.rc, 0, w.lines.join("\n"));
  const W = established(west), E = established(east);
  assert.equal(W.ike.length, 1);
  assert.equal(W.child.length + E.child.length, 0);
  assert.equal(W.ike[0].remote.port, 4500);
  assert.equal(E.ike[0].remote.port, 4500);
  assert.ok(E.ike[0].natDetected!.remote, "east should believe west is behind a NAT");
  assert.doesNotMatch(w.lines.join("\n"), /Child SA/);
});

Deno.test("sim: both ends delete the IKE SA at once; both are clean quickly, not after a timeout", async () => {
  const { sim, west, east } = pair();
  assert.equal((await initiate(sim, west)).rc, 0);
  const start = sim.clock.now();
  const w = new RecordingWhack(), e = new RecordingWhack();
  west.engine.terminate("west-east", w);
  east.engine.terminate("west-east", e);
  await sim.run(
    60_000,
    () => w.rc !== undefined && e.rc !== undefined && empty(west) && empty(east),
  );
  assert.equal(w.rc, 0);
  assert.equal(e.rc, 0);
  assert.ok(empty(west) && empty(east));
  assert.ok(sim.clock.now() - start < 5_000, `took ${(sim.clock.now() - start) / 1000}s`);
});

Deno.test("sim: without --id for the peer, an IDr other than its address is refused", async () => {
  const sim = new Sim();
  // The same secret under both IDs: east accepts west, so only west's ID check can refuse.
  const west = sim.node(
    "west",
    "192.0.2.1",
    `@west 192.0.2.2 ${PSK.slice(PSK.indexOf(":"))}${PSK}`,
    61,
  );
  const east = sim.node("east", "192.0.2.2", PSK, 62);
  const def = westEast();
  delete def.right.id; // west expects the peer's default ID: its address
  sim.add(west, def);
  sim.add(east, westEast());
  const w = await initiate(sim, west);
  assert.equal(w.rc, 56);
  assert.match(
    w.lines.join("\n"),
    /peer ID FQDN '@east' does not match the expected IPV4_ADDR '192\.0\.2\.2'/,
  );
  await sim.run(60_000);
  assert.ok(empty(west));
});

Deno.test("sim: an authenticated request with an unknown critical payload is answered UNSUPPORTED_CRITICAL_PAYLOAD", async () => {
  const { sim, west, east } = pair();
  assert.equal((await initiate(sim, west)).rc, 0);
  const eastSa = established(east).ike[0], westSa = established(west).ike[0];
  const answers: Uint8Array[] = [];
  sim.net.tap = (d, from) => {
    if (from.address.bytes[3] === 1) answers.push(d.slice());
  };
  const id = eastSa.nextRequestId++;
  // RFC 7296 §3.2: payload type 200 is unassigned; the critical bit makes it fatal to ignore.
  const bogus = east.engine.sealed(eastSa, ExchangeType.INFORMATIONAL, id, false, [
    { type: 200, critical: true, unknown: true, body: new Uint8Array(4) },
  ]);
  east.engine.send(eastSa, bogus);
  await sim.run(1000);
  assert.equal(westSa.expectedRequestId, id + 1, "west did not consume the message ID");
  const reply = answers.at(-1)!;
  const m = decodeMessage(reply);
  assert.ok(m.ok);
  const sk = findPayload(m.value.payloads, PayloadType.SK)!;
  const opened = open(reply, sk, eastSa.recvKeys!);
  assert.ok(opened.ok);
  const n = findPayload(opened.payloads, PayloadType.N)!;
  assert.equal(n.notifyType, NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD);
  assert.deepEqual([...n.data], [200]);
  assert.equal(established(west).ike.length, 1);
});
