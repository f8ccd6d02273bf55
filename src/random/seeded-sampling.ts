// Named seeded streams and the draws built on them (shuffle, sample, pick). Every component (a task split, an
// attack family, a bootstrap) gets its own stream derived from (seed, label), so adding or resizing one never
// changes the numbers drawn for another.

import { SeededRng } from "./seeded-rng.js";

/** A 32-bit seed for the stream named `label` under the task seed (FNV-1a over the label, mixed with the seed). */
export function streamSeed(seed: number, label: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  h = Math.imul(h, 0x01000193) >>> 0;
  // Mix in the high bits too, so seeds above 2^32 do not collide with their low halves.
  h ^= Math.floor(seed / 4294967296) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function rngFor(seed: number, label: string): SeededRng {
  return new SeededRng(streamSeed(seed, label));
}

/** A uniformly shuffled copy. */
export function shuffled<T>(rng: SeededRng, items: readonly T[]): T[] {
  const perm = rng.permutation(items.length);
  return Array.from(perm, (i) => items[i]!);
}

/** min(k, n) items drawn without replacement, in draw order. */
export function sampleWithoutReplacement<T>(rng: SeededRng, items: readonly T[], k: number): T[] {
  const a = items.slice();
  const m = Math.min(Math.max(0, Math.floor(k)), a.length);
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(a.length - i);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a.slice(0, m);
}

/** One uniformly chosen element (the list must not be empty). */
export function pick<T>(rng: SeededRng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}
