// The seeded percentile bootstrap, in two forms over one options type and one percentile function:
// `bootstrapMetrics` (AUROC, AUPRC, precision / recall at thresholds) resamples stratified (normals and
// anomalies each drawn with replacement to their own count, so every replicate keeps the evaluated mix); a
// replicate is a vector of multiplicities, so the scores are sorted once and each replicate is one O(n) weighted
// walk. Thresholds set on trusted calibration scores vary with that sample too: `replicateThresholds` resamples the
// calibration scores and sets each α's threshold again per replicate, and `bootstrapMetrics` takes them, so the
// precision / recall intervals include the threshold's own variance. `bootstrapStatistic` resamples item indices
// for any other statistic.

import { MadkitError } from "../errors.js";
import type { Labels } from "./ranking-metrics.js";
import { SeededRng } from "../random/seeded-rng.js";
import { calibrateThreshold } from "./threshold-metrics.js";

export interface Interval {
  readonly lo: number;
  readonly hi: number;
}

export interface BootstrapOptions {
  readonly seed: number;
  /** Replicates; default 200. */
  readonly replicates?: number;
  /** Two-sided coverage of the interval; default 0.95. */
  readonly level?: number;
  /** How the interval's ends are read off the sorted replicates; default "linear" (see `percentileInterval`). */
  readonly quantile?: QuantileRule;
}

/**
 * `linear`: interpolate between the two order statistics around p·(B−1) (numpy's default). `lower`: the order
 * statistic at ⌊p·(B−1)⌋ (numpy's `method="lower"`), which the capability-gap intervals have always used.
 */
export type QuantileRule = "linear" | "lower";

export const BOOTSTRAP_DEFAULTS = { replicates: 200, level: 0.95 } as const;

export interface MetricsWithCi {
  readonly auroc: number;
  readonly auprc: number;
  readonly aurocCi: Interval;
  readonly auprcCi: Interval;
  /** One entry per threshold given (flag = score > threshold, as in metricsAtThreshold). */
  readonly atThresholds: ReadonlyArray<{ readonly precision: number; readonly recall: number; readonly precisionCi: Interval; readonly recallCi: Interval }>;
}

/** Sorted-once view of a labelled score vector: tie groups from the top, with each item's group. */
interface Ranked {
  readonly order: Uint32Array;
  /** groupStart[g] .. groupStart[g+1] are the positions in `order` of the g-th tie group (descending score). */
  readonly groupStart: Uint32Array;
  readonly positives: Uint32Array;
  readonly negatives: Uint32Array;
}

function rank(scores: ArrayLike<number>, labels: Labels): Ranked {
  if (scores.length !== labels.length) throw new MadkitError("DIMENSION_MISMATCH", `bootstrap: got ${scores.length} scores but ${labels.length} labels`);
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i]!)) throw new MadkitError("NON_FINITE", `bootstrap: score ${i} is ${scores[i]}, expected a finite number`);
    (labels[i] ? pos : neg).push(i);
  }
  if (pos.length === 0 || neg.length === 0) {
    throw new MadkitError("BAD_INPUT", `bootstrap: needs both classes; got ${pos.length} anomalous and ${neg.length} normal`);
  }
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  const starts: number[] = [];
  for (let k = 0; k < order.length; k++) if (k === 0 || scores[order[k]!]! !== scores[order[k - 1]!]!) starts.push(k);
  starts.push(order.length);
  return { order, groupStart: Uint32Array.from(starts), positives: Uint32Array.from(pos), negatives: Uint32Array.from(neg) };
}

