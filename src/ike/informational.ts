/**
 * INFORMATIONAL exchanges (RFC 7296 §1.4, §1.5): Delete of IKE and Child SAs
 * in both directions, and the empty liveness check.
 */
import { ExchangeType, PayloadType, ProtocolId } from "../wire/constants.ts";
import type { IkeHeader } from "../wire/header.ts";
import { findPayloads, type Payload } from "../wire/payloads.ts";
import type { Engine } from "./engine.ts";
import type { ChildSa, IkeSa } from "./ike_sa.ts";

/** Answers a peer's INFORMATIONAL request. */
export function handleInformationalRequest(
  engine: Engine,
  sa: IkeSa,
  header: IkeHeader,
  payloads: Payload[],
): void {
  const deletes = findPayloads(payloads, PayloadType.D);
  if (deletes.some((d) => d.protocol === ProtocolId.IKE)) {
    engine.say({ sa }, "received Delete SA payload: deleting IKE SA");
    engine.respond(sa, header, []);
    engine.release(sa, 0);
    engine.removeIkeSa(sa, "established IKE SA");
    return;
  }
  const ours: Uint8Array[] = [];
  for (const d of deletes) {
    if (d.protocol !== ProtocolId.ESP || d.spiSize !== 4) continue;
    for (const spi of d.spis) {
      const outSpi = new DataView(spi.buffer, spi.byteOffset, 4).getUint32(0);
      const child = [...sa.children].find((c) => c.outSpi === outSpi);
      if (!child) continue;
      engine.say({ child }, "received Delete SA payload: deleting Child SA");
      const mine = new Uint8Array(4);
      new DataView(mine.buffer).setUint32(0, child.inSpi);
      ours.push(mine);
      engine.removeChildSa(child);
    }
  }
  if (deletes.length === 0) engine.count("total.ike.dpd.replied");
  engine.respond(
    sa,
    header,
    ours.length ? [{ type: PayloadType.D, protocol: ProtocolId.ESP, spiSize: 4, spis: ours }] : [],
  );
}

/**
 * Tells the peer we delete the IKE SA. With `wait`, retransmits until answered
 * (or the retransmit timeout) before `done`; without, sends once.
 */
export function sendDeleteIke(engine: Engine, sa: IkeSa, done: () => void, wait: boolean): void {
  const payloads: Payload[] = [{
    type: PayloadType.D,
    protocol: ProtocolId.IKE,
    spiSize: 0,
    spis: [],
  }];
  engine.say({ sa }, "sent INFORMATIONAL request to delete IKE SA");
  if (!wait) {
    engine.send(
      sa,
      engine.sealed(sa, ExchangeType.INFORMATIONAL, sa.nextRequestId++, false, payloads),
    );
    done();
    return;
  }
  sa.state = "DELETING";
  engine.sendRequest(
    sa,
    ExchangeType.INFORMATIONAL,
    (id) => engine.sealed(sa, ExchangeType.INFORMATIONAL, id, false, payloads),
    () => done(),
    done,
  );
}

/** A Delete payload naming a Child SA by the SPI we receive on (RFC 7296 §1.4.1). */
export function deleteChildPayload(inSpi: number): Payload {
  const spi = new Uint8Array(4);
  new DataView(spi.buffer).setUint32(0, inSpi);
  return { type: PayloadType.D, protocol: ProtocolId.ESP, spiSize: 4, spis: [spi] };
}

/** Asks the peer to delete one Child SA; `done` after the answer or the timeout. */
export function sendDeleteChild(engine: Engine, child: ChildSa, done: () => void): void {
  const sa = child.ike;
  engine.say(
    { child },
    `sent INFORMATIONAL request to delete established Child SA using IKE SA #${sa.serial}`,
  );
  engine.sendRequest(
    sa,
    ExchangeType.INFORMATIONAL,
    (id) =>
      engine.sealed(sa, ExchangeType.INFORMATIONAL, id, false, [deleteChildPayload(child.inSpi)]),
    () => done(),
    done,
  );
}
