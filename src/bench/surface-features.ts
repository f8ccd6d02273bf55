// Text-only ("surface") features of an input, built from the model's own token ids and nothing else: hashed
// unigram + bigram frequencies, and the hashed identity of each of the last k tokens by position. The surface
// baselines (surface-baseline.ts) fit the benchmark's detectors on these instead of on activations.

import { MadkitError } from "../errors.js";

/** Every text's token ids, flat: text i is ids[offsets[i] .. offsets[i + 1]). */
export interface TokenTable {
  readonly ids: Int32Array;
  /** Length = number of texts + 1, non-decreasing, offsets[0] = 0. */
  readonly offsets: Uint32Array;
}

/**
 * `ngram`: token unigrams in buckets [0, width) and bigrams in [width, 2·width), each block divided by its own
 * count (relative frequencies). Normalised because the vector should say what a text is made of, not how long it
 * is: raw counts put every long text far from everything for its length alone, and length has its own baseline.
 * `last-tokens`: k blocks of `width`; block j holds a one-hot of the j-th token from the end (j = 0: the last);
 * a text shorter than k leaves the missing blocks zero. Not normalised: it is an identity, not a distribution.
 */
export type SurfaceFeature = { readonly kind: "ngram"; readonly width: number } | { readonly kind: "last-tokens"; readonly k: number; readonly width: number };

/** Fixed hash seeds: the same token always lands in the same bucket, in every run and on every machine. */
const UNIGRAM_SEED = 0x5f3759df;
const BIGRAM_SEED = 0x2545f491;
const LAST_TOKEN_SEED = 0x27d4eb2f;

/** MurmurHash3's 32-bit finaliser: a bijection on uint32 that spreads every input bit over the output. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Bucket of a unigram `a`, or of the bigram (a, b) when b is given, in [0, width). */
export function ngramBucket(width: number, a: number, b?: number): number {
  if (b === undefined) return fmix32((a ^ UNIGRAM_SEED) >>> 0) % width;
  return fmix32((fmix32((a ^ BIGRAM_SEED) >>> 0) ^ Math.imul(b + 1, 0x9e3779b1)) >>> 0) % width;
}

/** Bucket of a token's identity at one position of the last-tokens features, in [0, width). */
export const lastTokenBucket = (width: number, t: number): number => fmix32((t ^ LAST_TOKEN_SEED) >>> 0) % width;

export function surfaceDim(f: SurfaceFeature): number {
  return f.kind === "ngram" ? 2 * f.width : f.k * f.width;
}

/** A table from per-text id arrays (what `tokenIdsOf` gives). */
export function tokenTableOf(ids: readonly ArrayLike<number>[]): TokenTable {
  const offsets = new Uint32Array(ids.length + 1);
  for (let i = 0; i < ids.length; i++) offsets[i + 1] = offsets[i]! + ids[i]!.length;
  const flat = new Int32Array(offsets[ids.length]!);
  for (let i = 0; i < ids.length; i++) flat.set(ids[i]!, offsets[i]!);
  return { ids: flat, offsets };
}

function checkFeature(f: SurfaceFeature): void {
  if (!(Number.isInteger(f.width) && f.width > 0)) throw new MadkitError("BAD_ARGUMENT", `surface features: width must be a positive integer, got ${f.width}`);
  if (f.kind === "last-tokens" && !(Number.isInteger(f.k) && f.k > 0)) throw new MadkitError("BAD_ARGUMENT", `surface features: last-tokens k must be a positive integer, got ${f.k}`);
}

/** Rows × surfaceDim(f) features (row-major) of the texts at positions `rows` of the table. */
export function surfaceFeatures(f: SurfaceFeature, table: TokenTable, rows: ArrayLike<number>): Float32Array {
  checkFeature(f);
  const dim = surfaceDim(f);
  const n = table.offsets.length - 1;
  const out = new Float32Array(rows.length * dim);
  const { ids, offsets } = table;
  const w = f.width;
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    if (!(Number.isInteger(i) && i >= 0 && i < n)) throw new MadkitError("BAD_INPUT", `surface features: row ${r} is ${i}, expected a text index in [0, ${n})`);
    const a = offsets[i]!;
    const len = offsets[i + 1]! - a;
    const base = r * dim;
    if (f.kind === "last-tokens") {
      for (let j = 0; j < Math.min(f.k, len); j++) out[base + j * w + lastTokenBucket(w, ids[a + len - 1 - j]!)] = 1;
      continue;
    }
    // Sums of 1/len stay exact enough in float32 for texts of a model's context length.
    for (let p = 0; p < len; p++) out[base + ngramBucket(w, ids[a + p]!)]! += 1 / len;
    for (let p = 0; p + 1 < len; p++) out[base + w + ngramBucket(w, ids[a + p]!, ids[a + p + 1]!)]! += 1 / (len - 1);
  }
  return out;
}
