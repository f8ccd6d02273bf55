// The activation score of the capability gap, fitted on trusted positions only: the ridge strength is the one
// with the lowest held-out reconstruction error between two halves of the trusted positions (no label read);
// the score is the squared Mahalanobis norm of the map's residual, whitened by the covariance of the held-out
// (out-of-fold) trusted residuals with a fixed shrinkage toward the mean variance.

import { MadkitError } from "../../errors.js";
import { cholesky, choleskyInverseFactor } from "../../linalg/lapack.js";
import { matrix, takeRows, type Matrix } from "../../linalg/matrix.js";
import { fitRidgeMap, meanSquaredResidual, ridgeResiduals, type RidgeMap } from "./ridge-map.js";

/** Ridge strengths tried (per trusted row; see fitRidgeMap). */
export const RIDGE_LAMBDAS = [1e-4, 1e-3, 1e-2, 1e-1, 1] as const;
/** Weight of the mean variance mixed into the residual covariance: keeps it invertible with ~100 trusted rows of 64 columns. */
export const RESIDUAL_SHRINKAGE = 0.1;

export interface ResidualScorer {
  readonly map: RidgeMap;
  /** Held-out trusted reconstruction error of each λ in RIDGE_LAMBDAS (the chosen one is the smallest). */
  readonly heldOutError: readonly number[];
  /** Row-major lower-triangular L⁻¹ of the shrunk residual covariance (dy x dy). */
  readonly whitener: Float64Array;
  readonly meanResidual: Float64Array;
}

/** Even and odd rows: the two folds (the rows come in text order, so neighbours land in both). */
function folds(n: number): [number[], number[]] {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < n; i++) (i % 2 === 0 ? a : b).push(i);
  return [a, b];
}

/** Out-of-fold residuals of the 2-fold split at one λ (rows in the original order). */
function outOfFold(x: Matrix<Float64Array>, y: Matrix<Float64Array>, lambda: number): Matrix<Float64Array> {
  const out = new Float64Array(y.data.length);
  const [a, b] = folds(x.rows);
  for (const [fit, held] of [[a, b], [b, a]] as const) {
    const map = fitRidgeMap(takeRows(x, fit), takeRows(y, fit), lambda);
    const r = ridgeResiduals(map, takeRows(x, held), takeRows(y, held));
    held.forEach((row, k) => out.set(r.data.subarray(k * y.cols, (k + 1) * y.cols), row * y.cols));
  }
  return matrix(y.rows, y.cols, out);
}

/** Choose λ on held-out trusted error, fit the map on all trusted rows, and the residual whitener. */
export function fitResidualScorer(x: Matrix<Float64Array>, y: Matrix<Float64Array>): ResidualScorer {
  if (x.rows < 4) throw new MadkitError("BAD_INPUT", `residual score: expected at least 4 trusted positions, got ${x.rows}`);
  const residuals = RIDGE_LAMBDAS.map((l) => outOfFold(x, y, l));
  const heldOutError = residuals.map(meanSquaredResidual);
  const best = heldOutError.indexOf(Math.min(...heldOutError));
  const r = residuals[best]!;
  const d = y.cols;
  const mean = new Float64Array(d);
  for (let i = 0; i < r.rows; i++) for (let j = 0; j < d; j++) mean[j]! += r.data[i * d + j]! / r.rows;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < r.rows; i++) {
    for (let j = 0; j < d; j++) {
      const a = r.data[i * d + j]! - mean[j]!;
      for (let k = 0; k <= j; k++) cov[j * d + k]! += (a * (r.data[i * d + k]! - mean[k]!)) / (r.rows - 1);
    }
  }
  let trace = 0;
  for (let j = 0; j < d; j++) trace += cov[j * d + j]!;
  for (let j = 0; j < d; j++) {
    for (let k = 0; k < j; k++) {
      const v = cov[j * d + k]! * (1 - RESIDUAL_SHRINKAGE);
      cov[j * d + k] = v;
      cov[k * d + j] = v;
    }
    cov[j * d + j] = (1 - RESIDUAL_SHRINKAGE) * cov[j * d + j]! + (RESIDUAL_SHRINKAGE * trace) / d + 1e-12;
  }
  const whitener = choleskyInverseFactor(cholesky(cov, d));
  return { map: fitRidgeMap(x, y, RIDGE_LAMBDAS[best]!), heldOutError, whitener, meanResidual: mean };
}

/** Squared Mahalanobis norm of each row's residual (higher = more of the strong model's state unexplained). */
export function residualScores(s: ResidualScorer, x: Matrix<Float64Array>, y: Matrix<Float64Array>): Float64Array {
  const r = ridgeResiduals(s.map, x, y);
  const d = y.cols;
  const out = new Float64Array(r.rows);
  const c = new Float64Array(d);
  for (let i = 0; i < r.rows; i++) {
    for (let j = 0; j < d; j++) c[j] = r.data[i * d + j]! - s.meanResidual[j]!;
    let q = 0;
    for (let j = 0; j < d; j++) {
      let z = 0;
      for (let k = 0; k <= j; k++) z += s.whitener[j * d + k]! * c[k]!;
      q += z * z;
    }
    out[i] = q;
  }
  return out;
}
