// Benchmark: the portable TypeScript back end against OpenBLAS/LAPACK on the same matrices in the same run,
// kernel by kernel (portable / OpenBLAS time ratios), plus the best unpacked plain-JS loop for reference.
// Run: npm run bench:linalg   (OpenBLAS rows are skipped, with the reason, where the library is absent)

import type { LinalgBackend } from "../src/linalg/backend.js";
import { backendByName } from "../src/linalg/active-backend.js";
import { matrix, type FloatArray, type Matrix } from "../src/linalg/matrix.js";

function randomData<T extends FloatArray>(n: number, make: (n: number) => T, seed: number): T {
  let s = seed >>> 0;
  const d = make(n);
  for (let i = 0; i < d.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = s / 4294967296 - 0.5;
  }
  return d;
}
const f32 = (n: number): Float32Array => new Float32Array(n);
const f64 = (n: number): Float64Array => new Float64Array(n);

/** The best unpacked plain-JS matmul NUMERICS.md measured: i-k-j order, 4 output rows at a time. */
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

/** Median milliseconds of `reps` timed calls after one warm-up; fewer reps when one call is slow. */
function time(fn: () => void, reps = 5): number {
  const t0 = performance.now();
  fn();
  const first = performance.now() - t0;
  const n = first > 2000 ? 1 : first > 500 ? 2 : reps;
  const ts: number[] = [];
  for (let r = 0; r < n; r++) {
    const t = performance.now();
    fn();
    ts.push(performance.now() - t);
  }
  return median(ts);
}

interface Kernel {
  name: string;
  flops: number;
  run: (b: LinalgBackend) => () => void;
}

function gemmKernel(name: string, m: number, n: number, k: number, transA: boolean, make: (n: number) => FloatArray): Kernel {
  const a = randomData(m * k, make, 1);
  const b = randomData(k * n, make, 2);
  const c = make(m * n);
  return {
    name,
    flops: 2 * m * n * k,
    run: (be) => () => be.gemm(transA, false, m, n, k, 1, a, transA ? m : k, b, n, 0, c, n),
  };
}

function syrkKernel(rows: number, d: number): Kernel {
  const a = randomData(rows * d, f64, 3);
  const c = new Float64Array(d * d);
  return { name: `dsyrk AᵀA, A ${rows} x ${d}`, flops: rows * d * d, run: (be) => () => be.syrkUpper(d, rows, 1, a, 0, c) };
}

function covariance(d: number): Float64Array {
  const rows = 2 * d;
  const a = randomData(rows * d, f64, 4);
  const c = new Float64Array(d * d);
  backendByName("portable").syrkUpper(d, rows, 1 / rows, a, 0, c);
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) c[i * d + j] = c[j * d + i]!;
  return c;
}

function eigenKernel(d: number): Kernel {
  const c = covariance(d);
  return { name: `dsyevd ${d} x ${d}`, flops: 0, run: (be) => () => be.syevd(d, Float64Array.from(c), new Float64Array(d)) };
}

function choleskyKernel(d: number): Kernel {
  const c = covariance(d);
  return { name: `dpotrf + dtrtri ${d} x ${d}`, flops: 0, run: (be) => () => {
    const f = Float64Array.from(c);
    be.potrf(d, f);
    be.trtri(d, f);
  } };
}

const portable = backendByName("portable");
let blas: LinalgBackend | undefined;
try {
  blas = backendByName("openblas");
} catch (e) {
  console.log(`OpenBLAS rows skipped: ${(e as Error).message}`);
}
console.log(`portable: ${portable.description}`);
if (blas) console.log(`openblas: ${blas.description}  OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? "(unset)"}`);

const kernels: Kernel[] = [
  gemmKernel("sgemm 256³", 256, 256, 256, false, f32),
  gemmKernel("sgemm 512³", 512, 512, 512, false, f32),
  gemmKernel("sgemm 1024³", 1024, 1024, 1024, false, f32),
  gemmKernel("dgemm 512³", 512, 512, 512, false, f64),
  gemmKernel("sgemm AᵀB, A 4096 x 768, B 4096 x 768", 768, 768, 4096, true, f32),
  gemmKernel("sgemm scoring 2000 x 512 by 512 x 512", 2000, 512, 512, false, f32),
  syrkKernel(20000, 512),
  eigenKernel(64),
  eigenKernel(256),
  eigenKernel(512),
  eigenKernel(768),
  choleskyKernel(512),
];

const rows: string[] = ["| kernel | portable | OpenBLAS | portable / OpenBLAS |", "|---|---:|---:|---:|"];
const show = (ms: number, flops: number): string => (flops > 0 ? `${ms.toFixed(1)} ms (${(flops / ms / 1e6).toFixed(1)} GFLOP/s)` : `${ms.toFixed(1)} ms`);
for (const k of kernels) {
  const tp = time(k.run(portable));
  const tb = blas ? time(k.run(blas)) : undefined;
  rows.push(`| ${k.name} | ${show(tp, k.flops)} | ${tb === undefined ? "–" : show(tb, k.flops)} | ${tb === undefined ? "–" : `${(tp / tb).toFixed(1)}x`} |`);
  console.log(rows[rows.length - 1]);
}
{
  const a = matrix(512, 512, randomData(512 * 512, f32, 5));
  const b = matrix(512, 512, randomData(512 * 512, f32, 6));
  const tj = time(() => jsMatmul(a, b), 3);
  const tp = time(kernels[1]!.run(portable));
  console.log(`plain-JS i-k-j loop, sgemm 512³: ${show(tj, 2 * 512 ** 3)}; the packed portable kernel is ${(tj / tp).toFixed(1)}x faster`);
}
console.log("\n" + rows.join("\n"));
