/**
 * Copy-on-write updates of the small arrays every SA holds (its Child SAs, its
 * named events). An array grown by `push`, or built by spread or `filter`, gets
 * 16 spare slots from V8 (~130 bytes, per SA, at 100k SAs); `concat` and
 * `slice` allocate exactly what is needed. Callers replace the array instead
 * of changing it, so it may also be iterated while it is being updated.
 */

/** `list` with `item` appended. */
export function appended<T>(list: readonly T[], item: T): readonly T[] {
  return list.concat([item]);
}

/** `list` without the element at `index` (unchanged when `index` is out of range). */
export function removedAt<T>(list: readonly T[], index: number): readonly T[] {
  if (index < 0 || index >= list.length) return list;
  return list.slice(0, index).concat(list.slice(index + 1));
}
