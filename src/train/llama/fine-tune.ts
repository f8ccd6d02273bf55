// Fine-tuning a llama2.c model with jax-js: seeded batches of token windows, next-token cross-entropy with a
// per-token mask, AdamW fused with the gradient into one jitted step. Returns a checkpoint in the llama2.c
// layout, so every adapter (TS forward, ONNX export) reads the result.

import { jit, numpy as np, valueAndGrad } from "@jax-js/jax";
import { MadkitError } from "../../errors.js";
import {
  parseLlama2cCheckpoint,
  serializeLlama2cCheckpoint,
  type Llama2cCheckpoint,
  type Llama2cConfig,
} from "../../models/llama2c/checkpoint.js";
import { ADAM_DEFAULTS, adamStepSize, adamUpdate, type AdamOptions } from "../adam.js";
import { disposeAll, refAll, toDevice, toHostConsuming, zerosLike, type DeviceParams, type HostParams } from "../params.js";
import { SeededRng } from "../../random/seeded-rng.js";
import { llamaConstants, llamaLoss } from "./llama-forward.js";
import { paramsFromCheckpoint, weightsFromParams } from "./llama-params.js";

/** One training sequence: token ids (BOS first). `lossMask[i]` = 1 when predicting ids[i] counts (i ≥ 1). */
export interface TrainingSequence {
  readonly ids: Int32Array;
  readonly lossMask?: Uint8Array;
}

export interface FineTuneProgress {
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly tokensPerSecond: number;
}

export interface FineTuneOptions {
  readonly seed: number;
  readonly steps: number;
  /** Sequences per step. */
  readonly batchSize: number;
  /** Tokens per window (the model sees T inputs and predicts T targets); longer sequences get a random window. */
  readonly windowLength: number;
  readonly learningRate: number;
  /** Decoupled (AdamW) weight decay. */
  readonly weightDecay: number;
  readonly onProgress?: (p: FineTuneProgress) => void;
}

export const FINE_TUNE_DEFAULTS: Omit<FineTuneOptions, "onProgress"> = {
  seed: 0,
  steps: 200,
  batchSize: 16,
  windowLength: 64,
  learningRate: 5e-4,
  weightDecay: 0.01,
};

export interface FineTuneResult {
  readonly checkpoint: Llama2cCheckpoint;
  /** Training loss (nats per target token) at every step. */
  readonly losses: number[];
  readonly seconds: number;
  /** Target tokens per second over the whole run (jit compilation included). */
  readonly tokensPerSecond: number;
}

/** Named host tensors back into a checkpoint (serialised and re-read, so `revision` is the file's hash). */
export function checkpointFromParams(config: Llama2cConfig, params: HostParams): Llama2cCheckpoint {
  return parseLlama2cCheckpoint(serializeLlama2cCheckpoint(config, weightsFromParams(config, params)), "fine-tuned");
}

/** Fill one batch of windows: ids, targets, loss mask (0 on padding). Returns the number of counted targets. */
function fillBatch(
  rng: SeededRng, seqs: readonly TrainingSequence[], T: number, ids: Int32Array, tgt: Int32Array, mask: Float32Array,
): number {
  ids.fill(0);
  tgt.fill(0);
  mask.fill(0);
  let counted = 0;
  const B = ids.length / T;
  for (let b = 0; b < B; b++) {
    const s = seqs[rng.int(seqs.length)]!;
    const start = s.ids.length > T + 1 ? rng.int(s.ids.length - T) : 0;
    const n = Math.min(T, s.ids.length - 1 - start);
    for (let t = 0; t < n; t++) {
      ids[b * T + t] = s.ids[start + t]!;
      tgt[b * T + t] = s.ids[start + t + 1]!;
      const m = s.lossMask ? s.lossMask[start + t + 1]! : 1;
      mask[b * T + t] = m;
      counted += m;
    }
  }
  return counted;
}