/** AUROC (Mann-Whitney with half credit for ties) and average precision of the sample weighted by `w`. */
function weightedRanking(r: Ranked, labels: Labels, w: Float64Array): { auroc: number; auprc: number } {
  let P = 0;
  let N = 0;
  for (let i = 0; i < w.length; i++) (labels[i] ? (P += w[i]!) : (N += w[i]!));
  let posAbove = 0;
  let seen = 0;
  let u = 0;
  let ap = 0;
  let prevRecall = 0;
  const { order, groupStart } = r;
  for (let g = 0; g + 1 < groupStart.length; g++) {
    let p = 0;
    let n = 0;
    for (let k = groupStart[g]!; k < groupStart[g + 1]!; k++) {
      const i = order[k]!;
      if (labels[i]) p += w[i]!;
      else n += w[i]!;
    }
    if (p === 0 && n === 0) continue;
    u += n * (posAbove + 0.5 * p);
    posAbove += p;
    seen += p + n;
    const recall = posAbove / P;
    ap += (recall - prevRecall) * (posAbove / seen);
    prevRecall = recall;
  }
  return { auroc: u / (P * N), auprc: ap };
}

function weightedAtThreshold(scores: ArrayLike<number>, labels: Labels, w: Float64Array, t: number): { precision: number; recall: number } {
  let tp = 0, fp = 0, fn = 0;
  for (let i = 0; i < w.length; i++) {
    if (w[i] === 0) continue;
    const flagged = scores[i]! > t;
    if (labels[i]) flagged ? (tp += w[i]!) : (fn += w[i]!);
    else if (flagged) fp += w[i]!;
  }
  return { precision: tp + fp > 0 ? tp / (tp + fp) : 0, recall: tp + fn > 0 ? tp / (tp + fn) : 0 };
}

/** Percentile interval of replicate values: the (1 − level)/2 and 1 − (1 − level)/2 quantiles under `rule`. */
export function percentileInterval(values: Float64Array, level: number, rule: QuantileRule = "linear"): Interval {
  const s = Float64Array.from(values).sort();
  const q = (p: number): number => {
    const x = p * (s.length - 1);
    const lo = Math.floor(x);
    if (rule === "lower") return s[Math.min(s.length - 1, Math.max(0, lo))]!;
    const hi = Math.min(s.length - 1, lo + 1);
    return s[lo]! + (x - lo) * (s[hi]! - s[lo]!);
  };
  return { lo: q((1 - level) / 2), hi: q(1 - (1 - level) / 2) };
}

/** The options with defaults filled in, refusing a replicate count or level that makes no interval. */
export function checkedOptions(options: BootstrapOptions): { B: number; level: number; rule: QuantileRule } {
  const B = options.replicates ?? BOOTSTRAP_DEFAULTS.replicates;
  const level = options.level ?? BOOTSTRAP_DEFAULTS.level;
  if (!Number.isInteger(B) || B < 1) throw new MadkitError("BAD_ARGUMENT", `bootstrap: replicates must be a positive integer, got ${B}`);
  if (!(level > 0 && level < 1)) throw new MadkitError("BAD_ARGUMENT", `bootstrap: level must be in (0, 1), got ${level}`);
  return { B, level, rule: options.quantile ?? "linear" };
}

/** `into` filled with draws from `from`, with replacement, in index order (one rng.int per entry). */
export function resampleInto(rng: SeededRng, from: ArrayLike<number>, into: Float64Array): Float64Array {
  for (let i = 0; i < into.length; i++) into[i] = from[rng.int(from.length)]!;
  return into;
}

/**
 * Per α, the threshold set again on each of `replicates` resamples of the calibration scores (drawn with
 * replacement to their own count): replicate b of every α uses the same resample. Pass the result to
 * bootstrapMetrics as `replicateThresholds`; its own seed then draws the evaluation sample.
 */
export function replicateThresholds(calibration: ArrayLike<number>, alphas: readonly number[], options: BootstrapOptions): Float64Array[] {
  const { B } = checkedOptions(options);
  const rng = new SeededRng(options.seed);
  const out = alphas.map(() => new Float64Array(B));
  const sample = new Float64Array(calibration.length);
  for (let b = 0; b < B; b++) {
    resampleInto(rng, calibration, sample);
    alphas.forEach((a, j) => (out[j]![b] = calibrateThreshold(sample, a)));
  }
  return out;
}

