// The Gaussian mixture: k = 1 against the closed-form Gaussian log-density with the MLE covariance (+reg),
// computed here by Gaussian elimination; separated clusters recovered and explained by component; the shared
// conformance suite for multi-component full and diagonal fits (the registry default is k = 1).

import assert from "node:assert/strict";
import { test } from "node:test";
import { gaussianMixture } from "../../src/detectors/gaussian-mixture.js";
import { isMadkitError } from "../../src/errors.js";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { detectorConformance } from "../conformance/detector.conformance.js";

/** Correlated Gaussian rows: x = A·g + b. */
function correlated(n: number, d: number, seed: number): Matrix<Float64Array> {
  const rng = new SeededRng(seed);
  const a = rng.fillNormal(new Float64Array(d * d), 0.6);
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const g = rng.fillNormal(new Float64Array(d));
    for (let r = 0; r < d; r++) {
      let s = 3 + r;
      for (let c = 0; c < d; c++) s += a[r * d + c]! * g[c]!;
      x[i * d + r] = s;
    }
  }
  return matrix(n, d, x);
}

/** log N(x | μ, Σ) for each row, with Σ⁻¹ and log det Σ from Gauss-Jordan elimination with partial pivoting. */
function gaussianLogDensity(x: Matrix<Float64Array>, mu: number[], cov: number[][]): number[] {
  const d = mu.length;
  const m = cov.map((row, i) => [...row, ...Array.from({ length: d }, (_, j) => (i === j ? 1 : 0))]);
  let logDet = 0;
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    const pivot = m[c]![c]!;
    logDet += Math.log(Math.abs(pivot));
    for (let j = 0; j < 2 * d; j++) m[c]![j]! /= pivot;
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = m[r]![c]!;
      for (let j = 0; j < 2 * d; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  const inv = m.map((row) => row.slice(d));
  return Array.from({ length: x.rows }, (_, i) => {
    const v = mu.map((mj, j) => x.data[i * d + j]! - mj);
    let q = 0;
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) q += v[a]! * inv[a]![b]! * v[b]!;
    return -0.5 * (d * Math.log(2 * Math.PI) + logDet + q);
  });
}

function mleMoments(x: Matrix<Float64Array>, reg: number): { mu: number[]; cov: number[][] } {
  const { rows: n, cols: d } = x;
  const mu = Array.from({ length: d }, (_, j) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += x.data[i * d + j]!;
    return s / n;
  });
  const cov = Array.from({ length: d }, (_, a) =>
    Array.from({ length: d }, (_, b) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += (x.data[i * d + a]! - mu[a]!) * (x.data[i * d + b]! - mu[b]!);
      return s / n + (a === b ? reg : 0);
    }),
  );
  return { mu, cov };
}

test("with one full component the score is minus the exact Gaussian log-density under the MLE covariance plus reg", () => {
  const train = correlated(300, 7, 1);
  const query = correlated(50, 7, 2);
  const { mu, cov } = mleMoments(train, 1e-6);
  const want = gaussianLogDensity(query, mu, cov);
  const fitted = gaussianMixture({ components: 1 }).fit(train);
  const got = fitted.score(query);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(-got[i]! - want[i]!) <= 1e-10 * Math.abs(want[i]!), `row ${i}: ${-got[i]!} vs ${want[i]}`);
  // One component: the first M-step is already the MLE, so EM stops at its second E-step.
  assert.equal(fitted.state.iterations, 2);
  assert.ok(fitted.state.converged);
});

test("with one diagonal component the score is minus the sum of per-feature normal log-densities (MLE variance plus reg)", () => {
  const train = correlated(300, 5, 3);
  const query = correlated(40, 5, 4);
  const { mu, cov } = mleMoments(train, 0.01);
  const diag = cov.map((row, a) => row.map((v, b) => (a === b ? v : 0)));
  const want = gaussianLogDensity(query, mu, diag);
  const got = gaussianMixture({ components: 1, covariance: "diag", regCovar: 0.01 }).fit(train).score(query);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(-got[i]! - want[i]!) <= 1e-10 * Math.abs(want[i]!), `row ${i}`);
});

/** Three well-separated clusters; label = cluster. */
function clusters(n: number, seed: number): { x: Matrix<Float64Array>; label: Int32Array } {
  const d = 4;
  const rng = new SeededRng(seed);
  const x = new Float64Array(n * d);
  const label = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(3);
    label[i] = c;
    for (let j = 0; j < d; j++) x[i * d + j] = (j === c ? 8 : 0) + rng.normal() * (0.5 + 0.5 * c);
  }
  return { x: matrix(n, d, x), label };
}

test("separated clusters are recovered: weights near the true proportions, and explain names each row's own component", () => {
  const { x, label } = clusters(900, 5);
  for (const covariance of ["full", "diag"] as const) {
    const fitted = gaussianMixture({ components: 3, covariance, seed: 1 }).fit(x);
    for (const w of fitted.mixture.weights) assert.ok(Math.abs(w - 1 / 3) < 0.05, `${covariance} weight ${w}`);
    const test2 = clusters(300, 6);
    const explained = fitted.explain(test2.x, 3);
    // Map each fitted component to the cluster its mean sits in (the coordinate that is ≈ 8).
    const clusterOf = Array.from({ length: 3 }, (_, c) => {
      const m = fitted.mixture.means.subarray(c * 4, c * 4 + 3);
      return m.indexOf(Math.max(...m));
    });
    let agree = 0;
    for (let i = 0; i < explained.length; i++) {
      const e = explained[i]!;
      assert.equal(e.top[0]!.kind, "component");
      const shares = e.top.reduce((s, t) => s + t.share, 0);
      const parts = e.top.reduce((s, t) => s + t.contribution, 0);
      assert.ok(Math.abs(shares - 1) < 1e-9 && Math.abs(parts - e.score) <= 1e-9 * Math.abs(e.score), `row ${i} shares ${shares}`);
      if (clusterOf[e.top[0]!.index] === test2.label[i]) agree++;
    }
    assert.ok(agree / explained.length >= 0.98, `${covariance}: ${agree}/${explained.length} rows explained by their own cluster`);
  }
});

test("fitting twice with the same seed gives the identical mixture", () => {
  const { x } = clusters(300, 7);
  const a = gaussianMixture({ components: 3, seed: 9 }).fit(x);
  const b = gaussianMixture({ components: 3, seed: 9 }).fit(x);
  assert.deepEqual(a.mixture, b.mixture);
});

test("too few rows for the components and invalid params fail with errors that name them", () => {
  const { x } = clusters(4, 8);
  assert.throws(
    () => gaussianMixture({ components: 5 }).fit(x),
    (e: unknown) => isMadkitError(e) && e.code === "BAD_INPUT" && /at least 5 trusted rows/.test(e.message),
  );
  assert.throws(() => gaussianMixture({ covariance: "tied" as "full" }), (e: unknown) => isMadkitError(e) && e.code === "BAD_ARGUMENT" && /covariance/.test(e.message));
  assert.throws(() => gaussianMixture({ regCovar: -1 }), (e: unknown) => isMadkitError(e) && e.code === "BAD_ARGUMENT" && /regCovar/.test(e.message));
});

detectorConformance('gaussian-mixture {"components":3}', () => gaussianMixture({ components: 3, seed: 2 }));
detectorConformance('gaussian-mixture {"components":4,"covariance":"diag"}', () => gaussianMixture({ components: 4, covariance: "diag", seed: 2 }));
