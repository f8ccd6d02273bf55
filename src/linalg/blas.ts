// Dense matrix products on the shared Matrix type in the element type of the inputs: gemm (float32 or
// float64, optional transposes), the Gram matrix AᵀA, gemv and the rank-one update — checked here, computed
// by the active back end (OpenBLAS, or the portable kernels; see active-backend.ts).

import { MadkitError } from "../errors.js";
import { linalgBackend } from "./active-backend.js";
import { matrix, type FloatArray, type Matrix } from "./matrix.js";

export interface GemmOptions<T extends FloatArray> {
  /** Use Aᵀ instead of A. */
  transA?: boolean;
  /** Use Bᵀ instead of B. */
  transB?: boolean;
  /** C = alpha·op(A)·op(B) + beta·C; default 1. */
  alpha?: number;
  /** Default 0 (C's old contents ignored). */
  beta?: number;
  /** Write into this matrix (its shape must be the product's) instead of allocating. */
  out?: Matrix<T>;
}

/** op(A)·op(B) in A's precision; A and B must share an element type. */
export function gemm<T extends FloatArray>(a: Matrix<T>, b: Matrix<T>, opts: GemmOptions<T> = {}): Matrix<T> {
  const m = opts.transA ? a.cols : a.rows;
  const k = opts.transA ? a.rows : a.cols;
  const kb = opts.transB ? b.cols : b.rows;
  const n = opts.transB ? b.rows : b.cols;
  if (k !== kb) {
    throw new MadkitError(
      "DIMENSION_MISMATCH",
      `gemm: op(A) is ${m} x ${k} but op(B) is ${kb} x ${n}; inner dimensions must agree`,
    );
  }
  const is32 = a.data instanceof Float32Array;
  if (is32 !== b.data instanceof Float32Array) {
    throw new MadkitError("BAD_ARGUMENT", "gemm: A and B must both be Float32Array or both Float64Array");
  }
  let out = opts.out;
  if (out) {
    if (out.rows !== m || out.cols !== n) {
      throw new MadkitError("DIMENSION_MISMATCH", `gemm: output is ${out.rows} x ${out.cols}, the product is ${m} x ${n}`);
    }
    if (out.data instanceof Float32Array !== is32) {
      throw new MadkitError("BAD_ARGUMENT", "gemm: output element type must match the inputs'");
    }
  } else {
    out = matrix(m, n, (is32 ? new Float32Array(m * n) : new Float64Array(m * n)) as T);
  }
  if (m === 0 || n === 0) return out;
  if (k === 0) {
    if ((opts.beta ?? 0) === 0) out.data.fill(0);
    return out;
  }
  linalgBackend().gemm(!!opts.transA, !!opts.transB, m, n, k, opts.alpha ?? 1, a.data, a.cols, b.data, b.cols, opts.beta ?? 0, out.data, n);
  return out;
}

/**
 * C ← alpha·AᵀA + beta·C for A (rows x d) into a d x d C of the same element type (ssyrk or dsyrk).
 * syrk computes one triangle at half gemm's cost; the other is mirrored so C is a plain full matrix.
 */
export function gramInto<T extends FloatArray>(a: Matrix<T>, c: T, alpha = 1, beta = 1): void {
  const d = a.cols;
  if (c.length !== d * d) {
    throw new MadkitError("DIMENSION_MISMATCH", `gram: output has ${c.length} elements, a ${d} x ${d} matrix needs ${d * d}`);
  }
  const is32 = a.data instanceof Float32Array;
  if (is32 !== c instanceof Float32Array) throw new MadkitError("BAD_ARGUMENT", "gram: A and C must share an element type");
  if (d === 0) return;
  if (a.rows > 0) linalgBackend().syrkUpper(d, a.rows, alpha, a.data, beta, c); else if (beta !== 1) for (let i = 0; i < c.length; i++) c[i]! *= beta;
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) c[j * d + i] = c[i * d + j]!;
}

/** y ← alpha·op(A)·x + beta·y in A's precision (x and y of the same element type). */
export function gemvInto<T extends FloatArray>(a: Matrix<T>, x: T, y: T, opts: { trans?: boolean; alpha?: number; beta?: number } = {}): void {
  const inLen = opts.trans ? a.rows : a.cols;
  const outLen = opts.trans ? a.cols : a.rows;
  if (x.length !== inLen || y.length !== outLen) {
    throw new MadkitError(
      "DIMENSION_MISMATCH",
      `gemv: op(A) is ${outLen} x ${inLen}, x has ${x.length} entries and y ${y.length}`,
    );
  }
  const is32 = a.data instanceof Float32Array;
  if (is32 !== x instanceof Float32Array || is32 !== y instanceof Float32Array) {
    throw new MadkitError("BAD_ARGUMENT", "gemv: A, x and y must share an element type");
  }
  if (a.rows === 0 || a.cols === 0) {
    if ((opts.beta ?? 0) === 0) y.fill(0);
    return;
  }
  linalgBackend().gemv(!!opts.trans, a.rows, a.cols, opts.alpha ?? 1, a.data, x, opts.beta ?? 0, y);
}

/** A ← A + alpha·x·yᵀ (rank-one update) in A's precision; x has A.rows entries, y A.cols. */
export function rank1Into<T extends FloatArray>(a: Matrix<T>, x: T, y: T, alpha = 1): void {
  if (x.length !== a.rows || y.length !== a.cols) {
    throw new MadkitError("DIMENSION_MISMATCH", `ger: A is ${a.rows} x ${a.cols}, x has ${x.length} entries and y ${y.length}`);
  }
  const is32 = a.data instanceof Float32Array;
  if (is32 !== x instanceof Float32Array || is32 !== y instanceof Float32Array) {
    throw new MadkitError("BAD_ARGUMENT", "ger: A, x and y must share an element type");
  }
  if (a.rows === 0 || a.cols === 0) return;
  linalgBackend().ger(a.rows, a.cols, alpha, x, y, a.data);
}
