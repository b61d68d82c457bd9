/**
 * The xfrm adapter against the kernel's own XFRM tables, in a throwaway
 * network namespace (root required): ALLOCSPI shows up as a larval SA and
 * DELSA removes it; policies appear in `ip xfrm policy` exactly as intended
 * and go away again; an ESP SA on this ESP-less kernel fails with one clear
 * KernelError and leaves nothing behind; real ACQUIRE and EXPIRE messages
 * decode. The work runs in xfrm_netns_child.ts under `ip netns exec`.
 */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";

const CHILD = fileURLToPath(new URL("./xfrm_netns_child.ts", import.meta.url));
const TIMEOUT_MS = 30_000;

async function run(args: string[], signal?: AbortSignal) {
  const out = await new Deno.Command(args[0], { args: args.slice(1), signal }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("xfrm adapter in a namespace: SPIs, policies, refused ESP, ACQUIRE, EXPIRE", async () => {
  const ns = `swan-xfrm-${randomBytes(4).toString("hex")}`;
  const created = await run(["ip", "netns", "add", ns]);
  assert.equal(created.code, 0, created.stderr);
  try {
    const child = await run(
      ["ip", "netns", "exec", ns, Deno.execPath(), "run", "-A", CHILD],
      AbortSignal.timeout(TIMEOUT_MS),
    );
    assert.equal(child.code, 0, child.stderr);
    const r = JSON.parse(child.stdout);

    // ALLOCSPI: a larval SA with the SPI we were given, in our range.
    assert.ok(r.spi >= 0x1000 && r.spi <= 0xffffffff);
    assert.match(
      r.larvalState,
      new RegExp(
        `^src 192\\.0\\.2\\.2 dst 192\\.0\\.2\\.1\\n\\tproto esp spi 0x${
          r.spi.toString(16).padStart(8, "0")
        } reqid 0 mode transport\\n`,
      ),
    );
    assert.deepEqual(r.bytes, { bytes: 0, packets: 0 });
    assert.equal(r.stateAfterDelete, "");

    // ESP refused: one sentence, nothing left behind.
    assert.equal(
      r.addSaError,
      "kernel has no ESP support (XFRM_MSG_UPDSA: EPROTONOSUPPORT); " +
        "load the esp4/esp6 modules or use --protostack userspace",
    );
    assert.equal(r.stateAfterFailedAdd, "");
    assert.equal(r.policyAfterFailedAdd, "");

    // Policies as `ip xfrm policy` lists them (newest first); priority falls with specificity.
    assert.equal(
      r.policies,
      [
        "src 2001:db8:1::/48 dst 2001:db8:2::/48 ",
        "\tdir out priority 65152 ptype main ",
        "\ttmpl src :: dst ::",
        "\t\tproto esp reqid 0 mode transport",
        "src 203.0.113.0/24 dst 198.51.100.7/32 proto tcp dport 22 ",
        "\tdir in priority 65309 ptype main ",
        "\ttmpl src 192.0.2.2 dst 192.0.2.1",
        "\t\tproto esp reqid 5 mode tunnel",
        "src 198.51.100.0/24 dst 203.0.113.0/24 ",
        "\tdir out priority 65344 ptype main ",
        "\ttmpl src 192.0.2.1 dst 192.0.2.2",
        "\t\tproto esp reqid 5 mode tunnel",
        "",
      ].join("\n"),
    );
    assert.equal(r.policiesAfterDelete, "");

    // ACQUIRE for the UDP packet to 192.0.2.2:4242 that met the trap policy.
    const a = r.acquire;
    assert.ok(a, "no XFRM_MSG_ACQUIRE arrived");
    assert.deepEqual(
      {
        dst: a.dst.bytes,
        src: a.src.bytes,
        proto: a.proto,
        dir: a.dir,
        flowProto: a.selector.proto,
        dport: a.selector.dport,
        policyDport: a.policySelector.dport,
      },
      {
        dst: [192, 0, 2, 2],
        src: [192, 0, 2, 1],
        proto: 50,
        dir: "out",
        flowProto: 17,
        dport: 4242,
        policyDport: 4242,
      },
    );

    // Hard EXPIRE of the larval SA once net.core.xfrm_acq_expires (1 s) ran out.
    assert.ok(r.expire, "no XFRM_MSG_EXPIRE arrived");
    assert.equal(r.expire.hard, true);
    assert.equal(r.expire.sa.spi, r.shortSpi);
    assert.equal(r.expire.sa.lifetime.hardAddSeconds, "1");
    assert.equal(r.finalState, "");
    assert.equal(r.finalPolicy, "");
  } finally {
    await run(["ip", "netns", "del", ns]);
  }
});
