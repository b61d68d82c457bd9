/**
 * The SA database of the userspace stack: installed ESP SAs with their
 * resolved algorithms, sequence counters, replay windows and byte/packet
 * counters. Inbound SAs are found by SPI alone (one map lookup per packet):
 * {@link SaDatabase.allocateSpi} keeps inbound SPIs unique across all local
 * addresses, so the SPI names the SA even behind a NAT that rewrote addresses.
 */
import { addressKey, formatAddress, type IpAddress } from "../../config/addresses.ts";
import { AeadContext, type AeadName } from "../../../ffi/libcrypto.ts";
import { ENCR_CHACHA20_POLY1305, encrAlgorithm } from "../../crypto/encr.ts";
import { integAlgorithm } from "../../crypto/integ.ts";
import type { Entropy } from "../../crypto/random.ts";
import { KernelError, type KernelSa } from "../kernel.ts";
import type { EspTransform } from "./esp_codec.ts";
import { ReplayWindow } from "./replay_window.ts";

/** SPIs 0–255 are reserved (RFC 4303 §2.1); pluto also leaves up to 0x0FFF for manual keying. */
const MIN_SPI = 0x1000;
/** AUTH_NONE: AEAD ciphers come without an integrity transform. */
const AUTH_NONE = 0;
/** Last sequence number an SA may send: 2^32-1, or 2^53-1 with ESN (see replay_window.ts). */
const MAX_SEQ_32 = 2 ** 32 - 1;

/** One installed SA direction. */
export interface EspSa {
  readonly config: KernelSa;
  readonly transform: EspTransform;
  /** Inbound only: the anti-replay window. */
  readonly replay?: ReplayWindow;
  /** Outbound only: the last sequence number sent (0 before the first packet). */
  seq: number;
  /** Inner bytes carried (ESP payload sizes, as the kernel's byte lifetime counts them). */
  bytes: number;
  packets: number;
  /** Byte and packet limits as numbers (exact far beyond any count an SA reaches). */
  readonly limits: NumericLimits;
  /** The soft limit was reached and reported. */
  softExpired: boolean;
  /** The hard limit was reached: the SA carries nothing more. */
  hardExpired: boolean;
  /**
   * Outbound only: installed while an older SA still carries the same
   * traffic, and not yet known to be installed by the peer (see
   * `Datapath.install`); when it began waiting (ms).
   */
  pendingSince?: number;
  /** Inbound only: the outbound SA installed with this one, made current by its first packet. */
  partner?: EspSa;
}

/** {@link KernelSa.limits} as numbers; Infinity where there is none. */
export interface NumericLimits {
  softBytes: number;
  hardBytes: number;
  softPackets: number;
  hardPackets: number;
}

const NO_LIMITS: NumericLimits = {
  softBytes: Infinity,
  hardBytes: Infinity,
  softPackets: Infinity,
  hardPackets: Infinity,
};

function numericLimits(config: KernelSa): NumericLimits {
  const l = config.limits;
  if (l === undefined) return NO_LIMITS;
  return {
    softBytes: Number(l.softBytes),
    hardBytes: Number(l.hardBytes),
    softPackets: Number(l.softPackets),
    hardPackets: Number(l.hardPackets),
  };
}

