// LAPACK routines on symmetric float64 matrices: the eigendecomposition (dsyevd, divide and conquer) and
// Cholesky factor/solve (dpotrf/dpotrs). A symmetric row-major matrix is its own column-major transpose,
// which is why these Fortran routines can be handed row-major data directly.

import { MadkitError } from "../errors.js";
import { matrix, type Matrix } from "./matrix.js";
import { openblas } from "./openblas.js";

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
  const lib = openblas();
  const N = Int32Array.of(n);
  const info = new Int32Array(1);
  // Workspace query (lwork = liwork = -1), then the real call. Row-major upper = column-major "L".
  const workQ = new Float64Array(1);
  const iworkQ = new Int32Array(1);
  lib.dsyevd_("V", "L", N, v, N, w, workQ, Int32Array.of(-1), iworkQ, Int32Array.of(-1), info);
  const lwork = Math.max(1, Math.ceil(workQ[0]!));
  const liwork = Math.max(1, iworkQ[0]!);
  lib.dsyevd_("V", "L", N, v, N, w, new Float64Array(lwork), Int32Array.of(lwork), new Int32Array(liwork), Int32Array.of(liwork), info);
  if (info[0] !== 0) {
    throw new MadkitError("BAD_INPUT", `symmetricEigen: LAPACK dsyevd failed with info = ${info[0]} (non-finite entries or no convergence)`);
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
  const info = new Int32Array(1);
  openblas().dpotrf_("L", Int32Array.of(n), f, Int32Array.of(n), info);
  if (info[0]! > 0) {
    throw new MadkitError(
      "BAD_INPUT",
      `cholesky: the ${n} x ${n} matrix is not positive definite (leading minor ${info[0]} is not positive)`,
    );
  }
  if (info[0]! < 0) throw new MadkitError("BAD_ARGUMENT", `cholesky: LAPACK dpotrf rejected argument ${-info[0]!}`);
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
  const info = new Int32Array(1);
  openblas().dpotrs_("L", Int32Array.of(n), Int32Array.of(nrhs), c.factor, Int32Array.of(n), x, Int32Array.of(n), info);
  if (info[0] !== 0) throw new MadkitError("BAD_ARGUMENT", `choleskySolve: LAPACK dpotrs rejected argument ${-info[0]!}`);
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
  const info = new Int32Array(1);
  // The factor is lower-triangular column-major; dtrtri inverts it in place, leaving the other triangle alone.
  openblas().dtrtri_("L", "N", Int32Array.of(n), t, Int32Array.of(n), info);
  if (info[0] !== 0) throw new MadkitError("BAD_INPUT", `choleskyInverseFactor: the factor is singular (zero pivot ${info[0]})`);
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
