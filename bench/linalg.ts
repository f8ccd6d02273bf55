// Benchmark: OpenBLAS sgemm / dsyrk / dsyevd through koffi against a plain-JS blocked loop in the same run.
// Run: node --import tsx bench/linalg.ts

import { gemm, gramInto } from "../src/linalg/blas.js";
import { symmetricEigen } from "../src/linalg/lapack.js";
import { matrix, type Matrix } from "../src/linalg/matrix.js";
import { openblas } from "../src/linalg/openblas.js";

function randomF32(rows: number, cols: number, seed: number): Matrix<Float32Array> {
  let s = seed >>> 0;
  const d = new Float32Array(rows * cols);
  for (let i = 0; i < d.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = s / 4294967296 - 0.5;
  }
  return matrix(rows, cols, d);
}

/** The best plain-JS matmul measured in NUMERICS.md: i-k-j order, 4 output rows at a time. */
function jsMatmul(a: Matrix<Float32Array>, b: Matrix<Float32Array>): Float32Array {
  const m = a.rows, k = a.cols, n = b.cols;
  const c = new Float32Array(m * n);
  const A = a.data, B = b.data;
  for (let i = 0; i < m; i += 4) {
    const rows = Math.min(4, m - i);
    for (let p = 0; p < k; p++) {
      const bo = p * n;
      for (let r = 0; r < rows; r++) {
        const av = A[(i + r) * k + p]!;
        const co = (i + r) * n;
        for (let j = 0; j < n; j++) c[co + j]! += av * B[bo + j]!;
      }
    }
  }
  return c;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => void, reps: number): number {
  fn();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

const lib = openblas();
console.log(`backend: ${lib.config}  OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? "(unset)"}`);
for (const n of [256, 512, 1024]) {
  const a = randomF32(n, n, 1), b = randomF32(n, n, 2);
  const flops = 2 * n * n * n;
  const tb = time(() => gemm(a, b), 5);
  const tj = time(() => jsMatmul(a, b), n >= 1024 ? 1 : 3);
  console.log(
    `sgemm ${n}³: OpenBLAS ${(flops / tb / 1e6).toFixed(1)} GFLOP/s, plain JS ${(flops / tj / 1e6).toFixed(2)} GFLOP/s, ` +
      `speed-up ${(tj / tb).toFixed(0)}x`,
  );
}
{
  const x = randomF32(20000, 512, 3);
  const x64 = matrix(x.rows, x.cols, Float64Array.from(x.data));
  const c = new Float64Array(512 * 512);
  const t = time(() => gramInto(x64, c, 1, 0), 3);
  console.log(`dsyrk XᵀX, X 20000 x 512 float64: ${t.toFixed(1)} ms (${((20000 * 512 * 512) / t / 1e6).toFixed(1)} GFLOP/s)`);
  const te = time(() => symmetricEigen(c, 512), 3);
  console.log(`dsyevd 512 x 512: ${te.toFixed(1)} ms`);
  const c768 = new Float64Array(768 * 768);
  gramInto(matrix(20000, 768, Float64Array.from(randomF32(20000, 768, 4).data)), c768, 1, 0);
  console.log(`dsyevd 768 x 768: ${time(() => symmetricEigen(c768, 768), 3).toFixed(1)} ms`);
}
