// The scoring loop Gaussian-style detectors share: centre a block of rows on the trusted mean (in float64,
// stored in the input's precision), take each row's squared norm in the same pass (a NaN/Inf shows up
// there, so no separate validation scan), and project the block onto a set of directions with one gemm.

import { gemm } from "../linalg/blas.js";
import { matrix, type FloatArray, type Matrix } from "../linalg/matrix.js";
import type { Contribution } from "./detector.js";
import { throwNonFinite } from "./input-checks.js";

const BLOCK = 2048;

/** Directions kept in both precisions so float32 input runs sgemm and float64 input dgemm (as numpy does). */
export class Directions {
  private f32: Matrix<Float32Array> | undefined;
  constructor(readonly w: Matrix<Float64Array>) {}
  for(x: Matrix): Matrix<FloatArray> {
    if (x.data instanceof Float64Array) return this.w;
    this.f32 ??= matrix(this.w.rows, this.w.cols, Float32Array.from(this.w.data));
    return this.f32;
  }
}

/**
 * Calls `fn(start, rows, xc, norms, z)` for consecutive blocks: xc = rows − mean (rows x d), norms = ‖xc‖²
 * per row, z = xc·Wᵀ (rows x k) where W is k x d (one direction per row). Non-finite input raises
 * NON_FINITE naming `kind` and the row.
 */
export function forEachCentredBlock(
  x: Matrix,
  mean: Float64Array,
  directions: Directions,
  kind: string,
  fn: (start: number, rows: number, xc: FloatArray, norms: Float64Array, z: FloatArray) => void,
): void {
  const d = x.cols;
  const w = directions.for(x);
  const k = w.rows;
  const f32 = x.data instanceof Float32Array;
  const nb0 = Math.min(BLOCK, x.rows);
  const xc: FloatArray = f32 ? new Float32Array(nb0 * d) : new Float64Array(nb0 * d);
  const z: FloatArray = f32 ? new Float32Array(nb0 * k) : new Float64Array(nb0 * k);
  const norms = new Float64Array(nb0);
  for (let start = 0; start < x.rows; start += BLOCK) {
    const nb = Math.min(BLOCK, x.rows - start);
    const src = x.data.subarray(start * d, (start + nb) * d);
    const c = xc.subarray(0, nb * d);
    for (let i = 0; i < nb; i++) {
      let s = 0;
      for (let j = 0, o = i * d; j < d; j++) {
        c[o + j] = src[o + j]! - mean[j]!;
        const v = c[o + j]!;
        s += v * v;
      }
      // s − s is NaN exactly when s is NaN or ±Inf.
      if (s - s !== 0) throwNonFinite(x, start + i, kind, "input");
      norms[i] = s;
    }
    const zb = z.subarray(0, nb * k);
    if (k > 0) gemm(matrix(nb, d, c), w, { transB: true, out: matrix(nb, k, zb) });
    fn(start, nb, c, norms, zb);
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

/** The `top` largest of a row's additive score parts as contributions, each with its share of `total`. */
export function topContributions(parts: ArrayLike<number>, top: number, kind: Contribution["kind"], total: number): Contribution[] {
  return topK(parts, Math.min(top, parts.length)).map(({ index, value }) => ({
    kind,
    index,
    contribution: value,
    share: total > 0 ? value / total : 0,
  }));
}
