// A ridge linear map from the weak model's activations to the strong model's, fitted on trusted positions, and
// the score it gives: the Mahalanobis norm of what the map cannot reconstruct (the strong model's residual),
// whitened by the residual covariance on the trusted positions. High = the strong model holds something here
// that the weak model's state does not carry. Reads activations only, never a word or a loss.

import { MadkitError } from "../../errors.js";
import { gemm, gramInto } from "../../linalg/blas.js";
import { cholesky, choleskyInverseFactor, choleskySolve } from "../../linalg/lapack.js";
import { matrix, type Matrix } from "../../linalg/matrix.js";

export interface RidgeMap {
  readonly lambda: number;
  /** Column means of X (weak) and Y (strong) on the fitting rows. */
  readonly meanX: Float64Array;
  readonly meanY: Float64Array;
  /** dx x dy coefficients: Ŷ = (X − meanX)·W + meanY. */
  readonly weights: Matrix<Float64Array>;
}

function columnMeans(m: Matrix<Float64Array>): Float64Array {
  const mu = new Float64Array(m.cols);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) mu[j]! += m.data[i * m.cols + j]!;
  for (let j = 0; j < m.cols; j++) mu[j]! /= Math.max(1, m.rows);
  return mu;
}

function centred(m: Matrix<Float64Array>, mu: Float64Array): Matrix<Float64Array> {
  const out = new Float64Array(m.data.length);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) out[i * m.cols + j] = m.data[i * m.cols + j]! - mu[j]!;
  return matrix(m.rows, m.cols, out);
}

/**
 * W = (XcᵀXc + λ·n·I)⁻¹ XcᵀYc on centred X (n x dx) and Y (n x dy). λ is per row (scaled by n) so one value
 * means the same strength for any number of trusted positions.
 */
export function fitRidgeMap(x: Matrix<Float64Array>, y: Matrix<Float64Array>, lambda: number): RidgeMap {
  if (x.rows !== y.rows) throw new MadkitError("DIMENSION_MISMATCH", `ridge map: X has ${x.rows} rows, Y ${y.rows}; expected the same positions`);
  if (x.rows < 2) throw new MadkitError("BAD_INPUT", `ridge map: expected at least 2 trusted positions, got ${x.rows}`);
  if (!(lambda > 0)) throw new MadkitError("BAD_ARGUMENT", `ridge map: lambda must be positive, got ${lambda}`);
  const meanX = columnMeans(x);
  const meanY = columnMeans(y);
  const xc = centred(x, meanX);
  const d = x.cols;
  const gram = new Float64Array(d * d);
  gramInto(xc, gram, 1, 0);
  for (let j = 0; j < d; j++) gram[j * d + j]! += lambda * x.rows;
  const xty = gemm(xc, centred(y, meanY), { transA: true });
  return { lambda, meanX, meanY, weights: choleskySolve(cholesky(gram, d), xty) };
}

/** Y − Ŷ for each row of X and Y (n x dy). */
export function ridgeResiduals(map: RidgeMap, x: Matrix<Float64Array>, y: Matrix<Float64Array>): Matrix<Float64Array> {
  if (x.cols !== map.meanX.length || y.cols !== map.meanY.length || x.rows !== y.rows) {
    throw new MadkitError("DIMENSION_MISMATCH", `ridge map: fitted on ${map.meanX.length} → ${map.meanY.length} columns, got ${x.rows} x ${x.cols} → ${y.rows} x ${y.cols}`);
  }
  const pred = gemm(centred(x, map.meanX), map.weights);
  const out = new Float64Array(y.data.length);
  for (let i = 0; i < y.rows; i++) {
    for (let j = 0; j < y.cols; j++) out[i * y.cols + j] = y.data[i * y.cols + j]! - pred.data[i * y.cols + j]! - map.meanY[j]!;
  }
  return matrix(y.rows, y.cols, out);
}

/** Mean squared residual over rows and columns. */
export function meanSquaredResidual(r: Matrix<Float64Array>): number {
  let s = 0;
  for (const v of r.data) s += v * v;
  return s / Math.max(1, r.data.length);
}
