/**
 * A growable big-endian byte sink for the encoders. Lengths that are only
 * known after a body is written are back-patched with the `set*` methods, so
 * a whole message is built in one buffer without intermediate copies.
 */

/**
 * Throws `RangeError` unless `value` is an integer in [0, max] (`max` below
 * 2^32); `>>> 0` rejects fractions, negatives and NaN in one step.
 */
export function checkUint(value: number, max: number, what: string): void {
  if (value >>> 0 !== value || value > max) {
    throw new RangeError(`${what}: ${value} does not fit in ${max.toString(2).length} bits`);
  }
}

/**
 * Appends unsigned integers (network byte order) and byte strings.
 * Every integer is range-checked: a value too wide for its field is a
 * programming error and throws `RangeError` rather than wrapping silently.
 */
export class ByteWriter {
  #bytes: Uint8Array;
  #view: DataView;
  #length = 0;

  /** @param capacity initial buffer size in bytes; the buffer doubles as needed. */
  constructor(capacity = 256) {
    this.#bytes = new Uint8Array(Math.max(capacity, 16));
    this.#view = new DataView(this.#bytes.buffer);
  }

  /** Number of bytes written so far (the offset the next write lands at). */
  get length(): number {
    return this.#length;
  }

  /** Appends one octet. */
  u8(value: number, what: string): void {
    checkUint(value, 0xff, what);
    this.#reserve(1);
    this.#bytes[this.#length++] = value;
  }

  /** Appends a 16-bit big-endian integer. */
  u16(value: number, what: string): void {
    checkUint(value, 0xffff, what);
    this.#reserve(2);
    this.#view.setUint16(this.#length, value);
    this.#length += 2;
  }

  /** Appends a 32-bit big-endian integer. */
  u32(value: number, what: string): void {
    checkUint(value, 0xffffffff, what);
    this.#reserve(4);
    this.#view.setUint32(this.#length, value);
    this.#length += 4;
  }

  /** Appends `data` verbatim. */
  bytes(data: Uint8Array): void {
    this.#reserve(data.length);
    this.#bytes.set(data, this.#length);
    this.#length += data.length;
  }

  /** Appends `count` zero octets (RESERVED fields). */
  zeros(count: number): void {
    this.#reserve(count);
    this.#bytes.fill(0, this.#length, this.#length + count);
    this.#length += count;
  }

  /** Overwrites the octet at `at` (already written). */
  setU8(at: number, value: number, what: string): void {
    checkUint(value, 0xff, what);
    this.#bytes[at] = value;
  }

  /** Overwrites the 16-bit integer at `at` (already written). */
  setU16(at: number, value: number, what: string): void {
    checkUint(value, 0xffff, what);
    this.#view.setUint16(at, value);
  }

  /** Overwrites the 32-bit integer at `at` (already written). */
  setU32(at: number, value: number, what: string): void {
    checkUint(value, 0xffffffff, what);
    this.#view.setUint32(at, value);
  }

  /** The bytes written, as a view of the internal buffer (no copy). */
  finish(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /** Forgets what was written; the buffer is kept for the next use. */
  reset(): void {
    this.#length = 0;
  }

  #reserve(extra: number): void {
    const needed = this.#length + extra;
    if (needed <= this.#bytes.length) return;
    let capacity = this.#bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
    this.#view = new DataView(grown.buffer);
  }
}

/** The writer {@link encodeWith} reuses; taken while in use so nested encodes get their own. */
let scratch: ByteWriter | undefined;

/**
 * Runs `write` on a reused writer and returns an exact-size copy of what it
 * wrote. Encoders call this once per message: a fresh growable buffer per
 * message (and keeping its unused tail alive in stored packets) cost more
 * than the copy.
 */
export function encodeWith(write: (w: ByteWriter) => void): Uint8Array {
  const w = scratch ?? new ByteWriter(2048);
  scratch = undefined;
  try {
    w.reset();
    write(w);
    return w.finish().slice();
  } finally {
    scratch = w;
  }
}
