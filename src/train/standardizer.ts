// Input scaling fitted on the trusted set only, so every gradient-trained model sees inputs of unit scale.
// "feature" centres and scales each column (AEs, VAEs); "global" divides by one RMS and does not centre,
// which keeps directions intact — what an SAE's dictionary needs to stay comparable with the raw space.

import { MadkitError } from "../errors.js";
import type { Matrix } from "../linalg/matrix.js";

export type StandardizeMode = "feature" | "global" | "none";

export interface Standardizer {
  readonly mode: StandardizeMode;
  /** Subtracted from each column (zeros for "global" and "none"). */
  readonly mean: Float32Array;
  /** Each column is divided by this after centring (ones for "none"). */
  readonly scale: Float32Array;
}

/** Floor on a column's scale, relative to the largest, so a constant column doesn't blow up to infinity. */
const RELATIVE_SCALE_FLOOR = 1e-6;

export function fitStandardizer(x: Matrix, mode: StandardizeMode): Standardizer {
  const { rows: n, cols: d, data } = x;
  const mean = new Float32Array(d);
  const scale = new Float32Array(d).fill(1);
  if (mode === "none") return { mode, mean, scale };
  if (n < 2) throw new MadkitError("BAD_INPUT", `standardizer: need at least 2 trusted rows, got ${n}`);
  // Float64 accumulation: float32 sums over thousands of rows lose digits the scores would inherit.
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) mu[j]! += data[o + j]!;
  }
  for (let j = 0; j < d; j++) mu[j]! /= n;
  if (mode === "feature") {
    const ss = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const o = i * d;
      for (let j = 0; j < d; j++) {
        const t = data[o + j]! - mu[j]!;
        ss[j]! += t * t;
      }
    }
    let maxSd = 0;
    for (let j = 0; j < d; j++) maxSd = Math.max(maxSd, Math.sqrt(ss[j]! / (n - 1)));
    const floor = maxSd > 0 ? maxSd * RELATIVE_SCALE_FLOOR : 1;
    for (let j = 0; j < d; j++) {
      mean[j] = mu[j]!;
      scale[j] = Math.max(Math.sqrt(ss[j]! / (n - 1)), floor);
    }
    return { mode, mean, scale };
  }
  // "global": one RMS over all entries, no centring.
  let ss = 0;
  for (let i = 0; i < data.length; i++) ss += data[i]! * data[i]!;
  const rms = Math.sqrt(ss / data.length);
  scale.fill(rms > 0 ? rms : 1);
  return { mode, mean, scale };
}

/** (x − mean) / scale as a fresh Float32 buffer (row-major, same shape). */
export function applyStandardizer(s: Standardizer, x: Matrix): Float32Array {
  if (x.cols !== s.mean.length) {
    throw new MadkitError(
      "DIMENSION_MISMATCH",
      `standardizer was fitted on ${s.mean.length} features, got a matrix of ${x.cols} columns`,
    );
  }
  const { rows: n, cols: d, data } = x;
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) out[o + j] = (data[o + j]! - s.mean[j]!) / s.scale[j]!;
  }
  return out;
}
