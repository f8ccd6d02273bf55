// Checks every detector runs on its inputs, so bad data fails with the same clear message everywhere:
// empty matrices, NaN/Inf (naming row and column) and a column count that differs from the fitted one.

import { MadkitError } from "../errors.js";
import { gemvInto } from "../linalg/blas.js";
import type { Matrix } from "../linalg/matrix.js";

/**
 * Throw NON_FINITE for row `row` of x, naming the first bad column; for callers that detect a bad row
 * cheaply (a NaN/Inf propagates into a row norm) instead of scanning every value up front.
 */
export function throwNonFinite(x: Matrix, row: number, kind: string, what: "trusted" | "input"): never {
  const d = x.cols;
  for (let j = 0; j < d; j++) {
    const v = x.data[row * d + j]!;
    if (!Number.isFinite(v)) {
      throw new MadkitError("NON_FINITE", `${kind}: ${what} row ${row} column ${j} is ${v}; every value must be finite`);
    }
  }
  throw new MadkitError("NON_FINITE", `${kind}: ${what} row ${row} has values too large to square without overflow`);
}

/**
 * Fast path: column sums by gemv (memory-bound, ~4x faster than a JS loop). A NaN/Inf anywhere makes some
 * sum non-finite; only then (or on an overflowing sum of huge finite values) is every value scanned.
 */
function checkFinite(x: Matrix, kind: string, what: string): void {
  if (x.rows === 0 || x.cols === 0) return;
  const f32 = x.data instanceof Float32Array;
  const ones = f32 ? new Float32Array(x.rows).fill(1) : new Float64Array(x.rows).fill(1);
  const sums = f32 ? new Float32Array(x.cols) : new Float64Array(x.cols);
  gemvInto(x as Matrix<typeof x.data>, ones, sums, { trans: true });
  let finite = true;
  for (let j = 0; j < sums.length; j++) if (sums[j]! - sums[j]! !== 0) finite = false;
  if (finite) return;
  const data = x.data;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // v - v is NaN exactly when v is NaN or ±Inf; cheaper than Number.isFinite in this hot loop.
    if (v - v !== 0) {
      const r = Math.floor(i / x.cols);
      throw new MadkitError("NON_FINITE", `${kind}: ${what} row ${r} column ${i - r * x.cols} is ${v}; every value must be finite`);
    }
  }
}

function checkShape(x: Matrix, kind: string, what: string): void {
  if (x.data.length !== x.rows * x.cols) {
    throw new MadkitError("DIMENSION_MISMATCH", `${kind}: ${what} says ${x.rows} x ${x.cols} but holds ${x.data.length} values`);
  }
  if (!(x.data instanceof Float32Array || x.data instanceof Float64Array)) {
    throw new MadkitError("BAD_INPUT", `${kind}: ${what} data must be a Float32Array or Float64Array`);
  }
}

/**
 * Trusted data: at least `minRows` rows, at least one column, all finite. `scanFinite: false` is for
 * callers that detect non-finite rows themselves in a pass they make anyway (and then call throwNonFinite).
 */
export function checkFitInput(x: Matrix, kind: string, minRows = 2, scanFinite = true): void {
  checkShape(x, kind, "trusted matrix");
  if (x.cols < 1) throw new MadkitError("BAD_INPUT", `${kind}: trusted matrix has no columns`);
  if (x.rows < minRows) {
    throw new MadkitError("BAD_INPUT", `${kind}: needs at least ${minRows} trusted rows to fit, got ${x.rows}`);
  }
  if (scanFinite) checkFinite(x, kind, "trusted");
}

/** Rows to score: the fitted column count, all finite (zero rows is allowed and gives zero scores). */
export function checkScoreInput(x: Matrix, dim: number, kind: string, scanFinite = true): void {
  checkShape(x, kind, "input matrix");
  if (x.cols !== dim) {
    throw new MadkitError(
      "DIMENSION_MISMATCH",
      `${kind}: detector was fitted on ${dim} features but the input has ${x.cols}`,
    );
  }
  if (scanFinite) checkFinite(x, kind, "input");
}
