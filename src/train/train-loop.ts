// The one training loop every gradient-trained detector shares: seeded init, seeded minibatch shuffles,
// Adam fused with the gradient into a single jitted step (jax-js), optional early stopping on a held-out
// slice of the trusted rows. Same seed + same data → the same weights, bit for bit (one wasm thread).

import { jit, numpy as np, valueAndGrad } from "@jax-js/jax";
import { MadkitError } from "../errors.js";
import { ADAM_DEFAULTS, adamStepSize, adamUpdate, type AdamOptions } from "./adam.js";
import { disposeAll, refAll, toDevice, toHostConsuming, zerosLike, type DeviceParams, type HostParams } from "./params.js";
import { SeededRng } from "../random/seeded-rng.js";

/** What a network must provide to be trained by `trainModel`. */
export interface TrainableModel {
  /** Used in error messages. */
  readonly name: string;
  /** Columns of N(0,1) noise the loss needs per row each step (0 = deterministic loss, e.g. a plain AE). */
  readonly noiseCols: number;
  /** Fresh parameters drawn from `rng`. */
  init(rng: SeededRng, data: Float32Array, rows: number): HostParams;
  /** Mean loss over the batch rows (a scalar). Consumes `p`, `x` and `noise`. */
  loss(p: DeviceParams, x: np.Array, noise: np.Array | null): np.Array;
  /** Projection applied after every update (e.g. unit-norm decoder rows). Consumes `p`. */
  constrain?(p: DeviceParams): DeviceParams;
}

export interface TrainOptions {
  readonly seed: number;
  /** Passes over the training rows (an upper bound when early stopping is on). */
  readonly epochs: number;
  /** Rows per step; clipped to the training-set size. The last partial batch of an epoch is dropped so the
   *  jitted step sees one shape (rows rotate through it across epochs thanks to the shuffle). */
  readonly batchSize: number;
  readonly adam: Partial<AdamOptions>;
  /** Fraction of the trusted rows held out to watch for over-fitting; 0 trains on all and never stops early. */
  readonly validationFraction: number;
  /** Epochs without a validation improvement before stopping (0 = run all epochs, keep the best anyway). */
  readonly patience: number;
  /** Learning-rate schedule over the planned steps: "cosine" anneals to 0 (lets SGD noise die out, which
   *  matters when a score is read off the optimum, as with the VAE's ELBO); "constant" keeps it fixed. */
  readonly schedule: "constant" | "cosine";
}

export const TRAIN_DEFAULTS: TrainOptions = {
  seed: 0,
  epochs: 50,
  batchSize: 256,
  adam: {},
  validationFraction: 0,
  patience: 0,
  schedule: "cosine",
};

export interface TrainResult {
  readonly params: HostParams;
  /** Mean training loss per epoch. */
  readonly trainLoss: number[];
  /** Validation loss per epoch (empty without a validation split). */
  readonly validationLoss: number[];
  /** Epoch (0-based) whose parameters were kept. */
  readonly bestEpoch: number;
  readonly steps: number;
}

/** Relative improvement below which a validation loss does not count as better. */
const MIN_REL_IMPROVEMENT = 1e-4;

/**
 * Train `model` on `data` (rows × cols, already standardised). Synchronous: jax-js's wasm backend runs
 * on the calling thread.
 */
export function trainModel(
  model: TrainableModel,
  data: Float32Array,
  rows: number,
  cols: number,
  options: Partial<TrainOptions> = {},
): TrainResult {
  const opts: TrainOptions = { ...TRAIN_DEFAULTS, ...options };
  const adam: AdamOptions = { ...ADAM_DEFAULTS, ...opts.adam };
  checkTrainInputs(model.name, data, rows, cols, opts);
  // The order of draws from `rng` (split, init, validation noise, then per epoch a shuffle and per step the
  // noise) is what makes a seed reproduce the same weights: keep it.
  const rng = new SeededRng(opts.seed);
  const split = splitRows(model.name, data, rows, cols, opts.validationFraction, rng);
  const host0 = model.init(rng, split.trainData, split.nTrain);
  const state: OptimizerState = { params: toDevice(host0), m: toDevice(zerosLike(host0)), v: toDevice(zerosLike(host0)), t: 0 };
  const batch = Math.min(opts.batchSize, split.nTrain);
  const stepsPerEpoch = Math.floor(split.nTrain / batch);
  const { step, evalLoss } = compileSteps(model, adam);
  // Validation noise is drawn once so the validation loss moves only with the weights.
  const valNoise = split.nVal > 0 && model.noiseCols > 0 ? rng.fillNormal(new Float32Array(split.nVal * model.noiseCols)) as Float32Array : null;
  const loop: EpochLoop = {
    model, opts, adam, rng, cols, batch, stepsPerEpoch, step,
    nTrain: split.nTrain,
    trainData: split.trainData,
    totalSteps: stepsPerEpoch * opts.epochs,
    xBuf: new Float32Array(batch * cols),
    noiseBuf: new Float32Array(batch * Math.max(model.noiseCols, 1)),
  };
  const trainLoss: number[] = [];
  const validationLoss: number[] = [];
  const keep: BestEpoch = { loss: Infinity, epoch: 0, params: null, since: 0 };
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      trainLoss.push(runEpoch(loop, state, epoch));
      if (!split.valData) {
        keep.epoch = epoch;
        continue;
      }
      const vl = chunkedMeanLoss(evalLoss, state.params, split.valData, split.nVal, cols, valNoise, model.noiseCols, batch);
      validationLoss.push(vl);
      if (keepIfBetter(keep, vl, epoch, state.params, opts.patience)) break;
    }
    const finalParams = keep.params ?? toHostConsuming(refAll(state.params));
    return { params: finalParams, trainLoss, validationLoss, bestEpoch: keep.epoch, steps: state.t };
  } finally {
    disposeAll(state.params);
    disposeAll(state.m);
    disposeAll(state.v);
    step.dispose();
    evalLoss.dispose();
  }
}

