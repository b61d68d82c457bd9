/**
 * Libreswan 5.x text of the status commands, rendered from the one
 * {@link StatusModel}: `whack --status`, `--showstates`, `--trafficstatus`,
 * `--briefstatus`, `--connectionstatus`, `--globalstatus` and
 * `--shuntstatus`. Each returned string is one reply line without newline.
 * The listings that grow with the number of states (`--status`,
 * `--showstates`, `--trafficstatus`) are also generators, so the daemon can
 * write them chunk by chunk while the states are read one at a time.
 *
 * Where Libreswan prints a field the model does not carry and that
 * describes a feature swan does not have, the field shows Libreswan's
 * "off" value (e.g. `iketcp:no`); lines with nothing from the model are
 * left out.
 */

import type {
  ChildTraffic,
  ConnectionStatus,
  EndStatus,
  StateStatus,
  StatusSource,
} from "./status_model.ts";

/**
 * Collects lines and places the `" "` separator lines as pluto does: a
 * requested separator is printed only before the next line, never first,
 * never twice in a row, and once more at the end if still pending.
 */
class ShowBuffer {
  #lines: string[] = [];
  #started = false;
  #pending = false;

  separator(): void {
    if (this.#started) this.#pending = true;
  }

  line(text: string): void {
    if (this.#pending) this.#lines.push(" ");
    this.#pending = false;
    this.#started = true;
    this.#lines.push(text);
  }

  /** The lines collected since the last take (a pending separator stays pending). */
  take(): string[] {
    const lines = this.#lines;
    this.#lines = [];
    return lines;
  }

  /** The remaining lines, with the trailing separator if one is pending. */
  finish(): string[] {
    if (this.#pending) this.#lines.push(" ");
    this.#pending = false;
    return this.take();
  }
}

/**
 * A section prints into the buffer; a long one (the state listing) is a
 * generator whose every step marks a point where the lines so far may leave.
 */
type Section = (s: ShowBuffer) => Iterable<void> | void;

/** The lines of the sections, in order, handed out as soon as each step has printed them. */
function* show(...sections: Section[]): Generator<string> {
  const s = new ShowBuffer();
  for (const section of sections) {
    const steps = section(s);
    if (steps !== undefined) { for (const _ of steps) yield* s.take(); }
    yield* s.take();
  }
  yield* s.finish();
}

/** Renders into one array (small listings, tests). */
function render(...sections: Section[]): string[] {
  return [...show(...sections)];
}

const yesNo = (b: boolean): string => (b ? "yes" : "no");
const isIpv6 = (address: string): boolean => address.includes(":");

/** Byte count as pluto's state listing prints it: `84B`, `12KB`, `3MB` (integer division, no rounding). */
export function formatByteCount(n: number): string {
  if (n < 1024) return `${n}B`;
  const kb = Math.floor(n / 1024);
  return kb < 1024 ? `${kb}KB` : `${Math.floor(kb / 1024)}MB`;
}

// ---------------------------------------------------------------- --status

/** `whack --status`: every section in pluto's order (reference §3.1). */
export function renderStatus(m: StatusSource): string[] {
  return [...statusLines(m)];
}

/** {@link renderStatus} line by line, reading the states as their lines are asked for. */
export function statusLines(m: StatusSource): Generator<string> {
  const summary = summarize(m);
  return show(
    (s) => s.line(`using kernel interface: ${m.kernelInterface}`),
    (s) => showInterfaces(s, m),
    (s) => showConfigSetup(s, m),
    (s) => showNatTraversal(s, m),
    (s) => showAlgorithms(s, "Kernel algorithms supported:", m.kernelAlgorithms),
    (s) => showAlgorithms(s, "IKE algorithms supported:", m.ikeAlgorithms),
    (s) => showConnectionList(s, m, summary),
    (s) => showBrief(s, m, summary.counts),
    (s) => showStates(s, m),
    (s) => showShunts(s, m),
  );
}

function showInterfaces(s: ShowBuffer, m: StatusSource): void {
  s.separator();
  for (const i of m.interfaces) {
    const address = isIpv6(i.address) ? `[${i.address}]` : i.address;
    s.line(`interface ${i.device} ${address}:UDP/${i.port}${i.nat ? " (NAT)" : ""}`);
  }
}

/**
 * The `config setup options:` block and the `debug:` line that closes it.
 * statsbin, audit-log, ikebuf, msg_errqueue, crl-*, nflog-all and
 * dns-resolver are features swan lacks: they print their "off" values.
 */
function showConfigSetup(s: ShowBuffer, m: StatusSource): void {
  const c = m.config;
  s.separator();
  s.line("config setup options:");
  s.separator();
  s.line(
    `configdir=${c.configDir}, configfile=${c.configFile}, secrets=${c.secretsFile}, ipsecdir=${c.ipsecDir}`,
  );
  s.line(`nssdir=${c.nssDir}, dumpdir=${c.dumpDir}, statsbin=unset`);
  s.line(`sbindir=${c.sbinDir}, libexecdir=${c.libexecDir}`);
  s.line(`pluto_version=${c.version}, pluto_vendorid=${c.vendorId}`);
  s.line(
    `nhelpers=${c.nhelpers}, uniqueids=${
      yesNo(c.uniqueIds)
    }, shuntlifetime=${c.shuntLifetime}s, expire-lifetime=${c.expireLifetime}s`,
  );
  s.line(
    `logfile='${c.logFile}', logappend=${yesNo(c.logAppend)}, logip=${
      yesNo(c.logIp)
    }, audit-log=no`,
  );
  s.line(
    `ddos-cookies-threshold=${c.ddosThreshold}, ddos-max-halfopen=${c.maxHalfOpen}, ddos-mode=${c.ddosMode}, ikev1-policy=${c.ikev1Policy}`,
  );
  // Libreswan really ends this line with a comma.
  s.line(
    `ikebuf=0, msg_errqueue=no, crl-strict=no, crlcheckinterval=0, listen=${c.listen}, nflog-all=0, dns-resolver=file,`,
  );
  s.line(m.debug.length > 0 ? `debug: ${m.debug.join("+")}` : "debug:");
}

function showNatTraversal(s: ShowBuffer, m: StatusSource): void {
  s.separator();
  s.line(`nat-traversal: keep-alive=${m.natt.keepAlive}, nat-ikeport=${m.natt.natIkePort}`);
}

function showAlgorithms(s: ShowBuffer, title: string, lines: string[]): void {
  s.separator();
  s.line(title);
  s.separator();
  for (const line of lines) s.line(`algorithm ${line}`);
}

// ------------------------------------------------------ --connectionstatus

/**
 * `whack --connectionstatus`: without a name the `Connection list:` with
 * every block and the totals line; with a name only that connection's
 * block (nothing for an unknown name, whose complaint is the caller's).
 */
export function renderConnectionStatus(m: StatusSource, name?: string): string[] {
  const summary = summarize(m);
  if (name === undefined) return render((s) => showConnectionList(s, m, summary));
  return render((s) => {
    for (const c of sortedConnections(m).filter((c) => c.name === name)) {
      showConnection(s, m, c, summary.owners.get(c.name));
    }
  });
}

/** Connections by name, then serial (pluto's order). */
function sortedConnections(m: StatusSource): ConnectionStatus[] {
  return [...m.connections].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.serial - b.serial
  );
}

function showConnectionList(s: ShowBuffer, m: StatusSource, summary: StateSummary): void {
  s.separator();
  s.line("Connection list:");
  s.separator();
  const connections = sortedConnections(m);
  for (const c of connections) showConnection(s, m, c, summary.owners.get(c.name));
  const routed = connections.filter((c) => c.routing.startsWith("routed")).length;
  const active = connections.filter((c) => c.routing === "routed-tunnel").length;
  s.separator();
  s.line(
    `Total IPsec connections: loaded ${connections.length}, routed ${routed}, active ${active}`,
  );
}

/** IKE SA / Child SA names per IKE version. */
function saNames(c: { ikeVersion: 1 | 2 }): { parent: string; child: string } {
  return c.ikeVersion === 1
    ? { parent: "ISAKMP SA", child: "IPsec SA" }
    : { parent: "IKE SA", child: "Child SA" };
}

/** One connection block (reference §3.5); `owner` is the first state of its name owning the eroute. */
function showConnection(
  s: ShowBuffer,
  m: StatusSource,
  c: ConnectionStatus,
  owner: StateStatus | undefined,
): void {
  const quoted = `"${c.name}"`;
  const detail = (text: string) => s.line(`${quoted}:   ${text}`);
  const logIp = m.config.logIp;
  const names = saNames(c);
  const established = (what: string, serial?: number) =>
    serial === undefined ? "" : ` established ${what}: #${serial};`;

  for (const [localClient, remoteClient] of spdPairs(c)) {
    s.line(
      `${quoted}: ${topology(c, localClient, remoteClient, logIp)}; ${
        c.oriented ? c.routing : "unoriented"
      }; my_ip=unset; their_ip=unset;`,
    );
  }

  const ikeOwner = established(names.parent, c.newestIke);
  if (c.oriented) {
    const nexthop = shownNextHop(c.local, c.remote);
    detail(
      `host: oriented; local: ${hostText(c.local, logIp)};${
        nexthop === undefined ? "" : ` nexthop: ${nexthop};`
      } remote: ${hostText(c.remote, logIp)};${ikeOwner}`,
    );
    detail(`my_updown=${updownText(c.local)}; my_updown-config=noasync,noexec;`);
  } else {
    detail(
      `host: unoriented; left: ${hostText(c.local, logIp)}; right: ${
        hostText(c.remote, logIp)
      };${ikeOwner}`,
    );
    detail(
      `leftupdown=${updownText(c.local)}; rightupdown=${
        updownText(c.remote)
      }; my_updown-config=noasync,noexec;`,
    );
  }
  detail(
    `our auth:${c.local.auth}, their auth:${c.remote.auth}, our autheap:none, their autheap:none, send-supported-auth-methods:no;`,
  );
  detail(
    `ike_life: ${c.ikeLifetime}s; ipsec_life: ${c.ipsecLifetime}s; ipsec_max_bytes: 2^63B; ipsec_max_packets: 2^63; replay_window: ${c.replayWindow}; rekey_margin: ${c.rekeyMargin}s; rekey_fuzz: ${c.rekeyFuzz}%; clones: no (unset);`,
  );
  detail(
    `retransmit-interval: ${c.retransmitInterval}ms; retransmit-timeout: ${c.retransmitTimeout}s; iketcp:no; iketcp-port:4500;`,
  );
  detail(`policy: ${c.policy};`);
  detail(
    `conn_prio: ${maxPrefixLength(c.local)},${maxPrefixLength(c.remote)},0; interface: ${
      c.oriented ? c.interfaceDevice ?? "" : ""
    }; metric: 0; mtu: unset; sa_prio:auto; sa_tfc:none;`,
  );
  detail(
    `our idtype: ${c.local.idType}; our id=${c.local.id}; their idtype: ${c.remote.idType}; their id=${c.remote.id}`,
  );
  if (c.ikeVersion === 2) {
    detail(
      `liveness: ${
        c.dpdDelay > 0 ? "active" : "passive"
      }; dpddelay:${c.dpdDelay}s; retransmit-timeout:${c.retransmitTimeout}s`,
    );
  } else {
    const active = c.dpdDelay > 0 && c.dpdTimeout > 0;
    detail(
      `dpd: ${active ? "active" : "passive"}; delay:${c.dpdDelay}s; timeout:${c.dpdTimeout}s`,
    );
  }
  detail(
    `nat-traversal: encapsulation:${c.encapsulation}; keepalive:${
      c.keepAlive > 0 ? `${c.keepAlive}s` : "no"
    }`,
  );
  detail(
    `routing: ${c.routing};${
      owner === undefined
        ? ""
        : ` owner: ${owner.kind === "ike" ? names.parent : names.child} #${owner.serial};`
    }${ikeOwner}${established(names.child, c.newestChild)}`,
  );
  detail(`reqid: ${c.reqid};`);
  detail(`conn serial: $${c.serial};`);
  if (c.ikeAlgorithms !== undefined) detail(`IKE algorithms: ${c.ikeAlgorithms}`);
  if (c.negotiatedIke !== undefined) {
    detail(`IKEv${c.ikeVersion} algorithm newest: ${c.negotiatedIke}`);
  }
  const childProtocol = c.policy.split("+").includes("AUTHENTICATE") ? "AH" : "ESP";
  if (c.espAlgorithms !== undefined) detail(`${childProtocol} algorithms: ${c.espAlgorithms}`);
  if (c.negotiatedEsp !== undefined) {
    detail(
      `${childProtocol} algorithm newest: ${c.negotiatedEsp}; pfsgroup=${c.pfsGroup ?? "<N/A>"}`,
    );
  }
}

/** The client selector of each SPD end; `undefined` where the client is the host itself. */
function clients(end: EndStatus): (string | undefined)[] {
  const isHost = (sel: string) =>
    sel === end.host || sel === `${end.host}/32` || sel === `${end.host}/128`;
  const list = end.subnets.map((sel) => (isHost(sel) ? undefined : sel));
  return list.length > 0 ? list : [undefined];
}

/** Every local × remote client pair: one topology line each. */
function spdPairs(c: ConnectionStatus): [string | undefined, string | undefined][] {
  return clients(c.local).flatMap((l) =>
    clients(c.remote).map((r): [string | undefined, string | undefined] => [l, r])
  );
}

/** The host as pluto prints it: `<address>` under logip=no, `:port` only when not 500. */
function hostText(end: EndStatus, logIp: boolean): string {
  const isAddress = !end.host.startsWith("%");
  if (isAddress && !logIp) return "<address>";
  if (end.ikePort === 500) return end.host;
  return `${isAddress && isIpv6(end.host) ? `[${end.host}]` : end.host}:${end.ikePort}`;
}

/** `[ID]` unless the ID is absent or just the host address again. */
function idText(end: EndStatus): string {
  const isHostAddress = (end.idType === "IPV4_ADDR" || end.idType === "IPV6_ADDR") &&
    end.id === end.host;
  return end.idType === "NONE" || isHostAddress ? "" : `[${end.id}]`;
}

/** An end's next hop, when set and not simply the peer. */
function shownNextHop(end: EndStatus, peer: EndStatus): string | undefined {
  return end.nextHop !== undefined && end.nextHop !== peer.host ? end.nextHop : undefined;
}

/** `LEFTCLIENT===LEFTHOST[LEFTID]---NEXTHOP...NEXTHOP---RIGHTHOST[RIGHTID]===RIGHTCLIENT`. */
function topology(
  c: ConnectionStatus,
  localClient: string | undefined,
  remoteClient: string | undefined,
  logIp: boolean,
): string {
  const localHop = shownNextHop(c.local, c.remote);
  // Once oriented, pluto shows only our own next hop.
  const remoteHop = c.oriented ? undefined : shownNextHop(c.remote, c.local);
  const left = (localClient === undefined ? "" : `${localClient}===`) +
    hostText(c.local, logIp) + idText(c.local) + (localHop === undefined ? "" : `---${localHop}`);
  const right = (remoteHop === undefined ? "" : `${remoteHop}---`) + hostText(c.remote, logIp) +
    idText(c.remote) + (remoteClient === undefined ? "" : `===${remoteClient}`);
  return `${left}...${right}`;
}

function updownText(end: EndStatus): string {
  return end.updown === "" ? "<disabled>" : end.updown;
}

/** Prefix length of a selector such as `192.0.2.0/24` (a bare address is a host: /32 or /128). */
function prefixLength(selector: string): number {
  const [address, length] = selector.split("/");
  const n = Number.parseInt(length ?? "", 10);
  return Number.isNaN(n) ? (isIpv6(address) ? 128 : 32) : n;
}

/** The longest client prefix of an end, its host's when it has no subnet, 0 for an unknown host. */
function maxPrefixLength(end: EndStatus): number {
  if (end.subnets.length > 0) return Math.max(...end.subnets.map(prefixLength));
  return end.host.startsWith("%") ? 0 : prefixLength(end.host);
}

// ----------------------------------------------------------- --briefstatus

/** State counts in pluto's categories. */
interface StateCounts {
  halfOpen: number;
  open: number;
  ikeAuthenticated: number;
  ikeAnonymous: number;
  childAuthenticated: number;
  childAnonymous: number;
}

/** What the sections before the state listing need from the states: one pass over them. */
interface StateSummary {
  counts: StateCounts;
  /** Number of states. */
  total: number;
  /** Per connection name, its first state that owns the eroute. */
  owners: Map<string, StateStatus>;
}

function summarize(m: StatusSource): StateSummary {
  const n: StateCounts = {
    halfOpen: 0,
    open: 0,
    ikeAuthenticated: 0,
    ikeAnonymous: 0,
    childAuthenticated: 0,
    childAnonymous: 0,
  };
  const owners = new Map<string, StateStatus>();
  let total = 0;
  for (const st of m.states) {
    total++;
    if (st.erouteOwner && !owners.has(st.connection)) owners.set(st.connection, st);
    if (st.kind === "ike") {
      if (st.halfOpen) n.halfOpen++;
      else if (!st.established) n.open++;
      else if (st.authenticated) n.ikeAuthenticated++;
      else n.ikeAnonymous++;
    } else if (st.established) {
      // Child SAs still being negotiated are in no category.
      if (st.authenticated) n.childAuthenticated++;
      else n.childAnonymous++;
    }
  }
  return { counts: n, total, owners };
}

const ikeTotal = (n: StateCounts): number =>
  n.halfOpen + n.open + n.ikeAuthenticated + n.ikeAnonymous;

/** `whack --briefstatus` (reference §3.6). */
export function renderBriefStatus(m: StatusSource): string[] {
  return render((s) => showBrief(s, m, summarize(m).counts));
}

function showBrief(s: ShowBuffer, m: StatusSource, n: StateCounts): void {
  const accepting = !m.listening
    ? "IGNORING"
    : n.halfOpen >= m.config.maxHalfOpen
    ? "NOT ACCEPTING"
    : "Accepting";
  s.separator();
  s.line(
    `State Information: DDoS cookies ${
      m.ddosCookiesRequired ? "REQUIRED" : "not required"
    }, ${accepting} new IKE connections`,
  );
  s.line(
    `IKE SAs: total(${
      ikeTotal(n)
    }), half-open(${n.halfOpen}), open(${n.open}), authenticated(${n.ikeAuthenticated}), anonymous(${n.ikeAnonymous})`,
  );
  s.line(
    `IPsec SAs: total(${
      n.childAuthenticated + n.childAnonymous
    }), authenticated(${n.childAuthenticated}), anonymous(${n.childAnonymous})`,
  );
}

// ------------------------------------------------------------ --showstates

/** `whack --showstates`: state lines, each established Child SA followed by its SA/traffic line. */
export function renderShowStates(m: StatusSource): string[] {
  return [...showStatesLines(m)];
}

/** {@link renderShowStates} line by line. */
export function showStatesLines(m: StatusSource): Generator<string> {
  return show((s) => showStates(s, m));
}

/** `"conn"` plus the instance suffix (`"rw"[1] 192.0.2.2`). */
const stateConnection = (st: StateStatus): string => `"${st.connection}"${st.instance}`;

/** An established Child SA's traffic record, if it is one. */
function establishedChild(st: StateStatus): ChildTraffic | undefined {
  return st.kind === "child" && st.established ? st.child : undefined;
}

/** The state listing; a step after each state. */
function* showStates(s: ShowBuffer, m: StatusSource): Generator<void> {
  const versions = new Map(m.connections.map((c) => [c.name, c.ikeVersion]));
  s.separator();
  for (const st of m.states) {
    const names = saNames({ ikeVersion: versions.get(st.connection) ?? 2 });
    s.line(stateLine(m.now, st, names.parent));
    const child = establishedChild(st);
    if (child !== undefined) s.line(childLine(st, child));
    yield;
  }
}

/** `#N: "conn":500 <story>; <EVENT> in <n>s; … newest; eroute owner; IKE SA #1; idle;` */
function stateLine(now: number, st: StateStatus, parentName: string): string {
  let line = `#${st.serial}: ${stateConnection(st)}:${st.remotePort} ${st.story};`;
  const events = [...st.events].sort((a, b) => a.due - b.due);
  for (const e of events) line += ` ${e.name} in ${Math.floor(e.due - now)}s;`;
  if (st.newest) line += " newest;";
  if (st.erouteOwner) line += " eroute owner;";
  if (st.kind === "child" && st.established && st.parent !== undefined) {
    line += ` ${parentName} #${st.parent};`;
  } else if (st.kind === "child" && st.liveness !== undefined) {
    line += ` lastlive=${st.liveness}s;`;
  }
  return `${line} idle;`;
}

/** `<proto>.<spi>@<address>` (`:` instead of `.` for IPv6); the SPI in unpadded hex. */
function said(protocol: string, spi: number, address: string): string {
  return `${protocol}${isIpv6(address) ? ":" : "."}${(spi >>> 0).toString(16)}@${address}`;
}

/** The SAIDs and traffic of an established Child SA; note the trailing space. */
function childLine(st: StateStatus, t: ChildTraffic): string {
  const saids = [
    said(t.protocol, t.outboundSpi, t.remoteAddress),
    said(t.protocol, t.inboundSpi, t.localAddress),
  ];
  if (t.tunnel) saids.push(said("tun", 0, t.remoteAddress), said("tun", 0, t.localAddress));
  const p = t.protocol.toUpperCase();
  const used = t.lastUsed === undefined ? "" : ` used ${t.lastUsed}s ago;`;
  return `#${st.serial}: ${stateConnection(st)}${used} ${saids.join(" ")} Traffic: ${p}in=${
    formatByteCount(t.inBytes)
  } ${p}out=${formatByteCount(t.outBytes)} ${p}max=${t.maxBytes} `;
}

// --------------------------------------------------------- --trafficstatus

/** `whack --trafficstatus [--name]`: one line per established Child SA (reference §3.9). */
export function renderTrafficStatus(m: StatusSource, name?: string): string[] {
  return [...trafficStatusLines(m, name)];
}

/** {@link renderTrafficStatus} line by line. */
export function* trafficStatusLines(m: StatusSource, name?: string): Generator<string> {
  for (const st of m.states) {
    const t = establishedChild(st);
    if (t === undefined || (name !== undefined && st.connection !== name)) continue;
    yield (
      `#${st.serial}: ${
        stateConnection(st)
      }, type=${t.protocol.toUpperCase()}, add_time=${t.addTime}, inBytes=${t.inBytes}, outBytes=${t.outBytes}, maxBytes=${t.maxBytes}, id='${t.peerId}'`
    );
  }
}

// ----------------------------------------------------------- --shuntstatus

/** `whack --shuntstatus` (reference §3.8). */
export function renderShuntStatus(m: StatusSource): string[] {
  return render((s) => showShunts(s, m));
}

/** `<ours> -<proto>-> <theirs> => %<shunt>    <reason> $<conn serial>` */
function showShunts(s: ShowBuffer, m: StatusSource): void {
  s.separator();
  s.line("Bare Shunt list:");
  s.separator();
  for (const b of m.shunts ?? []) {
    s.line(`${b.src} -${b.protocol}-> ${b.dst} => ${b.shunt}    ${b.reason} $${b.connSerial}`);
  }
}

// ---------------------------------------------------------- --globalstatus

/**
 * Counter families of `--globalstatus` in pluto's order (reference §3.10);
 * within a family counters keep the caller's insertion order.
 */
const COUNTER_FAMILIES: readonly RegExp[] = [
  /^total\.ipsec\.type\./,
  /^total\.ipsec\.traffic\./,
  /^total\.ipsec\.(esp|ah|ipcomp)\.traffic\./,
  /^total\.ike\.ikev2\.(established|failed|completed)$/,
  /^total\.ike\.ikev2\.redirect\./,
  /^total\.ike\.ikev1\./,
  /^total\.ikev1\.isakmp\./,
  /^total\.ikev1\.ipsec\.(started|established|finished)/,
  /^total\.ikev2\.ike\./,
  /^total\.ikev2\.child\./,
  /^total\.ike\.(dpd|mangled|traffic)\b/,
  /^total\.pamauth\./,
  /^total\.iketcp\./,
  /^total\.ikev1\.(encr|integ|group)\./,
  /^total\.ikev2\.(encr|integ|group)\./,
  /^total\.ikev2\.(recv|sent)\.invalidke\./,
  /^total\.ikev1\.ipsec\.(encr|integ)\./,
  /^total\.ikev2\.ipsec\.(encr|integ)\./,
  /^total\.ikev1\.(sent|recv)\.notifies\.error\./,
  /^total\.total\.pluto\.stf\./,
  /^total\.ikev2\.(sent|recv)\.notifies\.error\./,
  /^total\.ikev2\.(sent|recv)\.notifies\.status\./,
];

/**
 * `whack --globalstatus`: configuration and current state counts from the
 * model, then the `total.*` counters given, family by family. Counters of
 * no known family come last rather than being lost.
 */
export function renderGlobalStatus(m: StatusSource, counters: Record<string, number>): string[] {
  const { counts: n, total } = summarize(m);
  const lines = [
    `config.setup.ike.ddos_threshold=${m.config.ddosThreshold}`,
    `config.setup.ike.max_halfopen=${m.config.maxHalfOpen}`,
    // all = states + bare shunts.
    `current.states.all=${total + (m.shunts?.length ?? 0)}`,
    `current.states.ipsec=${n.childAuthenticated + n.childAnonymous}`,
    `current.states.ike=${ikeTotal(n)}`,
    `current.states.shunts=${m.shunts?.length ?? 0}`,
    `current.states.iketype.anonymous=${n.ikeAnonymous}`,
    `current.states.iketype.authenticated=${n.ikeAuthenticated}`,
    `current.states.iketype.halfopen=${n.halfOpen}`,
    `current.states.iketype.open=${n.open}`,
  ];
  const family = (key: string) => {
    const i = COUNTER_FAMILIES.findIndex((re) => re.test(key));
    return i < 0 ? COUNTER_FAMILIES.length : i;
  };
  // Array.prototype.sort is stable, which keeps insertion order within a family.
  const keys = Object.keys(counters).sort((a, b) => family(a) - family(b));
  for (const key of keys) lines.push(`${key}=${counters[key]}`);
  return lines;
}
