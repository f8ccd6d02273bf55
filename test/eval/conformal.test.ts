// Conformal p-values and thresholds against brute-force counting, agreement with calibrateThreshold, and
// issue 7's acceptance: on fresh trusted-distribution inputs a real detector's false-positive rate at level α
// stays inside the exact (Clopper-Pearson) binomial interval, over several seeds.

import assert from "node:assert/strict";
import { test } from "node:test";
import { mahalanobis } from "../../src/detectors/mahalanobis.js";
import { ConformalCalibration, conformalFlag, conformalPValue, conformalThreshold, maxExceedances } from "../../src/eval/conformal.js";
import { calibrateThreshold } from "../../src/eval/threshold-metrics.js";
import { isMadkitError } from "../../src/errors.js";
import { matrix } from "../../src/linalg/matrix.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

/** log C(n, k) via a running sum of logs (n is at most a few thousand here). */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/** P(X ≤ k) for X ~ Binomial(n, p), summed exactly in log space. */
function binomCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  let s = 0;
  for (let i = 0; i <= k; i++) s += Math.exp(logChoose(n, i) + i * Math.log(p) + (n - i) * Math.log1p(-p));
  return Math.min(1, s);
}

/** Clopper-Pearson interval for k successes in n trials at confidence 1 − γ, by bisection on the binomial CDF. */
function clopperPearson(k: number, n: number, gamma: number): [number, number] {
  const solve = (f: (p: number) => number): number => {
    let lo = 0, hi = 1;
    for (let it = 0; it < 80; it++) {
      const mid = (lo + hi) / 2;
      if (f(mid) > 0) hi = mid;
      else lo = mid;
    }
    return (lo + hi) / 2;
  };
  // lower: P(X ≥ k | p) = γ/2, increasing in p; upper: P(X ≤ k | p) = γ/2, decreasing in p.
  const lower = k === 0 ? 0 : solve((p) => 1 - binomCdf(k - 1, n, p) - gamma / 2);
  const upper = k === n ? 1 : solve((p) => gamma / 2 - binomCdf(k, n, p));
  return [lower, upper];
}

test("the Clopper-Pearson helper reproduces a textbook interval (k = 5 of n = 100 at 95%: 0.0164 to 0.1128)", () => {
  const [lo, hi] = clopperPearson(5, 100, 0.05);
  assert.ok(Math.abs(lo - 0.01643) < 1e-4, `lower ${lo}`);
  assert.ok(Math.abs(hi - 0.11284) < 1e-4, `upper ${hi}`);
});

test("the p-value is (1 + #{cal ≥ s}) / (n + 1), counted by brute force, ties included", () => {
  const rng = new SeededRng(5);
  const cal = Array.from({ length: 57 }, () => Math.round(rng.normal() * 4) / 2); // many ties
  const c = new ConformalCalibration(cal);
  for (let i = 0; i < 200; i++) {
    const s = i < 57 ? cal[i]! : Math.round(rng.normal() * 8) / 4;
    const brute = (1 + cal.filter((v) => v >= s).length) / (cal.length + 1);
    assert.equal(c.pValue(s), brute);
    assert.equal(conformalPValue(cal, s), brute);
  }
  assert.equal(c.pValue(Infinity), 1 / 58);
  assert.equal(c.pValue(-Infinity), 1);
});

test("flagging by p ≤ α and by score > threshold(α) agree for every n up to 120 and α on a 0.001 grid", () => {
  for (let n = 1; n <= 120; n++) {
    const cal = Float64Array.from({ length: n }, (_, i) => i);
    const c = new ConformalCalibration(cal);
    for (let k = 1; k < 1000; k += 7) {
      const alpha = k / 1000;
      const t = c.threshold(alpha);
      assert.equal(calibrateThreshold(cal, alpha), t, `calibrateThreshold, n ${n}, α ${alpha}`);
      for (let s = -0.5; s <= n; s += 0.5) {
        assert.equal(conformalFlag(c.pValue(s), alpha), s > t, `n ${n}, α ${alpha}, s ${s}`);
      }
    }
  }
  // The boundary case where ⌈(n+1)(1−α)⌉ rounds up in floating point: α(n+1) = 7 exactly allows 6 exceedances.
  assert.equal(maxExceedances(9, 0.7), 6);
  assert.equal(conformalThreshold(Float64Array.from({ length: 9 }, (_, i) => i), 0.7), 2);
});

