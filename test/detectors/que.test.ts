// QUE: the score against an independent zᵀQz with Q from a Taylor scaling-and-squaring matrix exponential and
// a power-iteration spectral norm; the α → 0 limit against the registry's Mahalanobis; planted outliers that
// share one direction (found better than by Mahalanobis); explanations and the batch scope.

import assert from "node:assert/strict";
import { test } from "node:test";
import { que } from "../../src/detectors/que.js";
import { createDetector } from "../../src/detectors/registry.js";
import { auroc } from "../../src/eval/ranking-metrics.js";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

/** Correlated Gaussian activations x = A·g + 1 + 0.3·noise, with a shared A per generator. */
function generator(d: number, seed: number): { sample: (n: number) => Matrix<Float64Array>; rng: SeededRng } {
  const rng = new SeededRng(seed);
  const a = rng.fillNormal(new Float64Array(d * d), 1 / Math.sqrt(d));
  const sample = (n: number) => {
    const x = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const g = rng.fillNormal(new Float64Array(d));
      for (let r = 0; r < d; r++) {
        let s = 1;
        for (let c = 0; c < d; c++) s += a[r * d + c]! * g[c]!;
        x[i * d + r] = s + 0.3 * rng.normal();
      }
    }
    return matrix(n, d, x);
  };
  return { sample, rng };
}

type Dense = number[][];
const matmul = (a: Dense, b: Dense): Dense => a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));

/** exp(A) by scaling and squaring with a 30-term Taylor series. */
function expm(a: Dense): Dense {
  const n = a.length;
  const norm = Math.max(...a.map((row) => row.reduce((s, v) => s + Math.abs(v), 0)));
  const s = Math.max(0, Math.ceil(Math.log2(norm / 0.25)));
  const scaled = a.map((row) => row.map((v) => v / 2 ** s));
  let term: Dense = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  let sum = term.map((r) => [...r]);
  for (let k = 1; k <= 30; k++) {
    term = matmul(term, scaled).map((row) => row.map((v) => v / k));
    sum = sum.map((row, i) => row.map((v, j) => v + term[i]![j]!));
  }
  for (let i = 0; i < s; i++) sum = matmul(sum, sum);
  return sum;
}

test("que scores equal zᵀQz with Q = exp(α(Σ_b − I)/(‖Σ_b‖₂ − 1))/tr computed independently (Taylor expm, power iteration)", () => {
  const d = 5;
  const { sample } = generator(d, 1);
  const train = sample(400);
  const batch = sample(60);
  for (let i = 0; i < 6; i++) batch.data[i * d + 2]! += 2.5; // excess variance along one feature
  for (const alpha of [0.5, 4, 12]) {
    const fitted = que({ alpha }).fit(train);
    const w = fitted.whitening.whitener.data;
    const mu = fitted.whitening.mean;
    const z: Dense = Array.from({ length: batch.rows }, (_, i) =>
      Array.from({ length: d }, (_, r) => {
        let s = 0;
        for (let c = 0; c < d; c++) s += w[r * d + c]! * (batch.data[i * d + c]! - mu[c]!);
        return s;
      }),
    );
    const m = Array.from({ length: d }, (_, j) => z.reduce((s, row) => s + row[j]!, 0) / z.length);
    const cov: Dense = Array.from({ length: d }, (_, a) =>
      Array.from({ length: d }, (_, b) => z.reduce((s, row) => s + (row[a]! - m[a]!) * (row[b]! - m[b]!), 0) / z.length),
    );
    let v = Array.from({ length: d }, () => 1);
    let norm = 0;
    for (let it = 0; it < 2000; it++) {
      const nv = cov.map((row) => row.reduce((s, x, j) => s + x * v[j]!, 0));
      norm = Math.hypot(...nv);
      v = nv.map((x) => x / norm);
    }
    assert.ok(norm > 1, `batch spectral norm ${norm} should exceed 1 here`);
    const e = expm(cov.map((row, a) => row.map((x, b) => (alpha * (x - (a === b ? 1 : 0))) / (norm - 1))));
    const tr = e.reduce((s, row, i) => s + row[i]!, 0);
    const want = z.map((row) => row.reduce((s, za, a) => s + za * row.reduce((t, zb, b) => t + (e[a]![b]! / tr) * zb, 0), 0));
    const got = fitted.score(batch);
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-9 * Math.abs(want[i]!), `alpha ${alpha} row ${i}: ${got[i]} vs ${want[i]}`);
    }
  }
});

