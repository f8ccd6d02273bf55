// The portable back end: TypeScript kernels that need nothing but Node. Always available; used when
// OpenBLAS/LAPACK cannot be loaded or when MADKIT_LINALG=portable.

import type { LinalgBackend } from "../backend.js";
import { portablePotrf, portablePotrs, portableTrtri } from "./cholesky.js";
import { portableGemm } from "./gemm.js";
import { portableSyevd } from "./symmetric-eigen.js";
import { portableGemv, portableGer } from "./vector-kernels.js";

export const portableBackend: LinalgBackend = {
  name: "portable",
  description: "portable TypeScript kernels (blocked gemm, Householder + QL eigensolver, Cholesky)",
  gemm: (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) =>
    portableGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc),
  syrkUpper: (d, rows, alpha, a, beta, c) => portableGemm(true, false, d, d, rows, alpha, a, d, a, d, beta, c, d, "upper"),
  gemv: portableGemv,
  ger: portableGer,
  syevd: portableSyevd,
  potrf: portablePotrf,
  potrs: portablePotrs,
  trtri: portableTrtri,
};
