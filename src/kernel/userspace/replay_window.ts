/**
 * The receiver's anti-replay window (RFC 4303 §3.4.3) with extended sequence
 * numbers (RFC 4303 Appendix A2): the high 32 bits, never sent, are inferred
 * from the low 32 bits and the window's position.
 *
 * Use: {@link ReplayWindow.check} before the ICV (cheap rejection of old and
 * duplicate packets), then {@link ReplayWindow.accept} only after the ICV
 * verified, so forged packets never move the window.
 *
 * Sequence numbers are JavaScript numbers: exact up to 2^53, a count no SA
 * reaches (it would take years at line rate; SAs are rekeyed long before).
 */

const TWO_32 = 2 ** 32;
/** Window used only to infer ESN high bits when anti-replay is off (half the 32-bit space). */
const INFERENCE_WINDOW = 2 ** 31;

/** Why {@link ReplayWindow.check} refused a sequence number. */
export type ReplayVerdict =
  /** Acceptable: `seq` is the full (ESN-inferred) sequence number for the ICV. */
  | { ok: true; seq: number }
  /** Below the window, or the inferred number is impossible (before the first). */
  | { ok: false; reason: "replay-old" }
  /** Inside the window and already received. */
  | { ok: false; reason: "replay-duplicate" };

/** One inbound SA's record of the sequence numbers it has accepted. */
export class ReplayWindow {
  /** Window size in packets; 0 turns replay protection off (sequence numbers still inferred). */
  readonly size: number;
  readonly #esn: boolean;
  /** Highest sequence number accepted so far (T in RFC 4303 Appendix A2); 0 before the first. */
  #top = 0;
  /** One bit per sequence number, indexed by seq modulo the bitmap's size in bits. */
  #bits: Uint32Array;

  /** A window of `size` packets (0 = off) for an SA with or without ESN. */
  constructor(size: number, esn: boolean) {
    if (!Number.isInteger(size) || size < 0) {
      throw new RangeError(`replay window ${size} is not a count of packets`);
    }
    this.size = size;
    this.#esn = esn;
    this.#bits = new Uint32Array(Math.ceil(size / 32));
  }

  /** The highest sequence number accepted so far. */
  get top(): number {
    return this.#top;
  }

  /** The full sequence number a packet carrying `seqLow` has (RFC 4303 Appendix A2.2). */
  #infer(seqLow: number): number {
    if (!this.#esn) return seqLow;
    const w = this.size === 0 ? INFERENCE_WINDOW : this.size;
    const th = Math.floor(this.#top / TWO_32);
    const tl = this.#top % TWO_32;
    if (tl >= w - 1) {
      // Window inside one 2^32 block: a low number below it belongs to the next block.
      return (seqLow >= tl - w + 1 ? th : th + 1) * TWO_32 + seqLow;
    }
    // Window straddles a block boundary: a low number above its bottom belongs to the previous block.
    const bottom = (tl - w + 1 + TWO_32) % TWO_32;
    return (seqLow >= bottom ? th - 1 : th) * TWO_32 + seqLow;
  }

  /** Whether a packet carrying `seqLow` may be authenticated, and its full sequence number. */
  check(seqLow: number): ReplayVerdict {
    const seq = this.#infer(seqLow);
    // Sequence number 0 is never sent (RFC 4303 §3.3.3); negative comes from inference before the start.
    if (seq <= 0) return { ok: false, reason: "replay-old" };
    if (this.size === 0 || seq > this.#top) return { ok: true, seq };
    if (seq <= this.#top - this.size) return { ok: false, reason: "replay-old" };
    return this.#isSet(seq) ? { ok: false, reason: "replay-duplicate" } : { ok: true, seq };
  }

  /**
   * Records `seq` (from a passing {@link check}) once the packet's ICV
   * verified; slides the window when `seq` is above its top.
   */
  accept(seq: number): void {
    if (this.size === 0) {
      this.#top = Math.max(this.#top, seq);
      return;
    }
    if (seq > this.#top) {
      const capacity = this.#bits.length * 32;
      if (seq - this.#top >= capacity) {
        this.#bits.fill(0);
      } else {
        for (let s = this.#top + 1; s < seq; s++) this.#clear(s);
      }
      this.#top = seq;
    }
    this.#set(seq);
  }

  #position(seq: number): [number, number] {
    const bit = seq % (this.#bits.length * 32);
    return [bit >>> 5, 1 << (bit & 31)];
  }

  #isSet(seq: number): boolean {
    const [word, mask] = this.#position(seq);
    return (this.#bits[word] & mask) !== 0;
  }

  #set(seq: number): void {
    const [word, mask] = this.#position(seq);
    this.#bits[word] |= mask;
  }

  #clear(seq: number): void {
    const [word, mask] = this.#position(seq);
    this.#bits[word] &= ~mask;
  }
}
