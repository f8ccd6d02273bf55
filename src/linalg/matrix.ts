// The one matrix type every numeric module shares: row-major over a flat typed array.
// Element (i, j) lives at data[i * cols + j]. No arrays of arrays anywhere numbers are many.

import { MadkitError } from "../errors.js";

export type FloatArray = Float32Array | Float64Array;

export interface Matrix<T extends FloatArray = FloatArray> {
  readonly rows: number;
  readonly cols: number;
  readonly data: T;
}

export function matrix<T extends FloatArray>(rows: number, cols: number, data: T): Matrix<T> {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new MadkitError("BAD_ARGUMENT", `matrix shape must be non-negative integers, got ${rows} x ${cols}`);
  }
  if (data.length !== rows * cols) {
    throw new MadkitError(
      "DIMENSION_MISMATCH",
      `matrix data has ${data.length} elements, a ${rows} x ${cols} matrix needs ${rows * cols}`,
    );
  }
  return { rows, cols, data };
}

export function zeros32(rows: number, cols: number): Matrix<Float32Array> {
  return matrix(rows, cols, new Float32Array(rows * cols));
}

export function zeros64(rows: number, cols: number): Matrix<Float64Array> {
  return matrix(rows, cols, new Float64Array(rows * cols));
}

/** A view of row i (no copy). */
export function row<T extends FloatArray>(m: Matrix<T>, i: number): T {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols) as T;
}

/** Rows [start, end) as a matrix sharing memory with m. */
export function rowSlice<T extends FloatArray>(m: Matrix<T>, start: number, end: number): Matrix<T> {
  return matrix(end - start, m.cols, m.data.subarray(start * m.cols, end * m.cols) as T);
}

/** Copy rows `rows` (in that order) of a row-major array with `cols` columns into `out`; returns `out`. */
export function copyRows<T extends FloatArray>(data: FloatArray, cols: number, rows: ArrayLike<number>, out: T): T {
  for (let k = 0; k < rows.length; k++) out.set(data.subarray(rows[k]! * cols, (rows[k]! + 1) * cols), k * cols);
  return out;
}

/** Rows `rows` of m (in that order, repeats allowed) as a new matrix in m's precision. */
export function takeRows<T extends FloatArray>(m: Matrix<T>, rows: ArrayLike<number>): Matrix<T> {
  const n = rows.length * m.cols;
  const out = (m.data instanceof Float64Array ? new Float64Array(n) : new Float32Array(n)) as T;
  return matrix(rows.length, m.cols, copyRows(m.data, m.cols, rows, out));
}

/** Rows `rows` of m (in that order) as a new Float32 matrix, whatever m's precision. */
export function takeRows32(m: Matrix, rows: ArrayLike<number>): Matrix<Float32Array> {
  return matrix(rows.length, m.cols, copyRows(m.data, m.cols, rows, new Float32Array(rows.length * m.cols)));
}

/** Stack matrices with equal column counts vertically into a new Float32 matrix. */
export function vstack32(parts: readonly Matrix[]): Matrix<Float32Array> {
  if (parts.length === 0) return zeros32(0, 0);
  const cols = parts[0]!.cols;
  let rows = 0;
  for (const p of parts) {
    if (p.cols !== cols) {
      throw new MadkitError("DIMENSION_MISMATCH", `cannot stack a matrix of ${p.cols} columns under one of ${cols}`);
    }
    rows += p.rows;
  }
  const out = new Float32Array(rows * cols);
  let off = 0;
  for (const p of parts) {
    out.set(p.data, off);
    off += p.data.length;
  }
  return matrix(rows, cols, out);
}

/** Index of the first non-finite entry, or -1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return i;
  return -1;
}
