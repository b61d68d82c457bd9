/**
 * Network fuzzing of the engine: a responder receives thousands of seeded
 * random and mutated datagrams (built from real IKE_SA_INIT and IKE_AUTH
 * messages captured off the simulated wire) and must never throw, never log
 * an internal error and never keep state past the half-open discard time;
 * afterwards a normal establishment still works. An established IKE SA is
 * then hit with authentic-looking SK messages whose bodies are garbage: all
 * are dropped and the SA keeps working.
 *
 * Every run is reproducible: the datagrams come from a seeded generator and
 * a failure names the seed, the mutation and the datagram in hex.
 */
import assert from "node:assert/strict";
import { parseAddress } from "../../src/config/addresses.ts";
import { Engine } from "../../src/ike/engine.ts";
import { hex, type IkeSa } from "../../src/ike/ike_sa.ts";
import type { Endpoint } from "../../src/net/transport.ts";
import {
  ExchangeType,
  FLAG_INITIATOR,
  FLAG_RESPONSE,
  IKEV2_VERSION,
  PayloadType,
} from "../../src/wire/constants.ts";
import { decodeHeader, IKE_HEADER_BYTES, IKE_HEADER_LENGTH_AT } from "../../src/wire/header.ts";
import { type Node, PSK, RecordingWhack, Sim, westEast } from "./sim.ts";

/** How many datagrams the responder gets; each seed is one reproducible run. */
const DATAGRAMS = 3_000;
/** Datagrams fed between two settles of the engine (so a culprit is easy to find). */
const BATCH = 25;
/** Beyond the responder's half-open discard time (30 s, RFC 7296 §2.6 leaves it to us). */
const PAST_HALF_OPEN_MS = 40_000;

const WEST = "192.0.2.1", EAST = "192.0.2.2";
const CONN = "west-east";

