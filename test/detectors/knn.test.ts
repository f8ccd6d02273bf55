// kNN beyond the shared suite: fitting copies (the caller may reuse its buffer), the one-pass NaN check names
// the cell, and `explain` decomposes the score exactly and names the same neighbours as a brute-force search.

import assert from "node:assert/strict";
import { test } from "node:test";
import { knn } from "../../src/detectors/knn.js";
import { matrix } from "../../src/linalg/matrix.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

function gaussian(n: number, d: number, seed: number): Float64Array {
  return new SeededRng(seed).fillNormal(new Float64Array(n * d), 1) as Float64Array;
}

/** Brute force, independent of the gemm search: sorted (distance, index) pairs of one query. */
function bruteForce(train: Float64Array, n: number, d: number, q: Float64Array, metric: "euclidean" | "cosine"): { index: number; distance: number }[] {
  const out: { index: number; distance: number }[] = [];
  for (let t = 0; t < n; t++) {
    let dot = 0;
    let qq = 0;
    let tt = 0;
    let sq = 0;
    for (let j = 0; j < d; j++) {
      const a = q[j]!;
      const b = train[t * d + j]!;
      dot += a * b;
      qq += a * a;
      tt += b * b;
      sq += (a - b) ** 2;
    }
    out.push({ index: t, distance: metric === "euclidean" ? Math.sqrt(sq) : 1 - dot / Math.sqrt(qq * tt) });
  }
  return out.sort((a, b) => a.distance - b.distance || a.index - b.index);
}

test("a fitted kNN keeps its own copy: overwriting the caller's trusted buffer after fit changes no score", () => {
  const train = gaussian(200, 6, 1);
  const test_ = matrix(20, 6, gaussian(20, 6, 2));
  for (const metric of ["euclidean", "cosine"] as const) {
    const buf = train.slice();
    const fitted = knn({ k: 3, metric }).fit(matrix(200, 6, buf));
    const before = fitted.score(test_);
    buf.fill(1e6);
    assert.deepEqual(fitted.score(test_), before, metric);
  }
});

test("fitting on a NaN in float32 or float64 rows names its row and column", () => {
  for (const make of [(n: number) => new Float32Array(n), (n: number) => new Float64Array(n)]) {
    const data = make(50 * 4);
    data.set(gaussian(50, 4, 3));
    data[17 * 4 + 2] = NaN;
    assert.throws(() => knn({ k: 2 }).fit(matrix(50, 4, data)), /trusted row 17 column 2 is NaN/);
  }
});

for (const [metric, aggregate] of [["euclidean", "kth"], ["euclidean", "mean"], ["cosine", "kth"], ["cosine", "mean"]] as const) {
  test(`knn ${metric}/${aggregate} explain: per-feature parts add up to the score and the neighbours match a brute-force search`, () => {
    const n = 300;
    const d = 8;
    const k = 4;
    const train = gaussian(n, d, 5);
    const queries = gaussian(10, d, 6);
    const fitted = knn({ k, metric, aggregate }).fit(matrix(n, d, train));
    const explained = fitted.explain(matrix(10, d, queries), d);
    const scores = fitted.score(matrix(10, d, queries));
    for (let i = 0; i < 10; i++) {
      const e = explained[i]!;
      assert.equal(e.score, scores[i]);
      const sum = e.top.reduce((s, c) => s + c.contribution, 0);
      assert.ok(Math.abs(sum - e.score) <= 1e-9 * Math.max(1, e.score), `row ${i}: parts sum ${sum}, score ${e.score}`);
      const want = bruteForce(train, n, d, queries.subarray(i * d, (i + 1) * d), metric).slice(0, k);
      assert.deepEqual(e.neighbors.map((nb) => nb.index), want.map((w) => w.index));
      for (let p = 0; p < k; p++) assert.ok(Math.abs(e.neighbors[p]!.distance - want[p]!.distance) < 1e-9);
      const wantScore = aggregate === "kth" ? want[k - 1]!.distance : want.reduce((s, w) => s + w.distance, 0) / k;
      assert.ok(Math.abs(e.score - wantScore) < 1e-9);
    }
  });
}

test("knn explain ranks first the feature a row was pushed along, with most of the score", () => {
  const n = 400;
  const d = 10;
  const train = gaussian(n, d, 7);
  const q = new Float64Array(d);
  q[6] = 9;
  const [e] = knn({ k: 5 }).fit(matrix(n, d, train)).explain(matrix(1, d, q), 3);
  assert.equal(e!.top.length, 3);
  assert.equal(e!.top[0]!.index, 6);
  assert.equal(e!.top[0]!.kind, "feature");
  assert.ok(e!.top[0]!.share > 0.5, `share ${e!.top[0]!.share}`);
  assert.ok(e!.top[0]!.contribution >= e!.top[1]!.contribution && e!.top[1]!.contribution >= e!.top[2]!.contribution);
});
