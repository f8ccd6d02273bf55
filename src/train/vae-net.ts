// The variational autoencoder (Kingma & Welling 2014): Gaussian encoder q(z|x), standard normal prior,
// Gaussian decoder with a learned per-feature variance. Its anomaly score is the negative ELBO in the
// raw data's units (the standardiser's log-Jacobian is added back), estimated at scoring time with a fixed
// set of seeded noise draws shared by every row, so a row's score never depends on its batch or position.

import { numpy as np } from "@jax-js/jax";
import { MadkitError } from "../errors.js";
import type { Matrix } from "../linalg/matrix.js";
import { perRow } from "./chunked-forward.js";
import { checkWidths, mlpForward, type Activation } from "./mlp.js";
import { checkParamShapes, zerosTensor, type DeviceParams, type HostParams } from "./params.js";
import { SeededRng } from "../random/seeded-rng.js";
import type { Standardizer } from "./standardizer.js";
import type { TrainResult } from "./train-loop.js";
import { MirroredMlp, NET_TRAIN_DEFAULTS, TrainedNet, trainStandardised, withDefaults, type NetOptions } from "./trained-net.js";

export interface VaeOptions extends NetOptions {
  /** Encoder hidden widths; the decoder mirrors them. [] gives the linear-Gaussian VAE (factor analysis). */
  readonly hidden: readonly number[];
  /** Latent dimension k. */
  readonly latent: number;
  readonly activation: Activation;
  /** Noise draws averaged per row when scoring (shared across rows, seeded by `scoreSeed`). */
  readonly scoreSamples: number;
  readonly scoreSeed: number;
}

export const VAE_DEFAULTS: VaeOptions = {
  hidden: [128],
  latent: 16,
  activation: "relu",
  standardize: "feature",
  scoreSamples: 16,
  scoreSeed: 0,
  train: NET_TRAIN_DEFAULTS,
};

const LOG_2PI = Math.log(2 * Math.PI);
/** Floor on the decoder's log variance (in standardised units): keeps a near-constant feature from
 *  driving the likelihood to infinity. exp(−9.2) ≈ 1e-4. */
const MIN_OBS_LOGVAR = -9.2;

/** The encoder outputs mean and log variance side by side, so it is twice the latent width. */
function mlpOf(opts: VaeOptions, d: number): MirroredMlp {
  return new MirroredMlp(d, opts.hidden, opts.latent, 2 * opts.latent);
}

/** Encoder: x [n, d] → (mean, log variance) each [n, k]. Consumes x and the encoder arrays of p. */
function encode(p: DeviceParams, x: np.Array, opts: VaeOptions): [np.Array, np.Array] {
  const h = mlpForward(p, "enc", opts.hidden.length + 1, x, opts.activation);
  const [mu, lv] = np.split(h, 2, 1);
  return [mu!, lv!];
}

/** −log N(x; mean, diag exp(obsLogVar)) summed over features: [..., d] → [...]. Consumes all three. */
function gaussianNll(x: np.Array, mean: np.Array, obsLogVar: np.Array): np.Array {
  const lv = np.maximum(obsLogVar, MIN_OBS_LOGVAR);
  const quad = np.square(x.sub(mean)).mul(np.exp(lv.ref.mul(-1)));
  return np.sum(quad.add(lv).add(LOG_2PI), -1).mul(0.5);
}

/** KL(N(mu, exp(lv)) ‖ N(0, I)) per row. Consumes both. */
function klToPrior(mu: np.Array, lv: np.Array): np.Array {
  return np.sum(np.exp(lv.ref).add(np.square(mu)).sub(1).sub(lv), -1).mul(0.5);
}

/** One-sample negative ELBO per row, with noise eps [n, k]. Consumes everything. */
function negElboOneSample(p: DeviceParams, x: np.Array, eps: np.Array, opts: VaeOptions): np.Array {
  const [mu, lv] = encode(p, x.ref, opts);
  const z = mu.ref.add(np.exp(lv.ref.mul(0.5)).mul(eps));
  const mean = mlpForward(p, "dec", opts.hidden.length + 1, z, opts.activation);
  return gaussianNll(x, mean, p["dec.logvar"]!).add(klToPrior(mu, lv));
}