/**
 * Point estimates and stratified percentile-bootstrap intervals. Without `replicateThresholds` the thresholds are
 * held fixed and the intervals describe the evaluation sample's noise only; with them (one array of B per
 * threshold, from `replicateThresholds`) replicate b flags at replicateThresholds[j][b], so the precision and recall
 * intervals include the calibration sample's noise as well. Point estimates use `thresholds` either way.
 */
export function bootstrapMetrics(
  scores: ArrayLike<number>,
  labels: Labels,
  thresholds: readonly number[],
  options: BootstrapOptions & { readonly replicateThresholds?: readonly Float64Array[] },
): MetricsWithCi {
  const { B, level, rule } = checkedOptions(options);
  const rt = options.replicateThresholds;
  if (rt && (rt.length !== thresholds.length || rt.some((x) => x.length !== B))) {
    throw new MadkitError("DIMENSION_MISMATCH", `bootstrap: replicateThresholds must hold ${B} replicates for each of ${thresholds.length} thresholds`);
  }
  const r = rank(scores, labels);
  const n = scores.length;
  const ones = new Float64Array(n).fill(1);
  const point = weightedRanking(r, labels, ones);
  const pointAt = thresholds.map((t) => weightedAtThreshold(scores, labels, ones, t));

  const rng = new SeededRng(options.seed);
  const w = new Float64Array(n);
  const au = new Float64Array(B);
  const ap = new Float64Array(B);
  const prec = thresholds.map(() => new Float64Array(B));
  const rec = thresholds.map(() => new Float64Array(B));
  for (let b = 0; b < B; b++) {
    w.fill(0);
    for (const stratum of [r.positives, r.negatives]) {
      for (let k = 0; k < stratum.length; k++) w[stratum[rng.int(stratum.length)]!]! += 1;
    }
    const m = weightedRanking(r, labels, w);
    au[b] = m.auroc;
    ap[b] = m.auprc;
    thresholds.forEach((t, j) => {
      const x = weightedAtThreshold(scores, labels, w, options.replicateThresholds ? options.replicateThresholds[j]![b]! : t);
      prec[j]![b] = x.precision;
      rec[j]![b] = x.recall;
    });
  }
  return {
    auroc: point.auroc,
    auprc: point.auprc,
    aurocCi: percentileInterval(au, level, rule),
    auprcCi: percentileInterval(ap, level, rule),
    atThresholds: thresholds.map((_, j) => ({
      precision: pointAt[j]!.precision,
      recall: pointAt[j]!.recall,
      precisionCi: percentileInterval(prec[j]!, level, rule),
      recallCi: percentileInterval(rec[j]!, level, rule),
    })),
  };
}

/** A statistic's value on all items and its percentile-bootstrap interval. */
export interface StatisticWithCi extends Interval {
  readonly value: number;
}

/**
 * `statistic` on items 0..n−1 and on `replicates` resamples of n indices drawn with replacement (not
 * stratified; a resample may even lack a class). Replicates where the statistic is not finite are skipped; when
 * none is finite the interval collapses to the value.
 */
export function bootstrapStatistic(n: number, statistic: (idx: Int32Array) => number, options: BootstrapOptions): StatisticWithCi {
  const { B, level, rule } = checkedOptions(options);
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  const value = statistic(all);
  const rng = new SeededRng(options.seed);
  const vals: number[] = [];
  const idx = new Int32Array(n);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < n; i++) idx[i] = rng.int(n);
    const v = statistic(idx);
    if (Number.isFinite(v)) vals.push(v);
  }
  if (vals.length === 0) return { value, lo: value, hi: value };
  return { value, ...percentileInterval(Float64Array.from(vals), level, rule) };
}
