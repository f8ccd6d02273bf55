// Bad input that is specific to a method gets a clear error naming the problem; explanations add up.

import assert from "node:assert/strict";
import { test } from "node:test";
import { createDetector } from "../../src/detectors/registry.js";
import { averagePathLength } from "../../src/detectors/isolation-forest.js";
import { mahalanobis } from "../../src/detectors/mahalanobis.js";
import { pca } from "../../src/detectors/pca-residual.js";
import { knn } from "../../src/detectors/knn.js";
import { isMadkitError } from "../../src/errors.js";
import { matrix } from "../../src/linalg/matrix.js";
import { plantedOutliers } from "../../src/datasets/planted-outliers.js";

const data = plantedOutliers({ nTrain: 300, nTest: 50, dim: 10, seed: 9 });

function rejects(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => isMadkitError(e) && e.code === code && message.test(e.message), String(message));
}

test("empirical mahalanobis with fewer rows than features says so and suggests shrinkage", () => {
  const few = matrix(8, 10, data.train.data.slice(0, 80));
  rejects(() => mahalanobis({ covariance: "empirical" }).fit(few), "BAD_INPUT", /8 trusted rows for 10 features.*ledoit-wolf/);
});

test("empirical mahalanobis names constant features; all-constant data fails for every covariance", () => {
  const x = Float64Array.from(data.train.data);
  for (let i = 0; i < 300; i++) x[i * 10 + 6] = 1;
  rejects(() => mahalanobis({ covariance: "empirical" }).fit(matrix(300, 10, x)), "BAD_INPUT", /constant.*first: 6/);
  const flat = matrix(20, 10, new Float64Array(200).fill(3));
  rejects(() => mahalanobis({ covariance: "oas" }).fit(flat), "BAD_INPUT", /all 10 features are constant/);
});

test("a float32 constant feature is recognised despite rounding, and a duplicated feature is reported as singular", () => {
  const x = Float32Array.from(data.train.data);
  for (let i = 0; i < 300; i++) x[i * 10 + 2] = 0.1;
  rejects(() => mahalanobis({ covariance: "empirical" }).fit(matrix(300, 10, x)), "BAD_INPUT", /constant.*first: 2/);
  const dup = Float64Array.from(data.train.data);
  for (let i = 0; i < 300; i++) dup[i * 10 + 5] = dup[i * 10 + 4]!;
  rejects(() => mahalanobis({ covariance: "empirical" }).fit(matrix(300, 10, dup)), "BAD_INPUT", /singular.*collinear/);
  assert.ok(mahalanobis({ covariance: "ledoit-wolf" }).fit(matrix(300, 10, dup)).score(data.test).every(Number.isFinite));
});

test("unknown detectors and bad hyper-parameters raise BAD_ARGUMENT naming the field", () => {
  rejects(() => createDetector("no-such-detector"), "BAD_ARGUMENT", /unknown detector 'no-such-detector'.*mahalanobis/);
  rejects(() => createDetector("mahalanobis", { covariance: "graphical-lasso" }), "BAD_ARGUMENT", /covariance/);
  rejects(() => createDetector("knn", { k: 0 }), "BAD_ARGUMENT", /k/);
  rejects(() => createDetector("pca", { components: 2.5 }), "BAD_ARGUMENT", /components/);
  rejects(() => pca({ components: 11 }).fit(data.train), "BAD_ARGUMENT", /components is 11.*10 features/);
  rejects(() => knn({ k: 400 }).fit(data.train), "BAD_INPUT", /at least 400 trusted rows/);
});

test("mahalanobis explanations add up to the score and name the direction an outlier moved along", () => {
  const fitted = mahalanobis({ covariance: "empirical" }).fit(data.train);
  const scores = fitted.score(data.test);
  const all = fitted.explain(data.test, 10);
  for (let i = 0; i < all.length; i++) {
    assert.ok(Math.abs(all[i]!.score - scores[i]!) < 1e-9 * (1 + scores[i]!));
    const sum = all[i]!.top.reduce((a, c) => a + c.contribution, 0);
    assert.ok(Math.abs(sum - scores[i]!) < 1e-9 * (1 + scores[i]!), "all d directions sum to the score");
  }
  // A point displaced along the trusted covariance's smallest-variance direction: that direction (rank d-1) leads.
  const v = fitted.eigen().vectors.subarray(0, 10);
  const x = Float64Array.from(fitted.mean);
  for (let j = 0; j < 10; j++) x[j]! += 3 * v[j]!;
  const [e] = fitted.explain(matrix(1, 10, x), 1);
  assert.equal(e!.top[0]!.index, 9);
  assert.ok(e!.top[0]!.share > 0.999);
});

test("pca explanations point at the feature an outlier broke", () => {
  const fitted = pca({ components: 3 }).fit(data.train);
  const x = Float64Array.from(fitted.mean);
  x[2]! += 50;
  const [e] = fitted.explain(matrix(1, 10, x), 2);
  assert.equal(e!.top[0]!.index, 2);
  assert.ok(Math.abs(e!.score - fitted.score(matrix(1, 10, x))[0]!) < 1e-9 * e!.score);
});

test("average path length c(n) follows its closed form", () => {
  assert.equal(averagePathLength(1), 0);
  assert.equal(averagePathLength(2), 1);
  const h = (n: number) => Array.from({ length: n }, (_, i) => 1 / (i + 1)).reduce((a, b) => a + b, 0);
  // c(n) = 2H(n−1) − 2(n−1)/n with H approximated by ln + γ; exact harmonic numbers agree to O(1/n).
  assert.ok(Math.abs(averagePathLength(256) - (2 * h(255) - (2 * 255) / 256)) < 0.01);
  assert.ok(Math.abs(averagePathLength(3) - (2 * (Math.log(2) + 0.5772156649015329) - 4 / 3)) < 1e-12);
});