/** Negative ELBO per row averaged over S shared draws eps [S, k]. Consumes everything. */
function negElboShared(p: DeviceParams, x: np.Array, eps: np.Array, opts: VaeOptions): np.Array {
  const [n, d] = x.shape as [number, number];
  const [s, k] = eps.shape as [number, number];
  const [mu, lv] = encode(p, x.ref, opts);
  const z = mu.ref
    .reshape([1, n, k])
    .add(np.exp(lv.ref.mul(0.5)).reshape([1, n, k]).mul(eps.reshape([s, 1, k])))
    .reshape([s * n, k]);
  const mean = mlpForward(p, "dec", opts.hidden.length + 1, z, opts.activation).reshape([s, n, d]);
  const nll = gaussianNll(x.reshape([1, n, d]), mean, p["dec.logvar"]!);
  return np.mean(nll, 0).add(klToPrior(mu, lv));
}

/**
 * The S×k noise draws shared by every row at scoring time: antithetic pairs (ε, −ε) with each latent
 * column rescaled to unit mean square. With only a few draws, plain samples leave E[ε²] off 1 by
 * ±√(2/S), which shifts every row's estimate the same way; matching the first two moments removes that
 * bias exactly for the Gaussian part of the decoder and leaves the estimate deterministic.
 */
export function scoringNoise(seed: number, samples: number, k: number): Float32Array {
  const rng = new SeededRng(seed);
  const out = new Float32Array(samples * k);
  const half = Math.floor(samples / 2);
  for (let i = 0; i < half * k; i++) {
    const e = rng.normal();
    out[i] = e;
    out[half * k + i] = -e;
  }
  // An odd count gets one zero draw (the posterior mean), which the rescaling below compensates for.
  if (samples === 1) return out;
  for (let j = 0; j < k; j++) {
    let ss = 0;
    for (let s = 0; s < samples; s++) ss += out[s * k + j]! ** 2;
    const f = ss > 0 ? Math.sqrt(samples / ss) : 1;
    for (let s = 0; s < samples; s++) out[s * k + j]! *= f;
  }
  return out;
}

export class VaeNet extends TrainedNet<VaeOptions> {
  static train(x: Matrix, options: Partial<VaeOptions> = {}): { net: VaeNet; result: TrainResult } {
    const opts = withDefaults(VAE_DEFAULTS, options);
    checkWidths("vae", [...opts.hidden, opts.latent]);
    if (!Number.isInteger(opts.scoreSamples) || opts.scoreSamples < 1) {
      throw new MadkitError("BAD_ARGUMENT", `vae: scoreSamples must be a positive integer, got ${opts.scoreSamples}`);
    }
    const d = x.cols;
    const mlp = mlpOf(opts, d);
    const { standardizer, result } = trainStandardised(x, opts, {
      name: "vae",
      noiseCols: opts.latent,
      init: (rng) => ({ ...mlp.init(rng), "dec.logvar": zerosTensor([d]) }),
      loss: (p, xb, eps) => np.mean(negElboOneSample(p, xb, eps!, opts)),
    });
    return { net: new VaeNet(opts, d, standardizer, result.params), result };
  }

  static fromState(options: VaeOptions, inputDim: number, standardizer: Standardizer, params: HostParams, where: string): VaeNet {
    checkParamShapes(where, params, mlpOf(options, inputDim).shapes({ "dec.logvar": [inputDim] }));
    return new VaeNet(options, inputDim, standardizer, params);
  }

  /** Per-row negative ELBO (nats) of the raw rows: an upper bound on −log p(x) under the model. */
  negativeElbo(x: Matrix): Float64Array {
    const data = this.standardise(x, "vae");
    const { scoreSamples: s, latent: k, scoreSeed } = this.options;
    const eps = scoringNoise(scoreSeed, s, k);
    const out = perRow((p, xb, e) => negElboShared(p, xb, e!, this.options), this.params, data, x.rows, x.cols, [
      { shape: [s, k], data: eps },
    ]);
    // Change of variables: densities of standardised rows are divided by Π scale_j in the raw space.
    let logJac = 0;
    for (let j = 0; j < this.inputDim; j++) logJac += Math.log(this.standardizer.scale[j]!);
    for (let i = 0; i < out.length; i++) out[i]! += logJac;
    return out;
  }
}
