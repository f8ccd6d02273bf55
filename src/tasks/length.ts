// Length helpers and a length-matching resampler: detectors that score long inputs higher would look good on
// jailbreak templates for the wrong reason, so normal and anomalous sets can be resampled to one length histogram.

import { MadkitError } from "../errors.js";
import { rngFor, sampleWithoutReplacement } from "../random/seeded-sampling.js";

/** Length in Unicode code points. */
export function charLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** Whitespace-separated words: a tokenizer-free stand-in for token counts. */
export function wordLength(text: string): number {
  const t = text.trim();
  return t === "" ? 0 : t.split(/\s+/).length;
}

/** Length in a model's tokens, given its tokenizer's encode function. */
export function tokenLength(encode: (text: string) => ArrayLike<number>): (text: string) => number {
  return (text) => encode(text).length;
}

export interface LengthBin {
  /** Inclusive lower and exclusive upper length (the last bin includes its upper edge). */
  readonly lo: number;
  readonly hi: number;
  /** Items kept from each side in this bin (the same on both sides). */
  readonly count: number;
  /** Items available before resampling. */
  readonly normalAvailable: number;
  readonly anomalousAvailable: number;
}

export interface LengthMatchOptions {
  readonly seed: number;
  /** How an item's length is measured; default `charLength` of `text`. */
  readonly lengthOf?: (text: string) => number;
  /** Number of bins (edges at quantiles of the pooled log-lengths); default 10. */
  readonly bins?: number;
}

export interface LengthMatched<T> {
  readonly normal: T[];
  readonly anomalous: T[];
  readonly bins: LengthBin[];
}

/**
 * Subsample `normal` and `anomalous` so that every length bin holds the same number of each (the smaller of the
 * two counts). Bin edges are quantiles of the pooled lengths, so bins are populated where both sets have mass.
 * Kept items stay in their input order.
 */
export function lengthMatch<T extends { readonly text: string }>(
  normal: readonly T[],
  anomalous: readonly T[],
  options: LengthMatchOptions,
): LengthMatched<T> {
  const lengthOf = options.lengthOf ?? charLength;
  const nBins = options.bins ?? 10;
  if (!Number.isInteger(nBins) || nBins < 1) {
    throw new MadkitError("BAD_ARGUMENT", `lengthMatch: bins must be a positive integer, got ${nBins}`);
  }
  const ln = normal.map((x) => lengthOf(x.text));
  const la = anomalous.map((x) => lengthOf(x.text));
  const edges = quantileEdges(ln.concat(la), nBins);
  const binOf = (len: number): number => {
    // The last edge is the maximum, which belongs to the last bin.
    let b = 0;
    while (b < edges.length - 2 && len >= edges[b + 1]!) b++;
    return b;
  };
  const nb = Math.max(edges.length - 1, 0);
  const byBinN: number[][] = Array.from({ length: nb }, () => []);
  const byBinA: number[][] = Array.from({ length: nb }, () => []);
  ln.forEach((len, i) => byBinN[binOf(len)]!.push(i));
  la.forEach((len, i) => byBinA[binOf(len)]!.push(i));
  const keepN = new Uint8Array(normal.length);
  const keepA = new Uint8Array(anomalous.length);
  const bins: LengthBin[] = [];
  for (let b = 0; b < nb; b++) {
    const count = Math.min(byBinN[b]!.length, byBinA[b]!.length);
    for (const i of sampleWithoutReplacement(rngFor(options.seed, `length-match/normal/${b}`), byBinN[b]!, count)) keepN[i] = 1;
    for (const i of sampleWithoutReplacement(rngFor(options.seed, `length-match/anomalous/${b}`), byBinA[b]!, count)) keepA[i] = 1;
    bins.push({
      lo: edges[b]!,
      hi: edges[b + 1]!,
      count,
      normalAvailable: byBinN[b]!.length,
      anomalousAvailable: byBinA[b]!.length,
    });
  }
  return {
    normal: normal.filter((_, i) => keepN[i] === 1),
    anomalous: anomalous.filter((_, i) => keepA[i] === 1),
    bins,
  };
}

/** Distinct bin edges at the 0, 1/n, ..., 1 quantiles of `values` (ties merge bins). */
function quantileEdges(values: readonly number[], n: number): number[] {
  if (values.length === 0) return [];
  const sorted = Float64Array.from(values).sort();
  const edges: number[] = [];
  for (let k = 0; k <= n; k++) {
    const v = sorted[Math.min(sorted.length - 1, Math.round((k / n) * (sorted.length - 1)))]!;
    if (edges.length === 0 || v > edges[edges.length - 1]!) edges.push(v);
  }
  // All values equal: one bin [v, v].
  if (edges.length === 1) edges.push(edges[0]!);
  return edges;
}
