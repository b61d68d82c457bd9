/**
 * Status renderers against hand-written Libreswan 5.x text: the expected
 * lines are those of the reference §3.2 (ikev2-delete-01 west), §3.6, §3.7
 * and §3.9 with the sanitised values replaced by the fixture's real ones.
 */

import assert from "node:assert/strict";
import {
  formatByteCount,
  renderBriefStatus,
  renderConnectionStatus,
  renderGlobalStatus,
  renderShowStates,
  renderShuntStatus,
  renderStatus,
  renderTrafficStatus,
} from "../../src/control/status_text.ts";
import type {
  ConnectionStatus,
  EndStatus,
  StateStatus,
  StatusModel,
} from "../../src/control/status_model.ts";

const NOW = 1_700_000_000;
const CONN = "westnet-eastnet-ipv4-psk-ikev2";

function end(overrides: Partial<EndStatus>): EndStatus {
  return {
    host: "192.1.2.45",
    id: "@west",
    idType: "FQDN",
    subnets: [],
    ikePort: 500,
    updown: "ipsec _updown",
    auth: "secret",
    sendCert: "always",
    ...overrides,
  };
}

function connection(overrides: Partial<ConnectionStatus>): ConnectionStatus {
  return {
    name: CONN,
    serial: 1,
    local: end({ subnets: ["192.0.1.0/24"], nextHop: "192.1.2.23" }),
    remote: end({
      host: "192.1.2.23",
      id: "@east",
      subnets: ["192.0.2.0/24"],
      nextHop: "192.1.2.45",
    }),
    oriented: true,
    routing: "routed-tunnel",
    ikeVersion: 2,
    policy: "IKEv2+PSK+ENCRYPT+TUNNEL+PFS+UP+IKE_FRAG_ALLOW+ESN_NO+ESN_YES",
    ikeLifetime: 28800,
    ipsecLifetime: 28800,
    rekeyMargin: 540,
    rekeyFuzz: 100,
    replayWindow: 128,
    retransmitInterval: 500,
    retransmitTimeout: 30,
    dpdDelay: 0,
    dpdTimeout: 0,
    encapsulation: "auto",
    keepAlive: 20,
    interfaceDevice: "eth1",
    reqid: 16389,
    ...overrides,
  };
}

function state(overrides: Partial<StateStatus>): StateStatus {
  return {
    serial: 1,
    connection: CONN,
    instance: "",
    remotePort: 500,
    kind: "ike",
    story: "established IKE SA",
    events: [],
    newest: false,
    erouteOwner: false,
    established: true,
    authenticated: true,
    halfOpen: false,
    ...overrides,
  };
}

function model(overrides: Partial<StatusModel>): StatusModel {
  return {
    now: NOW,
    kernelInterface: "xfrm",
    interfaces: [
      { device: "lo", address: "127.0.0.1", port: 4500, nat: true },
      { device: "lo", address: "127.0.0.1", port: 500, nat: false },
      { device: "eth1", address: "192.1.2.45", port: 4500, nat: true },
      { device: "eth1", address: "192.1.2.45", port: 500, nat: false },
    ],
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
      vendorId: "OE-swan-0.1.0",
      nhelpers: -1,
      uniqueIds: true,
      shuntLifetime: 900,
      expireLifetime: 30,
      logFile: "/tmp/pluto.log",
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
    kernelAlgorithms: ["ESP encrypt: name=AES_GCM_16, keysizemin=128, keysizemax=256"],
    ikeAlgorithms: [
      "IKE encrypt: v1id=-1, v1name=n/a, v2id=20, v2name=AES_GCM_16, blocksize=16, keydeflen=128",
    ],
    connections: [],
    states: [],
    ddosCookiesRequired: false,
    listening: true,
    ...overrides,
  };
}

