/** The engine's part of the status model: connections and states as plain data. */
import { formatAddress, formatSelector } from "../config/addresses.ts";
import type { EndConfig } from "../config/connection.ts";
import { idTypeName } from "../config/ids.ts";
import { formatEspProposals, formatIkeProposals } from "../config/proposals.ts";
import type { ConnectionStatus, EndStatus, StateStatus } from "../control/status_model.ts";
import { type Connection, localEnd, oriented, remoteEnd } from "./connection.ts";
import { type Engine, storyOf } from "./engine.ts";
import { espAlgorithmText, ikeAlgorithmText } from "./proposal.ts";

function endStatus(e: EndConfig, auth: string): EndStatus {
  return {
    host: e.host ? formatAddress(e.host) : "%any",
    id: e.id.type === 0 ? "%any" : e.id.text,
    idType: e.id.type === 0 ? "%any" : idTypeName(e.id.type),
    subnets: e.subnets.map(formatSelector),
    ikePort: e.ikePort,
    nextHop: e.nextHop ? formatAddress(e.nextHop) : undefined,
    updown: e.updown,
    auth: e.auth ?? auth,
    sendCert: "always",
  };
}

/** `IKEv2+PSK+ENCRYPT+TUNNEL+PFS+UP+IKE_FRAG_ALLOW+ESN_NO+ESN_YES` */
export function policyText(c: Connection): string {
  const cfg = c.config;
  const bits = [cfg.ikeVersion === 1 ? "IKEv1" : "IKEv2"];
  if (cfg.authby.includes("secret")) bits.push("PSK");
  if (cfg.authby.includes("rsasig")) bits.push("RSASIG");
  if (cfg.authby.includes("ecdsa")) bits.push("ECDSA");
  if (cfg.authby.includes("null")) bits.push("AUTH_NULL");
  bits.push(cfg.phase2 === "ah" ? "AUTHENTICATE" : "ENCRYPT");
  if (cfg.type === "tunnel") bits.push("TUNNEL");
  if (cfg.pfs) bits.push("PFS");
  if (c.up) bits.push("UP");
  if (cfg.fragmentation) bits.push("IKE_FRAG_ALLOW");
  if (cfg.esn !== "yes") bits.push("ESN_NO");
  if (cfg.esn !== "no") bits.push("ESN_YES");
  return bits.join("+");
}

export function connectionStatuses(engine: Engine): ConnectionStatus[] {
  return [...engine.connections.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.serial - b.serial
  )
    .map((c) => {
      const cfg = c.config;
      const auth = cfg.authby.includes("secret") ? "secret" : cfg.authby.join("+");
      const ike = c.newestIke !== undefined ? engine.ikeBySerial.get(c.newestIke) : undefined;
      const child = c.newestChild !== undefined
        ? engine.childBySerial.get(c.newestChild)
        : undefined;
      return {
        name: c.name,
        serial: c.serial,
        local: endStatus(oriented(c) ? localEnd(c) : cfg.left, auth),
        remote: endStatus(oriented(c) ? remoteEnd(c) : cfg.right, auth),
        oriented: oriented(c),
        routing: engine.routing.story(c),
        ikeVersion: cfg.ikeVersion,
        policy: policyText(c),
        ikeLifetime: cfg.ikeLifetime,
        ipsecLifetime: cfg.ipsecLifetime,
        rekeyMargin: cfg.rekeyMargin,
        rekeyFuzz: cfg.rekeyFuzz,
        replayWindow: cfg.replayWindow,
        retransmitInterval: cfg.retransmitIntervalMs,
        retransmitTimeout: cfg.retransmitTimeout,
        dpdDelay: cfg.dpdDelay,
        dpdTimeout: cfg.dpdTimeout,
        encapsulation: cfg.encapsulation,
        keepAlive: 20,
        ikeAlgorithms: cfg.ikeText !== undefined ? formatIkeProposals(cfg.ike) : undefined,
        espAlgorithms: cfg.espText !== undefined ? formatEspProposals(cfg.esp) : undefined,
        newestIke: ike?.state === "ESTABLISHED_IKE_SA" ? ike.serial : undefined,
        newestChild: child?.established ? child.serial : undefined,
        negotiatedIke: ike?.chosen ? ikeAlgorithmText(ike.chosen) : undefined,
        negotiatedEsp: child?.chosen ? espAlgorithmText(child.chosen) : undefined,
        pfsGroup: cfg.pfs ? "<Phase1>" : undefined,
        reqid: c.reqid,
      };
    });
}

export function stateStatuses(engine: Engine): StateStatus[] {
  const out: StateStatus[] = [];
  const events = (m: Map<string, { due: number; cancelled: boolean }>) =>
    [...m.entries()].filter(([, h]) => !h.cancelled).map(([name, h]) => ({
      name,
      due: h.due / 1000,
    }));
  for (const sa of engine.ikeBySerial.values()) {
    out.push({
      serial: sa.serial,
      connection: sa.conn.name,
      instance: "",
      remotePort: sa.remote.port,
      kind: "ike",
      story: storyOf(sa),
      events: events(sa.events),
      newest: sa.conn.newestIke === sa.serial,
      erouteOwner: false,
      established: sa.state === "ESTABLISHED_IKE_SA",
      authenticated: sa.state === "ESTABLISHED_IKE_SA",
      halfOpen: sa.state === "IKE_SA_INIT_R",
      peerId: sa.peerId?.text,
    });
    for (const child of sa.children) {
      out.push({
        serial: child.serial,
        connection: child.conn.name,
        instance: "",
        remotePort: sa.remote.port,
        kind: "child",
        story: child.established ? "established Child SA" : "larval Child SA",
        events: events(child.events),
        newest: child.conn.newestChild === child.serial,
        erouteOwner: child.established && child.conn.newestChild === child.serial,
        parent: sa.serial,
        established: child.established,
        authenticated: child.established,
        halfOpen: false,
        child: child.established
          ? {
            protocol: "esp",
            outboundSpi: child.outSpi!,
            inboundSpi: child.inSpi,
            remoteAddress: formatAddress(sa.remote.address),
            localAddress: formatAddress(sa.local.address),
            tunnel: child.mode === "tunnel",
            inBytes: engine.deps.kernel.bytes(sa.local.address, child.inSpi).bytes,
            outBytes: engine.deps.kernel.bytes(sa.remote.address, child.outSpi!).bytes,
            maxBytes: "2^63B",
            addTime: child.addTime ?? 0,
            peerId: sa.peerId?.text ?? "",
          }
          : undefined,
      });
    }
  }
  return out.sort((a, b) =>
    a.connection < b.connection ? -1 : a.connection > b.connection ? 1 : a.serial - b.serial
  );
}