/** mulberry32: a small seeded generator, so a failing run can be replayed by its seed. */
class Prng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  next(): number {
    let t = (this.#state += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** A datagram to feed, with how it was made (for failure messages). */
interface Sample {
  what: string;
  data: Uint8Array;
  from: Endpoint;
}

/** Real messages of one establishment, as they crossed the simulated wire. */
interface Corpus {
  initRequest: Uint8Array;
  initResponse: Uint8Array;
  authRequest: Uint8Array;
  authResponse: Uint8Array;
}

function endpoint(address: string, port = 500): Endpoint {
  return { address: parseAddress(address)!, port };
}

function withLength(data: Uint8Array): Uint8Array {
  if (data.length >= IKE_HEADER_BYTES) {
    new DataView(data.buffer, data.byteOffset).setUint32(IKE_HEADER_LENGTH_AT, data.length);
  }
  return data;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The offsets of every generic payload header in a (well-formed) message. */
function payloadOffsets(msg: Uint8Array): number[] {
  const offsets: number[] = [];
  let type = msg[16], at = IKE_HEADER_BYTES;
  while (type !== PayloadType.NONE && at + 4 <= msg.length) {
    offsets.push(at);
    if (type === PayloadType.SK) break;
    type = msg[at];
    const length = (msg[at + 2] << 8) | msg[at + 3];
    if (length < 4) break;
    at += length;
  }
  return offsets;
}

/** Runs one establishment with a tap on the wire and keeps its four messages. */
async function capture(): Promise<Corpus> {
  const sim = new Sim();
  const west = sim.node("west", WEST, PSK, 101);
  const east = sim.node("east", EAST, PSK, 202);
  sim.add(west, westEast());
  sim.add(east, westEast());
  const seen = new Map<string, Uint8Array>();
  sim.net.tap = (data) => {
    const h = decodeHeader(data);
    if (!h.ok) return;
    const key = `${h.value.exchange}/${(h.value.flags & FLAG_RESPONSE) !== 0}`;
    if (!seen.has(key)) seen.set(key, data.slice());
  };
  const w = await initiate(sim, west);
  assert.equal(w.rc, 0, `the capture run did not establish\n${w.lines.join("\n")}`);
  const get = (exchange: number, response: boolean) => {
    const m = seen.get(`${exchange}/${response}`);
    assert.ok(m, `exchange ${exchange} response=${response} was not captured`);
    return m;
  };
  return {
    initRequest: get(ExchangeType.IKE_SA_INIT, false),
    initResponse: get(ExchangeType.IKE_SA_INIT, true),
    authRequest: get(ExchangeType.IKE_AUTH, false),
    authResponse: get(ExchangeType.IKE_AUTH, true),
  };
}

async function initiate(sim: Sim, west: Node): Promise<RecordingWhack> {
  const w = new RecordingWhack();
  west.engine.initiate(CONN, w, false);
  await sim.run(60_000, () => w.rc !== undefined);
  return w;
}

/** Every IKE SA the engine holds, in any state. */
function liveIkeSas(engine: Engine): IkeSa[] {
  return [...engine.ikeBySerial.values()];
}

/** Sets SPIs, flags and message ID so a datagram reaches one of the responder's own SAs. */
function aimAt(data: Uint8Array, sa: IkeSa, rng: Prng): Uint8Array {
  const out = data.slice();
  out.set(sa.spiI, 0);
  out.set(sa.spiR, 8);
  out[19] = FLAG_INITIATOR | (rng.int(4) === 0 ? FLAG_RESPONSE : 0);
  const ids = [sa.expectedRequestId, sa.expectedRequestId - 1, sa.nextRequestId, rng.int(2 ** 32)];
  new DataView(out.buffer).setUint32(20, rng.pick(ids) >>> 0);
  return out;
}

/**
 * One fuzz datagram: random bytes, a random but well-framed header, or a
 * mutation of a captured message (bit flips, boundary bytes, payload length
 * and type damage, truncation, extension, random or live SPIs, wrong flags,
 * other exchange types and message IDs, plain replays).
 */
function sample(rng: Prng, corpus: Corpus, responder: Engine): Sample {
  const west = endpoint(WEST, rng.int(8) === 0 ? 4500 : 500);
  const stranger = endpoint(`198.51.100.${1 + rng.int(250)}`);
  const from = rng.int(10) === 0 ? stranger : west;
  const base = rng.pick([
    corpus.initRequest,
    corpus.initRequest,
    corpus.authRequest,
    corpus.authRequest,
    corpus.initResponse,
    corpus.authResponse,
  ]);
  const m = base.slice();
  const view = new DataView(m.buffer);
  // A fresh initiator SPI makes a mutated IKE_SA_INIT a new negotiation, not a retransmit.
  if (rng.int(2) === 0) m.set(rng.bytes(8), 0);
  switch (rng.int(14)) {
    case 0:
      return { what: "random bytes", data: rng.bytes(rng.int(400)), from };
    case 1: {
      const header = rng.bytes(IKE_HEADER_BYTES);
      header[17] = IKEV2_VERSION;
      header[18] = rng.pick([34, 35, 36, 37, rng.int(256)]);
      return {
        what: "random header and payloads",
        data: withLength(concat(header, rng.bytes(rng.int(300)))),
        from,
      };
    }
    case 2: {
      const flips = 1 + rng.int(8);
      for (let i = 0; i < flips; i++) m[rng.int(m.length)] ^= 1 << rng.int(8);
      return { what: `${flips} bit flips`, data: m, from };
    }
    case 3: {
      const n = 1 + rng.int(4);
      for (let i = 0; i < n; i++) m[rng.int(m.length)] = rng.pick([0, 1, 0x7f, 0x80, 0xff]);
      return { what: `${n} boundary bytes`, data: m, from };
    }
    case 4: {
      const at = rng.pick(payloadOffsets(m));
      const length = rng.pick([0, 1, 3, 4, 5, 0xffff, view.getUint16(at + 2) + rng.int(9) - 4]);
      view.setUint16(at + 2, length & 0xffff);
      return { what: `payload at ${at} given length ${length}`, data: m, from };
    }
    case 5: {
      const at = rng.pick(payloadOffsets(m));
      const type = rng.pick([0, 33, 34, 35, 36, 37, 38, 39, 40, 41, 44, 45, 46, 47, rng.int(256)]);
      m[at] = type;
      if (rng.int(2) === 0) m[at + 1] ^= 0x80; // the critical bit
      return { what: `payload at ${at} followed by type ${type}`, data: m, from };
    }
    case 6: {
      const cut = rng.int(m.length);
      const data = m.subarray(0, cut);
      return rng.int(2) === 0
        ? { what: `truncated to ${cut}`, data, from }
        : { what: `truncated to ${cut}, length fixed`, data: withLength(data.slice()), from };
    }
    case 7:
      return {
        what: "extended, length fixed",
        data: withLength(concat(m, rng.bytes(1 + rng.int(64)))),
        from,
      };
    case 8: {
      if (rng.int(2) === 0) m.set(rng.bytes(8), 0);
      else m.set(rng.bytes(8), 8);
      return { what: "random SPI", data: m, from };
    }
    case 9: {
      const sas = liveIkeSas(responder);
      if (sas.length === 0) return { what: "replay", data: m, from: west };
      return { what: "aimed at a live SA", data: aimAt(m, rng.pick(sas), rng), from: west };
    }
    case 10:
      m[19] = rng.pick([0, FLAG_RESPONSE, FLAG_INITIATOR | FLAG_RESPONSE, 0x10, rng.int(256)]);
      return { what: `flags ${m[19]}`, data: m, from };
    case 11:
      m[18] = rng.pick([0, 33, 34, 35, 36, 37, 38, 43, 255]);
      return { what: `exchange ${m[18]}`, data: m, from };
    case 12: {
      const id = rng.pick([0, 1, 2, 0x7fffffff, 0xffffffff, rng.int(2 ** 32)]);
      view.setUint32(20, id);
      return { what: `message ID ${id}`, data: m, from };
    }
    default:
      return { what: "replay", data: m, from: west };
  }
}

/** Fails with the culprits when the engine logged an internal error. */
function assertNoInternalError(node: Node, since: number, culprits: () => string): void {
  const bad = node.log.lines.slice(since).filter((l) => /internal error/i.test(l));
  assert.deepEqual(bad, [], `${node.name} logged an internal error after:\n${culprits()}`);
}

function assertNoState(node: Node): void {
  const e = node.engine;
  assert.deepEqual(
    {
      ikeBySerial: e.ikeBySerial.size,
      ikeBySpi: e.ikeBySpi.size,
      halfOpen: e.halfOpen.size,
      childBySerial: e.childBySerial.size,
      childByInSpi: e.childByInSpi.size,
      kernelSas: node.kernel.installed.length,
    },
    {
      ikeBySerial: 0,
      ikeBySpi: 0,
      halfOpen: 0,
      childBySerial: 0,
      childByInSpi: 0,
      kernelSas: 0,
    },
    `${node.name} kept state:\n${
      liveIkeSas(e).map((sa) => `#${sa.serial} ${sa.state}`).join("\n")
    }`,
  );
}

/** Feeds `count` samples to `target`, settling every batch, and checks it never throws. */
async function feed(
  sim: Sim,
  target: Node,
  count: number,
  make: () => Sample,
  to: Endpoint,
): Promise<number> {
  let mostHalfOpen = 0;
  for (let done = 0; done < count; done += BATCH) {
    const since = target.log.lines.length;
    const batch: Sample[] = [];
    for (let i = 0; i < BATCH && done + i < count; i++) {
      const s = make();
      batch.push(s);
      try {
        target.engine.receive(s.data, s.from, to);
      } catch (e) {
        assert.fail(
          `receive() threw on datagram ${done + i} (${s.what}) ${hex(s.data)}:\n${
            e instanceof Error ? e.stack : e
          }`,
        );
      }
    }
    mostHalfOpen = Math.max(mostHalfOpen, target.engine.halfOpen.size);
    // Deliver what the engine answered and let a little virtual time pass.
    await sim.run(200);
    assertNoInternalError(
      target,
      since,
      () => batch.map((s) => `${s.what}: ${hex(s.data)}`).join("\n"),
    );
  }
  return mostHalfOpen;
}

/** West and east with the usual connection; `ike`/`esp` override the defaults. */
function pair(seed: number, over: Record<string, string> = {}) {
  const sim = new Sim();
  // Debug logging on, so its formatting of hostile input is exercised too.
  const west = sim.node("west", WEST, PSK, seed, ["base"]);
  const east = sim.node("east", EAST, PSK, seed + 1, ["base"]);
  assert.equal(sim.add(west, westEast(over)).rc, 0);
  assert.equal(sim.add(east, westEast(over)).rc, 0);
  return { sim, west, east };
}

const corpus = await capture();

for (const seed of [1, 2]) {
  Deno.test(`fuzz: a responder survives ${DATAGRAMS} mutated datagrams (seed ${seed}), keeps no state, then establishes`, async () => {
    const { sim, west, east } = pair(1000 * seed);
    const rng = new Prng(seed);
    const mostHalfOpen = await feed(
      sim,
      east,
      DATAGRAMS,
      () => sample(rng, corpus, east.engine),
      endpoint(EAST),
    );
    // The run must have reached real responder states, or the emptiness check proves nothing.
    assert.ok(mostHalfOpen > 0, "no datagram ever created a half-open IKE SA");
    assert.ok((east.engine.counters.get("total.ike.mangled") ?? 0) > 0, "nothing was mangled");

    await sim.run(PAST_HALF_OPEN_MS);
    assertNoState(east);
    assertNoState(west);
    assertNoInternalError(east, 0, () => "(whole run)");
    assertNoInternalError(west, 0, () => "(whole run)");

    const w = await initiate(sim, west);
    assert.equal(w.rc, 0, `establishment after fuzzing failed\n${w.lines.join("\n")}`);
    assert.match(w.lines.at(-1)!, /initiator established Child SA/);
    assert.equal(
      liveIkeSas(east.engine).filter((sa) => sa.state === "ESTABLISHED_IKE_SA").length,
      1,
    );
  });
}

/** A message with the SA's real header and an SK payload whose body is garbage or damaged. */
function skSample(rng: Prng, eastSa: IkeSa, genuine: () => Uint8Array): Sample {
  const from = endpoint(WEST);
  const exchange = rng.pick([
    ExchangeType.INFORMATIONAL,
    ExchangeType.INFORMATIONAL,
    ExchangeType.CREATE_CHILD_SA,
    ExchangeType.IKE_AUTH,
  ]);
  const flags = FLAG_INITIATOR | (rng.int(5) === 0 ? FLAG_RESPONSE : 0);
  const ids = [eastSa.expectedRequestId, eastSa.expectedRequestId - 1, rng.int(16)];
  const messageId = rng.pick(ids) >>> 0;
  if (rng.int(3) === 0) {
    // A real protected message with one bit of it changed.
    const m = genuine();
    const at = rng.int(m.length);
    m[at] ^= 1 << rng.int(8);
    return { what: `genuine SK message, bit flipped at ${at}`, data: m, from };
  }
  const body = rng.bytes(rng.int(200));
  const m = new Uint8Array(IKE_HEADER_BYTES + 4 + body.length);
  const view = new DataView(m.buffer);
  m.set(eastSa.spiI, 0);
  m.set(eastSa.spiR, 8);
  m[16] = PayloadType.SK;
  m[17] = IKEV2_VERSION;
  m[18] = exchange;
  m[19] = flags;
  view.setUint32(20, messageId);
  view.setUint32(24, m.length);
  m[IKE_HEADER_BYTES] = rng.pick([0, PayloadType.D, PayloadType.N, rng.int(256)]);
  view.setUint16(IKE_HEADER_BYTES + 2, 4 + body.length);
  m.set(body, IKE_HEADER_BYTES + 4);
  return {
    what: `exchange ${exchange} flags ${flags} ID ${messageId}, ${body.length} garbage octets`,
    data: m,
    from,
  };
}

for (
  const [label, over] of [
    ["AES-GCM", {}],
    ["AES-CBC + HMAC", { ike: "aes128-sha2_256;dh19", esp: "aes128-sha2_256" }],
  ] as const
) {
  Deno.test(`fuzz: an established ${label} IKE SA drops SK messages with garbage bodies and stays usable`, async () => {
    const { sim, west, east } = pair(77, over);
    const up = await initiate(sim, west);
    assert.equal(up.rc, 0, up.lines.join("\n"));
    const [eastSa] = liveIkeSas(east.engine);
    const [westSa] = liveIkeSas(west.engine);
    assert.equal(eastSa.state, "ESTABLISHED_IKE_SA");
    const before = {
      expected: eastSa.expectedRequestId,
      next: eastSa.nextRequestId,
      lastResponse: eastSa.lastResponse,
      children: [...eastSa.children].map((c) => c.serial),
    };
    // West's next real INFORMATIONAL request, sealed with the real keys (not sent).
    const genuine = () =>
      west.engine.sealed(westSa, ExchangeType.INFORMATIONAL, westSa.nextRequestId, false, []);
    const rng = new Prng(7);
    await feed(sim, east, 1_000, () => skSample(rng, eastSa, genuine), endpoint(EAST));

    assert.equal(east.engine.ikeBySerial.get(eastSa.serial), eastSa, "the IKE SA is gone");
    assert.equal(eastSa.state, "ESTABLISHED_IKE_SA");
    assert.deepEqual(
      {
        expected: eastSa.expectedRequestId,
        next: eastSa.nextRequestId,
        lastResponse: eastSa.lastResponse,
        children: [...eastSa.children].map((c) => c.serial),
      },
      before,
      "a garbage message changed the SA's message-ID window or Child SAs",
    );
    const dropped = east.log.lines.filter((l) =>
      /dropping .*message: integrity check failed/.test(l)
    );
    assert.ok(dropped.length > 0, "no message reached the integrity check");

    // The SA still works: a real Delete from west is accepted and answered.
    const down = new RecordingWhack();
    west.engine.terminate(CONN, down);
    await sim.run(10_000, () => down.rc !== undefined);
    assert.equal(down.rc, 0, down.lines.join("\n"));
    assert.ok(
      east.log.lines.some((l) => l.includes("received Delete SA payload: deleting IKE SA")),
      "east never processed west's Delete",
    );
    assertNoState(east);
    assertNoState(west);
  });
}
