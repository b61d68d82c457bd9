/**
 * Status listings of many states (issue 6): the engine's states read lazily
 * in listing order, `--status` written chunk by chunk with the event loop
 * running between chunks, and rendering that stops when whack goes away.
 *
 * Truth comes from outside the renderer: each engine's own SA records, the
 * peer engine's SPIs, the order Libreswan lists states in, and bytes read
 * back from a real Unix socket.
 */
import assert from "node:assert/strict";
import { renderShowStates, renderStatus, statusLines } from "../../src/control/status_text.ts";
import type { StateStatus, StatusSource } from "../../src/control/status_model.ts";
import { parseReplyLine } from "../../src/control/reply.ts";
import { connectionStatuses, stateStatuses } from "../../src/ike/status.ts";
import { WhackSession } from "../../src/daemon/control_server.ts";
import {
  type DaemonControl,
  handleWhack,
  streamLines,
  type WhackReply,
} from "../../src/daemon/whack_handler.ts";
import type { Engine } from "../../src/ike/engine.ts";
import { RecordingWhack, Sim, westEast } from "../sim/sim.ts";

const NOW = 1_700_000_000;

/** A model around `states` with empty daemon sections (only the state-driven parts matter here). */
function model(
  states: Iterable<StateStatus>,
  engine?: Engine,
  now = NOW,
): StatusSource {
  return {
    now,
    kernelInterface: "none",
    interfaces: [],
    config: {
      configDir: "/etc",
      configFile: "/etc/ipsec.conf",
      secretsFile: "/etc/ipsec.secrets",
      ipsecDir: "/etc/ipsec.d",
      nssDir: "/var/lib/ipsec/nss",
      dumpDir: "/run/pluto",
      sbinDir: "/usr/local/sbin",
      libexecDir: "/usr/local/libexec/ipsec",
      version: "0.1.0",
      vendorId: "swan-0.1.0",
      nhelpers: 0,
      uniqueIds: true,
      shuntLifetime: 900,
      expireLifetime: 30,
      logFile: "<stderr>",
      logAppend: false,
      logIp: true,
      ddosThreshold: 25000,
      maxHalfOpen: 50000,
      ddosMode: "auto",
      ikev1Policy: "drop",
      listen: "<any>",
    },
    debug: [],
    natt: { keepAlive: 20, natIkePort: 4500 },
    kernelAlgorithms: [],
    ikeAlgorithms: [],
    connections: engine ? connectionStatuses(engine) : [],
    states,
    ddosCookiesRequired: false,
    listening: true,
  };
}

/** `n` established IKE SA + Child SA pairs as plain states, one connection. */
function plainStates(n: number): StateStatus[] {
  const out: StateStatus[] = [];
  for (let i = 0; i < n; i++) {
    const common = {
      connection: "c",
      instance: "",
      remotePort: 500,
      events: [{ name: "REPLACE", due: NOW + 28800 }, { name: "REKEY", due: NOW + 27000.5 }],
      newest: false,
      established: true,
      authenticated: true,
      halfOpen: false,
    };
    out.push({
      ...common,
      serial: 2 * i + 1,
      kind: "ike",
      story: "established IKE SA",
      erouteOwner: false,
    });
    out.push({
      ...common,
      serial: 2 * i + 2,
      kind: "child",
      story: "established Child SA",
      erouteOwner: false,
      parent: 2 * i + 1,
      child: {
        protocol: "esp",
        outboundSpi: 0x10000 + i,
        inboundSpi: 0x20000 + i,
        remoteAddress: "192.0.2.1",
        localAddress: "192.0.2.2",
        tunnel: true,
        inBytes: 0,
        outBytes: 0,
        maxBytes: "2^63B",
        addTime: NOW,
        peerId: "@west",
      },
    });
  }
  return out;
}

