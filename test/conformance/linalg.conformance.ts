// The numeric conformance suite: the same assertions for every linear-algebra back end, in both precisions —
// the kernels against plain triple loops and closed-form properties (A·v = λ·v, L·Lᵀ solves), at sizes that
// cross the blocking of the portable kernels, and the contracts a back end must honour (only the named triangle
// is read, the other is left alone, failures are reported). Each back end's test file calls this once.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { BackendName } from "../../src/linalg/backend.js";
import { useLinalgBackend } from "../../src/linalg/active-backend.js";
import { gemm, gemvInto, gramInto, rank1Into } from "../../src/linalg/blas.js";
import { cholesky, choleskyDiagonal, choleskyInverseFactor, choleskySolve, symmetricEigen } from "../../src/linalg/lapack.js";
import { matrix, type FloatArray, type Matrix } from "../../src/linalg/matrix.js";

function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

function randomMatrix<T extends FloatArray>(rows: number, cols: number, make: (n: number) => T, seed: number): Matrix<T> {
  const r = rand(seed);
  const d = make(rows * cols);
  for (let i = 0; i < d.length; i++) d[i] = r();
  return matrix(rows, cols, d);
}

function naive(a: Matrix, b: Matrix, ta: boolean, tb: boolean): Float64Array {
  const m = ta ? a.cols : a.rows;
  const k = ta ? a.rows : a.cols;
  const n = tb ? b.rows : b.cols;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (ta ? a.data[p * a.cols + i]! : a.data[i * a.cols + p]!) * (tb ? b.data[j * b.cols + p]! : b.data[p * b.cols + j]!);
      out[i * n + j] = s;
    }
  return out;
}

/**
 * Run the suite on `backend`, made the process-wide back end first. `skip` (a reason) skips it, for a back end
 * this machine lacks.
 */