function checkTrainInputs(name: string, data: Float32Array, rows: number, cols: number, opts: TrainOptions): void {
  if (data.length !== rows * cols) {
    throw new MadkitError("DIMENSION_MISMATCH", `${name}: data has ${data.length} values, ${rows} x ${cols} needs ${rows * cols}`);
  }
  if (!(opts.validationFraction >= 0 && opts.validationFraction < 1)) {
    throw new MadkitError("BAD_ARGUMENT", `${name}: validationFraction must be in [0, 1), got ${opts.validationFraction}`);
  }
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) {
    throw new MadkitError("BAD_ARGUMENT", `${name}: epochs must be a positive integer, got ${opts.epochs}`);
  }
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new MadkitError("BAD_ARGUMENT", `${name}: batchSize must be a positive integer, got ${opts.batchSize}`);
  }
}

interface RowSplit {
  readonly nTrain: number;
  readonly nVal: number;
  readonly trainData: Float32Array;
  /** The held-out rows; null without a validation split. */
  readonly valData: Float32Array | null;
}

/** Training and validation rows: a seeded permutation split when validating, else all rows in order. */
function splitRows(name: string, data: Float32Array, rows: number, cols: number, validationFraction: number, rng: SeededRng): RowSplit {
  const nVal = Math.floor(rows * validationFraction);
  const nTrain = rows - nVal;
  if (nTrain < 2) throw new MadkitError("BAD_INPUT", `${name}: need at least 2 training rows, got ${nTrain}`);
  const split = nVal > 0 ? rng.permutation(rows) : null;
  const trainRows = split ? split.subarray(0, nTrain) : identity(rows);
  return {
    nTrain,
    nVal,
    trainData: gatherRows(data, cols, trainRows),
    valData: split ? gatherRows(data, cols, split.subarray(nTrain)) : null,
  };
}

/**
 * The jitted training step (loss and gradient, Adam, the model's constraint) and the jitted loss alone.
 * A deterministic model's loss takes no noise argument at all: both still receive a dummy noise array
 * (one signature for both kinds) and dispose it unused.
 */
function compileSteps(model: TrainableModel, adam: AdamOptions) {
  const noiseCols = model.noiseCols;
  const noisyLoss = (p: DeviceParams, x: np.Array, noise: np.Array): np.Array => model.loss(p, x, noise);
  const plainLoss = (p: DeviceParams, x: np.Array): np.Array => model.loss(p, x, null);
  const lossOf = (p: DeviceParams, x: np.Array, noise: np.Array): np.Array => {
    if (noiseCols > 0) return noisyLoss(p, x, noise);
    noise.dispose();
    return plainLoss(p, x);
  };
  const step = jit((p: DeviceParams, mm: DeviceParams, vv: DeviceParams, x: np.Array, noise: np.Array, lrT: np.Array) => {
    let loss: np.Array;
    let grads: DeviceParams;
    if (noiseCols > 0) [loss, grads] = valueAndGrad(noisyLoss)(refAll(p), x, noise) as [np.Array, DeviceParams];
    else {
      noise.dispose();
      [loss, grads] = valueAndGrad(plainLoss)(refAll(p), x) as [np.Array, DeviceParams];
    }
    const next = adamUpdate(p, mm, vv, grads, lrT, adam);
    const constrained = model.constrain ? model.constrain(next.params) : next.params;
    return [constrained, next.m, next.v, loss] as [DeviceParams, DeviceParams, DeviceParams, np.Array];
  });
  return { step, evalLoss: jit(lossOf) };
}

