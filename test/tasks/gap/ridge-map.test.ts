// The ridge map against an independent closed form (normal equations solved by Gaussian elimination in plain
// float64 numbers), and the held-out choice of its strength on data whose best strength is known.

import { test } from "node:test";
import assert from "node:assert/strict";
import { matrix } from "../../../src/linalg/matrix.js";
import { SeededRng } from "../../../src/random/seeded-rng.js";
import { fitRidgeMap, ridgeResiduals } from "../../../src/tasks/gap/ridge-map.js";
import { fitResidualScorer, RIDGE_LAMBDAS } from "../../../src/tasks/gap/residual-score.js";

function randn(rng: SeededRng, n: number): Float64Array {
  return rng.fillNormal(new Float64Array(n)) as Float64Array;
}

/** Solve A·w = b (A n x n, dense) by Gaussian elimination with partial pivoting. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  const w = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= m[r]![k]! * w[k]!;
    w[r] = s / m[r]![r]!;
  }
  return w;
}

test("the ridge map equals the normal equations (XcᵀXc + λnI)⁻¹XcᵀYc solved independently in float64", () => {
  const rng = new SeededRng(3);
  const [n, dx, dy, lambda] = [23, 5, 3, 0.07];
  const x = randn(rng, n * dx);
  const y = randn(rng, n * dy);
  const map = fitRidgeMap(matrix(n, dx, x), matrix(n, dy, y), lambda);
  const mean = (d: Float64Array, cols: number, j: number): number => { let s = 0; for (let i = 0; i < n; i++) s += d[i * cols + j]!; return s / n; };
  const mx = Array.from({ length: dx }, (_, j) => mean(x, dx, j));
  const my = Array.from({ length: dy }, (_, j) => mean(y, dy, j));
  const xtx = Array.from({ length: dx }, (_, a) => Array.from({ length: dx }, (_, b) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += (x[i * dx + a]! - mx[a]!) * (x[i * dx + b]! - mx[b]!);
    return s + (a === b ? lambda * n : 0);
  }));
  for (let k = 0; k < dy; k++) {
    const xty = Array.from({ length: dx }, (_, a) => { let s = 0; for (let i = 0; i < n; i++) s += (x[i * dx + a]! - mx[a]!) * (y[i * dy + k]! - my[k]!); return s; });
    const w = solve(xtx, xty);
    for (let a = 0; a < dx; a++) assert.ok(Math.abs(map.weights.data[a * dy + k]! - w[a]!) < 1e-10, `w[${a},${k}] ${map.weights.data[a * dy + k]} vs ${w[a]}`);
  }
  // Residuals are Y minus the map's prediction, computed here by hand.
  const r = ridgeResiduals(map, matrix(n, dx, x), matrix(n, dy, y));
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < dy; k++) {
      let pred = my[k]!;
      for (let a = 0; a < dx; a++) pred += (x[i * dx + a]! - mx[a]!) * map.weights.data[a * dy + k]!;
      assert.ok(Math.abs(r.data[i * dy + k]! - (y[i * dy + k]! - pred)) < 1e-12);
    }
  }
});

test("a mismatched row count and a non-positive lambda are refused with errors naming them", () => {
  const m = (r: number, c: number) => matrix(r, c, new Float64Array(r * c));
  assert.throws(() => fitRidgeMap(m(5, 2), m(4, 2), 0.1), /X has 5 rows, Y 4/);
  assert.throws(() => fitRidgeMap(m(5, 2), m(5, 2), 0), /lambda must be positive, got 0/);
});

test("the held-out trusted error picks the weakest ridge for a noiseless linear map and a strong one for pure noise", () => {
  const rng = new SeededRng(5);
  const [n, d] = [200, 8];
  const x = randn(rng, n * d);
  const b = randn(rng, d * d);
  const linear = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) for (let a = 0; a < d; a++) linear[i * d + k]! += x[i * d + a]! * b[a * d + k]!;
  const exact = fitResidualScorer(matrix(n, d, x), matrix(n, d, linear));
  assert.equal(exact.map.lambda, RIDGE_LAMBDAS[0]);
  // Y independent of X: every map overfits the held-out half, and the strongest ridge overfits least.
  const noise = fitResidualScorer(matrix(n, d, x), matrix(n, d, randn(rng, n * d)));
  assert.equal(noise.map.lambda, RIDGE_LAMBDAS[RIDGE_LAMBDAS.length - 1]);
  for (const e of noise.heldOutError) assert.ok(e >= Math.min(...noise.heldOutError));
});
