import assert from "node:assert/strict";
import { formatSelector } from "../../src/config/addresses.ts";
import { buildConnection, type ConnectionConfig } from "../../src/config/connection.ts";
import { formatEspProposals, formatIkeProposals } from "../../src/config/proposals.ts";
import type { ConnectionDefinition } from "../../src/control/request.ts";

function def(
  conn: Record<string, string> = {},
  left: Record<string, string> = {},
  right: Record<string, string> = {},
): ConnectionDefinition {
  return {
    name: "westnet-eastnet",
    left: { host: "192.1.2.45", ...left },
    right: { host: "192.1.2.23", ...right },
    conn,
  };
}

function build(d: ConnectionDefinition): ConnectionConfig {
  const r = buildConnection(d);
  if (!r.ok) throw new Error(`unexpected error: ${r.error}`);
  return r.value;
}

function error(d: ConnectionDefinition): string {
  const r = buildConnection(d);
  assert.ok(!r.ok, "expected an error");
  return r.error;
}

Deno.test("defaults are Libreswan 5.x's", () => {
  const c = build(def());
  assert.equal(c.name, "westnet-eastnet");
  assert.equal(c.ikeVersion, 2);
  assert.deepEqual(c.authby, ["rsasig", "ecdsa"]);
  assert.equal(c.type, "tunnel");
  assert.equal(c.phase2, "esp");
  assert.equal(c.pfs, true);
  assert.equal(c.esn, "either");
  assert.equal(c.ikeLifetime, 28800);
  assert.equal(c.ipsecLifetime, 28800);
  assert.equal(c.ipsecMaxBytes, 2n ** 63n);
  assert.equal(c.ipsecMaxPackets, 2n ** 63n);
  assert.equal(c.rekeyMargin, 540);
  assert.equal(c.rekeyFuzz, 100);
  assert.equal(c.rekey, true);
  assert.equal(c.reauth, false);
  assert.equal(c.retransmitIntervalMs, 500);
  assert.equal(c.retransmitTimeout, 30);
  assert.equal(c.keyingTries, 0);
  assert.equal(c.replayWindow, 128);
  assert.equal(c.dpdDelay, 0);
  assert.equal(c.dpdTimeout, 0);
  assert.equal(c.dpdAction, "hold");
  assert.equal(c.encapsulation, "auto");
  assert.equal(c.natKeepalive, true);
  assert.equal(c.fragmentation, true);
  assert.equal(c.initialContact, false);
  assert.equal(c.mobike, false);
  assert.equal(c.narrowing, false);
  assert.equal(c.compress, false);
  assert.equal(c.hostAddrFamily, 4);
  assert.deepEqual(c.warnings, []);
  assert.equal(c.ikeText, undefined);
  assert.equal(c.espText, undefined);
  // §6.5.2 defaults
  assert.equal(
    formatIkeProposals(c.ike).split(", ")[0],
    "AES_GCM_16_256-HMAC_SHA2_512+HMAC_SHA2_256-DH19+DH20+DH21+DH31+MODP4096+MODP3072+MODP2048+MODP8192",
  );
  assert.equal(formatEspProposals(c.esp).split(", ")[0], "AES_GCM_16_256");

  for (const [end, text] of [[c.left, "192.1.2.45"], [c.right, "192.1.2.23"]] as const) {
    assert.equal(end.hostText, text);
    assert.deepEqual(end.host, { family: 4, bytes: Uint8Array.from(text.split(".").map(Number)) });
    assert.equal(end.id.type, 1);
    assert.equal(end.id.text, text);
    assert.equal(end.idExplicit, false);
    assert.deepEqual(end.subnets, []);
    assert.equal(end.ikePort, 500);
    assert.equal(end.nextHop, undefined);
    assert.equal(end.sourceIp, undefined);
    assert.equal(end.updown, "ipsec _updown");
    assert.equal(end.auth, undefined);
  }
});

