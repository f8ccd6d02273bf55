// The fast back end: OpenBLAS (with its LAPACK) through koffi, in the LinalgBackend shape.

import type { LinalgBackend } from "./backend.js";
import type { FloatArray } from "./matrix.js";
import type { OpenBlas } from "./openblas.js";

// CBLAS enums are plain ints.
const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;
const UPPER = 121;

const is32 = (x: FloatArray): boolean => x instanceof Float32Array;
const tr = (t: boolean): number => (t ? TRANS : NO_TRANS);

export function openblasBackend(lib: OpenBlas): LinalgBackend {
  return {
    name: "openblas",
    description: lib.config.trim(),
    gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
      (is32(a) ? lib.cblas_sgemm : lib.cblas_dgemm)(ROW_MAJOR, tr(transA), tr(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    },
    syrkUpper(d, rows, alpha, a, beta, c) {
      (is32(a) ? lib.cblas_ssyrk : lib.cblas_dsyrk)(ROW_MAJOR, UPPER, TRANS, d, rows, alpha, a, d, beta, c, d);
    },
    gemv(trans, rows, cols, alpha, a, x, beta, y) {
      (is32(a) ? lib.cblas_sgemv : lib.cblas_dgemv)(ROW_MAJOR, tr(trans), rows, cols, alpha, a, cols, x, 1, beta, y, 1);
    },
    ger(rows, cols, alpha, x, y, a) {
      (is32(a) ? lib.cblas_sger : lib.cblas_dger)(ROW_MAJOR, rows, cols, alpha, x, 1, y, 1, a, cols);
    },
    syevd(n, a, w) {
      const N = Int32Array.of(n);
      const info = new Int32Array(1);
      // Workspace query (lwork = liwork = -1), then the real call.
      const workQ = new Float64Array(1);
      const iworkQ = new Int32Array(1);
      lib.dsyevd_("V", "L", N, a, N, w, workQ, Int32Array.of(-1), iworkQ, Int32Array.of(-1), info);
      const lwork = Math.max(1, Math.ceil(workQ[0]!));
      const liwork = Math.max(1, iworkQ[0]!);
      lib.dsyevd_("V", "L", N, a, N, w, new Float64Array(lwork), Int32Array.of(lwork), new Int32Array(liwork), Int32Array.of(liwork), info);
      return info[0]!;
    },
    potrf(n, a) {
      const info = new Int32Array(1);
      lib.dpotrf_("L", Int32Array.of(n), a, Int32Array.of(n), info);
      return info[0]!;
    },
    potrs(n, nrhs, factor, b) {
      const info = new Int32Array(1);
      lib.dpotrs_("L", Int32Array.of(n), Int32Array.of(nrhs), factor, Int32Array.of(n), b, Int32Array.of(n), info);
      return info[0]!;
    },
    trtri(n, a) {
      const info = new Int32Array(1);
      lib.dtrtri_("L", "N", Int32Array.of(n), a, Int32Array.of(n), info);
      return info[0]!;
    },
  };
}
