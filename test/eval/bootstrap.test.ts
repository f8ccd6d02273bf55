import { test } from "node:test";
import assert from "node:assert/strict";
import { bootstrapMetrics, bootstrapStatistic, percentileInterval, replicateThresholds } from "../../src/eval/bootstrap.js";
import { auroc, averagePrecision } from "../../src/eval/ranking-metrics.js";
import { calibrateThreshold, metricsAtThreshold } from "../../src/eval/threshold-metrics.js";
import { phi, phiInv } from "../helpers/normal-cdf.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

function binormal(seed: number, nNeg: number, nPos: number, d: number): { scores: Float64Array; labels: Uint8Array } {
  const rng = new SeededRng(seed);
  const scores = new Float64Array(nNeg + nPos);
  const labels = new Uint8Array(nNeg + nPos);
  for (let i = 0; i < scores.length; i++) {
    labels[i] = i >= nNeg ? 1 : 0;
    scores[i] = rng.normal() + (labels[i] ? d : 0);
  }
  return { scores, labels };
}

test("the point estimates equal the unweighted AUROC, average precision and threshold metrics", () => {
  const { scores, labels } = binormal(3, 60, 40, 1);
  // Ties on purpose: rounding makes groups of equal scores.
  for (let i = 0; i < scores.length; i++) scores[i] = Math.round(scores[i]! * 4) / 4;
  const m = bootstrapMetrics(scores, labels, [0.3, 1.2], { seed: 1, replicates: 10 });
  assert.ok(Math.abs(m.auroc - auroc(scores, labels)) < 1e-12);
  assert.ok(Math.abs(m.auprc - averagePrecision(scores, labels)) < 1e-12);
  for (const [j, t] of [0.3, 1.2].entries()) {
    const ref = metricsAtThreshold(scores, labels, t);
    assert.ok(Math.abs(m.atThresholds[j]!.precision - ref.precision) < 1e-12);
    assert.ok(Math.abs(m.atThresholds[j]!.recall - ref.recall) < 1e-12);
  }
});

test("a sample whose classes each hold one repeated score gives point intervals", () => {
  const scores = Float64Array.from([1, 1, 1, 1, 5, 5, 5]);
  const labels = Uint8Array.from([0, 0, 0, 0, 1, 1, 1]);
  const m = bootstrapMetrics(scores, labels, [2], { seed: 9 });
  assert.deepEqual(m.aurocCi, { lo: 1, hi: 1 });
  assert.deepEqual(m.auprcCi, { lo: 1, hi: 1 });
  assert.deepEqual(m.atThresholds[0]!.precisionCi, { lo: 1, hi: 1 });
  assert.deepEqual(m.atThresholds[0]!.recallCi, { lo: 1, hi: 1 });
});

test("the 95% AUROC interval covers the binormal model's true AUROC Φ(d/√2) at about the nominal rate", () => {
  const d = 1;
  const truth = phi(d / Math.SQRT2);
  const runs = 120;
  let covered = 0;
  let recallCovered = 0;
  for (let s = 0; s < runs; s++) {
    const { scores, labels } = binormal(1000 + s, 80, 80, d);
    // Threshold 0.5: true recall P(N(1,1) > 0.5) = Φ(0.5).
    const m = bootstrapMetrics(scores, labels, [0.5], { seed: s, replicates: 200 });
    if (m.aurocCi.lo <= truth && truth <= m.aurocCi.hi) covered++;
    const r = m.atThresholds[0]!.recallCi;
    if (r.lo <= phi(0.5) && phi(0.5) <= r.hi) recallCovered++;
  }
  // Binomial(120, 0.95) lies in [104, 120] with probability > 0.999; percentile intervals run slightly narrow.
  assert.ok(covered >= 104, `AUROC covered ${covered}/${runs}`);
  assert.ok(recallCovered >= 104, `recall covered ${recallCovered}/${runs}`);
});

test("the same seed gives the same intervals and another seed different ones", () => {
  const { scores, labels } = binormal(5, 50, 50, 0.7);
  const a = bootstrapMetrics(scores, labels, [0], { seed: 4 });
  const b = bootstrapMetrics(scores, labels, [0], { seed: 4 });
  const c = bootstrapMetrics(scores, labels, [0], { seed: 5 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.aurocCi, c.aurocCi);
});

test("percentile intervals interpolate between order statistics", () => {
  const v = Float64Array.from({ length: 101 }, (_, i) => 100 - i);
  const { lo, hi } = percentileInterval(v, 0.9);
  assert.ok(Math.abs(lo - 5) < 1e-9 && Math.abs(hi - 95) < 1e-9, `got [${lo}, ${hi}]`);
  const odd = percentileInterval(Float64Array.from([0, 10]), 0.5);
  assert.ok(Math.abs(odd.lo - 2.5) < 1e-12 && Math.abs(odd.hi - 7.5) < 1e-12);
});

test("a sample without anomalies is refused with a message naming both counts", () => {
  assert.throws(() => bootstrapMetrics([1, 2], [0, 0], [], { seed: 1 }), /0 anomalous and 2 normal/);
});

test("the lower-order-statistic rule reads the order statistic at floor(p·(B−1)), without interpolation", () => {
  const v = Float64Array.from({ length: 10 }, (_, i) => 9 - i);
  // p = 0.025 → floor(0.225) = 0; p = 0.975 → floor(8.775) = 8.
  assert.deepEqual(percentileInterval(v, 0.95, "lower"), { lo: 0, hi: 8 });
});

/** The capability-gap bootstrap as it stood before the two bootstraps were merged: the oracle for the merge. */
function itemBootstrapBeforeMerge(n: number, metric: (idx: Int32Array) => number, seed: number, rounds = 200): { value: number; lo: number; hi: number } {
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  const value = metric(all);
  const rng = new SeededRng(seed);
  const vals: number[] = [];
  const idx = new Int32Array(n);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) idx[i] = rng.int(n);
    const v = metric(idx);
    if (Number.isFinite(v)) vals.push(v);
  }
  if (vals.length === 0) return { value, lo: value, hi: value };
  vals.sort((a, b) => a - b);
  const q = (p: number): number => vals[Math.min(vals.length - 1, Math.max(0, Math.floor(p * (vals.length - 1))))]!;
  return { value, lo: q(0.025), hi: q(0.975) };
}