test("as α → 0 the que score is the registry's Mahalanobis distance divided by d", () => {
  const d = 12;
  const { sample } = generator(d, 2);
  const train = sample(500);
  const batch = sample(80);
  const maha = createDetector("mahalanobis", { covariance: "ledoit-wolf" }).fit(train).score(batch);
  const got = que({ alpha: 1e-9, covariance: "ledoit-wolf" }).fit(train).score(batch);
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! * d - maha[i]!) <= 1e-6 * maha[i]!, `row ${i}: ${got[i]! * d} vs ${maha[i]}`);
});

/** A batch of 500 with every 20th row shifted by `mag` along one unit direction; labels mark them. */
function sharedDirectionBatch(mag: number) {
  const d = 32;
  const { sample, rng } = generator(d, 3);
  const train = sample(3000);
  const dir = rng.fillNormal(new Float64Array(d)) as Float64Array;
  const len = Math.hypot(...dir);
  for (let j = 0; j < d; j++) dir[j]! /= len;
  const batch = sample(500);
  const labels = new Uint8Array(500);
  for (let i = 0; i < 500; i += 20) {
    labels[i] = 1;
    for (let j = 0; j < d; j++) batch.data[i * d + j]! += mag * dir[j]!;
  }
  return { train, batch, labels, dir, d };
}

test("planted outliers sharing one direction get AUROC at least 0.95, clearly above Mahalanobis on the same batch", () => {
  const { train, batch, labels } = sharedDirectionBatch(2.5);
  const q = auroc(que().fit(train).score(batch), labels);
  const m = auroc(createDetector("mahalanobis").fit(train).score(batch), labels);
  assert.ok(q >= 0.95, `QUE AUROC ${q.toFixed(3)}`);
  assert.ok(q >= m + 0.03, `QUE ${q.toFixed(3)} vs Mahalanobis ${m.toFixed(3)}`);
});

test("explain splits each score over Q's directions; the top direction is the whitened shift direction", () => {
  const { train, batch, labels, dir, d } = sharedDirectionBatch(3);
  const fitted = que().fit(train);
  const q = fitted.directions(batch);
  assert.ok(Math.abs(q.weights.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  for (let j = 1; j < d; j++) assert.ok(q.weights[j]! <= q.weights[j - 1]!);
  const w = fitted.whitening.whitener.data;
  const wd = Array.from({ length: d }, (_, r) => dir.reduce((s, v, c) => s + w[r * d + c]! * v, 0));
  const cos = Math.abs(wd.reduce((s, v, j) => s + v * q.vectors.data[j]!, 0)) / Math.hypot(...wd);
  assert.ok(cos >= 0.9, `|cos| ${cos.toFixed(3)}`);
  const scores = fitted.score(batch);
  const explained = fitted.explain(batch, d);
  for (let i = 0; i < batch.rows; i++) {
    const total = explained[i]!.top.reduce((s, t) => s + t.contribution, 0);
    assert.ok(Math.abs(total - scores[i]!) <= 1e-9 * scores[i]!, `row ${i}`);
    if (labels[i]) assert.equal(explained[i]!.top[0]!.index, 0, `outlier row ${i} is explained by Q's top direction`);
  }
});

test("que declares scope 'batch': the same row scores differently in different batches", () => {
  const { train, batch } = sharedDirectionBatch(3);
  const fitted = que().fit(train);
  assert.equal(fitted.scope, "batch");
  const inBatch = fitted.score(batch)[0]!;
  const alone = fitted.score(matrix(1, batch.cols, batch.data.slice(0, batch.cols)))[0]!;
  assert.notEqual(inBatch, alone);
  assert.ok(Number.isFinite(alone));
});