Deno.test("per-end keywords", () => {
  const c = build(def(
    {},
    {
      id: "@west",
      subnet: "192.0.1.0/24, 198.51.100.0/24",
      nexthop: "192.1.2.23",
      ikeport: "4500",
      sourceip: "192.0.1.254",
      updown: "/usr/local/bin/my-updown --flag",
      auth: "secret",
    },
    { id: "%none", subnet: "192.0.2.0/24", updown: "%disabled", nexthop: "%direct" },
  ));
  assert.equal(c.left.id.text, "@west");
  assert.equal(c.left.id.type, 2);
  assert.equal(c.left.idExplicit, true);
  assert.deepEqual(c.left.subnets.map(formatSelector), ["192.0.1.0/24", "198.51.100.0/24"]);
  assert.equal(c.left.nextHop?.bytes.join("."), "192.1.2.23");
  assert.equal(c.left.ikePort, 4500);
  assert.equal(c.left.sourceIp?.bytes.join("."), "192.0.1.254");
  assert.equal(c.left.updown, "/usr/local/bin/my-updown --flag");
  assert.equal(c.left.auth, "secret");
  // %none means "no explicit ID": the host address is used
  assert.equal(c.right.idExplicit, false);
  assert.equal(c.right.id.text, "192.1.2.23");
  assert.deepEqual(c.right.subnets.map(formatSelector), ["192.0.2.0/24"]);
  assert.equal(c.right.updown, "");
  assert.equal(c.right.nextHop, undefined);
  assert.equal(build(def({}, { updown: "" })).left.updown, "");
});

Deno.test("%any peers, IPv6 hosts and DN ids", () => {
  const rw = build({
    name: "rw",
    left: { host: "2001:db8:1::45", id: "C=CA, O=Libreswan, CN=west" },
    right: { host: "%any" },
    conn: {},
  });
  assert.equal(rw.hostAddrFamily, 6);
  assert.equal(rw.left.hostText, "2001:db8:1::45");
  assert.equal(rw.left.id.type, 9);
  assert.equal(rw.right.host, undefined);
  assert.equal(rw.right.hostText, "%any");
  assert.equal(rw.right.id.type, 0);
  assert.equal(rw.right.id.text, "(none)");
  // 0.0.0.0 is %any
  const any = build(def({}, {}, { host: "0.0.0.0" }));
  assert.equal(any.right.host, undefined);
  assert.equal(any.right.hostText, "%any");
  // hostaddrfamily picks the family when it matters and must agree with the addresses
  assert.equal(build(def({ hostaddrfamily: "ipv4" })).hostAddrFamily, 4);
});

