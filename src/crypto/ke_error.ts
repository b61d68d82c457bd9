/**
 * The error every key-exchange group throws for a value it must refuse.
 */

/**
 * A key-exchange value was refused: a peer's KE data of the wrong length,
 * off the curve or outside the group, a low-order point, or a private value
 * out of range. The message names the group and the problem — never key
 * material.
 */
export class KeError extends Error {
  /** Libreswan's name of the group, e.g. `MODP2048`, `DH19`. */
  readonly group: string;

  constructor(group: string, problem: string) {
    super(`${group}: ${problem}`);
    this.name = "KeError";
    this.group = group;
  }
}
