/**
 * The Kernel adapter's contract without a device: SAs the userspace stack
 * cannot carry are refused with a KernelError that says why (before any
 * TUN device is opened), SPIs are unique and outside the reserved range,
 * and routes into the device are reference-counted CIDR blocks covering
 * exactly the remote selector.
 */
import assert from "node:assert/strict";
import {
  type IpAddress,
  parseAddress,
  parseSelector,
  type Selector,
} from "../../../src/config/addresses.ts";
import { ENCR_AES_CBC, ENCR_AES_GCM_16 } from "../../../src/crypto/encr.ts";
import { AUTH_HMAC_SHA2_256_128 } from "../../../src/crypto/integ.ts";
import { seededEntropy } from "../../../src/crypto/random.ts";
import { KernelError, type KernelSa } from "../../../src/kernel/kernel.ts";
import { selectorCidrs, TunRoutes } from "../../../src/kernel/userspace/tun_routes.ts";
import { UserspaceKernel } from "../../../src/kernel/userspace/userspace_kernel.ts";

const WEST = parseAddress("192.0.2.1")!;
const EAST = parseAddress("192.0.2.2")!;

function sel(text: string): Selector {
  const r = parseSelector(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

function sa(overrides: Partial<KernelSa> = {}): KernelSa {
  return {
    src: WEST,
    dst: EAST,
    spi: 0x1234,
    inbound: false,
    mode: "tunnel",
    encrId: ENCR_AES_GCM_16,
    encrKeyBits: 128,
    encrKey: new Uint8Array(20),
    integId: 0,
    integKey: new Uint8Array(0),
    esn: false,
    replayWindow: 64,
    srcSelector: sel("198.51.100.0/24"),
    dstSelector: sel("203.0.113.0/24"),
    encap: { srcPort: 4500, dstPort: 4500 },
    ...overrides,
  };
}

function kernel(): UserspaceKernel {
  const k = new UserspaceKernel({ entropy: seededEntropy(1) });
  k.sendEsp = () => {};
  return k;
}

async function refused(k: UserspaceKernel, config: KernelSa, why: RegExp): Promise<void> {
  await assert.rejects(k.addSa(config), (err: Error) => {
    assert.ok(err instanceof KernelError, `${err}`);
    assert.match(err.message, why);
    return true;
  });
  assert.equal(k.deviceName, undefined, "no device was opened for a refused SA");
}

Deno.test("userspace kernel: SAs it cannot carry are refused, saying why", async () => {
  const k = kernel();
  await refused(k, sa({ mode: "transport" }), /tunnel mode only/);
  await refused(k, sa({ encap: undefined }), /only in UDP \(RFC 3948\)/);
  await refused(k, sa({ encrId: 3, encrKeyBits: 192 }), /unsupported ESP encryption 3\/192/);
  await refused(k, sa({ encrKey: new Uint8Array(16) }), /AES_GCM_16_128 needs 20 bytes/);
  await refused(k, sa({ integId: AUTH_HMAC_SHA2_256_128 }), /integrity must be none/);
  await refused(
    k,
    sa({ encrId: ENCR_AES_CBC, encrKey: new Uint8Array(16), integId: 0 }),
    /unsupported ESP integrity 0 with AES_CBC_128/,
  );
  await refused(
    k,
    sa({
      encrId: ENCR_AES_CBC,
      encrKey: new Uint8Array(16),
      integId: AUTH_HMAC_SHA2_256_128,
      integKey: new Uint8Array(20),
    }),
    /HMAC_SHA2_256_128 needs a 32-byte key/,
  );
  // Host-to-host or a default route: the peer's own packets would loop through the tunnel.
  await refused(
    k,
    sa({ dstSelector: sel("192.0.2.2/32") }),
    /peer's own address 192\.0\.2\.2 .*loop/,
  );
  await refused(k, sa({ dstSelector: sel("0.0.0.0/0") }), /peer's own address/);
  const mute = new UserspaceKernel({ entropy: seededEntropy(2) });
  await refused(mute, sa(), /no ESP-in-UDP socket/);
  assert.deepEqual(k.bytes(EAST, 0x1234), { bytes: 0, packets: 0 });
  await k.deleteSa(EAST, 0x1234); // unknown: ignored
  assert.equal(k.receiveEsp(new Uint8Array(40).fill(7)), false);
  assert.deepEqual(Object.fromEntries(k.drops()), { "unknown-spi": 1 });
});

Deno.test("userspace kernel: inbound SPIs are unique and above the manual-keying range", async () => {
  const k = kernel();
  const spis = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const spi = await k.allocateSpi(EAST, i % 2 ? WEST : parseAddress("2001:db8::1")!);
    assert.ok(spi >= 0x1000 && spi <= 0xffffffff, `SPI ${spi}`);
    assert.ok(!spis.has(spi), `SPI ${spi} handed out twice`);
    spis.add(spi);
  }
});

Deno.test("routes: selector ranges become the fewest CIDR blocks", () => {
  assert.deepEqual(selectorCidrs(sel("203.0.113.0/24")), ["203.0.113.0/24"]);
  assert.deepEqual(selectorCidrs(sel("0.0.0.0/0")), ["0.0.0.0/0"]);
  assert.deepEqual(selectorCidrs(sel("2001:db8:2::/64")), ["2001:db8:2::/64"]);
  assert.deepEqual(selectorCidrs(sel("192.0.2.7")), ["192.0.2.7/32"]);
  const range: Selector = {
    ...sel("192.0.2.0/24"),
    start: parseAddress("192.0.2.3")!.bytes,
    end: parseAddress("192.0.2.17")!.bytes,
  };
  assert.deepEqual(selectorCidrs(range), [
    "192.0.2.3/32",
    "192.0.2.4/30",
    "192.0.2.8/29",
    "192.0.2.16/31",
  ]);
});

Deno.test("routes: shared by SAs and traps, deleted with the last user, source from the local side", async () => {
  const commands: string[] = [];
  const host: IpAddress[] = [parseAddress("192.0.2.1")!, parseAddress("198.51.100.1")!];
  const routes = new TunRoutes("ipsec9", {
    ip: (args) => (commands.push(args.join(" ")), Promise.resolve("")),
    addresses: () => Promise.resolve(host),
  });
  const local = sel("198.51.100.0/24");
  const remote = sel("203.0.113.0/24");
  await routes.add(local, remote);
  await routes.add(local, remote);
  await routes.add(sel("10.0.0.0/8"), sel("192.0.2.128/25"));
  await routes.remove(remote);
  assert.deepEqual(commands, [
    "route replace 203.0.113.0/24 dev ipsec9 src 198.51.100.1",
    "route replace 192.0.2.128/25 dev ipsec9",
  ]);
  await routes.remove(remote);
  await routes.remove(remote); // one too many: nothing to undo
  assert.deepEqual(commands.slice(2), ["route del 203.0.113.0/24 dev ipsec9"]);
});
