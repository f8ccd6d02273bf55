// One score vector of one split → one result record per evaluation subset: ranking metrics with bootstrap CIs,
// and precision / recall / F1 / FPR at each threshold calibrated on trusted scores (never on these labels).

import { bootstrapMetrics, replicateThresholds } from "../eval/bootstrap.js";
import { fprAtTpr, tprAtFpr } from "../eval/ranking-metrics.js";
import { calibrateThreshold } from "../eval/threshold-metrics.js";
import { streamSeed } from "../random/seeded-sampling.js";
import type { TaskItem, UntrustedSplit } from "../tasks/task.js";
import type { AtAlpha, ResultRecord } from "../results/contract.js";
import type { EvalSubset } from "./subsets.js";

/** Everything about a row except its numbers. */
export type RowIdentity = Pick<
  ResultRecord,
  "task" | "model" | "detector" | "family" | "hook" | "layer" | "pooling" | "scope" | "positives" | "fitSeconds" | "scoreSeconds"
>;

/**
 * Per α, the threshold again on each bootstrap resample of the calibration scores (eval/bootstrap.ts), so the
 * precision / recall intervals of every record of this row include the threshold's own variance.
 */
export function calibrationReplicates(id: Pick<RowIdentity, "model" | "detector" | "hook">, calibrationScores: ArrayLike<number>, alphas: readonly number[], options: { readonly seed: number; readonly replicates: number }): Float64Array[] {
  return replicateThresholds(calibrationScores, alphas, { seed: streamSeed(options.seed, `calibration/${id.model}/${id.detector}/${id.hook}`), replicates: options.replicates });
}

/** Threshold per α from held-out trusted scores; Infinity (nothing flagged) when they are too few for α. */
export function thresholdsFor(calibrationScores: ArrayLike<number>, alphas: readonly number[]): number[] {
  return alphas.map((a) => calibrateThreshold(calibrationScores, a));
}

function flaggedShare(scores: ArrayLike<number>, idx: readonly number[], t: number): number {
  let k = 0;
  for (const i of idx) if (scores[i]! > t) k++;
  return k / idx.length;
}

const round = (x: number): number => Math.round(x * 1e6) / 1e6;

/**
 * Records for every subset of one split. `scores` has one entry per item of `items` (the split's untrusted items);
 * `shiftFpr` is measured on the split's shift items whatever the subset.
 */
export function evaluateSplit(
  id: RowIdentity,
  split: UntrustedSplit,
  items: readonly TaskItem[],
  scores: Float64Array,
  subsets: readonly EvalSubset[],
  thresholds: readonly number[],
  alphas: readonly number[],
  options: { readonly seed: number; readonly replicates: number; readonly replicateThresholds?: readonly Float64Array[] },
): ResultRecord[] {
  const shiftIdx = items.map((_, i) => i).filter((i) => items[i]!.group === "shift");
  const out: ResultRecord[] = [];
  for (const sub of subsets) {
    const s = Float64Array.from(sub.indices, (i) => scores[i]!);
    const seed = streamSeed(options.seed, `bootstrap/${id.task}/${id.model}/${id.detector}/${id.hook}/${sub.name}/${split}`);
    const m = bootstrapMetrics(s, sub.labels, thresholds, { seed, replicates: options.replicates, replicateThresholds: options.replicateThresholds });
    let nPos = 0;
    for (let k = 0; k < sub.labels.length; k++) nPos += sub.labels[k]!;
    const atAlpha: AtAlpha[] = alphas.map((alpha, j) => {
      const t = thresholds[j]!;
      const x = m.atThresholds[j]!;
      let fp = 0;
      for (let k = 0; k < s.length; k++) if (!sub.labels[k] && s[k]! > t) fp++;
      const f1 = x.precision + x.recall > 0 ? (2 * x.precision * x.recall) / (x.precision + x.recall) : 0;
      return {
        alpha,
        threshold: Number.isFinite(t) ? t : null,
        precision: { value: round(x.precision), lo: round(x.precisionCi.lo), hi: round(x.precisionCi.hi) },
        recall: { value: round(x.recall), lo: round(x.recallCi.lo), hi: round(x.recallCi.hi) },
        f1: round(f1),
        fpr: round(fp / (s.length - nPos)),
        shiftFpr: id.positives === "anomalous" && shiftIdx.length > 0 ? round(flaggedShare(scores, shiftIdx, t)) : null,
      };
    });
    out.push({
      task: id.task,
      model: id.model,
      detector: id.detector,
      family: id.family,
      hook: id.hook,
      layer: id.layer,
      pooling: id.pooling,
      subset: sub.name,
      positives: id.positives,
      split,
      scope: id.scope,
      n: s.length,
      nAnomalous: nPos,
      auroc: { value: round(m.auroc), lo: round(m.aurocCi.lo), hi: round(m.aurocCi.hi) },
      auprc: { value: round(m.auprc), lo: round(m.auprcCi.lo), hi: round(m.auprcCi.hi) },
      fpr95: round(fprAtTpr(s, sub.labels, 0.95)),
      tprAt1Fpr: round(tprAtFpr(s, sub.labels, 0.01)),
      atAlpha,
      fitSeconds: round(id.fitSeconds),
      scoreSeconds: round(id.scoreSeconds),
    });
  }
  return out;
}