/** §3.2: one IKE SA (#1) and one Child SA (#2) established. */
function established(): StatusModel {
  return model({
    debug: ["base", "private"],
    connections: [connection({
      newestIke: 1,
      newestChild: 2,
      negotiatedIke: "AES_GCM_16_256-HMAC_SHA2_512-DH19",
      negotiatedEsp: "AES_GCM_16_256",
      pfsGroup: "<Phase1>",
    })],
    states: [
      state({
        serial: 1,
        // Listed out of order on purpose: pluto sorts events by due time.
        events: [{ name: "REPLACE", due: NOW + 28800 }, { name: "REKEY", due: NOW + 28000.5 }],
        newest: true,
        peerId: "@east",
      }),
      state({
        serial: 2,
        kind: "child",
        story: "established Child SA",
        events: [{ name: "REKEY", due: NOW + 27000.9 }, { name: "REPLACE", due: NOW + 28800 }],
        newest: true,
        erouteOwner: true,
        parent: 1,
        child: {
          protocol: "esp",
          outboundSpi: 0xc2a1b3d4,
          inboundSpi: 0x0a1b2c3d,
          remoteAddress: "192.1.2.23",
          localAddress: "192.1.2.45",
          tunnel: true,
          inBytes: 84,
          outBytes: 84,
          maxBytes: "2^63B",
          addTime: 1_699_999_990,
          peerId: "@east",
        },
      }),
    ],
  });
}

const C = `"${CONN}"`;

Deno.test("renderStatus: the §3.2 example, every line and separator", () => {
  const expected = [
    "using kernel interface: xfrm",
    " ",
    "interface lo 127.0.0.1:UDP/4500 (NAT)",
    "interface lo 127.0.0.1:UDP/500",
    "interface eth1 192.1.2.45:UDP/4500 (NAT)",
    "interface eth1 192.1.2.45:UDP/500",
    " ",
    "config setup options:",
    " ",
    "configdir=/etc, configfile=/etc/ipsec.conf, secrets=/etc/ipsec.secrets, ipsecdir=/etc/ipsec.d",
    "nssdir=/var/lib/ipsec/nss, dumpdir=/run/pluto, statsbin=unset",
    "sbindir=/usr/local/sbin, libexecdir=/usr/local/libexec/ipsec",
    "pluto_version=0.1.0, pluto_vendorid=OE-swan-0.1.0",
    "nhelpers=-1, uniqueids=yes, shuntlifetime=900s, expire-lifetime=30s",
    "logfile='/tmp/pluto.log', logappend=no, logip=yes, audit-log=no",
    "ddos-cookies-threshold=25000, ddos-max-halfopen=50000, ddos-mode=auto, ikev1-policy=drop",
    "ikebuf=0, msg_errqueue=no, crl-strict=no, crlcheckinterval=0, listen=<any>, nflog-all=0, dns-resolver=file,",
    "debug: base+private",
    " ",
    "nat-traversal: keep-alive=20, nat-ikeport=4500",
    " ",
    "Kernel algorithms supported:",
    " ",
    "algorithm ESP encrypt: name=AES_GCM_16, keysizemin=128, keysizemax=256",
    " ",
    "IKE algorithms supported:",
    " ",
    "algorithm IKE encrypt: v1id=-1, v1name=n/a, v2id=20, v2name=AES_GCM_16, blocksize=16, keydeflen=128",
    " ",
    "Connection list:",
    " ",
    `${C}: 192.0.1.0/24===192.1.2.45[@west]...192.1.2.23[@east]===192.0.2.0/24; routed-tunnel; my_ip=unset; their_ip=unset;`,
    `${C}:   host: oriented; local: 192.1.2.45; remote: 192.1.2.23; established IKE SA: #1;`,
    `${C}:   my_updown=ipsec _updown; my_updown-config=noasync,noexec;`,
    `${C}:   our auth:secret, their auth:secret, our autheap:none, their autheap:none, send-supported-auth-methods:no;`,
    `${C}:   ike_life: 28800s; ipsec_life: 28800s; ipsec_max_bytes: 2^63B; ipsec_max_packets: 2^63; replay_window: 128; rekey_margin: 540s; rekey_fuzz: 100%; clones: no (unset);`,
    `${C}:   retransmit-interval: 500ms; retransmit-timeout: 30s; iketcp:no; iketcp-port:4500;`,
    `${C}:   policy: IKEv2+PSK+ENCRYPT+TUNNEL+PFS+UP+IKE_FRAG_ALLOW+ESN_NO+ESN_YES;`,
    `${C}:   conn_prio: 24,24,0; interface: eth1; metric: 0; mtu: unset; sa_prio:auto; sa_tfc:none;`,
    `${C}:   our idtype: FQDN; our id=@west; their idtype: FQDN; their id=@east`,
    `${C}:   liveness: passive; dpddelay:0s; retransmit-timeout:30s`,
    `${C}:   nat-traversal: encapsulation:auto; keepalive:20s`,
    `${C}:   routing: routed-tunnel; owner: Child SA #2; established IKE SA: #1; established Child SA: #2;`,
    `${C}:   reqid: 16389;`,
    `${C}:   conn serial: $1;`,
    `${C}:   IKEv2 algorithm newest: AES_GCM_16_256-HMAC_SHA2_512-DH19`,
    `${C}:   ESP algorithm newest: AES_GCM_16_256; pfsgroup=<Phase1>`,
    " ",
    "Total IPsec connections: loaded 1, routed 1, active 1",
    " ",
    "State Information: DDoS cookies not required, Accepting new IKE connections",
    "IKE SAs: total(1), half-open(0), open(0), authenticated(1), anonymous(0)",
    "IPsec SAs: total(1), authenticated(1), anonymous(0)",
    " ",
    `#1: ${C}:500 established IKE SA; REKEY in 28000s; REPLACE in 28800s; newest; idle;`,
    `#2: ${C}:500 established Child SA; REKEY in 27000s; REPLACE in 28800s; newest; eroute owner; IKE SA #1; idle;`,
    `#2: ${C} esp.c2a1b3d4@192.1.2.23 esp.a1b2c3d@192.1.2.45 tun.0@192.1.2.23 tun.0@192.1.2.45 Traffic: ESPin=84B ESPout=84B ESPmax=2^63B `,
    " ",
    "Bare Shunt list:",
    " ",
  ];
  assert.deepEqual(renderStatus(established()), expected);
});

