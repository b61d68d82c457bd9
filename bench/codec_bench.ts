/**
 * Wire codec hot paths, each group against a baseline measured in the same
 * run (`deno bench` prints the ratio): decoding a whole IKE_SA_INIT message
 * against decoding its 28-octet header alone, and encoding it against
 * copying its bytes.
 */
import { parseIkeProposals } from "../src/config/proposals.ts";
import { ikeProposals } from "../src/ike/proposal.ts";
import { natHash } from "../src/ike/nat_detection.ts";
import { parseAddress } from "../src/config/addresses.ts";
import {
  ExchangeType,
  FLAG_INITIATOR,
  IKEV2_VERSION,
  NotifyType,
  PayloadType,
} from "../src/wire/constants.ts";
import { decodeHeader } from "../src/wire/header.ts";
import { decodeMessage, encodeMessage, type Payload } from "../src/wire/payloads.ts";

const parsed = parseIkeProposals("aes128-sha2_256-x25519,aes_gcm256-sha2_512-modp2048");
if (!parsed.ok) throw new Error("bench proposal does not parse");
const spiI = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
const zero = new Uint8Array(8);
const endpoint = { address: parseAddress("192.0.2.1")!, port: 500 };
const notify = (type: number, data: Uint8Array): Payload => ({
  type: PayloadType.N,
  protocol: 0,
  spi: new Uint8Array(),
  notifyType: type,
  data,
});
/** An IKE_SA_INIT request as swan sends it (two proposals, X25519 KE, 32-octet nonce, NAT-D). */
const payloads: Payload[] = [
  { type: PayloadType.SA, proposals: ikeProposals(parsed.proposals) },
  { type: PayloadType.KE, group: 31, data: new Uint8Array(32).fill(7) },
  { type: PayloadType.NONCE, data: new Uint8Array(32).fill(9) },
  notify(NotifyType.NAT_DETECTION_SOURCE_IP, natHash(spiI, zero, endpoint)),
  notify(NotifyType.NAT_DETECTION_DESTINATION_IP, natHash(spiI, zero, endpoint)),
];
const header = {
  spiI,
  spiR: zero,
  version: IKEV2_VERSION,
  exchange: ExchangeType.IKE_SA_INIT,
  flags: FLAG_INITIATOR,
  messageId: 0,
};
const message = encodeMessage(header, payloads);
if (!decodeMessage(message).ok) throw new Error("bench message does not decode");

Deno.bench("decode IKE header only", { group: "decode", baseline: true }, () => {
  decodeHeader(message);
});
Deno.bench("decode IKE_SA_INIT request", { group: "decode" }, () => {
  decodeMessage(message);
});

Deno.bench("copy IKE_SA_INIT bytes", { group: "encode", baseline: true }, () => {
  message.slice();
});
Deno.bench("encode IKE_SA_INIT request", { group: "encode" }, () => {
  encodeMessage(header, payloads);
});
