/**
 * Constant-time comparison for MACs, ICVs and AUTH payloads.
 */
import { timingSafeEqual } from "node:crypto";

/**
 * True when `a` and `b` hold the same bytes. The time taken depends only on
 * the lengths (which are public), never on where the contents differ.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