Deno.test("renderStatus: empty daemon keeps every separator single and ends with one", () => {
  const lines = renderStatus(model({ interfaces: [], kernelAlgorithms: [], ikeAlgorithms: [] }));
  assert.notEqual(lines[0], " ");
  for (let i = 1; i < lines.length; i++) {
    assert.ok(!(lines[i] === " " && lines[i - 1] === " "), `double separator at line ${i}`);
  }
  assert.deepEqual(lines.slice(-10), [
    "Connection list:",
    " ",
    "Total IPsec connections: loaded 0, routed 0, active 0",
    " ",
    "State Information: DDoS cookies not required, Accepting new IKE connections",
    "IKE SAs: total(0), half-open(0), open(0), authenticated(0), anonymous(0)",
    "IPsec SAs: total(0), authenticated(0), anonymous(0)",
    " ",
    "Bare Shunt list:",
    " ",
  ]);
  // No interfaces: the kernel line is followed by a single separator, then the config block.
  assert.deepEqual(lines.slice(0, 3), [
    "using kernel interface: xfrm",
    " ",
    "config setup options:",
  ]);
});

/** A road-warrior template with one instance up, and a half-open IKE SA elsewhere. */
function roadWarrior(): StatusModel {
  const rw = connection({
    name: "rw",
    serial: 2,
    local: end({ host: "192.1.2.23", id: "@east", subnets: ["192.0.2.0/24"] }),
    remote: end({ host: "%any", id: "@road", subnets: [] }),
    routing: "unrouted",
    policy: "IKEv2+RSASIG+ECDSA+RSASIG_v1_5+ENCRYPT+TUNNEL+PFS+IKE_FRAG_ALLOW+ESN_NO+ESN_YES",
    dpdDelay: 10,
    keepAlive: 0,
    ikeAlgorithms: "AES_GCM_16_256-HMAC_SHA2_512+HMAC_SHA2_256-DH19",
    espAlgorithms: "AES_GCM_16_256-NONE",
    interfaceDevice: "eth1",
    reqid: 16393,
  });
  return model({
    connections: [connection({ routing: "unrouted" }), rw],
    states: [
      state({
        serial: 3,
        connection: "rw",
        instance: "[1] 192.1.3.209",
        remotePort: 4500,
        events: [{ name: "REKEY", due: NOW + 100 }],
        newest: true,
      }),
      state({
        serial: 4,
        connection: "rw",
        instance: "[1] 192.1.3.209",
        remotePort: 4500,
        kind: "child",
        story: "established Child SA",
        events: [{ name: "LIVENESS", due: NOW + 10 }, { name: "REPLACE", due: NOW + 28000 }],
        newest: true,
        erouteOwner: true,
        parent: 3,
        child: {
          protocol: "esp",
          outboundSpi: 0x12345678,
          inboundSpi: 0xfedcba98,
          remoteAddress: "192.1.3.209",
          localAddress: "192.1.2.23",
          tunnel: false,
          inBytes: 2048,
          outBytes: 3 * 1048576 + 5,
          maxBytes: "2^63B",
          addTime: 1_699_999_000,
          peerId: "@road",
          lastUsed: 5,
        },
      }),
      state({
        serial: 6,
        connection: "rw",
        instance: "[1] 192.1.3.209",
        remotePort: 4500,
        kind: "child",
        story: "sent CREATE_CHILD_SA request to rekey IPsec SA",
        events: [{ name: "RETRANSMIT", due: NOW + 2 }],
        established: false,
        parent: 3,
        liveness: 7,
      }),
      // Sorted by connection name: "rw" < "westnet-…".
      state({
        serial: 5,
        story: "sent IKE_SA_INIT request",
        events: [{ name: "RETRANSMIT", due: NOW + 0.5 }],
        established: false,
        authenticated: false,
        halfOpen: true,
      }),
    ],
  });
}

