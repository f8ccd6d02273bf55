// Per-row symmetric weight quantisation of a llama2.c checkpoint (int8, int4, ...), returned dequantised as a
// float checkpoint: a weaker copy of the same model that every adapter runs unchanged (the capability-gap
// task's "quantised" weak model). RMSNorm gains stay float, as in llama2.c's runq.c.

import { MadkitError } from "../../errors.js";
import { parseLlama2cCheckpoint, serializeLlama2cCheckpoint, type Llama2cCheckpoint, type Llama2cWeights } from "./checkpoint.js";

/**
 * Quantise rows of `cols` values in place into `out`: per row, scale = max|w| / (2^(bits−1) − 1),
 * q = round(w / scale) (so |q| ≤ qmax), out = q · scale. Returns the per-row scales; |w − out| ≤ scale / 2.
 */
export function quantizeRows(w: Float32Array, cols: number, bits: number, out: Float32Array = new Float32Array(w.length)): Float32Array {
  if (!Number.isInteger(bits) || bits < 2 || bits > 16) {
    throw new MadkitError("BAD_ARGUMENT", `quantisation bits must be an integer in 2..16, got ${bits}`);
  }
  if (cols < 1 || w.length % cols !== 0) {
    throw new MadkitError("DIMENSION_MISMATCH", `quantizeRows: ${w.length} values do not split into rows of ${cols}`);
  }
  const qmax = 2 ** (bits - 1) - 1;
  const rows = w.length / cols;
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let amax = 0;
    for (let i = 0; i < cols; i++) amax = Math.max(amax, Math.abs(w[o + i]!));
    const scale = amax / qmax;
    scales[r] = scale;
    for (let i = 0; i < cols; i++) out[o + i] = scale === 0 ? 0 : Math.round(w[o + i]! / scale) * scale;
  }
  return scales;
}

/** A copy of the checkpoint whose weight matrices (embedding/classifier included) are quantised per row. */
export function quantizeCheckpoint(ckpt: Llama2cCheckpoint, bits: number): Llama2cCheckpoint {
  const c = ckpt.config;
  const w = ckpt.weights;
  const q = (t: Float32Array, cols: number): Float32Array => {
    const out = new Float32Array(t.length);
    quantizeRows(t, cols, bits, out);
    return out;
  };
  const tokenEmbedding = q(w.tokenEmbedding, c.dim);
  const weights: Llama2cWeights = {
    tokenEmbedding,
    rmsAtt: w.rmsAtt.slice(),
    wq: q(w.wq, c.dim),
    wk: q(w.wk, c.dim),
    wv: q(w.wv, c.dim),
    wo: q(w.wo, c.dim),
    rmsFfn: w.rmsFfn.slice(),
    w1: q(w.w1, c.dim),
    w2: q(w.w2, c.hiddenDim),
    w3: q(w.w3, c.dim),
    rmsFinal: w.rmsFinal.slice(),
    wcls: c.sharedClassifier ? tokenEmbedding : q(w.wcls, c.dim),
  };
  return parseLlama2cCheckpoint(serializeLlama2cCheckpoint(c, weights), `quantised-int${bits}`);
}