Deno.test("connection keywords", () => {
  const c = build(def({
    authby: "secret",
    keyexchange: "ikev1",
    type: "transport",
    pfs: "no",
    esn: "yes",
    ike: "aes128-sha2;dh19",
    esp: "aes128-sha2_256",
    ikelifetime: "1h",
    "ipsec-lifetime": "1.5h",
    "ipsec-max-bytes": "1GiB",
    "ipsec-max-packets": "1000",
    rekeymargin: "3m",
    rekeyfuzz: "50%",
    rekey: "no",
    reauth: "yes",
    "retransmit-interval": "250",
    "retransmit-timeout": "2m",
    keyingtries: "3",
    "replay-window": "64",
    dpddelay: "30s",
    dpdtimeout: "120",
    dpdaction: "restart",
    encapsulation: "yes",
    "nat-keepalive": "no",
    fragmentation: "no",
    "initial-contact": "yes",
    narrowing: "yes",
    compress: "yes",
  }));
  assert.deepEqual(c.authby, ["secret"]);
  assert.equal(c.ikeVersion, 1);
  assert.equal(c.type, "transport");
  assert.equal(c.pfs, false);
  assert.equal(c.esn, "yes");
  assert.equal(c.ikeText, "aes128-sha2;dh19");
  assert.equal(c.espText, "aes128-sha2_256");
  assert.equal(formatIkeProposals(c.ike), "AES_CBC_128-HMAC_SHA2_256-DH19");
  assert.equal(formatEspProposals(c.esp), "AES_CBC_128-HMAC_SHA2_256_128");
  assert.equal(c.ikeLifetime, 3600);
  assert.equal(c.ipsecLifetime, 5400);
  assert.equal(c.ipsecMaxBytes, 1n << 30n);
  assert.equal(c.ipsecMaxPackets, 1000n);
  assert.equal(c.rekeyMargin, 180);
  assert.equal(c.rekeyFuzz, 50);
  assert.equal(c.rekey, false);
  assert.equal(c.reauth, true);
  assert.equal(c.retransmitIntervalMs, 250);
  assert.equal(c.retransmitTimeout, 120);
  assert.equal(c.keyingTries, 3);
  assert.equal(c.replayWindow, 64);
  assert.equal(c.dpdDelay, 30);
  assert.equal(c.dpdTimeout, 120);
  assert.equal(c.dpdAction, "restart");
  assert.equal(c.encapsulation, "yes");
  assert.equal(c.natKeepalive, false);
  assert.equal(c.fragmentation, false);
  assert.equal(c.initialContact, true);
  assert.equal(c.narrowing, true);
  assert.equal(c.compress, true);
  assert.deepEqual(c.warnings, []);

  assert.equal(build(def({ mobike: "yes" })).mobike, true);
  assert.equal(build(def({ esn: "no" })).esn, "no");
  assert.equal(build(def({ esn: "either" })).esn, "either");
  assert.equal(build(def({ encapsulation: "no" })).encapsulation, "no");
  assert.equal(build(def({ keyingtries: "%forever" })).keyingTries, 0);
  assert.equal(build(def({ type: "passthrough" })).type, "passthrough");
  assert.equal(build(def({ type: "drop" })).type, "drop");
  assert.equal(build(def({ "retransmit-interval": "2s" })).retransmitIntervalMs, 2000);
  assert.equal(build(def({ keyexchange: "IKEv1" })).ikeVersion, 1);
  // IKEv1 defaults to RSA with SHA1 signatures, as Libreswan
  assert.deepEqual(build(def({ keyexchange: "ikev1" })).authby, ["rsa-sha1"]);
  // old spellings of ipsec-lifetime and dpdtimeout
  assert.equal(build(def({ keylife: "2h" })).ipsecLifetime, 7200);
  assert.equal(build(def({ salifetime: "2h" })).ipsecLifetime, 7200);
  assert.equal(build(def({ lifetime: "2h" })).ipsecLifetime, 7200);
  assert.equal(build(def({ "ikev1-dpdtimeout": "9" })).dpdTimeout, 9);
  assert.equal(build(def({ "ipsec-max-bytes": "2^63" })).ipsecMaxBytes, 1n << 63n);
});

Deno.test("authby lists", () => {
  assert.deepEqual(build(def({ authby: "rsasig,ecdsa" })).authby, ["rsasig", "ecdsa"]);
  assert.deepEqual(build(def({ authby: "rsa, ecdsa-sha2, rsasig" })).authby, ["rsasig", "ecdsa"]);
  assert.deepEqual(build(def({ authby: "null" })).authby, ["null"]);
  assert.deepEqual(build(def({ authby: "never" })).authby, ["never"]);
  assert.deepEqual(build(def({ authby: "rsa-sha2_256,ecdsa-sha2_384" })).authby, [
    "rsa-sha2_256",
    "ecdsa-sha2_384",
  ]);
  assert.equal(
    error(def({ authby: "secret,rsasig" })),
    `authby: "secret,rsasig": secret cannot be combined with other methods`,
  );
  assert.equal(
    error(def({ authby: "null,never" })),
    `authby: "null,never": null cannot be combined with other methods`,
  );
  assert.match(
    error(def({ authby: "psk" })),
    /^authby: "psk" is not an authentication method; use secret, /,
  );
  assert.equal(error(def({ authby: " , " })), `authby: " , " names no authentication method`);
});

