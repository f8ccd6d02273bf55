// Spectral signatures: a 10% subpopulation shifted along one direction is found and v aligns with the
// shift; v equals the top right-singular vector found by power iteration; feature explanations add up;
// and why whitening is the default (the trusted data's own dominant direction otherwise captures v).

import assert from "node:assert/strict";
import { test } from "node:test";
import { spectralSignature } from "../../src/detectors/spectral-signature.js";
import { auroc } from "../../src/eval/ranking-metrics.js";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

const D = 24;

/** Trusted rows N(b, I) and a batch of 600 with every 10th row shifted by `mag` along a unit direction. */
function poisoned(mag: number, seed: number, stretch = 1) {
  const rng = new SeededRng(seed);
  const offset = rng.fillNormal(new Float64Array(D), 2);
  // `stretch` scales feature 0 in both trusted and batch rows: a direction of large natural variance.
  const sample = (n: number): Matrix<Float64Array> => {
    const x = rng.fillNormal(new Float64Array(n * D)) as Float64Array;
    for (let i = 0; i < n; i++) {
      x[i * D]! *= stretch;
      for (let j = 0; j < D; j++) x[i * D + j]! += offset[j]!;
    }
    return matrix(n, D, x);
  };
  const dir = rng.fillNormal(new Float64Array(D)) as Float64Array;
  dir[0] = 0;
  const len = Math.hypot(...dir);
  for (let j = 0; j < D; j++) dir[j]! /= len;
  const batch = sample(600);
  const labels = new Uint8Array(600);
  for (let i = 0; i < 600; i += 10) {
    labels[i] = 1;
    for (let j = 0; j < D; j++) batch.data[i * D + j]! += mag * dir[j]!;
  }
  return { train: sample(2000), batch, labels, dir };
}

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let j = 0; j < a.length; j++) {
    ab += a[j]! * b[j]!;
    aa += a[j]! * a[j]!;
    bb += b[j]! * b[j]!;
  }
  return Math.abs(ab) / Math.sqrt(aa * bb);
};

for (const whiten of [false, true]) {
  test(`a 10% subpopulation shifted along one direction is found (AUROC ≥ 0.95) and the signature aligns with the shift (whiten ${whiten})`, () => {
    const { train, batch, labels, dir } = poisoned(4, 1);
    const fitted = spectralSignature({ whiten }).fit(train);
    const a = auroc(fitted.score(batch), labels);
    assert.ok(a >= 0.95, `AUROC ${a.toFixed(3)}`);
    const cos = cosine(fitted.signature(batch), dir);
    assert.ok(cos >= 0.9, `|cos| ${cos.toFixed(3)}`);
  });
}

test("v is the top right-singular vector of the centred batch (power iteration on the rows) and score = ((x − μ)·v)²", () => {
  const { train, batch } = poisoned(4, 2);
  const fitted = spectralSignature({ whiten: false }).fit(train);
  const mu = fitted.whitening.mean;
  const xc = Float64Array.from(batch.data, (v, k) => v - mu[k % D]!);
  let v = new Float64Array(D).fill(1);
  for (let it = 0; it < 500; it++) {
    const next = new Float64Array(D);
    for (let i = 0; i < batch.rows; i++) {
      let p = 0;
      for (let j = 0; j < D; j++) p += xc[i * D + j]! * v[j]!;
      for (let j = 0; j < D; j++) next[j]! += p * xc[i * D + j]!;
    }
    const n = Math.hypot(...next);
    v = next.map((x) => x / n);
  }
  const s = fitted.signature(batch);
  assert.ok(cosine(s, v) >= 1 - 1e-10, `|cos| ${cosine(s, v)}`);
  assert.ok(Math.abs(Math.hypot(...s) - 1) < 1e-12);
  const scores = fitted.score(batch);
  for (let i = 0; i < batch.rows; i++) {
    let p = 0;
    for (let j = 0; j < D; j++) p += xc[i * D + j]! * v[j]!;
    assert.ok(Math.abs(scores[i]! - p * p) <= 1e-9 * (1 + p * p), `row ${i}`);
  }
});

test("whitening keeps v off a direction the trusted data already varies along, where the unwhitened signature misses", () => {
  // Feature 0 has standard deviation 6 in trusted and batch rows alike; the poison (energy 0.1·4² = 1.6) is smaller.
  const { train, batch, labels, dir } = poisoned(4, 3, 6);
  const plain = spectralSignature({ whiten: false }).fit(train);
  const white = spectralSignature({ whiten: true }).fit(train);
  const aPlain = auroc(plain.score(batch), labels);
  const aWhite = auroc(white.score(batch), labels);
  assert.ok(aWhite >= 0.95, `whitened AUROC ${aWhite.toFixed(3)}`);
  assert.ok(aPlain < 0.75, `unwhitened AUROC ${aPlain.toFixed(3)}`);
  assert.ok(cosine(plain.signature(batch), dir) < 0.3, "unwhitened v follows feature 0");
});

test("explain's feature parts add up to the score, and the detector declares scope 'batch'", () => {
  const { train, batch } = poisoned(4, 4);
  for (const whiten of [false, true]) {
    const fitted = spectralSignature({ whiten }).fit(train);
    assert.equal(fitted.scope, "batch");
    const scores = fitted.score(batch);
    const explained = fitted.explain(batch, D);
    for (let i = 0; i < batch.rows; i++) {
      const total = explained[i]!.top.reduce((s, t) => s + t.contribution, 0);
      assert.ok(Math.abs(total - scores[i]!) <= 1e-9 * (1 + scores[i]!), `whiten ${whiten} row ${i}: ${total} vs ${scores[i]}`);
      assert.equal(explained[i]!.top[0]!.kind, "feature");
    }
  }
});