Deno.test("renderShowStates: half-open, instance, transport child with usage, rekeying child", () => {
  assert.deepEqual(renderShowStates(roadWarrior()), [
    `#3: "rw"[1] 192.1.3.209:4500 established IKE SA; REKEY in 100s; newest; idle;`,
    `#4: "rw"[1] 192.1.3.209:4500 established Child SA; LIVENESS in 10s; REPLACE in 28000s; newest; eroute owner; IKE SA #3; idle;`,
    `#4: "rw"[1] 192.1.3.209 used 5s ago; esp.12345678@192.1.3.209 esp.fedcba98@192.1.2.23 Traffic: ESPin=2KB ESPout=3MB ESPmax=2^63B `,
    `#6: "rw"[1] 192.1.3.209:4500 sent CREATE_CHILD_SA request to rekey IPsec SA; RETRANSMIT in 2s; lastlive=7s; idle;`,
    `#5: ${C}:500 sent IKE_SA_INIT request; RETRANSMIT in 0s; idle;`,
  ]);
});

Deno.test("renderShowStates: IKEv1 connections name the parent ISAKMP SA", () => {
  const m = established();
  m.connections[0] = { ...m.connections[0], ikeVersion: 1 };
  assert.equal(
    renderShowStates(m)[1],
    `#2: ${C}:500 established Child SA; REKEY in 27000s; REPLACE in 28800s; newest; eroute owner; ISAKMP SA #1; idle;`,
  );
});

Deno.test("renderShowStates: AH child and IPv6 SAIDs use ':' and the AH counters", () => {
  const m = established();
  m.states[1] = {
    ...m.states[1],
    child: {
      ...m.states[1].child!,
      protocol: "ah",
      remoteAddress: "2001:db8::23",
      localAddress: "2001:db8::45",
      inBytes: 1023,
      outBytes: 1024,
    },
  };
  assert.equal(
    renderShowStates(m)[2],
    `#2: ${C} ah:c2a1b3d4@2001:db8::23 ah:a1b2c3d@2001:db8::45 tun:0@2001:db8::23 tun:0@2001:db8::45 Traffic: AHin=1023B AHout=1KB AHmax=2^63B `,
  );
});

