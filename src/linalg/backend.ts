// The numeric back end behind src/linalg: one interface in BLAS/LAPACK terms, two implementations.
// OpenBLAS/LAPACK (a system library called through koffi) is the fast path where it loads; the portable
// back end (TypeScript kernels in ./portable) is always there. `MADKIT_LINALG=openblas|portable` forces one.
// BLAS routines here take row-major arrays (as CBLAS with CblasRowMajor); the LAPACK routines take
// column-major arrays (Fortran), which for the symmetric inputs we pass is the same as row-major.

import type { FloatArray } from "./matrix.js";

export type BackendName = "openblas" | "portable";

export interface LinalgBackend {
  readonly name: BackendName;
  /** One line for the user: the back end and its version or kernel set. */
  readonly description: string;
  /** C ← alpha·op(A)·op(B) + beta·C, row-major with leading dimensions; A, B, C share an element type. */
  gemm<T extends FloatArray>(
    transA: boolean, transB: boolean, m: number, n: number, k: number,
    alpha: number, a: T, lda: number, b: T, ldb: number, beta: number, c: T, ldc: number,
  ): void;
  /** Upper triangle (row-major, j ≥ i) of the d x d C ← alpha·AᵀA + beta·C for A (rows x d); below it untouched. */
  syrkUpper<T extends FloatArray>(d: number, rows: number, alpha: number, a: T, beta: number, c: T): void;
  /** y ← alpha·op(A)·x + beta·y, A row-major rows x cols. */
  gemv<T extends FloatArray>(trans: boolean, rows: number, cols: number, alpha: number, a: T, x: T, beta: number, y: T): void;
  /** A ← A + alpha·x·yᵀ, A row-major rows x cols. */
  ger<T extends FloatArray>(rows: number, cols: number, alpha: number, x: T, y: T, a: T): void;
  /**
   * dsyevd("V", "L"): eigenpairs of the symmetric n x n matrix whose lower triangle (column-major) is in `a`.
   * On return `a` holds the eigenvectors column-major (vector j at a[j*n .. j*n+n]) and `w` the ascending
   * eigenvalues. Returns LAPACK's info: 0 on success. The input must be finite: dsyevd does not report NaN
   * (it returns NaN eigenvalues with info 0), so `symmetricEigen` checks before calling.
   */
  syevd(n: number, a: Float64Array, w: Float64Array): number;
  /** dpotrf("L"): the Cholesky factor in the lower triangle (column-major) of `a`, in place; the other triangle untouched. */
  potrf(n: number, a: Float64Array): number;
  /** dpotrs("L"): solve A·X = B in place in `b` (column-major n x nrhs) from potrf's factor. */
  potrs(n: number, nrhs: number, factor: Float64Array, b: Float64Array): number;
  /** dtrtri("L", "N"): invert the lower-triangular (column-major) matrix in place; the other triangle untouched. */
  trtri(n: number, a: Float64Array): number;
}
