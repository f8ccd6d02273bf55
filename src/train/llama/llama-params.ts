// A llama2.c checkpoint's weights as named host tensors for jax-js training, and back. Per-layer tensors are
// split into one tensor per layer (`l3.wq`), kept in llama2.c's (out, in) layout so the round trip is a copy.

import { MadkitError } from "../../errors.js";
import { kvDim, type Llama2cCheckpoint, type Llama2cConfig, type Llama2cWeights } from "../../models/llama2c/checkpoint.js";
import type { HostParams } from "../params.js";

type LayerKey = "rmsAtt" | "wq" | "wk" | "wv" | "wo" | "rmsFfn" | "w1" | "w2" | "w3";

/** Per-layer tensors, their short names and their per-layer shapes. */
function layerTensors(c: Llama2cConfig): Array<[LayerKey, string, number[]]> {
  const { dim, hiddenDim: h } = c;
  const kv = kvDim(c);
  return [
    ["rmsAtt", "rms_att", [dim]],
    ["wq", "wq", [dim, dim]],
    ["wk", "wk", [kv, dim]],
    ["wv", "wv", [kv, dim]],
    ["wo", "wo", [dim, dim]],
    ["rmsFfn", "rms_ffn", [dim]],
    ["w1", "w1", [h, dim]],
    ["w2", "w2", [dim, h]],
    ["w3", "w3", [h, dim]],
  ];
}

/** Every tensor name and shape the jax-js model trains, for a config. */
export function llamaParamShapes(c: Llama2cConfig): Record<string, number[]> {
  const out: Record<string, number[]> = { tok_emb: [c.vocabSize, c.dim], rms_final: [c.dim] };
  for (let l = 0; l < c.nLayers; l++) for (const [, name, shape] of layerTensors(c)) out[`l${l}.${name}`] = shape;
  if (!c.sharedClassifier) out.wcls = [c.vocabSize, c.dim];
  return out;
}

/** Copy a checkpoint's weights into named host tensors. */
export function paramsFromCheckpoint(ckpt: Llama2cCheckpoint): HostParams {
  const c = ckpt.config;
  const w = ckpt.weights;
  const out: HostParams = {
    tok_emb: { shape: [c.vocabSize, c.dim], data: w.tokenEmbedding.slice() },
    rms_final: { shape: [c.dim], data: w.rmsFinal.slice() },
  };
  for (const [key, name, shape] of layerTensors(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    for (let l = 0; l < c.nLayers; l++) out[`l${l}.${name}`] = { shape, data: w[key].slice(l * n, (l + 1) * n) };
  }
  if (!c.sharedClassifier) out.wcls = { shape: [c.vocabSize, c.dim], data: w.wcls.slice() };
  return out;
}

/** Stack named host tensors back into llama2.c weights (a shared classifier is the embedding itself). */
export function weightsFromParams(c: Llama2cConfig, p: HostParams): Llama2cWeights {
  const shapes = llamaParamShapes(c);
  for (const [name, shape] of Object.entries(shapes)) {
    const t = p[name];
    const n = shape.reduce((a, b) => a * b, 1);
    if (!t || t.data.length !== n) {
      throw new MadkitError(
        "DIMENSION_MISMATCH",
        `llama params: tensor '${name}' ${t ? `has ${t.data.length} floats` : "is missing"}, the config needs ${n} ([${shape.join(", ")}])`,
      );
    }
  }
  const stacked = {} as Record<LayerKey, Float32Array>;
  for (const [key, name, shape] of layerTensors(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const all = new Float32Array(c.nLayers * n);
    for (let l = 0; l < c.nLayers; l++) all.set(p[`l${l}.${name}`]!.data, l * n);
    stacked[key] = all;
  }
  const tokenEmbedding = p.tok_emb!.data.slice();
  return {
    tokenEmbedding,
    ...stacked,
    rmsFinal: p.rms_final!.data.slice(),
    wcls: c.sharedClassifier ? tokenEmbedding : p.wcls!.data.slice(),
  };
}