Deno.test("renderTrafficStatus: §3.9 lines, filtered by name", () => {
  assert.deepEqual(renderTrafficStatus(established()), [
    `#2: ${C}, type=ESP, add_time=1699999990, inBytes=84, outBytes=84, maxBytes=2^63B, id='@east'`,
  ]);
  const rw = roadWarrior();
  const rwLine =
    `#4: "rw"[1] 192.1.3.209, type=ESP, add_time=1699999000, inBytes=2048, outBytes=3145733, maxBytes=2^63B, id='@road'`;
  assert.deepEqual(renderTrafficStatus(rw), [rwLine]);
  assert.deepEqual(renderTrafficStatus(rw, "rw"), [rwLine]);
  assert.deepEqual(renderTrafficStatus(rw, CONN), []);
});

Deno.test("renderBriefStatus: counts and the NOT ACCEPTING / IGNORING / REQUIRED words", () => {
  assert.deepEqual(renderBriefStatus(roadWarrior()), [
    "State Information: DDoS cookies not required, Accepting new IKE connections",
    "IKE SAs: total(2), half-open(1), open(0), authenticated(1), anonymous(0)",
    "IPsec SAs: total(1), authenticated(1), anonymous(0)",
  ]);
  const full = roadWarrior();
  full.config = { ...full.config, maxHalfOpen: 1 };
  full.ddosCookiesRequired = true;
  assert.equal(
    renderBriefStatus(full)[0],
    "State Information: DDoS cookies REQUIRED, NOT ACCEPTING new IKE connections",
  );
  assert.equal(
    renderBriefStatus(model({ listening: false }))[0],
    "State Information: DDoS cookies not required, IGNORING new IKE connections",
  );
  const anonymous = model({
    states: [
      state({ serial: 1, authenticated: false }),
      state({ serial: 2, kind: "child", authenticated: false, parent: 1 }),
      state({ serial: 3, established: false, authenticated: false }),
    ],
  });
  assert.deepEqual(renderBriefStatus(anonymous).slice(1), [
    "IKE SAs: total(2), half-open(0), open(1), authenticated(0), anonymous(1)",
    "IPsec SAs: total(1), authenticated(0), anonymous(1)",
  ]);
});

Deno.test("renderConnectionStatus: template with %any peer, non-default algorithms, liveness", () => {
  const R = `"rw"`;
  const block = [
    `${R}: 192.0.2.0/24===192.1.2.23[@east]...%any[@road]; unrouted; my_ip=unset; their_ip=unset;`,
    `${R}:   host: oriented; local: 192.1.2.23; remote: %any;`,
    `${R}:   my_updown=ipsec _updown; my_updown-config=noasync,noexec;`,
    `${R}:   our auth:secret, their auth:secret, our autheap:none, their autheap:none, send-supported-auth-methods:no;`,
    `${R}:   ike_life: 28800s; ipsec_life: 28800s; ipsec_max_bytes: 2^63B; ipsec_max_packets: 2^63; replay_window: 128; rekey_margin: 540s; rekey_fuzz: 100%; clones: no (unset);`,
    `${R}:   retransmit-interval: 500ms; retransmit-timeout: 30s; iketcp:no; iketcp-port:4500;`,
    `${R}:   policy: IKEv2+RSASIG+ECDSA+RSASIG_v1_5+ENCRYPT+TUNNEL+PFS+IKE_FRAG_ALLOW+ESN_NO+ESN_YES;`,
    `${R}:   conn_prio: 24,0,0; interface: eth1; metric: 0; mtu: unset; sa_prio:auto; sa_tfc:none;`,
    `${R}:   our idtype: FQDN; our id=@east; their idtype: FQDN; their id=@road`,
    `${R}:   liveness: active; dpddelay:10s; retransmit-timeout:30s`,
    `${R}:   nat-traversal: encapsulation:auto; keepalive:no`,
    `${R}:   routing: unrouted; owner: Child SA #4;`,
    `${R}:   reqid: 16393;`,
    `${R}:   conn serial: $2;`,
    `${R}:   IKE algorithms: AES_GCM_16_256-HMAC_SHA2_512+HMAC_SHA2_256-DH19`,
    `${R}:   ESP algorithms: AES_GCM_16_256-NONE`,
  ];
  assert.deepEqual(renderConnectionStatus(roadWarrior(), "rw"), block);
  assert.deepEqual(renderConnectionStatus(roadWarrior(), "nosuch"), []);

  // Sorted by name ("rw" first); blocks follow each other without a
  // separator, the totals line is separated.
  const all = renderConnectionStatus(roadWarrior());
  assert.deepEqual(all.slice(0, block.length + 3), [
    "Connection list:",
    " ",
    ...block,
    `${C}: 192.0.1.0/24===192.1.2.45[@west]...192.1.2.23[@east]===192.0.2.0/24; unrouted; my_ip=unset; their_ip=unset;`,
  ]);
  assert.deepEqual(all.slice(-2), [" ", "Total IPsec connections: loaded 2, routed 0, active 0"]);
});

