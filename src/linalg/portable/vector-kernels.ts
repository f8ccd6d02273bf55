// Portable matrix-vector kernels: gemv (y ← alpha·op(A)·x + beta·y) and ger (A ← A + alpha·x·yᵀ) on
// row-major A, with float64 sums whatever the element type.

import type { FloatArray } from "../matrix.js";

export function portableGemv<T extends FloatArray>(trans: boolean, rows: number, cols: number, alpha: number, a: T, x: T, beta: number, y: T): void {
  const outLen = trans ? cols : rows;
  if (beta === 0) y.fill(0, 0, outLen);
  else if (beta !== 1) for (let i = 0; i < outLen; i++) y[i]! *= beta;
  if (alpha === 0) return;
  if (!trans) {
    for (let i = 0; i < rows; i++) {
      const o = i * cols;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let j = 0;
      for (; j + 3 < cols; j += 4) {
        s0 += a[o + j]! * x[j]!;
        s1 += a[o + j + 1]! * x[j + 1]!;
        s2 += a[o + j + 2]! * x[j + 2]!;
        s3 += a[o + j + 3]! * x[j + 3]!;
      }
      for (; j < cols; j++) s0 += a[o + j]! * x[j]!;
      y[i]! += alpha * (s0 + s1 + s2 + s3);
    }
    return;
  }
  // Aᵀx: accumulate row by row into a float64 buffer, reading A in storage order.
  const acc = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const xi = x[i]!;
    const o = i * cols;
    for (let j = 0; j < cols; j++) acc[j]! += a[o + j]! * xi;
  }
  for (let j = 0; j < cols; j++) y[j]! += alpha * acc[j]!;
}

export function portableGer<T extends FloatArray>(rows: number, cols: number, alpha: number, x: T, y: T, a: T): void {
  for (let i = 0; i < rows; i++) {
    const s = alpha * x[i]!;
    const o = i * cols;
    for (let j = 0; j < cols; j++) a[o + j]! += s * y[j]!;
  }
}
