// The scoring loop Gaussian-style detectors share: convert a block of rows to float64, centre it on the
// trusted mean, and project it onto a set of directions with one dgemm. Blocks bound memory for any N.

import { gemm } from "../linalg/blas.js";
import { matrix, type Matrix } from "../linalg/matrix.js";

const BLOCK = 2048;

/**
 * Calls `fn(start, rows, xc, z)` for consecutive blocks: xc = rows − mean (rows x d, float64) and
 * z = xc·Wᵀ (rows x k) where W is k x d (one direction per row).
 */
export function forEachCentredBlock(
  x: Matrix,
  mean: Float64Array,
  w: Matrix<Float64Array>,
  fn: (start: number, rows: number, xc: Float64Array, z: Float64Array) => void,
): void {
  const d = x.cols;
  const k = w.rows;
  const nb0 = Math.min(BLOCK, x.rows);
  const xc = new Float64Array(nb0 * d);
  const z = new Float64Array(nb0 * k);
  for (let start = 0; start < x.rows; start += BLOCK) {
    const nb = Math.min(BLOCK, x.rows - start);
    const src = x.data.subarray(start * d, (start + nb) * d);
    const c = xc.subarray(0, nb * d);
    for (let i = 0; i < nb; i++) for (let j = 0, o = i * d; j < d; j++) c[o + j] = src[o + j]! - mean[j]!;
    const zb = z.subarray(0, nb * k);
    if (k > 0) gemm(matrix(nb, d, c), w, { transB: true, out: matrix(nb, k, zb) });
    fn(start, nb, c, zb);
  }
}

/** The k largest of `values` with their indices, largest first (k small; insertion into a sorted list). */
export function topK(values: ArrayLike<number>, k: number): { index: number; value: number }[] {
  const out: { index: number; value: number }[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (out.length === k && v <= out[k - 1]!.value) continue;
    let p = out.length < k ? out.length : k - 1;
    if (out.length < k) out.push({ index: i, value: v });
    while (p > 0 && out[p - 1]!.value < v) {
      out[p] = out[p - 1]!;
      p--;
    }
    out[p] = { index: i, value: v };
  }
  return out;
}