test("too few calibration scores for α give an infinite threshold, and bad inputs raise clear errors", () => {
  assert.equal(conformalThreshold([1, 2, 3], 0.1), Infinity);
  assert.throws(() => new ConformalCalibration([]), (e: unknown) => isMadkitError(e) && e.code === "BAD_INPUT");
  assert.throws(() => new ConformalCalibration([1, NaN]), (e: unknown) => isMadkitError(e) && e.code === "NON_FINITE" && /score 1 is NaN/.test(e.message));
  assert.throws(() => conformalThreshold([1, 2], 1), (e: unknown) => isMadkitError(e) && e.code === "BAD_ARGUMENT");
});

/**
 * Correlated Gaussian rows x = A z + b in float32 (d = 8). Each repetition draws a fresh calibration set of n
 * rows and one fresh test row, so the flags are independent Bernoulli(⌊α(n+1)⌋/(n+1)) draws exactly and their
 * count is exactly binomial; one detector fitted on a separate trusted part serves every repetition.
 */
function fprExperiment(seed: number, n: number, alpha: number, reps: number): { flags: number; expected: number } {
  const d = 8;
  const rng = new SeededRng(seed);
  const a = rng.fillNormal(new Float64Array(d * d), 0.5) as Float64Array;
  for (let j = 0; j < d; j++) a[j * d + j]! += 1;
  const b = rng.fillNormal(new Float64Array(d), 3) as Float64Array;
  const sample = (rows: number) => {
    const z = rng.fillNormal(new Float64Array(rows * d)) as Float64Array;
    const x = new Float32Array(rows * d);
    for (let i = 0; i < rows; i++) {
      for (let r = 0; r < d; r++) {
        let s = b[r]!;
        for (let k = 0; k < d; k++) s += a[r * d + k]! * z[i * d + k]!;
        x[i * d + r] = s;
      }
    }
    return matrix(rows, d, x);
  };
  const detector = mahalanobis({ covariance: "ledoit-wolf" }).fit(sample(1000));
  const scores = detector.score(sample(reps * (n + 1)));
  let flags = 0;
  for (let r = 0; r < reps; r++) {
    const cal = new ConformalCalibration(scores.subarray(r * (n + 1), r * (n + 1) + n));
    if (conformalFlag(cal.pValue(scores[r * (n + 1) + n]!), alpha)) flags++;
  }
  return { flags, expected: Math.floor(alpha * (n + 1) + 1e-9) / (n + 1) };
}

for (const { n, alpha } of [{ n: 99, alpha: 0.05 }, { n: 199, alpha: 0.01 }, { n: 60, alpha: 0.05 }]) {
  test(`mahalanobis at α = ${alpha} with ${n} calibration rows: the FPR over fresh trusted inputs lies in its 99.9% Clopper-Pearson interval, for 5 seeds`, () => {
    const reps = 3000;
    for (const seed of [1, 2, 3, 4, 5]) {
      const { flags, expected } = fprExperiment(seed, n, alpha, reps);
      assert.ok(expected <= alpha + 1e-12);
      const [lo, hi] = clopperPearson(flags, reps, 0.001);
      assert.ok(lo <= expected && expected <= hi, `seed ${seed}: ${flags}/${reps} flagged, 99.9% CI [${lo.toFixed(4)}, ${hi.toFixed(4)}], guarantee ${expected.toFixed(4)}`);
      // And the one-sided guarantee itself: the FPR is not significantly above α.
      assert.ok(lo <= alpha, `seed ${seed}: FPR ${flags / reps} significantly above α ${alpha}`);
    }
  });
}
