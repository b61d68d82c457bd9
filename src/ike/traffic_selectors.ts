/**
 * Traffic selectors (RFC 7296 §2.9, §3.13): configured selectors to and from
 * the wire, and the responder's narrowing decision.
 */
import {
  type IpAddress,
  type Selector,
  selectorContains,
  selectorEquals,
  selectorIntersection,
} from "../config/addresses.ts";
import { TsType } from "../wire/constants.ts";
import type { TrafficSelector } from "../wire/payloads.ts";

export function toWire(s: Selector): TrafficSelector {
  return {
    tsType: s.family === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE,
    ipProtocol: s.protocol,
    startPort: s.startPort,
    endPort: s.endPort,
    startAddress: s.start,
    endAddress: s.end,
  };
}

/** undefined for selector types we do not handle (they are skipped, as RFC 7296 allows). */
export function fromWire(t: TrafficSelector): Selector | undefined {
  if (t.tsType === TsType.TS_IPV4_ADDR_RANGE && t.startAddress.length === 4) {
    return { family: 4, ...common(t) };
  }
  if (t.tsType === TsType.TS_IPV6_ADDR_RANGE && t.startAddress.length === 16) {
    return { family: 6, ...common(t) };
  }
  return undefined;
}

function common(t: TrafficSelector) {
  return {
    start: t.startAddress,
    end: t.endAddress,
    protocol: t.ipProtocol,
    startPort: t.startPort,
    endPort: t.endPort,
  };
}

/** The host-only selectors used when an end has no explicit subnet. */
export function endSelectors(
  subnets: Selector[],
  host: IpAddress | undefined,
  hostSelector: (a: IpAddress) => Selector,
): Selector[] {
  if (subnets.length > 0) return subnets;
  return host ? [hostSelector(host)] : [];
}

/**
 * Responder narrowing without `narrowing=yes`: each configured selector must
 * lie inside what the peer proposed; the answer is our configuration.
 * Returns undefined when the proposal does not cover it (TS_UNACCEPTABLE).
 */
export function narrow(config: Selector[], proposed: Selector[]): Selector[] | undefined {
  for (const c of config) {
    if (!proposed.some((p) => selectorContains(p, c))) return undefined;
  }
  return config;
}

/** Initiator check of the answer: each answered selector must equal or lie inside what we proposed. */
export function acceptNarrowed(
  proposed: Selector[],
  answered: Selector[],
  allowNarrowing: boolean,
): boolean {
  if (answered.length === 0) return false;
  return answered.every((a) =>
    proposed.some((p) =>
      allowNarrowing
        ? selectorIntersection(p, a) !== undefined && selectorContains(p, a)
        : selectorEquals(p, a)
    )
  );
}

/** `192.0.2.0/24===203.0.113.0/24` style text for log lines. */
export function pairText(
  local: Selector[],
  remote: Selector[],
  fmt: (s: Selector) => string,
): string {
  return `${local.map(fmt).join(" ")}===${remote.map(fmt).join(" ")}`;
}