Deno.test("status: the engine's states, read lazily, list in connection then serial order with the peer's SPIs", async () => {
  const sim = new Sim();
  // Added in reverse name order, so that serial order and listing order differ.
  const names = ["c3", "c2", "c1", "c0"];
  // One pair of IDs per connection, so that east finds each one by its IDs.
  const psk = names.map((n) => `@west-${n} @east-${n} : PSK "${n} horse battery staple"\n`);
  const west = sim.node("west", "192.0.2.1", psk.join(""), 31);
  const east = sim.node("east", "192.0.2.2", psk.join(""), 32);
  for (const [i, name] of names.entries()) {
    const def = {
      ...westEast(),
      name,
      left: { host: "192.0.2.1", id: `@west-${name}`, subnet: `198.51.100.${16 * i}/28` },
      right: { host: "192.0.2.2", id: `@east-${name}`, subnet: `203.0.113.${16 * i}/28` },
    };
    sim.add(west, def);
    sim.add(east, def);
  }
  const whacks = names.map((name) => {
    const w = new RecordingWhack();
    west.engine.initiate(name, w, false);
    return w;
  });
  await sim.run(60_000, () => whacks.every((w) => w.rc !== undefined));
  for (const w of whacks) assert.equal(w.rc, 0, w.lines.join("\n"));

  const lazy = stateStatuses(west.engine);
  // The same states as plain data, read through every field a listing prints.
  const plain = [...lazy].map((s): StateStatus => ({
    serial: s.serial,
    connection: s.connection,
    instance: s.instance,
    remotePort: s.remotePort,
    kind: s.kind,
    story: s.story,
    events: s.events,
    newest: s.newest,
    erouteOwner: s.erouteOwner,
    parent: s.parent,
    established: s.established,
    authenticated: s.authenticated,
    halfOpen: s.halfOpen,
    child: s.child,
    peerId: s.peerId,
  }));
  const now = sim.clock.now() / 1000;
  const lines = renderShowStates(model(lazy, west.engine, now));
  assert.deepEqual(lines, renderShowStates(model(plain, west.engine, now)));

  // Libreswan's order: by connection name, then serial; every state once.
  const listed = lines.filter((l) => / (established|larval) /.test(l)).map((l) => {
    const m = /^#(\d+): "(c\d)":500 /.exec(l)!;
    return { serial: Number(m[1]), name: m[2] };
  });
  const expected = [...west.engine.ikeBySerial.values()]
    .flatMap((sa) => [sa, ...sa.children])
    .map((sa) => ({ serial: sa.serial, name: sa.conn.name }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.serial - b.serial);
  assert.deepEqual(listed, expected);
  assert.equal(listed.length, 8);

  // Each Child SA's traffic line names the SPI east receives on, then ours.
  for (const child of west.engine.childBySerial.values()) {
    const peer = [...east.engine.childBySerial.values()].find((c) => c.outSpi === child.inSpi)!;
    const said = `esp.${peer.inSpi.toString(16)}@192.0.2.2 esp.${
      child.inSpi.toString(16)
    }@192.0.2.1`;
    assert.ok(
      lines.includes(
        `#${child.serial}: "${child.conn.name}" ${said} tun.0@192.0.2.2 tun.0@192.0.2.1 Traffic: ESPin=0B ESPout=0B ESPmax=2^63B `,
      ),
      `${said} in\n${lines.join("\n")}`,
    );
  }

  // The summary sections read the same lazy states: counts and each connection's eroute owner.
  const status = renderStatus(model(lazy, west.engine, now));
  assert.ok(
    status.includes("IKE SAs: total(4), half-open(0), open(0), authenticated(4), anonymous(0)"),
  );
  assert.ok(status.includes("IPsec SAs: total(4), authenticated(4), anonymous(0)"));
  for (const name of names) {
    const conn = [...west.engine.connections.values()].find((c) => c.name === name)!;
    assert.ok(
      status.some((l) =>
        l.startsWith(`"${name}":   routing: `) &&
        l.includes(` owner: Child SA #${conn.newestChild};`)
      ),
      name,
    );
  }
});

/** A whack conversation that records lines; `drained` lets timers run, as a socket write does. */
class Reply implements WhackReply {
  lines: string[] = [];
  rc?: number;
  drains = 0;
  #gone = false;
  constructor(private goneAfterDrains = Infinity) {}
  get finished(): boolean {
    return this.rc !== undefined || this.#gone;
  }
  line(text: string): void {
    this.lines.push(text);
  }
  finish(rc: number): void {
    this.rc ??= rc;
  }
  drained(): Promise<void> {
    if (++this.drains >= this.goneAfterDrains) this.#gone = true;
    return new Promise((r) => setTimeout(r, 0));
  }
}

/** Only `status()` is used by `--status`. */
const daemon = (m: StatusSource) => ({ status: () => m }) as unknown as DaemonControl;

Deno.test("status: whack --status through the handler is the whole rendering, line for line", async () => {
  const m = model(plainStates(2_500));
  const reply = new Reply();
  await handleWhack(daemon(m), { magic: 0, status: true } as never, reply);
  assert.equal(reply.rc, 0);
  const whole = renderStatus(m);
  assert.ok(whole.length > 7_500);
  assert.deepEqual(reply.lines, whole);
});

Deno.test("status: a listing leaves slice by slice, with timers running in between", async () => {
  const m = model(plainStates(2_500));
  const reply = new Reply();
  let firedAfter: number | undefined;
  setTimeout(() => firedAfter = reply.lines.length, 0);
  // A zero time budget: every clock read (each 256 lines) ends a slice.
  await streamLines(reply, statusLines(m), 0);
  assert.equal(reply.rc, 0);
  const whole = renderStatus(m);
  assert.deepEqual(reply.lines, whole);
  // The timer due at once ran after the first slice, long before the end.
  assert.equal(firedAfter, 256);
  assert.equal(reply.drains, Math.floor(whole.length / 256));
});

Deno.test("status: when whack goes away mid-listing, the remaining states are never read", async () => {
  let read = 0;
  const states = plainStates(2_500);
  const counted = {
    *[Symbol.iterator]() {
      for (const s of states) {
        read++;
        yield s;
      }
    },
  };
  const reply = new Reply(2);
  await streamLines(reply, statusLines(model(counted)), 0);
  assert.equal(reply.lines.length, 512);
  assert.equal(reply.rc, undefined);
  // One pass for the counts (all 5,000), then the listing stopped after the
  // ~330 states of its first 512 lines (three lines per IKE + Child pair).
  assert.ok(read < 5_000 + 400, `${read} states read`);
});

Deno.test("status: WhackSession writes every line to the socket and notices whack going away", async () => {
  const dir = await Deno.makeTempDir({ prefix: "swan-status-stream-" });
  const path = `${dir}/ctl`;
  const listener = Deno.listen({ transport: "unix", path });
  try {
    const client = await Deno.connect({ transport: "unix", path });
    const server = await listener.accept();
    const session = new WhackSession(server);
    for (let i = 0; i < 3_000; i++) session.line(`line ${i}`);
    const read = (async () => {
      let text = "";
      const decoder = new TextDecoder();
      const buf = new Uint8Array(65536);
      while (!text.endsWith("000 line 2999\n")) {
        const n = await client.read(buf);
        if (n === null) break;
        text += decoder.decode(buf.subarray(0, n), { stream: true });
      }
      return text;
    })();
    await session.drained();
    const text = await read;
    assert.deepEqual(
      text.split("\n").slice(0, -1).map((l) => parseReplyLine(l)?.text),
      Array.from({ length: 3_000 }, (_, i) => `line ${i}`),
    );
    assert.equal(session.finished, false);

    client.close();
    // Writes to a closed peer fail within a few chunks; the session then counts as finished.
    for (let round = 0; round < 50 && !session.finished; round++) {
      for (let i = 0; i < 1_000; i++) session.line(`more ${i}`);
      await session.drained();
    }
    assert.equal(session.finished, true);
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});