Deno.test("renderConnectionStatus: unoriented, IPv6 with port, next hops, several subnets, IKEv1, AH", () => {
  const c = connection({
    name: "v6",
    oriented: false,
    routing: "unrouted",
    ikeVersion: 1,
    policy: "IKEv1+PSK+AUTHENTICATE+TRANSPORT",
    local: end({
      host: "2001:db8::1",
      id: "2001:db8::1",
      idType: "IPV6_ADDR",
      ikePort: 4500,
      nextHop: "2001:db8::fe",
      updown: "",
      subnets: ["2001:db8:1::/48", "2001:db8::1/128"],
    }),
    remote: end({
      host: "2001:db8::2",
      id: "2001:db8::99",
      idType: "IPV6_ADDR",
      nextHop: "2001:db8::ff",
      subnets: [],
    }),
    dpdDelay: 30,
    dpdTimeout: 120,
    espAlgorithms: "HMAC_SHA2_256_128",
    negotiatedEsp: "HMAC_SHA2_256_128",
  });
  const m = model({ connections: [c] });
  const V = `"v6"`;
  assert.deepEqual(renderConnectionStatus(m, "v6"), [
    `${V}: 2001:db8:1::/48===[2001:db8::1]:4500---2001:db8::fe...2001:db8::ff---2001:db8::2[2001:db8::99]; unoriented; my_ip=unset; their_ip=unset;`,
    `${V}: [2001:db8::1]:4500---2001:db8::fe...2001:db8::ff---2001:db8::2[2001:db8::99]; unoriented; my_ip=unset; their_ip=unset;`,
    `${V}:   host: unoriented; left: [2001:db8::1]:4500; right: 2001:db8::2;`,
    `${V}:   leftupdown=<disabled>; rightupdown=ipsec _updown; my_updown-config=noasync,noexec;`,
    `${V}:   our auth:secret, their auth:secret, our autheap:none, their autheap:none, send-supported-auth-methods:no;`,
    `${V}:   ike_life: 28800s; ipsec_life: 28800s; ipsec_max_bytes: 2^63B; ipsec_max_packets: 2^63; replay_window: 128; rekey_margin: 540s; rekey_fuzz: 100%; clones: no (unset);`,
    `${V}:   retransmit-interval: 500ms; retransmit-timeout: 30s; iketcp:no; iketcp-port:4500;`,
    `${V}:   policy: IKEv1+PSK+AUTHENTICATE+TRANSPORT;`,
    `${V}:   conn_prio: 128,128,0; interface: ; metric: 0; mtu: unset; sa_prio:auto; sa_tfc:none;`,
    `${V}:   our idtype: IPV6_ADDR; our id=2001:db8::1; their idtype: IPV6_ADDR; their id=2001:db8::99`,
    `${V}:   dpd: active; delay:30s; timeout:120s`,
    `${V}:   nat-traversal: encapsulation:auto; keepalive:20s`,
    `${V}:   routing: unrouted;`,
    `${V}:   reqid: 16389;`,
    `${V}:   conn serial: $1;`,
    `${V}:   AH algorithms: HMAC_SHA2_256_128`,
    `${V}:   AH algorithm newest: HMAC_SHA2_256_128; pfsgroup=<N/A>`,
  ]);
});