Deno.test("proposal warnings and errors are passed on", () => {
  const c = build(def({ pfs: "no", esp: "aes128-sha2_256-modp2048" }));
  assert.deepEqual(c.warnings, [
    "ignoring ESP Key Exchange algorithm 'MODP2048' as PFS policy is disabled",
  ]);
  assert.equal(formatEspProposals(c.esp), "AES_CBC_128-HMAC_SHA2_256_128");
  assert.match(error(def({ ike: "" })), /^ike: IKE proposal is empty$/);
  assert.match(error(def({ esp: "" })), /^esp: ESP proposal is empty$/);
  assert.match(error(def({ ike: "foo-sha2" })), /^ike: /);
});

Deno.test("a rekeymargin not below the lifetime is halved with a warning", () => {
  const c = build(def({ "ipsec-lifetime": "5m" }));
  assert.equal(c.rekeyMargin, 150);
  assert.deepEqual(c.warnings, [
    "rekeymargin (540s) is not less than ipsec-lifetime (300s); reducing rekeymargin to 150s",
  ]);
  const i = build(def({ ikelifetime: "4m", rekeymargin: "5m" }));
  assert.equal(i.rekeyMargin, 120);
  assert.match(i.warnings[0], /not less than ikelifetime \(240s\)/);
  // with rekey=no nothing is adjusted
  assert.equal(build(def({ "ipsec-lifetime": "5m", rekey: "no" })).rekeyMargin, 540);
});

Deno.test("keyword errors", () => {
  assert.equal(error(def({ foo: "1" })), `unknown keyword "foo"`);
  assert.equal(error(def({}, { foo: "1" })), `unknown keyword "leftfoo"`);
  assert.equal(error(def({}, {}, { bar: "1" })), `unknown keyword "rightbar"`);
  assert.equal(error(def({}, { cert: "west" })), "leftcert: not supported by swan yet");
  assert.equal(error(def({}, {}, { ckaid: "0a" })), "rightckaid: not supported by swan yet");
  assert.equal(error(def({}, { ca: "%same" })), "leftca: not supported by swan yet");
  assert.equal(error(def({}, { sendcert: "always" })), "leftsendcert: not supported by swan yet");
  assert.equal(
    error(def({}, { xauthserver: "yes" })),
    "leftxauthserver: not supported by swan yet",
  );
  assert.equal(
    error(def({}, { modecfgclient: "yes" })),
    "leftmodecfgclient: not supported by swan yet",
  );
  assert.equal(
    error(def({}, { addresspool: "10.0.0.1-10.0.0.9" })),
    "leftaddresspool: not supported by swan yet",
  );
  assert.equal(
    error(def({}, { protoport: "17/1701" })),
    "leftprotoport: not supported by swan yet",
  );
  assert.equal(error(def({ xauthby: "file" })), "xauthby: not supported by swan yet");
  assert.equal(error(def({ mark: "1/0xffffffff" })), "mark: not supported by swan yet");
  assert.equal(error(def({ "vti-interface": "vti0" })), "vti-interface: not supported by swan yet");
  assert.equal(error(def({ "sec-label": "x" })), "sec-label: not supported by swan yet");
  assert.equal(error(def({ "enable-tcp": "yes" })), "enable-tcp: not supported by swan yet");
  assert.equal(error(def({ tcp: "yes" })), "tcp: not supported by swan yet");
  assert.equal(error(def({ ah: "sha2" })), "ah: not supported by swan yet");
  assert.equal(
    error(def({ keylife: "1h", "ipsec-lifetime": "2h" })),
    `ipsec-lifetime: given twice (also as "keylife")`,
  );
  assert.equal(error({ ...def(), name: "" }), "connection name is empty");
});

