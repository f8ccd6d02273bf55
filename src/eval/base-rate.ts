// Precision where anomalies are rare. A test mix that is three quarters attacks flatters precision: what a
// reviewer sees in deployment is precision at the anomaly rate of the traffic. With the detector's true and
// false positive rates at its threshold, precision at rate π is π·TPR / (π·TPR + (1 − π)·FPR) — the test mix
// reweighted to π, computed without building it.
//
// The interval includes the threshold's own variance: each bootstrap replicate resamples the trusted
// calibration scores and sets the threshold again (the conformal rule of threshold-metrics.ts) before it
// resamples the normal and the anomalous test scores, each to its own count.

import { MadkitError } from "../errors.js";
import { SeededRng } from "../random/seeded-rng.js";
import { checkedOptions, percentileInterval, resampleInto, type BootstrapOptions, type Interval } from "./bootstrap.js";
import { calibrateThreshold } from "./threshold-metrics.js";

/** The anomaly rates every headline is reported at, beside the test mix's own. */
export const BASE_RATES = [0.01, 0.05, 0.2] as const;

/** Precision when a share `rate` of the inputs is anomalous; 0 when nothing is flagged (as metricsAtThreshold). */
export function precisionAtRate(tpr: number, fpr: number, rate: number): number {
  if (!(rate > 0 && rate < 1)) throw new MadkitError("BAD_ARGUMENT", `anomaly rate must be in (0, 1), got ${rate}`);
  const flagged = rate * tpr + (1 - rate) * fpr;
  return flagged > 0 ? (rate * tpr) / flagged : 0;
}

export interface PrecisionAtRate {
  readonly rate: number;
  readonly precision: number;
  readonly ci: Interval;
}

export interface OperatingPoint {
  readonly alpha: number;
  /** The threshold set on all calibration scores. */
  readonly threshold: number;
  /** Share of anomalous test inputs flagged (recall), and of normal ones (false-positive rate), with intervals. */
  readonly tpr: number;
  readonly tprCi: Interval;
  readonly fpr: number;
  readonly fprCi: Interval;
  readonly atRates: readonly PrecisionAtRate[];
}

export interface OperatingPointInput {
  /** Held-out trusted scores the threshold is set on. */
  readonly calibration: ArrayLike<number>;
  /** Test scores of normal and of anomalous inputs. */
  readonly normal: ArrayLike<number>;
  readonly anomalous: ArrayLike<number>;
  readonly alpha: number;
  readonly rates?: readonly number[];
}

function shareAbove(scores: ArrayLike<number>, t: number): number {
  let k = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i]! > t) k++;
  return k / scores.length;
}

function checkScores(name: string, s: ArrayLike<number>): void {
  if (s.length === 0) throw new MadkitError("BAD_INPUT", `operating point: no ${name} scores`);
  for (let i = 0; i < s.length; i++) {
    if (Number.isNaN(s[i]!)) throw new MadkitError("NON_FINITE", `operating point: ${name} score ${i} is NaN, expected a number`);
  }
}

/**
 * TPR, FPR and precision at each anomaly rate at the threshold calibrated at α, with percentile-bootstrap
 * intervals whose replicates resample the calibration scores too (`resampleCalibration: false` holds the
 * threshold fixed, for comparison). Infinite scores are allowed (a fail-closed score is +Infinity).
 */
export function bootstrapOperatingPoint(input: OperatingPointInput, options: BootstrapOptions & { readonly resampleCalibration?: boolean }): OperatingPoint {
  const { calibration, normal, anomalous, alpha } = input;
  const rates = input.rates ?? BASE_RATES;
  checkScores("calibration", calibration);
  checkScores("normal", normal);
  checkScores("anomalous", anomalous);
  const { B, level, rule } = checkedOptions(options);
  const threshold = calibrateThreshold(calibration, alpha);
  const tpr = shareAbove(anomalous, threshold);
  const fpr = shareAbove(normal, threshold);
  const rng = new SeededRng(options.seed);
  const bufs = { cal: new Float64Array(calibration.length), nor: new Float64Array(normal.length), ano: new Float64Array(anomalous.length) };
  const tprs = new Float64Array(B);
  const fprs = new Float64Array(B);
  const precs = rates.map(() => new Float64Array(B));
  for (let b = 0; b < B; b++) {
    const t = options.resampleCalibration === false ? threshold : calibrateThreshold(resampleInto(rng, calibration, bufs.cal), alpha);
    tprs[b] = shareAbove(resampleInto(rng, anomalous, bufs.ano), t);
    fprs[b] = shareAbove(resampleInto(rng, normal, bufs.nor), t);
    rates.forEach((r, j) => (precs[j]![b] = precisionAtRate(tprs[b]!, fprs[b]!, r)));
  }
  return {
    alpha,
    threshold,
    tpr,
    tprCi: percentileInterval(tprs, level, rule),
    fpr,
    fprCi: percentileInterval(fprs, level, rule),
    atRates: rates.map((rate, j) => ({ rate, precision: precisionAtRate(tpr, fpr, rate), ci: percentileInterval(precs[j]!, level, rule) })),
  };
}