export function linalgConformance(backend: BackendName, skip?: string): void {
  test(`linear-algebra conformance: ${backend}`, { skip }, async (t) => {
    useLinalgBackend(backend);
    await t.test("gemm equals a triple loop for every transpose combination in float64 and float32", () => {
      const cases: [(n: number) => FloatArray, number][] = [
        [(n) => new Float64Array(n), 1e-12],
        [(n) => new Float32Array(n), 1e-4],
      ];
      for (const [make, tol] of cases) {
        for (const ta of [false, true])
          for (const tb of [false, true]) {
            const a = ta ? randomMatrix(13, 7, make, 1) : randomMatrix(7, 13, make, 1);
            const b = tb ? randomMatrix(5, 13, make, 2) : randomMatrix(13, 5, make, 2);
            const c = gemm(a as Matrix<FloatArray>, b as Matrix<FloatArray>, { transA: ta, transB: tb });
            const ref = naive(a, b, ta, tb);
            assert.equal(c.rows, 7);
            assert.equal(c.cols, 5);
            for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(c.data[i]! - ref[i]!) < tol, `entry ${i}: ${c.data[i]} vs ${ref[i]}`);
          }
      }
    });

    await t.test("gemm reads views at a byte offset and honours alpha and beta", () => {
      const big = randomMatrix(10, 4, (n) => new Float64Array(n), 3);
      const a = matrix(3, 4, big.data.subarray(8, 20));
      const b = randomMatrix(4, 2, (n) => new Float64Array(n), 4);
      const out = matrix(3, 2, new Float64Array(6).fill(1));
      gemm(a, b, { alpha: 2, beta: 0.5, out });
      const ref = naive(a, b, false, false);
      for (let i = 0; i < 6; i++) assert.ok(Math.abs(out.data[i]! - (2 * ref[i]! + 0.5)) < 1e-12);
    });

    await t.test("gemm names both shapes when inner dimensions disagree", () => {
      const a = randomMatrix(2, 3, (n) => new Float64Array(n), 1);
      assert.throws(() => gemm(a, a), /2 x 3 but op\(B\) is 2 x 3/);
    });

    await t.test("gramInto equals AᵀA from a triple loop in both precisions and is exactly symmetric", () => {
      const a = randomMatrix(50, 9, (n) => new Float64Array(n), 5);
      const c = new Float64Array(81);
      gramInto(a, c, 1, 0);
      const ref = naive(a, a, true, false);
      for (let i = 0; i < 81; i++) assert.ok(Math.abs(c[i]! - ref[i]!) < 1e-12);
      for (let i = 0; i < 9; i++) for (let j = 0; j < 9; j++) assert.equal(c[i * 9 + j], c[j * 9 + i]);
      const c32 = new Float32Array(81).fill(1);
      gramInto(matrix(50, 9, Float32Array.from(a.data)), c32, 2, 1);
      for (let i = 0; i < 81; i++) assert.ok(Math.abs(c32[i]! - (2 * ref[i]! + 1)) < 1e-4);
    });

    await t.test("gemvInto equals a loop for A·x and Aᵀ·x", () => {
      const a = randomMatrix(6, 4, (n) => new Float64Array(n), 9);
      const x4 = Float64Array.of(1, -2, 3, 0.5);
      const y6 = new Float64Array(6);
      gemvInto(a, x4, y6);
      const ref = naive(a, matrix(4, 1, x4), false, false);
      for (let i = 0; i < 6; i++) assert.ok(Math.abs(y6[i]! - ref[i]!) < 1e-12);
      const x6 = Float64Array.of(1, 2, 3, 4, 5, 6);
      const y4 = new Float64Array(4);
      gemvInto(a, x6, y4, { trans: true });
      const refT = naive(a, matrix(6, 1, x6), true, false);
      for (let i = 0; i < 4; i++) assert.ok(Math.abs(y4[i]! - refT[i]!) < 1e-12);
    });

    await t.test("symmetricEigen returns ascending eigenpairs with A·v = λ·v and orthonormal vectors", () => {
      const n = 12;
      const x = randomMatrix(30, n, (k) => new Float64Array(k), 6);
      const s = new Float64Array(n * n);
      gramInto(x, s, 1, 0);
      const copy = Float64Array.from(s);
      const { values, vectors } = symmetricEigen(s, n);
      assert.deepEqual(s, copy, "input not modified");
      for (let j = 1; j < n; j++) assert.ok(values[j]! >= values[j - 1]!);
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < n; i++) {
          let av = 0;
          for (let p = 0; p < n; p++) av += s[i * n + p]! * vectors.data[j * n + p]!;
          assert.ok(Math.abs(av - values[j]! * vectors.data[j * n + i]!) < 1e-9);
        }
        for (let k = 0; k < n; k++) {
          let dot = 0;
          for (let p = 0; p < n; p++) dot += vectors.data[j * n + p]! * vectors.data[k * n + p]!;
          assert.ok(Math.abs(dot - (j === k ? 1 : 0)) < 1e-12);
        }
      }
    });

    await t.test("choleskySolve solves an SPD system and cholesky rejects an indefinite matrix", () => {
      const n = 6;
      const x = randomMatrix(20, n, (k) => new Float64Array(k), 7);
      const s = new Float64Array(n * n);
      gramInto(x, s, 1, 0);
      const b = randomMatrix(n, 3, (k) => new Float64Array(k), 8);
      const sol = choleskySolve(cholesky(s, n), b);
      const back = naive(matrix(n, n, s), sol, false, false);
      for (let i = 0; i < back.length; i++) assert.ok(Math.abs(back[i]! - b.data[i]!) < 1e-10);
      assert.throws(() => cholesky(Float64Array.of(1, 2, 2, 1), 2), /not positive definite/);
    });

    await t.test("rank1Into adds alpha·x·yᵀ in both precisions", () => {
      for (const make of [(n: number) => new Float64Array(n), (n: number) => new Float32Array(n)] as ((n: number) => FloatArray)[]) {
        const a = randomMatrix(3, 4, make, 12);
        const before = Float64Array.from(a.data);
        const x = make(3);
        x.set([1, 2, -1]);
        const y = make(4);
        y.set([0.5, 0, 2, -3]);
        rank1Into(a as Matrix<FloatArray>, x, y, -2);
        for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) assert.ok(Math.abs(a.data[i * 4 + j]! - (before[i * 4 + j]! - 2 * x[i]! * y[j]!)) < 1e-6);
      }
    });

    await t.test("the inverse Cholesky factor is lower triangular and whitens: ‖L⁻¹b‖² = bᵀA⁻¹b", () => {
      const n = 7;
      const x = randomMatrix(40, n, (k) => new Float64Array(k), 10);
      const a = new Float64Array(n * n);
      gramInto(x, a, 1, 0);
      const c = cholesky(a, n);
      const w = choleskyInverseFactor(c);
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) assert.equal(w[i * n + j], 0);
      const diag = choleskyDiagonal(c);
      for (let i = 0; i < n; i++) assert.ok(Math.abs(w[i * n + i]! * diag[i]! - 1) < 1e-12);
      const b = randomMatrix(n, 1, (k) => new Float64Array(k), 11);
      const solved = choleskySolve(c, b);
      let quad = 0;
      for (let i = 0; i < n; i++) quad += b.data[i]! * solved.data[i]!;
      const z = naive(matrix(n, n, w), b, false, false);
      const norm = z.reduce((s, v) => s + v * v, 0);
      assert.ok(Math.abs(norm - quad) < 1e-10 * quad);
    });

    await t.test("blocked sizes: gemm at every transpose and precision, beyond one block in each dimension", () => {
      // 70 x 300 x 1030 crosses the portable kernels' row block (64), depth block (256) and column block (1024),
      // with ragged edges in every direction.
      for (const [make, tol] of [
        [(n: number) => new Float64Array(n), 1e-10],
        [(n: number) => new Float32Array(n), 2e-3],
      ] as [(n: number) => FloatArray, number][]) {
        for (const ta of [false, true])
          for (const tb of [false, true]) {
            const a = ta ? randomMatrix(300, 70, make, 21) : randomMatrix(70, 300, make, 21);
            const b = tb ? randomMatrix(1030, 300, make, 22) : randomMatrix(300, 1030, make, 22);
            const c = gemm(a as Matrix<FloatArray>, b as Matrix<FloatArray>, { transA: ta, transB: tb, alpha: 0.5 });
            const ref = naive(a, b, ta, tb);
            let worst = 0;
            for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(c.data[i]! - 0.5 * ref[i]!));
            assert.ok(worst < tol, `transA ${ta} transB ${tb} ${c.data.constructor.name}: max error ${worst}`);
          }
      }
    });

    await t.test("gemm with beta = 0 ignores NaN in the output's old contents, as BLAS does", () => {
      const a = randomMatrix(9, 5, (n) => new Float64Array(n), 23);
      const b = randomMatrix(5, 6, (n) => new Float64Array(n), 24);
      const out = matrix(9, 6, new Float64Array(54).fill(Number.NaN));
      gemm(a, b, { out });
      const ref = naive(a, b, false, false);
      for (let i = 0; i < 54; i++) assert.ok(Math.abs(out.data[i]! - ref[i]!) < 1e-12);
    });

    await t.test("gramInto over many rows equals AᵀA, in both precisions", () => {
      for (const [make, tol] of [
        [(n: number) => new Float64Array(n), 1e-9],
        [(n: number) => new Float32Array(n), 2e-3],
      ] as [(n: number) => FloatArray, number][]) {
        const a = randomMatrix(600, 131, make, 25) as Matrix<FloatArray>;
        const c = make(131 * 131);
        gramInto(a, c, 1, 0);
        const ref = naive(a, a, true, false);
        for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(c[i]! - ref[i]!) < tol, `entry ${i}: ${c[i]} vs ${ref[i]}`);
      }
    });

    await t.test("symmetricEigen of a 150 x 150 covariance: A·V = V·Λ, VᵀV = I, trace and sum of eigenvalues agree", () => {
      const n = 150;
      const x = randomMatrix(400, n, (k) => new Float64Array(k), 26);
      const s = new Float64Array(n * n);
      gramInto(x, s, 1 / 400, 0);
      const { values, vectors } = symmetricEigen(s, n);
      let trace = 0;
      for (let i = 0; i < n; i++) trace += s[i * n + i]!;
      assert.ok(Math.abs(values.reduce((p, v) => p + v, 0) - trace) < 1e-10 * trace);
      const av = naive(vectors, matrix(n, n, s), false, false); // row j: (A·v_j)ᵀ, A symmetric
      let residual = 0;
      for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) residual = Math.max(residual, Math.abs(av[j * n + i]! - values[j]! * vectors.data[j * n + i]!));
      assert.ok(residual < 1e-11, `max |A·v - λ·v| = ${residual}`);
      const gram = naive(vectors, vectors, false, true);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) assert.ok(Math.abs(gram[i * n + j]! - (i === j ? 1 : 0)) < 1e-12);
    });

    await t.test("symmetricEigen of a diagonal matrix returns its entries sorted, and of a repeated eigenvalue an orthonormal basis", () => {
      const d = Float64Array.of(3, -1, 2, 2, 0);
      const n = d.length;
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) a[i * n + i] = d[i]!;
      const { values, vectors } = symmetricEigen(a, n);
      assert.deepEqual(Array.from(values), [-1, 0, 2, 2, 3]);
      const gram = naive(vectors, vectors, false, true);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) assert.ok(Math.abs(gram[i * n + j]! - (i === j ? 1 : 0)) < 1e-14);
    });

    await t.test("symmetricEigen and cholesky read only the upper triangle of the row-major input", () => {
      const n = 8;
      const x = randomMatrix(30, n, (k) => new Float64Array(k), 27);
      const s = new Float64Array(n * n);
      gramInto(x, s, 1, 0);
      const poisoned = Float64Array.from(s);
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) poisoned[i * n + j] = Number.NaN;
      const clean = symmetricEigen(s, n);
      const dirty = symmetricEigen(poisoned, n);
      for (let j = 0; j < n; j++) assert.ok(Math.abs(clean.values[j]! - dirty.values[j]!) < 1e-12 * Math.abs(clean.values[n - 1]!));
      const b = randomMatrix(n, 2, (k) => new Float64Array(k), 28);
      const x1 = choleskySolve(cholesky(s, n), b);
      const x2 = choleskySolve(cholesky(poisoned, n), b);
      for (let i = 0; i < x1.data.length; i++) assert.ok(Math.abs(x1.data[i]! - x2.data[i]!) < 1e-12 * (1 + Math.abs(x1.data[i]!)));
    });

    await t.test("non-finite input to symmetricEigen and a singular matrix to cholesky fail with the reason", () => {
      assert.throws(() => symmetricEigen(Float64Array.of(1, Number.NaN, Number.NaN, 1), 2), /entry \(0, 1\) of the 2 x 2 matrix is NaN/);
      assert.throws(() => cholesky(Float64Array.of(1, 1, 1, 1), 2), /not positive definite \(leading minor 2/);
    });

    await t.test("a 200 x 200 Cholesky solve and inverse factor agree with the eigendecomposition's inverse", () => {
      const n = 200;
      const x = randomMatrix(500, n, (k) => new Float64Array(k), 29);
      const s = new Float64Array(n * n);
      gramInto(x, s, 1 / 500, 0);
      const b = randomMatrix(n, 3, (k) => new Float64Array(k), 30);
      const c = cholesky(s, n);
      const sol = choleskySolve(c, b);
      // A⁻¹b from the eigendecomposition: V Λ⁻¹ Vᵀ b.
      const { values, vectors } = symmetricEigen(s, n);
      const vb = naive(vectors, b, false, false);
      for (let j = 0; j < n; j++) for (let r = 0; r < 3; r++) vb[j * 3 + r]! /= values[j]!;
      const ref = naive(vectors, matrix(n, 3, vb), true, false);
      for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(sol.data[i]! - ref[i]!) < 1e-8 * (1 + Math.abs(ref[i]!)), `entry ${i}`);
      const linv = choleskyInverseFactor(c);
      const z = naive(matrix(n, n, linv), b, false, false);
      for (let r = 0; r < 3; r++) {
        let quad = 0;
        let norm = 0;
        for (let i = 0; i < n; i++) {
          quad += b.data[i * 3 + r]! * sol.data[i * 3 + r]!;
          norm += z[i * 3 + r]! ** 2;
        }
        assert.ok(Math.abs(norm - quad) < 1e-9 * quad);
      }
    });
  });
}
