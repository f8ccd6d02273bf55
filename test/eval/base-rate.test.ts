// Precision at an anomaly rate equals precision measured on the test mix rebuilt at that rate (items repeated);
// the operating point's threshold is the conformal one; and the bootstrap that resamples the calibration set
// covers the population precision about as often as it claims, where one that holds the threshold fixed covers
// it less often (simulated Gaussian scores, whose population operating point is closed form).

import assert from "node:assert/strict";
import { test } from "node:test";
import { BASE_RATES, bootstrapOperatingPoint, precisionAtRate } from "../../src/eval/base-rate.js";
import { calibrateThreshold, metricsAtThreshold } from "../../src/eval/threshold-metrics.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { phi, phiInv } from "../helpers/normal-cdf.js";

const normals = (rng: SeededRng, n: number, mean = 0) => Float64Array.from({ length: n }, () => mean + rng.normal());

test("precision at a rate equals metricsAtThreshold on the mix rebuilt at that rate by repeating items", () => {
  const rng = new SeededRng(3);
  const nor = normals(rng, 50);
  const ano = normals(rng, 20, 1.2);
  const t = 0.9;
  // 20·ka anomalies and 50·kn normals: rate = 20ka / (20ka + 50kn).
  for (const [ka, kn] of [[5, 8], [1, 38], [1, 198]] as const) {
    const scores: number[] = [];
    const labels: number[] = [];
    for (let r = 0; r < ka; r++) ano.forEach((s) => (scores.push(s), labels.push(1)));
    for (let r = 0; r < kn; r++) nor.forEach((s) => (scores.push(s), labels.push(0)));
    const rate = (20 * ka) / (20 * ka + 50 * kn);
    const want = metricsAtThreshold(scores, Uint8Array.from(labels), t).precision;
    const tpr = ano.filter((s) => s > t).length / 20;
    const fpr = nor.filter((s) => s > t).length / 50;
    assert.ok(Math.abs(precisionAtRate(tpr, fpr, rate) - want) < 1e-12, `rate ${rate}`);
  }
  assert.equal(precisionAtRate(0, 0, 0.05), 0);
  assert.throws(() => precisionAtRate(0.5, 0.1, 0), /anomaly rate must be in \(0, 1\)/);
});

test("the point estimate sits at the conformal threshold of all calibration scores; the same seed gives the same intervals", () => {
  const rng = new SeededRng(4);
  const input = { calibration: normals(rng, 120), normal: normals(rng, 80), anomalous: normals(rng, 40, 2), alpha: 0.05 };
  const a = bootstrapOperatingPoint(input, { seed: 1, replicates: 100 });
  const t = calibrateThreshold(input.calibration, 0.05);
  assert.equal(a.threshold, t);
  assert.equal(a.tpr, input.anomalous.filter((s) => s > t).length / 40);
  assert.equal(a.fpr, input.normal.filter((s) => s > t).length / 80);
  assert.deepEqual(a.atRates.map((r) => r.rate), [...BASE_RATES]);
  assert.deepEqual(bootstrapOperatingPoint(input, { seed: 1, replicates: 100 }), a);
  assert.notDeepEqual(bootstrapOperatingPoint(input, { seed: 2, replicates: 100 }).atRates, a.atRates);
});

test("resampling the calibration set covers the population precision at 5% near the nominal 95%; a fixed threshold covers it less", () => {
  const alpha = 0.1;
  const shift = 1.5;
  const rate = 0.05;
  // Population operating point at the population (1 − α) quantile of the normal scores.
  const tStar = phiInv(1 - alpha);
  const truth = precisionAtRate(1 - phi(tStar - shift), alpha, rate);
  const rng = new SeededRng(11);
  const sims = 150;
  let coveredWith = 0;
  let coveredFixed = 0;
  for (let s = 0; s < sims; s++) {
    const input = { calibration: normals(rng, 40), normal: normals(rng, 400), anomalous: normals(rng, 200, shift), alpha, rates: [rate] };
    const withCal = bootstrapOperatingPoint(input, { seed: s, replicates: 200 }).atRates[0]!.ci;
    const fixed = bootstrapOperatingPoint(input, { seed: s, replicates: 200, resampleCalibration: false }).atRates[0]!.ci;
    if (withCal.lo <= truth && truth <= withCal.hi) coveredWith++;
    if (fixed.lo <= truth && truth <= fixed.hi) coveredFixed++;
  }
  const cover = coveredWith / sims;
  const coverFixed = coveredFixed / sims;
  assert.ok(cover >= 0.85, `coverage with the calibration resampled: ${cover}`);
  assert.ok(coverFixed < cover - 0.15, `a fixed threshold ignores its own variance: coverage ${coverFixed} vs ${cover}`);
});
