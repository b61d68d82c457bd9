import type { IpAddress } from "../config/addresses.ts";

/** An address and UDP port. */
export interface Endpoint {
  address: IpAddress;
  port: number;
}

/** Sends IKE datagrams. Received datagrams are pushed into the engine by the adapter. */
export interface Transport {
  /** `from` selects the local socket (address and port) to send from. */
  send(from: Endpoint, to: Endpoint, data: Uint8Array): void;
  /** A NAT-T keepalive (RFC 3948 §2.3): one 0xFF byte from our NAT-T socket, without the non-ESP marker. */
  sendKeepalive(from: Endpoint, to: Endpoint): void;
}
