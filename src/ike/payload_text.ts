/** Payload and proposal descriptions for log lines ("containing SA,KE,Ni,N(…)"). */
import { encrName, integName, keName, prfName } from "../config/algorithm_names.ts";
import { isErrorNotify, notifyName, PayloadType, TransformType } from "../wire/constants.ts";
import { notifies, type NotifyPayload, type Payload, type Proposal } from "../wire/payloads.ts";

export function errorNotifies(payloads: Payload[]): NotifyPayload[] {
  return notifies(payloads).filter((n) => isErrorNotify(n.notifyType));
}

export function notifyText(n: { notifyType: number }): string {
  return notifyName(n.notifyType);
}

/** `SA,KE,Ni,N(NAT_DETECTION_SOURCE_IP)`; nonce and IDs named by direction. */
export function payloadList(payloads: Payload[], fromInitiator: boolean): string {
  return payloads.map((p) => {
    switch (p.type) {
      case PayloadType.SA:
        return "SA";
      case PayloadType.KE:
        return "KE";
      case PayloadType.NONCE:
        return fromInitiator ? "Ni" : "Nr";
      case PayloadType.IDi:
        return "IDi";
      case PayloadType.IDr:
        return "IDr";
      case PayloadType.AUTH:
        return "AUTH";
      case PayloadType.TSi:
        return "TSi";
      case PayloadType.TSr:
        return "TSr";
      case PayloadType.D:
        return "D";
      case PayloadType.V:
        return "V";
      case PayloadType.CERT:
        return "CERT";
      case PayloadType.CERTREQ:
        return "CERTREQ";
      case PayloadType.CP:
        return "CP";
      case PayloadType.N:
        return "notifyType" in p ? `N(${notifyName(p.notifyType)})` : "N";
      default:
        return `payload ${p.type}`;
    }
  }).join(",");
}

/** What the peer proposed, in Libreswan's proposal notation, for explain-why lines. */
export function describeOffer(proposals: Proposal[]): string {
  return proposals.map((p) => {
    const of = (type: number) => p.transforms.filter((t) => t.type === type);
    const parts = [of(TransformType.ENCR).map((t) => encrName(t.id, t.keyLength)).join("+")];
    const prf = of(TransformType.PRF).map((t) => prfName(t.id)).join("+");
    if (prf) parts.push(prf);
    const integ = of(TransformType.INTEG).map((t) => integName(t.id)).join("+");
    if (integ) parts.push(integ);
    const ke = of(TransformType.KE).map((t) => keName(t.id)).join("+");
    if (ke) parts.push(ke);
    return parts.join("-");
  }).join(", ");
}