Deno.test("renderConnectionStatus: logip=no hides host addresses; oriented shows our next hop", () => {
  const m = established();
  m.config = { ...m.config, logIp: false };
  const lines = renderConnectionStatus(m, CONN);
  assert.equal(
    lines[0],
    `${C}: 192.0.1.0/24===<address>[@west]...<address>[@east]===192.0.2.0/24; routed-tunnel; my_ip=unset; their_ip=unset;`,
  );
  assert.equal(
    lines[1],
    `${C}:   host: oriented; local: <address>; remote: <address>; established IKE SA: #1;`,
  );

  const hop = established();
  hop.connections[0] = {
    ...hop.connections[0],
    local: { ...hop.connections[0].local, nextHop: "192.1.2.1" },
  };
  const hopLines = renderConnectionStatus(hop, CONN);
  assert.equal(
    hopLines[0],
    `${C}: 192.0.1.0/24===192.1.2.45[@west]---192.1.2.1...192.1.2.23[@east]===192.0.2.0/24; routed-tunnel; my_ip=unset; their_ip=unset;`,
  );
  assert.equal(
    hopLines[1],
    `${C}:   host: oriented; local: 192.1.2.45; nexthop: 192.1.2.1; remote: 192.1.2.23; established IKE SA: #1;`,
  );
});

Deno.test("renderShuntStatus: header and the pending separator", () => {
  assert.deepEqual(renderShuntStatus(model({})), ["Bare Shunt list:", " "]);
});

Deno.test("renderGlobalStatus: model counts, then counters family by family", () => {
  const counters = {
    "total.ikev2.sent.notifies.error.NO_PROPOSAL_CHOSEN": 2,
    "total.ike.ikev2.established": 1,
    "total.ipsec.type.all": 1,
    "total.ike.ikev2.failed": 0,
    "total.ikev2.ike.started": 1,
    "total.ipsec.type.esp": 1,
    "total.swan.experimental": 9,
  };
  assert.deepEqual(renderGlobalStatus(roadWarrior(), counters), [
    "config.setup.ike.ddos_threshold=25000",
    "config.setup.ike.max_halfopen=50000",
    "current.states.all=4",
    "current.states.ipsec=1",
    "current.states.ike=2",
    "current.states.shunts=0",
    "current.states.iketype.anonymous=0",
    "current.states.iketype.authenticated=1",
    "current.states.iketype.halfopen=1",
    "current.states.iketype.open=0",
    "total.ipsec.type.all=1",
    "total.ipsec.type.esp=1",
    "total.ike.ikev2.established=1",
    "total.ike.ikev2.failed=0",
    "total.ikev2.ike.started=1",
    "total.ikev2.sent.notifies.error.NO_PROPOSAL_CHOSEN=2",
    "total.swan.experimental=9",
  ]);
});

Deno.test("formatByteCount: B below 1024, then truncated KB, then MB from 1 MiB", () => {
  const cases: [number, string][] = [
    [0, "0B"],
    [84, "84B"],
    [1023, "1023B"],
    [1024, "1KB"],
    [2047, "1KB"],
    [1048575, "1023KB"],
    [1048576, "1MB"],
    [5 * 1024 ** 3, "5120MB"],
  ];
  for (const [n, text] of cases) assert.equal(formatByteCount(n), text, `${n}`);
});
