/** NAT_DETECTION_*_IP data (RFC 7296 §2.23): SHA-1(SPIi | SPIr | IP | Port). */
import { createHash } from "node:crypto";
import type { Endpoint } from "../net/transport.ts";

export function natHash(spiI: Uint8Array, spiR: Uint8Array, ep: Endpoint): Uint8Array {
  const port = new Uint8Array([ep.port >> 8, ep.port & 0xff]);
  const h = createHash("sha1");
  h.update(spiI);
  h.update(spiR);
  h.update(ep.address.bytes);
  h.update(port);
  return new Uint8Array(h.digest());
}