Deno.test("host and end value errors", () => {
  assert.equal(error(def({}, { host: "1.2.3" })), `left: "1.2.3" is not an IP address or %any`);
  assert.equal(
    error(def({}, {}, { host: "east.example" })),
    `right: "east.example" is not an IP address or %any`,
  );
  assert.equal(
    error(def({}, { host: "%defaultroute" })),
    `left: "%defaultroute" is not supported by swan yet`,
  );
  assert.equal(
    error({ name: "x", left: {}, right: { host: "1.2.3.4" }, conn: {} }),
    "left: missing; give an IP address or %any",
  );
  assert.equal(
    error(def({}, { host: "%any" }, { host: "%any" })),
    "left and right cannot both be %any; at least one end needs an IP address",
  );
  assert.match(
    error(def({}, { id: "east" })),
    /^leftid: "east" is not an IP address; write "@east"/,
  );
  assert.match(error(def({}, { id: "%fromcert" })), /^leftid: "%fromcert" needs certificates/);
  assert.match(error(def({}, {}, { id: "C=Canada" })), /^rightid: "C=Canada" is not a valid DN/);
  assert.equal(
    error(def({}, { subnet: "192.0.1.1/24" })),
    `leftsubnet: "192.0.1.1/24" has host bits set; did you mean "192.0.1.0/24"?`,
  );
  assert.equal(error(def({}, { subnet: " , " })), `leftsubnet: " , " names no subnet`);
  assert.equal(
    error(def({}, { ikeport: "0" })),
    `leftikeport: "0" is not a port; use a number from 1 to 65535`,
  );
  assert.equal(
    error(def({}, { nexthop: "gw" })),
    `leftnexthop: "gw" is not an IP address or %direct`,
  );
  assert.equal(
    error(def({}, { nexthop: "%defaultroute" })),
    `leftnexthop: "%defaultroute" is not supported by swan yet`,
  );
  assert.equal(error(def({}, { sourceip: "x" })), `leftsourceip: "x" is not an IP address`);
  assert.equal(
    error(def({}, { auth: "cert" })),
    `leftauth: "cert" is not one of psk, secret, rsasig, rsa, ecdsa, eddsa, null, eaponly`,
  );
});

Deno.test("family errors", () => {
  assert.equal(
    error(def({}, { host: "2001:db8::1" })),
    "left and right addresses are from different families",
  );
  assert.equal(
    error(def({ hostaddrfamily: "ipv6" })),
    "hostaddrfamily=ipv6 but the host addresses are IPv4",
  );
  assert.equal(error(def({ hostaddrfamily: "ipx" })), `hostaddrfamily: "ipx" is not ipv4 or ipv6`);
  assert.equal(
    error(def({}, { subnet: "2001:db8::/64" })),
    "leftsubnet: IPv6 subnet but the hosts are IPv4 (set clientaddrfamily=ipv6 to tunnel IPv6 over IPv4)",
  );
  // 6-in-4 with clientaddrfamily
  const sixInFour = build(def({ clientaddrfamily: "ipv6" }, { subnet: "2001:db8:1::/48" }, {
    subnet: "2001:db8:2::/48",
  }));
  assert.equal(sixInFour.hostAddrFamily, 4);
  assert.equal(sixInFour.left.subnets[0].family, 6);
  assert.equal(
    error(def({ clientaddrfamily: "ipv6" }, { subnet: "2001:db8:1::/48" })),
    "rightsubnet: missing; with clientaddrfamily=ipv6 over IPv4 hosts both ends need a subnet",
  );
  assert.equal(
    error(def({ clientaddrfamily: "ipv6" }, { subnet: "10.0.0.0/8" })),
    "leftsubnet: IPv4 subnet but the clientaddrfamily is IPv6",
  );
  assert.equal(
    error(def({}, { nexthop: "2001:db8::1" })),
    "leftnexthop: 2001:db8::1 is IPv6 but the hosts are IPv4",
  );
  assert.equal(
    error(def({}, { sourceip: "2001:db8::1" })),
    "leftsourceip: 2001:db8::1 is IPv6 but the left client is IPv4",
  );
  assert.equal(
    error(def({}, { subnet: "192.0.1.0/24", sourceip: "192.0.2.1" })),
    "leftsourceip: 192.0.2.1 is not inside leftsubnet",
  );
});