/** The transform of `sa`, or the reason the userspace stack cannot carry it. */
export function espTransform(sa: KernelSa): EspTransform | string {
  const encr = encrAlgorithm(sa.encrId, sa.encrKeyBits);
  if (encr === undefined) return `unsupported ESP encryption ${sa.encrId}/${sa.encrKeyBits}`;
  if (sa.encrKey.length !== encr.keyMaterialBytes) {
    return `${encr.name} needs ${encr.keyMaterialBytes} bytes of key material, got ${sa.encrKey.length}`;
  }
  if (encr.aead) {
    if (sa.integId !== AUTH_NONE) return `${encr.name} is combined mode; integrity must be none`;
    const keyBytes = sa.encrKey.length - encr.saltBytes;
    const context = AeadContext.create(
      encr.id === ENCR_CHACHA20_POLY1305
        ? "chacha20-poly1305"
        : `aes-${encr.keyBits}-gcm` as AeadName,
      sa.encrKey.subarray(0, keyBytes),
    );
    const nonce = new Uint8Array(encr.saltBytes + encr.ivBytes);
    nonce.set(sa.encrKey.subarray(keyBytes));
    return {
      encr,
      encrKey: sa.encrKey,
      integKey: new Uint8Array(0),
      esn: sa.esn,
      aead: context === undefined ? undefined : { context, nonce },
    };
  }
  const integ = integAlgorithm(sa.integId);
  // ESP without integrity is open to cut-and-paste attacks on CBC (RFC 8221 §5); refuse it.
  if (integ === undefined) return `unsupported ESP integrity ${sa.integId} with ${encr.name}`;
  if (sa.integKey.length !== integ.keyBytes) {
    return `${integ.name} needs a ${integ.keyBytes}-byte key, got ${sa.integKey.length}`;
  }
  return { encr, encrKey: sa.encrKey, integ, integKey: sa.integKey, esn: sa.esn };
}

/** The highest sequence number an SA may send before it must be replaced. */
export function maxSequence(sa: EspSa): number {
  return sa.transform.esn ? Number.MAX_SAFE_INTEGER : MAX_SEQ_32;
}

function saKey(dst: IpAddress, spi: number): string {
  return `${addressKey(dst)}/${spi}`;
}

/** Installed SAs: inbound by SPI, every SA by (destination, SPI). */
export class SaDatabase {
  #inbound = new Map<number, EspSa>();
  #all = new Map<string, EspSa>();
  /** Inbound SPIs handed out by allocateSpi and not yet deleted, with their destination. */
  #reserved = new Map<number, string>();

  constructor(private entropy: Entropy) {}

  /** A fresh inbound SPI for `dst` (us), unique among reserved and installed inbound SPIs. */
  allocateSpi(dst: IpAddress): number {
    const buf = new Uint8Array(4);
    for (;;) {
      this.entropy.fill(buf);
      const spi = new DataView(buf.buffer).getUint32(0);
      if (spi < MIN_SPI || this.#reserved.has(spi)) continue;
      this.#reserved.set(spi, addressKey(dst));
      return spi;
    }
  }

  /** Installs `config`; throws KernelError naming what the stack cannot carry. */
  add(config: KernelSa): EspSa {
    const transform = espTransform(config);
    const what = `SA ${formatAddress(config.dst)}/0x${config.spi.toString(16).padStart(8, "0")}`;
    if (typeof transform === "string") throw new KernelError(`${what}: ${transform}`);
    if (config.inbound) {
      if (this.#inbound.has(config.spi)) {
        throw new KernelError(`${what}: inbound SPI already installed`);
      }
    }
    const sa: EspSa = {
      config,
      transform,
      replay: config.inbound ? new ReplayWindow(config.replayWindow, config.esn) : undefined,
      seq: 0,
      bytes: 0,
      packets: 0,
      limits: numericLimits(config),
      softExpired: false,
      hardExpired: false,
    };
    if (config.inbound) {
      this.#inbound.set(config.spi, sa);
      this.#reserved.set(config.spi, addressKey(config.dst));
    }
    this.#all.set(saKey(config.dst, config.spi), sa);
    return sa;
  }

  /** Removes the SA to `dst` with `spi` and returns it; undefined when unknown. */
  delete(dst: IpAddress, spi: number): EspSa | undefined {
    const key = saKey(dst, spi);
    const sa = this.#all.get(key);
    if (sa === undefined) {
      // An SPI allocated for a negotiation that failed before its SA was installed.
      if (this.#reserved.get(spi) === addressKey(dst)) this.#reserved.delete(spi);
      return undefined;
    }
    this.#all.delete(key);
    if (sa.config.inbound) {
      this.#inbound.delete(spi);
      this.#reserved.delete(spi);
    }
    return sa;
  }

  /** The inbound SA with `spi`. */
  inbound(spi: number): EspSa | undefined {
    return this.#inbound.get(spi);
  }

  /** The SA to `dst` with `spi`, either direction. */
  find(dst: IpAddress, spi: number): EspSa | undefined {
    return this.#all.get(saKey(dst, spi));
  }
}
