// Symmetric float64 factorisations in LAPACK's terms: the eigendecomposition (dsyevd) and Cholesky
// factor / solve / inverse factor (dpotrf, dpotrs, dtrtri), computed by the active back end. A symmetric
// row-major matrix is its own column-major transpose, which is why the Fortran-order routines can be handed
// row-major data directly.

import { MadkitError } from "../errors.js";
import { linalgBackend } from "./active-backend.js";
import { matrix, type Matrix } from "./matrix.js";

export interface SymmetricEigen {
  /** Eigenvalues, ascending. */
  readonly values: Float64Array;
  /** n x n; ROW j is the unit eigenvector for values[j]. */
  readonly vectors: Matrix<Float64Array>;
}

function checkSquare(a: Float64Array, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) {
    throw new MadkitError("DIMENSION_MISMATCH", `${what}: expected an ${n} x ${n} matrix (${n * n} elements), got ${a.length}`);
  }
}

/** Eigendecomposition of a symmetric n x n matrix (only the upper triangle in row-major is read). Input not modified. */
export function symmetricEigen(a: Float64Array, n: number): SymmetricEigen {
  checkSquare(a, n, "symmetricEigen");
  const w = new Float64Array(n);
  const v = Float64Array.from(a);
  if (n === 0) return { values: w, vectors: matrix(0, 0, v) };
  // LAPACK's dsyevd passes NaN through to the eigenvalues without an error: refuse non-finite input here.
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      if (!Number.isFinite(v[i * n + j]!)) {
        throw new MadkitError("NON_FINITE", `symmetricEigen: entry (${i}, ${j}) of the ${n} x ${n} matrix is ${v[i * n + j]}; expected finite numbers`);
      }
    }
  }
  // Row-major upper = column-major "L".
  const info = linalgBackend().syevd(n, v, w);
  if (info !== 0) {
    throw new MadkitError("BAD_INPUT", `symmetricEigen: the eigensolver failed with info = ${info} (non-finite entries or no convergence)`);
  }
  // Column-major output: eigenvector j is contiguous at v[j*n .. j*n+n], i.e. row j read row-major.
  return { values: w, vectors: matrix(n, n, v) };
}

/** Cholesky factor of a symmetric positive-definite matrix (opaque to callers: pass it to choleskySolve). */
export interface CholeskyFactor {
  readonly n: number;
  readonly factor: Float64Array;
}

export function cholesky(a: Float64Array, n: number): CholeskyFactor {
  checkSquare(a, n, "cholesky");
  const f = Float64Array.from(a);
  if (n === 0) return { n, factor: f };
  const info = linalgBackend().potrf(n, f);
  if (info > 0) {
    throw new MadkitError(
      "BAD_INPUT",
      `cholesky: the ${n} x ${n} matrix is not positive definite (leading minor ${info} is not positive)`,
    );
  }
  if (info < 0) throw new MadkitError("BAD_ARGUMENT", `cholesky: LAPACK dpotrf rejected argument ${-info}`);
  return { n, factor: f };
}

/** Solve A·X = B for X given A's Cholesky factor; B is n x nrhs row-major and is not modified. */
export function choleskySolve(c: CholeskyFactor, b: Matrix<Float64Array>): Matrix<Float64Array> {
  if (b.rows !== c.n) {
    throw new MadkitError("DIMENSION_MISMATCH", `choleskySolve: the factor is ${c.n} x ${c.n} but B has ${b.rows} rows`);
  }
  const n = c.n;
  const nrhs = b.cols;
  if (n === 0 || nrhs === 0) return matrix(b.rows, b.cols, Float64Array.from(b.data));
  // LAPACK wants B column-major: transpose in, transpose out.
  const x = new Float64Array(n * nrhs);
  for (let i = 0; i < n; i++) for (let j = 0; j < nrhs; j++) x[j * n + i] = b.data[i * nrhs + j]!;
  const info = linalgBackend().potrs(n, nrhs, c.factor, x);
  if (info !== 0) throw new MadkitError("BAD_ARGUMENT", `choleskySolve: LAPACK dpotrs rejected argument ${-info}`);
  const out = new Float64Array(n * nrhs);
  for (let i = 0; i < n; i++) for (let j = 0; j < nrhs; j++) out[i * nrhs + j] = x[j * n + i]!;
  return matrix(n, nrhs, out);
}

/**
 * L⁻¹ for the Cholesky factor A = L·Lᵀ, row-major n x n (lower triangular, zeros above): z = L⁻¹x
 * whitens x, since ‖L⁻¹x‖² = xᵀA⁻¹x.
 */
export function choleskyInverseFactor(c: CholeskyFactor): Float64Array {
  const n = c.n;
  const t = Float64Array.from(c.factor);
  if (n === 0) return t;
  // The factor is lower-triangular column-major; dtrtri inverts it in place, leaving the other triangle alone.
  const info = linalgBackend().trtri(n, t);
  if (info !== 0) throw new MadkitError("BAD_INPUT", `choleskyInverseFactor: the factor is singular (zero pivot ${info})`);
  // Column-major lower (j*n + i holds row i, column j, i ≥ j) to row-major lower, zeroing the upper triangle.
  const out = new Float64Array(n * n);
  for (let j = 0; j < n; j++) for (let i = j; i < n; i++) out[i * n + j] = t[j * n + i]!;
  return out;
}

/** Diagonal of the Cholesky factor L (its squares are the pivots: a tiny one means a near-singular matrix). */
export function choleskyDiagonal(c: CholeskyFactor): Float64Array {
  const out = new Float64Array(c.n);
  for (let j = 0; j < c.n; j++) out[j] = c.factor[j * c.n + j]!;
  return out;
}