test("bootstrapStatistic with the lower rule gives exactly the numbers of the capability-gap bootstrap it replaced", () => {
  for (const [seed, n, pos] of [[1, 7, 2], [2, 41, 5], [3, 120, 60], [4, 333, 10], [5, 3, 1]] as const) {
    const { scores, labels } = binormal(seed, n - pos, pos, 1);
    const sub = (idx: Int32Array) => ({ s: Float64Array.from(idx, (j) => scores[j]!), l: Uint8Array.from(idx, (j) => labels[j]!) });
    const metrics: Array<(idx: Int32Array) => number> = [
      (idx) => { const { s, l } = sub(idx); return metricsAtThreshold(s, l, 0.5).precision; },
      // NaN on one-class resamples: those replicates are skipped by both.
      (idx) => { const { s, l } = sub(idx); return l.includes(1) && l.includes(0) ? auroc(s, l) : NaN; },
      () => NaN,
    ];
    for (const [k, metric] of metrics.entries()) {
      const s = seed * 100 + k;
      const got = bootstrapStatistic(n, metric, { seed: s, replicates: 200, level: 0.95, quantile: "lower" });
      const want = itemBootstrapBeforeMerge(n, metric, s);
      assert.ok(Object.is(got.value, want.value) && Object.is(got.lo, want.lo) && Object.is(got.hi, want.hi), `seed ${seed}, metric ${k}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    }
  }
});

test("replicate thresholds: a constant calibration set gives the fixed threshold, and then the intervals equal the fixed-threshold bootstrap", () => {
  const { scores, labels } = binormal(8, 120, 40, 1.5);
  const cal = new Float64Array(50).fill(0.7);
  const reps = replicateThresholds(cal, [0.05, 0.1], { seed: 3, replicates: 100 });
  for (const r of reps) assert.ok(r.every((t) => t === 0.7));
  const fixed = bootstrapMetrics(scores, labels, [0.7, 0.7], { seed: 4, replicates: 100 });
  assert.deepEqual(bootstrapMetrics(scores, labels, [0.7, 0.7], { seed: 4, replicates: 100, replicateThresholds: reps }), fixed);
  assert.throws(() => bootstrapMetrics(scores, labels, [0.7], { seed: 4, replicates: 100, replicateThresholds: reps }), /replicateThresholds must hold 100 replicates for each of 1 thresholds/);
});

test("with the calibration resampled, the recall interval covers the population recall near the nominal rate; held fixed it covers it less", () => {
  const alpha = 0.1;
  const shift = 1.5;
  const truth = 1 - phi(phiInv(1 - alpha) - shift);
  const rng = new SeededRng(21);
  const gauss = (n: number, m = 0) => Float64Array.from({ length: n }, () => m + rng.normal());
  let withCal = 0;
  let fixedCov = 0;
  const sims = 120;
  for (let s = 0; s < sims; s++) {
    const cal = gauss(40);
    const scores = Float64Array.from([...gauss(300), ...gauss(150, shift)]);
    const labels = Uint8Array.from({ length: 450 }, (_, i) => (i >= 300 ? 1 : 0));
    const t = calibrateThreshold(cal, alpha);
    const a = bootstrapMetrics(scores, labels, [t], { seed: s, replicates: 200, replicateThresholds: replicateThresholds(cal, [alpha], { seed: 1000 + s, replicates: 200 }) }).atThresholds[0]!.recallCi;
    const b = bootstrapMetrics(scores, labels, [t], { seed: s, replicates: 200 }).atThresholds[0]!.recallCi;
    if (a.lo <= truth && truth <= a.hi) withCal++;
    if (b.lo <= truth && truth <= b.hi) fixedCov++;
  }
  assert.ok(withCal / sims >= 0.85, `coverage with the calibration resampled: ${withCal / sims}`);
  assert.ok(fixedCov / sims < withCal / sims - 0.15, `fixed ${fixedCov / sims} vs ${withCal / sims}`);
});
