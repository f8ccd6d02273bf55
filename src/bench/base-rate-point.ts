// A headline selection's precision at realistic anomaly rates (src/eval/base-rate.ts): recall and false-positive
// rate on the test split's anomalous and normal items at the α = SELECTION_ALPHA threshold, precision at 1%, 5% and
// 20% anomalies, with intervals that resample the calibration set too. Benign-shift items are not in the mix (they
// are the separate false-alarm control), as in every headline subset.

import { bootstrapOperatingPoint } from "../eval/base-rate.js";
import { smallestAlpha } from "../eval/conformal.js";
import type { BaseRatePoint } from "../results/contract.js";
import type { TaskItem } from "../tasks/task.js";
import type { Candidate } from "./leave-class-out.js";
import { SELECTION_ALPHA } from "./selection.js";

const round = (x: number): number => Math.round(x * 1e6) / 1e6;
const ci = (value: number, i: { lo: number; hi: number }) => ({ value: round(value), lo: round(i.lo), hi: round(i.hi) });

/** Undefined when the test split lacks a class or the calibration set is too small to flag at α. */
export function baseRatePoint(c: Candidate, testItems: readonly TaskItem[], options: { readonly seed: number; readonly replicates: number }): BaseRatePoint | undefined {
  const normal: number[] = [];
  const anomalous: number[] = [];
  testItems.forEach((it, i) => {
    if (it.group === "normal") normal.push(c.scores.test[i]!);
    else if (it.group === "anomalous") anomalous.push(c.scores.test[i]!);
  });
  if (normal.length === 0 || anomalous.length === 0 || smallestAlpha(c.calibration.length) > SELECTION_ALPHA) return undefined;
  if (c.calibration.some((s) => !Number.isFinite(s))) return undefined;
  const op = bootstrapOperatingPoint({ calibration: c.calibration, normal, anomalous, alpha: SELECTION_ALPHA }, { seed: options.seed, replicates: options.replicates });
  return {
    alpha: op.alpha,
    threshold: op.threshold,
    recall: ci(op.tpr, op.tprCi),
    fpr: ci(op.fpr, op.fprCi),
    precision: op.atRates.map((r) => ({ rate: r.rate, ...ci(r.precision, r.ci) })),
  };
}
