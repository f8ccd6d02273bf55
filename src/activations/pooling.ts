// Token pooling: turn one input's [tokens x dim] activations into the rows the store keeps — the last
// token's vector, the mean over tokens, the √n-scaled mean (`rootn`), or every token. Sequence-granularity hooks
// are already one row.

import { MadkitError } from "../errors.js";
import { matrix, type Matrix } from "../linalg/matrix.js";
import type { HookGranularity } from "../models/source.js";

export const POOLINGS = ["last", "mean", "rootn", "all"] as const;
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
 * rounds once to float32. `rootn` is the token sum over √n (= √n × mean): if token vectors scatter around a
 * common centre, a mean over n tokens scatters √n times less than one token, so a plain mean pulls long inputs
 * towards the trusted centre and makes them look typical; scaling by √n keeps the spread around the centre the same
 * at every length (the central-limit scaling), so a long input that keeps drifting one way stands out instead. The
 * centre itself is not subtracted (pooling sees one input), so it grows with √n: one more direction a detector
 * fitted on trusted inputs of mixed lengths learns.
 * `all` and sequence hooks return the input matrix itself (no copy).
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
  const divisor = pooling === "rootn" ? Math.sqrt(rows) : rows;
  for (let j = 0; j < cols; j++) out[j] = acc[j]! / divisor;
  return matrix(1, cols, out);
}
