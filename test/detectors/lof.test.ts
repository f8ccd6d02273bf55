// LOF against a plain O(n²) implementation of Breunig et al.'s definitions written here from the paper,
// the density-ratio property (uniform inliers score ≈ 1, an isolated point far above), and its input limits.

import assert from "node:assert/strict";
import { test } from "node:test";
import { lof } from "../../src/detectors/lof.js";
import { isMadkitError } from "../../src/errors.js";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

function gaussian(n: number, d: number, seed: number, scale = 1): Matrix<Float64Array> {
  const rng = new SeededRng(seed);
  return matrix(n, d, rng.fillNormal(new Float64Array(n * d), scale) as Float64Array);
}

/** LOF by the definitions, one pair at a time: k-distance, reach-dist, lrd, mean lrd ratio. */
function naiveLof(train: Matrix<Float64Array>, query: Matrix<Float64Array>, k: number): number[] {
  const d = train.cols;
  const dist = (a: Float64Array, i: number, b: Float64Array, j: number) => {
    let s = 0;
    for (let c = 0; c < d; c++) s += (a[i * d + c]! - b[j * d + c]!) ** 2;
    return Math.sqrt(s);
  };
  const knn = (src: Float64Array, i: number, self: boolean) =>
    Array.from({ length: train.rows }, (_, j) => ({ j, r: dist(src, i, train.data, j) }))
      .filter(({ j }) => !(self && j === i))
      .sort((a, b) => a.r - b.r || a.j - b.j)
      .slice(0, k);
  const kdist = Array.from({ length: train.rows }, (_, i) => knn(train.data, i, true)[k - 1]!.r);
  const lrdOf = (nb: { j: number; r: number }[]) => 1 / (nb.reduce((s, { j, r }) => s + Math.max(r, kdist[j]!), 0) / k + 1e-10);
  const lrd = Array.from({ length: train.rows }, (_, i) => lrdOf(knn(train.data, i, true)));
  return Array.from({ length: query.rows }, (_, i) => {
    const nb = knn(query.data, i, false);
    return nb.reduce((s, { j }) => s + lrd[j]!, 0) / k / lrdOf(nb);
  });
}

test("lof scores equal a direct implementation of the definitions to 1e-12 relative", () => {
  const train = gaussian(150, 5, 1);
  const query = gaussian(40, 5, 2, 1.5);
  for (const k of [1, 4, 10]) {
    const got = lof({ k }).fit(train).score(query);
    const want = naiveLof(train, query, k);
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-12 * want[i]!, `k=${k} row ${i}: ${got[i]} vs ${want[i]}`);
    }
  }
});

test("lof is about 1 inside a uniform cloud and far above 1 for a point isolated from it", () => {
  const train = gaussian(800, 3, 3);
  const fitted = lof({ k: 20 }).fit(train);
  const inside = fitted.score(gaussian(200, 3, 4, 0.5));
  const mean = inside.reduce((a, b) => a + b, 0) / inside.length;
  assert.ok(Math.abs(mean - 1) < 0.1, `mean LOF inside the cloud ${mean}`);
  const far = fitted.score(matrix(1, 3, Float64Array.of(8, 0, 0)))[0]!;
  assert.ok(far > 3, `isolated point LOF ${far}`);
});

test("lof keeps one k-distance per trusted row, has scope 'input', and scores a row alone as it does inside a batch", () => {
  const train = gaussian(60, 2, 5);
  const fitted = lof({ k: 3 }).fit(train);
  assert.equal(fitted.scope, "input");
  assert.equal(fitted.kDistance.length, 60);
  // A row scored alone or inside a batch gets the same score.
  const q = gaussian(10, 2, 6);
  const alone = fitted.score(matrix(1, 2, q.data.slice(0, 2)))[0]!;
  assert.equal(alone, fitted.score(q)[0]);
});

test("lof needs k + 1 trusted rows and rejects a non-integer k with errors naming them", () => {
  assert.throws(
    () => lof({ k: 10 }).fit(gaussian(10, 2, 7)),
    (e: unknown) => isMadkitError(e) && e.code === "BAD_INPUT" && /at least 11 trusted rows.*got 10/.test(e.message),
  );
  assert.throws(() => lof({ k: 2.5 }), (e: unknown) => isMadkitError(e) && e.code === "BAD_ARGUMENT" && /lof: k/.test(e.message));
});
