// Folding the feature columns the trusted fit rows never use into one "unseen" column, before a surface baseline's
// detector fits. Hashed one-hot features are mostly empty columns: dropping them would hide exactly the tokens a
// trusted set never ends in (the sceptic's trigger), keeping them costs every detector O(width) dimensions of zeros.
// Summing them into one column keeps "something unseen is here" visible at a cost of one dimension.

import { MadkitError } from "../errors.js";

/** Which columns the fit rows use; everything else is summed into a last column. */
export interface ColumnFold {
  /** Width of the features folded. */
  readonly from: number;
  /** Kept columns, ascending. */
  readonly keep: Uint32Array;
  /** keep.length + 1. */
  readonly dim: number;
}

/** The fold of `fit` (rows × from, row-major): keep every column with a non-zero entry in some fit row. */
export function fitColumnFold(fit: Float32Array, from: number): ColumnFold {
  if (!(Number.isInteger(from) && from > 0) || fit.length % from !== 0) {
    throw new MadkitError("BAD_INPUT", `column fold: ${fit.length} values do not make rows of ${from} columns`);
  }
  const used = new Uint8Array(from);
  for (let i = 0; i < fit.length; i++) if (fit[i] !== 0) used[i % from] = 1;
  const keep: number[] = [];
  for (let c = 0; c < from; c++) if (used[c]) keep.push(c);
  return { from, keep: Uint32Array.from(keep), dim: keep.length + 1 };
}

/** x (rows × fold.from) → rows × fold.dim: the kept columns in order, then the sum of the others. */
export function applyColumnFold(fold: ColumnFold, x: Float32Array): Float32Array {
  if (x.length % fold.from !== 0) throw new MadkitError("BAD_INPUT", `column fold: ${x.length} values do not make rows of ${fold.from} columns`);
  const rows = x.length / fold.from;
  const out = new Float32Array(rows * fold.dim);
  const kept = new Uint8Array(fold.from);
  for (const c of fold.keep) kept[c] = 1;
  for (let r = 0; r < rows; r++) {
    const src = r * fold.from;
    const dst = r * fold.dim;
    let rest = 0;
    for (let c = 0; c < fold.from; c++) if (!kept[c]) rest += x[src + c]!;
    for (let j = 0; j < fold.keep.length; j++) out[dst + j] = x[src + fold.keep[j]!]!;
    out[dst + fold.keep.length] = rest;
  }
  return out;
}
