// Mergeable Gaussian statistics against a direct two-pass float64 computation over all rows.

import assert from "node:assert/strict";
import { test } from "node:test";
import { GaussianStats } from "../../src/detectors/gaussian-stats.js";
import { rowSlice } from "../../src/linalg/matrix.js";
import { plantedOutliers } from "../../src/datasets/planted-outliers.js";

const { train } = plantedOutliers({ nTrain: 5000, nTest: 1, dim: 7, seed: 3 });

function direct() {
  const { rows: n, cols: d, data } = train;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += data[i * d + j]! / n;
  const scatter = new Float64Array(d * d);
  const cubic = new Float64Array(d);
  let quartic = 0;
  for (let i = 0; i < n; i++) {
    let a = 0;
    for (let j = 0; j < d; j++) a += (data[i * d + j]! - mean[j]!) ** 2;
    quartic += a * a;
    for (let j = 0; j < d; j++) {
      cubic[j]! += a * (data[i * d + j]! - mean[j]!);
      for (let k = 0; k < d; k++) scatter[j * d + k]! += (data[i * d + j]! - mean[j]!) * (data[i * d + k]! - mean[k]!);
    }
  }
  return { mean, scatter, cubic, quartic };
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

test("streamed statistics (more rows than one block) equal a direct two-pass computation", () => {
  const s = GaussianStats.of(train);
  const ref = direct();
  assert.equal(s.count, 5000);
  close(s.mean, ref.mean, 1e-12, "mean");
  close(s.scatter, ref.scatter, 1e-10, "scatter");
  close(s.cubic, ref.cubic, 1e-10, "cubic");
  close([s.quartic], [ref.quartic], 1e-10, "quartic");
});

test("shards fitted apart merge to the statistics of all rows, in any order", () => {
  const a = GaussianStats.of(rowSlice(train, 0, 1234));
  const b = GaussianStats.of(rowSlice(train, 1234, 1240));
  const c = GaussianStats.of(rowSlice(train, 1240, 5000));
  const ref = direct();
  for (const m of [a.merge(b).merge(c), c.merge(a.merge(b)), GaussianStats.empty(7).merge(c).merge(b).merge(a)]) {
    assert.equal(m.count, 5000);
    close(m.mean, ref.mean, 1e-12, "mean");
    close(m.scatter, ref.scatter, 1e-10, "scatter");
    close(m.cubic, ref.cubic, 1e-9, "cubic");
    close([m.quartic], [ref.quartic], 1e-10, "quartic");
  }
});

test("without fourth moments the mean and scatter are the same, and merging with such a shard drops them", () => {
  const lean = GaussianStats.of(train, "test", { fourthMoments: false });
  const ref = direct();
  assert.equal(lean.fourthMoments, false);
  close(lean.mean, ref.mean, 1e-12, "mean");
  close(lean.scatter, ref.scatter, 1e-10, "scatter");
  assert.equal(GaussianStats.of(train).merge(lean).fourthMoments, false);
});

test("float32 rows give the float64 statistics to single precision", () => {
  const s32 = GaussianStats.of({ rows: train.rows, cols: 7, data: Float32Array.from(train.data) });
  const s64 = GaussianStats.of({ rows: train.rows, cols: 7, data: Float64Array.from(Float32Array.from(train.data)) });
  close(s32.mean, s64.mean, 1e-6, "mean");
  close(s32.scatter, s64.scatter, 1e-5, "scatter");
  close([s32.quartic], [s64.quartic], 1e-5, "quartic");
});

test("merging shards of different widths raises DIMENSION_MISMATCH", () => {
  assert.throws(() => GaussianStats.empty(3).merge(GaussianStats.empty(4)), /3 and 4 features/);
});