Deno.test("conn value errors", () => {
  assert.equal(
    error(def({ ikelifetime: "8x" })),
    `ikelifetime: "8x" is not a duration; use a number with s, m, h, d or w`,
  );
  assert.equal(
    error(def({ ikelifetime: "25h" })),
    `ikelifetime: "25h" is more than the maximum of 24h`,
  );
  assert.equal(
    error(def({ "ipsec-lifetime": "2d" })),
    `ipsec-lifetime: "2d" is more than the maximum of 24h`,
  );
  assert.equal(error(def({ "ipsec-lifetime": "0" })), `ipsec-lifetime: "0" must be more than 0s`);
  assert.equal(build(def({ ikelifetime: "24h" })).ikeLifetime, 86400);
  assert.equal(
    error(def({ keyexchange: "ikev3" })),
    `keyexchange: "ikev3" is not one of ikev1, ikev2`,
  );
  assert.equal(error(def({ type: "reject" })), `type: "reject" was removed; use type=drop`);
  assert.equal(
    error(def({ type: "tunel" })),
    `type: "tunel" is not one of tunnel, transport, passthrough, drop`,
  );
  assert.equal(error(def({ phase2: "ah" })), `phase2: "ah" is not supported by swan yet`);
  assert.equal(error(def({ phase2: "gre" })), `phase2: "gre" is not one of esp, ah`);
  assert.equal(error(def({ pfs: "maybe" })), `pfs: "maybe" is not a boolean; use yes or no`);
  assert.equal(error(def({ esn: "sometimes" })), `esn: "sometimes" is not one of yes, no, either`);
  assert.equal(
    error(def({ encapsulation: "force" })),
    `encapsulation: "force" is not one of yes, no, auto`,
  );
  assert.equal(
    error(def({ dpdaction: "reject" })),
    `dpdaction: "reject" is not one of clear, hold, restart`,
  );
  assert.equal(error(def({ "ipsec-max-bytes": "0" })), `ipsec-max-bytes: "0" must be more than 0`);
  assert.equal(
    error(def({ "ipsec-max-packets": "9223372036854775809" })),
    `ipsec-max-packets: "9223372036854775809" is more than 2^63`,
  );
  assert.match(error(def({ rekeyfuzz: "lots" })), /^rekeyfuzz: "lots" is not a percentage/);
  assert.equal(
    error(def({ "replay-window": "-1" })),
    `replay-window: "-1" is not a whole number from 0 to 4294967295`,
  );
  assert.equal(
    error(def({ "replay-window": "4294967296" })),
    `replay-window: "4294967296" is not a whole number from 0 to 4294967295`,
  );
  assert.match(
    error(def({ keyingtries: "forever" })),
    /^keyingtries: "forever" is not a whole number/,
  );
  assert.equal(
    error(def({ "retransmit-interval": "0" })),
    `retransmit-interval: "0" must be more than 0ms`,
  );
  assert.equal(
    error(def({ "retransmit-timeout": "0s" })),
    `retransmit-timeout: "0s" must be more than 0s`,
  );
  assert.equal(
    error(def({ mobike: "yes", keyexchange: "ikev1" })),
    "mobike: needs keyexchange=ikev2",
  );
  assert.equal(
    error(def({ type: "transport" }, {}, { subnet: "192.0.2.0/24" })),
    "rightsubnet: not allowed with type=transport (transport mode protects only the hosts; use type=tunnel)",
  );
  // the first bad value is reported
  assert.match(error(def({ pfs: "x", rekey: "y" })), /^pfs: /);
});
