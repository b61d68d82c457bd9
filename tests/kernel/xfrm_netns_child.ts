/**
 * Runs inside a network namespace made by xfrm_kernel.test.ts (via
 * `ip netns exec`): drives the xfrm adapter against the namespace's real
 * XFRM tables, snapshots `ip xfrm state`/`ip xfrm policy` after each step,
 * listens for the kernel's ACQUIRE and EXPIRE, and prints one JSON object.
 */

import { parseAddress, parseSelector, type Selector } from "../../src/config/addresses.ts";
import { AUTH_HMAC_SHA2_256_128, ENCR_AES_CBC } from "../../src/config/algorithm_names.ts";
import { KernelError, type KernelPolicy } from "../../src/kernel/kernel.ts";
import { XfrmKernel } from "../../src/kernel/xfrm.ts";
import {
  isXfrmParseError,
  parseXfrmMessage,
  type XfrmEvent,
  XFRMNLGRP_ACQUIRE,
  XFRMNLGRP_EXPIRE,
} from "../../src/kernel/xfrm_messages.ts";
import { NETLINK_XFRM, NetlinkSocket } from "../../ffi/netlink.ts";
import dgram from "node:dgram";

const ip = (t: string) => parseAddress(t)!;
const sel = (t: string): Selector => {
  const r = parseSelector(t);
  if (!r.ok) throw new Error(`bad selector ${t}`);
  return r.value;
};

async function sh(...args: string[]): Promise<string> {
  const out = await new Deno.Command(args[0], { args: args.slice(1), stderr: "inherit" })
    .output();
  return new TextDecoder().decode(out.stdout);
}
const xfrm = (what: "state" | "policy") => sh("ip", "xfrm", what);

/** Waits (at most `ms`) for an event on `events` that `wanted` accepts. */
async function waitFor(
  events: NetlinkSocket,
  wanted: (ev: XfrmEvent) => boolean,
  ms: number,
): Promise<XfrmEvent | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const msg of events.poll()) {
      const ev = parseXfrmMessage(msg);
      if (!isXfrmParseError(ev) && wanted(ev)) return ev;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

const jsonable = (_k: string, v: unknown) =>
  typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? Array.from(v) : v;

const report: Record<string, unknown> = {};
const kernel = XfrmKernel.open();
const events = NetlinkSocket.open(
  NETLINK_XFRM,
  "XFRM events",
  (1 << (XFRMNLGRP_ACQUIRE - 1)) | (1 << (XFRMNLGRP_EXPIRE - 1)),
);
try {
  // ALLOCSPI, then DELSA.
  const spi = await kernel.allocateSpi(ip("192.0.2.2"), ip("192.0.2.1"));
  report.spi = spi;
  report.larvalState = await xfrm("state");
  report.bytes = kernel.bytes(ip("192.0.2.1"), spi);
  await kernel.deleteSa(ip("192.0.2.1"), spi);
  report.stateAfterDelete = await xfrm("state");

  // A real ESP SA on the reserved SPI: this kernel has no ESP.
  const inSpi = await kernel.allocateSpi(ip("192.0.2.2"), ip("192.0.2.1"));
  try {
    await kernel.addSa({
      src: ip("192.0.2.2"),
      dst: ip("192.0.2.1"),
      spi: inSpi,
      inbound: true,
      mode: "tunnel",
      encrId: ENCR_AES_CBC,
      encrKeyBits: 128,
      encrKey: new Uint8Array(16).fill(1),
      integId: AUTH_HMAC_SHA2_256_128,
      integKey: new Uint8Array(32).fill(2),
      esn: false,
      replayWindow: 128,
      srcSelector: sel("203.0.113.0/24"),
      dstSelector: sel("198.51.100.0/24"),
    });
    report.addSaError = null;
  } catch (e) {
    report.addSaError = e instanceof KernelError ? e.message : `not a KernelError: ${e}`;
  }
  report.stateAfterFailedAdd = await xfrm("state");
  report.policyAfterFailedAdd = await xfrm("policy");

  // Policies on their own.
  const base = {
    saSrc: ip("192.0.2.1"),
    saDst: ip("192.0.2.2"),
    mode: "tunnel" as const,
    reqid: 5,
  };
  const policies: KernelPolicy[] = [
    { ...base, dir: "out", src: sel("198.51.100.0/24"), dst: sel("203.0.113.0/24") },
    {
      ...base,
      dir: "in",
      src: sel("203.0.113.0/24"),
      dst: sel("198.51.100.7/32/tcp/22"),
      saSrc: ip("192.0.2.2"),
      saDst: ip("192.0.2.1"),
    },
    {
      dir: "out",
      src: sel("2001:db8:1::/48"),
      dst: sel("2001:db8:2::/48"),
      saSrc: ip("2001:db8::1"),
      saDst: ip("2001:db8::2"),
      mode: "transport",
      reqid: 0,
    },
  ];
  for (const p of policies) await kernel.addPolicy(p);
  report.policies = await xfrm("policy");
  for (const p of policies) await kernel.deletePolicy(p);
  report.policiesAfterDelete = await xfrm("policy");

  // Larval SAs (ACQUIRE's and ALLOCSPI's) live net.core.xfrm_acq_expires seconds.
  await sh("sysctl", "-qw", "net.core.xfrm_acq_expires=1");

  // ACQUIRE: a packet meets an out policy with no SA.
  await sh("ip", "link", "add", "xv0", "type", "veth", "peer", "name", "xv1");
  await sh("ip", "addr", "add", "192.0.2.1/24", "dev", "xv0");
  await sh("ip", "link", "set", "xv1", "up");
  await sh("ip", "link", "set", "xv0", "up");
  const trap: KernelPolicy = {
    ...base,
    dir: "out",
    src: sel("192.0.2.1/32"),
    dst: sel("192.0.2.2/32/udp/4242"),
    mode: "transport",
  };
  await kernel.addPolicy(trap);
  const udp = dgram.createSocket("udp4");
  udp.on("error", () => {}); // the kernel drops the packet while it waits for keys
  udp.send(new Uint8Array([1]), 4242, "192.0.2.2");
  report.acquire = await waitFor(events, (ev) => ev.kind === "acquire", 3000) ?? null;
  udp.close();
  await kernel.deletePolicy(trap);

  // EXPIRE: the larval SA's hard lifetime ends.
  const shortSpi = await kernel.allocateSpi(ip("192.0.2.2"), ip("192.0.2.1"));
  report.shortSpi = shortSpi;
  report.expire = await waitFor(
    events,
    (ev) => ev.kind === "expire" && ev.sa.spi === shortSpi,
    5000,
  ) ?? null;
  // The ACQUIRE's larval SA expires on the same clock.
  await waitFor(events, (ev) => ev.kind === "expire" && ev.sa.spi === 0, 3000);
  report.finalState = await xfrm("state");
  report.finalPolicy = await xfrm("policy");
} finally {
  events.close();
  kernel.close();
}
console.log(JSON.stringify(report, jsonable));
