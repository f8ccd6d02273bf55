// Token pooling: turn one input's [tokens x dim] activations into the rows the store keeps — the last
// token's vector, the mean over tokens, or every token. Sequence-granularity hooks are already one row.

import { MadkitError } from "../errors.js";
import { matrix, type Matrix } from "../linalg/matrix.js";
import type { HookGranularity } from "../models/source.js";

export const POOLINGS = ["last", "mean", "all"] as const;
export type Pooling = (typeof POOLINGS)[number];

export function parsePooling(value: string): Pooling {
  if ((POOLINGS as readonly string[]).includes(value)) return value as Pooling;
  throw new MadkitError("BAD_ARGUMENT", `unknown pooling '${value}'; expected one of ${POOLINGS.join(", ")}`);
}

/** Rows one input contributes to a hook's tensor: 1, except `all` pooling of a token hook (one per token). */
export function pooledRows(pooling: Pooling, granularity: HookGranularity, tokens: number): number {
  return granularity === "token" && pooling === "all" ? tokens : 1;
}

/**
 * Pool one input's activations. `mean` accumulates in float64 so long inputs do not lose precision, then
 * rounds once to float32. `all` and sequence hooks return the input matrix itself (no copy).
 */
export function poolTokens(m: Matrix<Float32Array>, pooling: Pooling, granularity: HookGranularity = "token"): Matrix<Float32Array> {
  if (granularity === "sequence" || pooling === "all") return m;
  if (m.rows === 0) {
    throw new MadkitError("BAD_INPUT", `cannot pool '${pooling}' over zero tokens`);
  }
  const { rows, cols, data } = m;
  if (pooling === "last") return matrix(1, cols, data.slice((rows - 1) * cols, rows * cols));
  const acc = new Float64Array(cols);
  for (let t = 0; t < rows; t++) {
    const off = t * cols;
    for (let j = 0; j < cols; j++) acc[j]! += data[off + j]!;
  }
  const out = new Float32Array(cols);
  for (let j = 0; j < cols; j++) out[j] = acc[j]! / rows;
  return matrix(1, cols, out);
}
