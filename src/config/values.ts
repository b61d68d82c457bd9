/**
 * Value syntaxes shared by `ipsec.conf` keywords and pluto/whack options:
 * booleans, durations, percentages, byte/packet counts and ports.
 *
 * Every parser is total: it returns the value or an error that names the
 * keyword and quotes the text, e.g.
 * `ikelifetime: "8x" is not a duration; use a number with s, m, h, d or w`.
 * Surrounding whitespace is ignored.
 *
 * @module
 */

/** A parsed value or a message for a person. */
export type ValueResult<T> = { ok: true; value: T } | { ok: false; error: string };

function fail<T>(keyword: string, text: string, problem: string): ValueResult<T> {
  return { ok: false, error: `${keyword}: "${text}" ${problem}` };
}

const TRUE_WORDS = new Set(["yes", "y", "true", "on", "1"]);
const FALSE_WORDS = new Set(["no", "n", "false", "off", "0"]);

/** `yes`/`no`, also `y`/`n`, `true`/`false`, `on`/`off`, `1`/`0`, any case. */
export function parseBoolean(keyword: string, text: string): ValueResult<boolean> {
  const word = text.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return { ok: true, value: true };
  if (FALSE_WORDS.has(word)) return { ok: true, value: false };
  return fail(keyword, text, "is not a boolean; use yes or no");
}

/** Microseconds per duration unit. */
const MICROSECONDS: Readonly<Record<string, bigint>> = {
  us: 1n,
  ms: 1_000n,
  s: 1_000_000n,
  m: 60_000_000n,
  h: 3_600_000_000n,
  d: 86_400_000_000n,
  w: 604_800_000_000n,
};

/**
 * `whole[.fraction]` times `scale`, exactly, dropping any remainder below
 * one unit of the result.
 */
function scaleDecimal(whole: string, fraction: string, scale: bigint): bigint {
  return (BigInt(whole + fraction) * scale) / 10n ** BigInt(fraction.length);
}

/**
 * A duration: a decimal number (fractions allowed) with an optional unit
 * `us`, `ms`, `s`, `m`, `h`, `d` or `w` (`1.5h` = `90m`). Without a unit the
 * number is in `defaultUnit`: seconds, or milliseconds for keywords such as
 * `retransmit-interval`.
 *
 * Returns **milliseconds** (so `1.5h` → 5 400 000 and `500ms` → 500); the
 * result is fractional only for sub-millisecond input such as `1us`.
 */
export function parseDuration(
  keyword: string,
  text: string,
  defaultUnit: "s" | "ms" = "s",
): ValueResult<number> {
  const match = /^(\d+)(?:\.(\d+))?(us|ms|s|m|h|d|w)?$/i.exec(text.trim());
  if (match === null) {
    return fail(keyword, text, "is not a duration; use a number with s, m, h, d or w");
  }
  const unit = (match[3] ?? defaultUnit).toLowerCase();
  const microseconds = scaleDecimal(match[1], match[2] ?? "", MICROSECONDS[unit]);
  if (microseconds > BigInt(Number.MAX_SAFE_INTEGER)) {
    return fail(keyword, text, "is too long a duration");
  }
  return { ok: true, value: Number(microseconds) / 1000 };
}

/** A percentage (`rekeyfuzz`): a whole number, optionally followed by `%`. */
export function parsePercent(keyword: string, text: string): ValueResult<number> {
  const match = /^(\d+)%?$/.exec(text.trim());
  const value = match === null ? NaN : Number(match[1]);
  if (!Number.isSafeInteger(value)) {
    return fail(keyword, text, "is not a percentage; use a whole number, optionally followed by %");
  }
  return { ok: true, value };
}

/** IEC 60027-2 binary multipliers. */
const BINARY_PREFIX: Readonly<Record<string, bigint>> = {
  "": 1n,
  ki: 1n << 10n,
  mi: 1n << 20n,
  gi: 1n << 30n,
  ti: 1n << 40n,
  pi: 1n << 50n,
  ei: 1n << 60n,
};

/** Counts are kept in 64 bits, as the kernel's SA limits are. */
const MAX_COUNT = (1n << 64n) - 1n;

/**
 * A byte or packet count: a whole number, or a decimal with a binary suffix
 * `KiB`, `MiB`, `GiB`, `TiB`, `PiB` or `EiB` (any case; `1.5KiB` = 1536,
 * rounded down to a whole count), or a power of two written as Libreswan
 * prints limits, `2^63`. At most 2^64-1.
 */
export function parseCount(keyword: string, text: string): ValueResult<bigint> {
  const trimmed = text.trim();
  const power = /^2\^(\d+)$/.exec(trimmed);
  const scaled = /^(\d+)(?:\.(\d+)(?=[kmgtpe]))?(?:([kmgtpe]i)b)?$/i.exec(trimmed);
  let value: bigint;
  if (power !== null) {
    // Cap the exponent before shifting so "2^999999999" cannot exhaust memory.
    value = 1n << BigInt(Math.min(Number(power[1]), 65));
  } else if (scaled !== null) {
    value = scaleDecimal(
      scaled[1],
      scaled[2] ?? "",
      BINARY_PREFIX[(scaled[3] ?? "").toLowerCase()],
    );
  } else {
    return fail(
      keyword,
      text,
      "is not a count; use a whole number, optionally followed by KiB, MiB, GiB, TiB, PiB or EiB",
    );
  }
  if (value > MAX_COUNT) return fail(keyword, text, "is too large; the most is 2^64-1");
  return { ok: true, value };
}

/** A UDP/TCP port number, 1 to 65535. */
export function parsePort(keyword: string, text: string): ValueResult<number> {
  const trimmed = text.trim();
  const value = /^\d{1,5}$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!(value >= 1 && value <= 65535)) {
    return fail(keyword, text, "is not a port; use a number from 1 to 65535");
  }
  return { ok: true, value };
}
