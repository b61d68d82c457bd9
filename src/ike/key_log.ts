/**
 * Where the engine reports keys it derives, for operators who must decrypt
 * captures (the daemon writes them in Wireshark's formats). Only ever wired
 * up on explicit request: these are secrets.
 */
import type { IpAddress } from "../config/addresses.ts";

export interface IkeSaKeyRecord {
  spiI: Uint8Array;
  spiR: Uint8Array;
  encrId: number;
  encrKeyBits: number;
  /** SK_ei / SK_er, salt included for AEAD. */
  skEi: Uint8Array;
  skEr: Uint8Array;
  integId: number;
  skAi: Uint8Array;
  skAr: Uint8Array;
}

export interface EspSaKeyRecord {
  src: IpAddress;
  dst: IpAddress;
  spi: number;
  encrId: number;
  encrKeyBits: number;
  /** Key followed by the salt for AEAD. */
  encrKey: Uint8Array;
  integId: number;
  integKey: Uint8Array;
}

export interface KeyLog {
  ike(record: IkeSaKeyRecord): void;
  esp(record: EspSaKeyRecord): void;
}
