// The data behind the report's plots: ROC curves downsampled to a few dozen points (the report draws SVG, and
// results.json should stay small) and score histograms of normal vs anomalous inputs with the threshold.

import { rocCurve } from "../eval/ranking-metrics.js";
import type { RocPoints, ScoreHistogram } from "../results/contract.js";

/** The ROC curve with at most about `maxPoints` points, always keeping both ends. */
export function downsampledRoc(key: string, scores: ArrayLike<number>, labels: ArrayLike<number>, maxPoints = 50): RocPoints {
  const roc = rocCurve(scores, labels);
  const n = roc.fpr.length;
  const step = Math.max(1, Math.ceil(n / maxPoints));
  const fpr: number[] = [];
  const tpr: number[] = [];
  for (let i = 0; i < n; i += step) {
    fpr.push(Math.round(roc.fpr[i]! * 1e4) / 1e4);
    tpr.push(Math.round(roc.tpr[i]! * 1e4) / 1e4);
  }
  if ((n - 1) % step !== 0) {
    fpr.push(roc.fpr[n - 1]!);
    tpr.push(roc.tpr[n - 1]!);
  }
  return { key, fpr, tpr };
}

/**
 * Counts of normal and anomalous scores over `bins` equal-width bins between the 1st and 99th percentile of all
 * scores (extreme scores go into the end bins, so one outlier does not flatten the plot).
 */
export function scoreHistogram(key: string, scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number, bins = 30): ScoreHistogram {
  const sorted = Float64Array.from(scores).sort();
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(p * (sorted.length - 1))))]!;
  let lo = q(0.01);
  let hi = q(0.99);
  if (!(hi > lo)) {
    lo = sorted[0]! - 0.5;
    hi = sorted[sorted.length - 1]! + 0.5;
  }
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const normal = new Array<number>(bins).fill(0);
  const anomalous = new Array<number>(bins).fill(0);
  for (let i = 0; i < scores.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor((scores[i]! - lo) / width)));
    (labels[i] ? anomalous : normal)[b]!++;
  }
  return { key, edges, normal, anomalous, threshold };
}