export function fineTuneLlama(
  base: Llama2cCheckpoint, sequences: readonly TrainingSequence[], options: Partial<FineTuneOptions> = {},
): FineTuneResult {
  const opts: FineTuneOptions = { ...FINE_TUNE_DEFAULTS, ...options };
  const c = base.config;
  const { steps, batchSize: B, windowLength: T } = opts;
  for (const [name, v] of [["steps", steps], ["batchSize", B], ["windowLength", T]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new MadkitError("BAD_ARGUMENT", `fine-tune: ${name} must be a positive integer, got ${v}`);
  }
  if (T > c.seqLen) throw new MadkitError("BAD_ARGUMENT", `fine-tune: windowLength ${T} exceeds the model's context ${c.seqLen}`);
  const usable = sequences.filter((s) => s.ids.length >= 2);
  if (usable.length === 0) throw new MadkitError("BAD_INPUT", "fine-tune: no training sequence has 2 or more tokens");
  for (const s of usable) {
    if (s.lossMask && s.lossMask.length !== s.ids.length) {
      throw new MadkitError("DIMENSION_MISMATCH", `fine-tune: a lossMask has ${s.lossMask.length} entries, its ids ${s.ids.length}`);
    }
  }
  const adam: AdamOptions = { ...ADAM_DEFAULTS, learningRate: opts.learningRate, weightDecay: opts.weightDecay };
  const host0 = paramsFromCheckpoint(base);
  let params = toDevice(host0);
  let m = toDevice(zerosLike(host0));
  let v = toDevice(zerosLike(host0));
  const consts = llamaConstants(c, T);
  const lossFn = (p: DeviceParams, k: DeviceParams, ids: np.Array, tgt: np.Array, mask: np.Array): np.Array =>
    llamaLoss(c, p, k, ids, tgt, mask);
  const step = jit((p: DeviceParams, mm: DeviceParams, vv: DeviceParams, k: DeviceParams, ids: np.Array, tgt: np.Array, mask: np.Array, lrT: np.Array) => {
    const [loss, grads] = valueAndGrad(lossFn)(refAll(p), k, ids, tgt, mask) as [np.Array, DeviceParams];
    const next = adamUpdate(p, mm, vv, grads, lrT, adam);
    return [next.params, next.m, next.v, loss] as [DeviceParams, DeviceParams, DeviceParams, np.Array];
  });
  const rng = new SeededRng(opts.seed);
  const ids = new Int32Array(B * T);
  const tgt = new Int32Array(B * T);
  const mask = new Float32Array(B * T);
  const losses: number[] = [];
  let tokens = 0;
  const t0 = performance.now();
  try {
    for (let t = 1; t <= steps; t++) {
      tokens += fillBatch(rng, usable, T, ids, tgt, mask);
      const [p1, m1, v1, loss] = step(
        params, m, v, refAll(consts),
        np.array(ids, { dtype: np.int32 }).reshape([B, T]),
        np.array(tgt, { dtype: np.int32 }).reshape([B, T]),
        np.array(mask).reshape([B, T]),
        np.array(new Float32Array([adamStepSize(t, adam)])).reshape([]),
      );
      params = p1;
      m = m1;
      v = v1;
      const l = (loss.dataSync() as Float32Array)[0]!;
      if (!Number.isFinite(l)) {
        throw new MadkitError("NON_FINITE", `fine-tune: loss became ${l} at step ${t}; lower the learning rate`);
      }
      losses.push(l);
      const seconds = (performance.now() - t0) / 1000;
      opts.onProgress?.({ step: t, steps, loss: l, tokensPerSecond: tokens / seconds });
    }
    const seconds = (performance.now() - t0) / 1000;
    const checkpoint = checkpointFromParams(c, toHostConsuming(refAll(params)));
    return { checkpoint, losses, seconds, tokensPerSecond: tokens / seconds };
  } finally {
    disposeAll(params);
    disposeAll(m);
    disposeAll(v);
    disposeAll(consts);
    step.dispose();
  }
}