/** The device weights, Adam's moments and the 1-based count of steps taken; each step replaces all four. */
interface OptimizerState {
  params: DeviceParams;
  m: DeviceParams;
  v: DeviceParams;
  t: number;
}

/** What every epoch of one training run shares. */
interface EpochLoop {
  readonly model: TrainableModel;
  readonly opts: TrainOptions;
  readonly adam: AdamOptions;
  readonly rng: SeededRng;
  readonly nTrain: number;
  readonly trainData: Float32Array;
  readonly cols: number;
  readonly batch: number;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  readonly step: ReturnType<typeof compileSteps>["step"];
  /** Reused batch buffers: rows, and N(0,1) noise (one column when the model takes none). */
  readonly xBuf: Float32Array;
  readonly noiseBuf: Float32Array;
}

/** One pass over a fresh shuffle of the training rows; returns the mean training loss. */
function runEpoch(loop: EpochLoop, state: OptimizerState, epoch: number): number {
  const { model, adam, rng, trainData, cols, batch, xBuf, noiseBuf } = loop;
  const noiseCols = model.noiseCols;
  const order = rng.permutation(loop.nTrain);
  let sum = 0;
  for (let s = 0; s < loop.stepsPerEpoch; s++) {
    for (let r = 0; r < batch; r++) {
      const src = order[s * batch + r]! * cols;
      xBuf.set(trainData.subarray(src, src + cols), r * cols);
    }
    if (noiseCols > 0) rng.fillNormal(noiseBuf);
    const t = ++state.t;
    const [p1, m1, v1, loss] = loop.step(
      state.params,
      state.m,
      state.v,
      np.array(xBuf).reshape([batch, cols]),
      np.array(noiseBuf).reshape([batch, Math.max(noiseCols, 1)]),
      np.array(new Float32Array([adamStepSize(t, adam) * scheduleFactor(loop.opts.schedule, t, loop.totalSteps)])).reshape([]),
    );
    state.params = p1;
    state.m = m1;
    state.v = v1;
    const l = (loss.dataSync() as Float32Array)[0]!;
    if (!Number.isFinite(l)) {
      throw new MadkitError("NON_FINITE", `${model.name}: training loss became ${l} at epoch ${epoch}, step ${t}; lower the learning rate`);
    }
    sum += l;
  }
  return sum / loop.stepsPerEpoch;
}

/** The epoch whose weights are kept (by validation loss) and the epochs since it improved. */
interface BestEpoch {
  loss: number;
  epoch: number;
  params: HostParams | null;
  since: number;
}

/** Keep `params` when `vl` improves on the best so far; true when `patience` epochs have passed without one. */
function keepIfBetter(keep: BestEpoch, vl: number, epoch: number, params: DeviceParams, patience: number): boolean {
  if (vl < keep.loss - Math.abs(keep.loss) * MIN_REL_IMPROVEMENT || keep.params === null) {
    keep.loss = vl;
    keep.epoch = epoch;
    keep.params = toHostConsuming(refAll(params));
    keep.since = 0;
    return false;
  }
  return patience > 0 && ++keep.since >= patience;
}

function chunkedMeanLoss(
  evalLoss: (p: DeviceParams, x: np.Array, noise: np.Array) => np.Array,
  params: DeviceParams,
  data: Float32Array,
  rows: number,
  cols: number,
  noise: Float32Array | null,
  noiseCols: number,
  chunk: number,
): number {
  let total = 0;
  const nc = Math.max(noiseCols, 1);
  for (let start = 0; start < rows; start += chunk) {
    const n = Math.min(chunk, rows - start);
    const x = np.array(data.slice(start * cols, (start + n) * cols)).reshape([n, cols]);
    const e = noise ? np.array(noise.slice(start * nc, (start + n) * nc)).reshape([n, nc]) : np.zeros([n, nc]);
    total += (evalLoss(refAll(params), x, e).dataSync() as Float32Array)[0]! * n;
  }
  return total / rows;
}

/** Multiplier on the step size at step t (1-based) of `total`. */
function scheduleFactor(schedule: TrainOptions["schedule"], t: number, total: number): number {
  if (schedule === "constant") return 1;
  return 0.5 * (1 + Math.cos((Math.PI * (t - 1)) / total));
}

function identity(n: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return p;
}

export function gatherRows(data: Float32Array, cols: number, idx: Int32Array): Float32Array {
  const out = new Float32Array(idx.length * cols);
  for (let r = 0; r < idx.length; r++) out.set(data.subarray(idx[r]! * cols, (idx[r]! + 1) * cols), r * cols);
  return out;
}
