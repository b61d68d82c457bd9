/**
 * The outcome type every wire decoder returns. Decoders never throw on bytes
 * from the network: they return `{ ok: false, error }` naming the payload, the
 * byte offset and what was wrong, so the engine can log once and drop the
 * packet or answer with the notify RFC 7296 asks for.
 */

/** Why a decoder rejected its input. Never carries secret material. */
export interface WireError {
  /** The payload or structure being decoded: "header", "SA", "KE", "TSi", "chain", … */
  payload: string;
  /** Byte offset of the offending structure within the buffer handed to the decoder. */
  offset: number;
  /** One-line human explanation (lengths and numbers only, never payload contents). */
  reason: string;
  /** Set when an unrecognised payload had the critical bit set (RFC 7296 §2.5): its type. */
  unsupportedCritical?: number;
  /** Set when the header's major version is not 2: the version received (RFC 7296 §2.5). */
  majorVersion?: number;
}

/** A decoded value or the reason it could not be decoded. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** A successful {@link Result}. */
export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

/** A failed {@link Result}; `extra` carries the optional machine-readable fields. */
export function fail(
  payload: string,
  offset: number,
  reason: string,
  extra?: Pick<WireError, "unsupportedCritical" | "majorVersion">,
): { ok: false; error: WireError } {
  return { ok: false, error: { payload, offset, reason, ...extra } };
}
