/**
 * The one status model. The daemon builds this data; the text renderers
 * (status_text.ts) print Libreswan 5.x output from it.
 *
 * `States` is a plain array (tests, fixtures) or, in the daemon, an iterable
 * that builds each state as it is reached, so that listing 10^5 states never
 * holds them all at once; renderers accept either ({@link StatusSource}).
 */
export interface StatusModel<States extends Iterable<StateStatus> = StateStatus[]> {
  /** Seconds since the epoch, from the daemon's clock (for add_time and relative timers). */
  now: number;
  kernelInterface: string; // "xfrm", "pfkeyv2", "userspace", "none"
  interfaces: InterfaceStatus[];
  config: ConfigStatus;
  debug: string[]; // enabled debug flag names
  natt: { keepAlive: number; natIkePort: number };
  kernelAlgorithms: AlgorithmLine[];
  ikeAlgorithms: AlgorithmLine[];
  connections: ConnectionStatus[];
  /** Sorted by connection name then serial; iterable more than once. */
  states: States;
  ddosCookiesRequired: boolean;
  listening: boolean;
  /** The bare shunt list (`--shuntstatus`); none when absent. */
  shunts?: ShuntStatus[];
}

/** A model whose states may be a lazily built sequence: what the renderers read. */
export type StatusSource = StatusModel<Iterable<StateStatus>>;

/** One bare shunt: a kernel policy for one flow that no connection owns any more. */
export interface ShuntStatus {
  /** Our and the peer's side of the flow, e.g. `198.51.100.1/32`. */
  src: string;
  dst: string;
  /** IP protocol of the flow, 0 for all. */
  protocol: number;
  /** `%pass`, `%drop`, `%hold`, `%reject` */
  shunt: string;
  /** Free text, e.g. `negotiation failed`. */
  reason: string;
  /** `$N` of the connection the shunt came from. */
  connSerial: number;
}

export interface InterfaceStatus {
  device: string; // "eth0", "lo", or "?" when unknown
  address: string;
  port: number;
  nat: boolean; // the NAT-T (4500) socket
}

export interface ConfigStatus {
  configDir: string;
  configFile: string;
  secretsFile: string;
  ipsecDir: string;
  nssDir: string;
  dumpDir: string;
  sbinDir: string;
  libexecDir: string;
  version: string;
  vendorId: string;
  nhelpers: number;
  uniqueIds: boolean;
  shuntLifetime: number;
  expireLifetime: number;
  logFile: string; // path, "<stderr>", or "<syslog>"
  logAppend: boolean;
  logIp: boolean;
  ddosThreshold: number;
  maxHalfOpen: number;
  ddosMode: string;
  ikev1Policy: string;
  listen: string; // address or "<any>"
}

/** One preformatted "algorithm …:" line body, e.g. `ESP encrypt: name=AES_GCM_16, keysizemin=128, keysizemax=256`. */
export type AlgorithmLine = string;

export interface EndStatus {
  host: string; // address, or "%any"
  id: string; // printed form, e.g. "@west", "192.0.2.1"
  idType: string; // "FQDN", "IPV4_ADDR", "IPV6_ADDR", "USER_FQDN", "KEY_ID", "DER_ASN1_DN", "NULL"
  /** Selectors as text; empty when the client is the host itself. */
  subnets: string[];
  ikePort: number;
  nextHop?: string;
  updown: string;
  auth: string; // "secret", "rsasig", "null", ...
  sendCert: string;
}

export interface ConnectionStatus {
  name: string;
  serial: number; // "$N"
  /** Local end first once oriented; left first otherwise. */
  local: EndStatus;
  remote: EndStatus;
  oriented: boolean;
  /** Routing story: "unrouted", "routed-tunnel", "routed-transport", ... */
  routing: string;
  ikeVersion: 1 | 2;
  policy: string; // "IKEv2+PSK+ENCRYPT+TUNNEL+PFS+IKE_FRAG_ALLOW+ESN_NO+ESN_YES"
  ikeLifetime: number;
  ipsecLifetime: number;
  rekeyMargin: number;
  rekeyFuzz: number;
  replayWindow: number;
  retransmitInterval: number; // ms
  retransmitTimeout: number; // s
  dpdDelay: number;
  dpdTimeout: number;
  encapsulation: string;
  keepAlive: number;
  /** Non-default proposals as printed, or undefined for the defaults. */
  ikeAlgorithms?: string;
  espAlgorithms?: string;
  newestIke?: number;
  newestChild?: number;
  negotiatedIke?: string; // "AES_GCM_16_256-HMAC_SHA2_512-DH19"
  negotiatedEsp?: string; // "AES_GCM_16_256"
  pfsGroup?: string; // "<Phase1>" or group name
  interfaceDevice?: string;
  reqid: number;
}

export interface StateStatus {
  serial: number;
  connection: string;
  /** Instance suffix, e.g. `[1] 192.0.2.2`; empty for plain connections. */
  instance: string;
  remotePort: number;
  kind: "ike" | "child";
  /** Libreswan "story": "established IKE SA", "sent IKE_SA_INIT request", ... */
  story: string;
  /** Pending events with absolute due time (seconds, same clock as `now`). */
  events: { name: string; due: number }[];
  newest: boolean;
  erouteOwner: boolean;
  parent?: number; // Child SA: its IKE SA serial
  liveness?: number; // seconds since last liveness proof, IKEv2
  established: boolean;
  authenticated: boolean;
  halfOpen: boolean;
  child?: ChildTraffic;
  /** IKE SA only: established */
  peerId?: string;
}

export interface ChildTraffic {
  protocol: "esp" | "ah";
  outboundSpi: number; // the SPI we send with (chosen by the peer)
  inboundSpi: number; // ours
  remoteAddress: string;
  localAddress: string;
  tunnel: boolean;
  inBytes: number;
  outBytes: number;
  maxBytes: string; // "2^63B"
  addTime: number; // epoch seconds
  peerId: string;
  lastUsed?: number; // seconds ago
}
