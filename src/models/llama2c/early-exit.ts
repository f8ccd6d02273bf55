// The logit lens as a model: the final RMSNorm and classifier applied to the residual stream after layer k
// equal a checkpoint that keeps only the first k+1 layers. So an early exit is just a shorter checkpoint,
// and generation, NLL and hook extraction work on it unchanged (a weak model for the capability-gap task).

import { MadkitError } from "../../errors.js";
import { kvDim, parseLlama2cCheckpoint, serializeLlama2cCheckpoint, type Llama2cCheckpoint } from "./checkpoint.js";

/** The model that reads logits off `blocks.{layer}.hook_resid_post` (0-based layer). */
export function earlyExitCheckpoint(ckpt: Llama2cCheckpoint, layer: number): Llama2cCheckpoint {
  const c = ckpt.config;
  if (!Number.isInteger(layer) || layer < 0 || layer >= c.nLayers) {
    throw new MadkitError("BAD_ARGUMENT", `early exit layer must be an integer in 0..${c.nLayers - 1}, got ${layer}`);
  }
  const L = layer + 1;
  const w = ckpt.weights;
  const kv = kvDim(c);
  const keep = (t: Float32Array, perLayer: number): Float32Array => t.slice(0, L * perLayer);
  const config = { ...c, nLayers: L };
  const weights = {
    tokenEmbedding: w.tokenEmbedding,
    rmsAtt: keep(w.rmsAtt, c.dim),
    wq: keep(w.wq, c.dim * c.dim),
    wk: keep(w.wk, kv * c.dim),
    wv: keep(w.wv, kv * c.dim),
    wo: keep(w.wo, c.dim * c.dim),
    rmsFfn: keep(w.rmsFfn, c.dim),
    w1: keep(w.w1, c.hiddenDim * c.dim),
    w2: keep(w.w2, c.dim * c.hiddenDim),
    w3: keep(w.w3, c.hiddenDim * c.dim),
    rmsFinal: w.rmsFinal,
    wcls: w.wcls,
  };
  return parseLlama2cCheckpoint(serializeLlama2cCheckpoint(config, weights), `early-exit-${layer}`);
}
