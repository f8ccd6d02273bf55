// Metrics at a fixed threshold, and thresholds calibrated on held-out trusted scores only: the (1 − α)
// empirical quantile, chosen so that at most ⌊α n⌋ calibration scores exceed it (conformal-style: on
// exchangeable normal inputs the false-positive rate is at most α in expectation).

import { MadkitError } from "../errors.js";
import { ConformalCalibration } from "./conformal.js";
import type { Labels } from "./ranking-metrics.js";

export function calibrateThreshold(trustedScores: ArrayLike<number>, alpha: number): number {
  if (!(alpha > 0 && alpha < 1)) throw new MadkitError("BAD_ARGUMENT", `alpha must be in (0, 1), got ${alpha}`);
  if (trustedScores.length === 0) throw new MadkitError("BAD_INPUT", "threshold calibration needs at least one held-out trusted score");
  // Conformal rank: flag x when its score exceeds the ⌈(n+1)(1−α)⌉-th smallest calibration score. The rank
  // is computed in conformal.ts from α(n+1) exactly as the p-value test p ≤ α does; ⌈(n+1)·(1−α)⌉ in floating
  // point rounded up at exact boundaries (n = 9, α = 0.7 gave rank 4, not 3) and disagreed with p ≤ α.
  return new ConformalCalibration(trustedScores).threshold(alpha);
}

export interface ThresholdMetrics {
  readonly threshold: number;
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly fpr: number;
}

/** Flag = score strictly above the threshold. Precision of an empty flag set is reported as 0. */
export function metricsAtThreshold(scores: ArrayLike<number>, labels: Labels, threshold: number): ThresholdMetrics {
  if (scores.length !== labels.length) {
    throw new MadkitError("DIMENSION_MISMATCH", `got ${scores.length} scores but ${labels.length} labels`);
  }
  let tp = 0, fp = 0, tn = 0, fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const flagged = scores[i]! > threshold;
    if (labels[i]) flagged ? tp++ : fn++;
    else flagged ? fp++ : tn++;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  const fpr = fp + tn > 0 ? fp / (fp + tn) : 0;
  return { threshold, tp, fp, tn, fn, precision, recall, f1, fpr };
}
