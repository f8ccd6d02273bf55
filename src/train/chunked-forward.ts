// Scoring runs a jitted forward function over a matrix in fixed-size row chunks (the last one zero-padded),
// so a scorer compiles once per chunk shape and memory stays bounded however many rows come in.

import { jit, numpy as np } from "@jax-js/jax";
import { refAll, toDevice, disposeAll, type DeviceParams, type HostParams } from "./params.js";

/** Rows per forward chunk: big enough for efficient matmuls, small enough for a 4×768-wide SAE. */
export const DEFAULT_CHUNK_ROWS = 512;

/**
 * Calls `fn(params, xChunk, ...extra)` for each chunk of `data` (rows × cols) and hands the valid rows of each
 * output (row-major Float32Array, leading dimension = chunk rows) to `sink(outputs, firstRow, nRows)`.
 * `fn` must consume its arguments (jax-js convention) and return arrays whose first axis is the chunk.
 */
export function forEachChunk(
  fn: (p: DeviceParams, x: np.Array, ...extra: np.Array[]) => np.Array[],
  params: HostParams,
  data: Float32Array,
  rows: number,
  cols: number,
  extra: readonly Float32ArrayWithShape[],
  sink: (outputs: Float32Array[], firstRow: number, nRows: number) => void,
  chunkRows = DEFAULT_CHUNK_ROWS,
): void {
  if (rows === 0) return;
  const chunk = Math.min(chunkRows, rows);
  const compiled = jit(fn);
  const dev = toDevice(params);
  const buf = new Float32Array(chunk * cols);
  try {
    for (let start = 0; start < rows; start += chunk) {
      const n = Math.min(chunk, rows - start);
      buf.fill(0);
      buf.set(data.subarray(start * cols, (start + n) * cols));
      const ex = extra.map((e) => np.array(new Float32Array(e.data)).reshape([...e.shape]));
      const outs = compiled(refAll(dev), np.array(buf).reshape([chunk, cols]), ...ex);
      sink(outs.map((o) => o.dataSync() as Float32Array), start, n);
    }
  } finally {
    disposeAll(dev);
    compiled.dispose();
  }
}

export interface Float32ArrayWithShape {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** One value per row: `fn` returns a [chunk] array. */
export function perRow(
  fn: (p: DeviceParams, x: np.Array, ...extra: np.Array[]) => np.Array,
  params: HostParams,
  data: Float32Array,
  rows: number,
  cols: number,
  extra: readonly Float32ArrayWithShape[] = [],
): Float64Array {
  const out = new Float64Array(rows);
  forEachChunk(
    (p, x, ...e) => [fn(p, x, ...e)],
    params,
    data,
    rows,
    cols,
    extra,
    (outs, first, n) => {
      for (let i = 0; i < n; i++) out[first + i] = outs[0]![i]!;
    },
  );
  return out;
}
