/**
 * Helpers for testing sockets in network namespaces: run a synchronous
 * block (socket creation) with this thread inside a namespace, and an
 * independent UDP peer — Node.js's own dgram in a separate process — that
 * records every datagram it receives, or sends a list of datagrams and exits.
 */
import { close, libc, setns } from "../../ffi/libc.ts";
import { type Lab, type NamespaceDaemon, runIn } from "../netns/lab.ts";

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;

function openPath(path: string): number {
  const fd = libc().open(new TextEncoder().encode(`${path}\0`), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw new Error(`open(${path}) failed`);
  return fd;
}

/**
 * Runs `fn` with the calling thread in network namespace `ns` (`ip netns`
 * name) and moves it back afterwards, even if `fn` throws. Sockets keep the
 * namespace they were created in, so only their creation needs to be inside.
 */
export function inNamespace<T>(ns: string, fn: () => T): T {
  const home = openPath("/proc/thread-self/ns/net");
  try {
    const target = openPath(`/run/netns/${ns}`);
    try {
      setns(target, 0, ns);
    } finally {
      close(target, ns);
    }
    try {
      return fn();
    } finally {
      setns(home, 0, "the test's own namespace");
    }
  } finally {
    close(home, "the test's own namespace");
  }
}

/** A datagram the recorder received: on which of its sockets, from where, what. */
export interface Recorded {
  local: string;
  localPort: number;
  from: string;
  port: number;
  hex: string;
}

/** Node.js: binds each `[address, port]` of argv[1] and prints one JSON line per datagram. */
const RECORDER = `
const dgram = require("node:dgram");
const binds = JSON.parse(process.argv[1]);
let pending = binds.length;
for (const [address, port] of binds) {
  const s = address.includes(":")
    ? dgram.createSocket({ type: "udp6", ipv6Only: true })
    : dgram.createSocket("udp4");
  s.on("error", (e) => { console.error(e.message); process.exit(1); });
  s.on("message", (m, r) => console.log(JSON.stringify({
    local: address, localPort: port, from: r.address, port: r.port, hex: m.toString("hex"),
  })));
  s.bind(port, address, () => { if (--pending === 0) console.log("ready"); });
}
`;

/** Node.js: sends each `{ from, to, port, hex }` of argv[1] in order from a fresh socket, then exits. */
const SENDER = `
const dgram = require("node:dgram");
const list = JSON.parse(process.argv[1]);
(async () => {
  for (const d of list) {
    const s = d.to.includes(":")
      ? dgram.createSocket({ type: "udp6", ipv6Only: true })
      : dgram.createSocket("udp4");
    await new Promise((ok) => s.bind(d.fromPort ?? 0, d.from, ok));
    await new Promise((ok, fail) => s.send(Buffer.from(d.hex, "hex"), d.port, d.to, (e) => e ? fail(e) : ok()));
    s.close();
  }
})().catch((e) => { console.error(e.message); process.exit(1); });
`;

/** A recorder process; {@link Recorder.received} parses what it printed so far. */
export class Recorder {
  constructor(readonly daemon: NamespaceDaemon) {}

  received(): Recorded[] {
    return this.daemon.stdout().split("\n").filter((l) => l.startsWith("{")).map((l) =>
      JSON.parse(l) as Recorded
    );
  }
}

/** Starts a recorder in `ns` listening on `binds`, tracked by `lab` for cleanup. */
export async function startRecorder(
  lab: Lab,
  ns: string,
  binds: [string, number][],
): Promise<Recorder> {
  const daemon = await lab.spawnDaemon(ns, ["node", "-e", RECORDER, JSON.stringify(binds)], {
    label: "udp recorder",
    readyLine: "ready",
    readyTimeoutMs: 10_000,
  });
  return new Recorder(daemon);
}

/** One datagram for {@link sendFrom}: payload bytes as hex. */
export interface Outgoing {
  from: string;
  fromPort?: number;
  to: string;
  port: number;
  hex: string;
}

/** Sends `datagrams` from inside `ns`, in order; throws if the sender failed. */
export async function sendFrom(ns: string, datagrams: Outgoing[]): Promise<void> {
  const r = await runIn(ns, ["node", "-e", SENDER, JSON.stringify(datagrams)], {
    timeoutMs: 10_000,
  });
  if (r.code !== 0) throw new Error(`udp sender failed: ${r.stderr}`);
}
