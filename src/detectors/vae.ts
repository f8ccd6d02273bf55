// Variational-autoencoder detector: a VAE trained (jax-js autograd, src/train/) on standardised trusted
// rows; a row's score is its negative ELBO in nats (an upper bound on −log p(x) under the model), averaged
// over a fixed set of seeded noise draws so the same row always gets the same score.

import { z } from "zod";
import type { Matrix } from "../linalg/matrix.js";
import { trainingParamsShape, trainOptionsOf } from "../train/training-params.js";
import { VaeNet, type VaeOptions } from "../train/vae-net.js";
import { CheckedSpec } from "./checked-spec.js";
import type { LoadedDetector } from "./envelope.js";
import {
  bottleneckArchitecture,
  bottleneckParamsShape,
  bottleneckStateSchema,
  FittedBottleneckNet,
  loadTrainedNet,
  trainingCurve,
  type BottleneckArchitecture,
  type BottleneckState,
} from "./trained-net-detector.js";

export const VAE = "vae";

const paramsSchema = z
  .object({
    ...bottleneckParamsShape,
    /** Noise draws averaged per row at scoring time (antithetic pairs, drawn from `seed`). */
    scoreSamples: z.number().int().positive().default(16),
    ...trainingParamsShape,
  })
  .strict();

export type VaeParams = z.infer<typeof paramsSchema>;

/** Scoring noise comes from its own stream so it never repeats the training draws of the same seed. */
const SCORE_SEED_SALT = 0x5bd1e995;

export function vaeArchitecture(p: VaeParams, d: number): BottleneckArchitecture {
  return bottleneckArchitecture(p, d, 16);
}

function netOptions(p: VaeParams, arch: BottleneckArchitecture): VaeOptions {
  return {
    hidden: arch.hidden,
    latent: arch.latent,
    activation: p.activation,
    standardize: p.standardize,
    scoreSamples: p.scoreSamples,
    scoreSeed: (p.seed ^ SCORE_SEED_SALT) | 0,
    train: trainOptionsOf(p),
  };
}

export class VaeSpec extends CheckedSpec<typeof VAE, VaeParams, FittedVae> {
  constructor(params: Partial<VaeParams> = {}) {
    super(VAE, paramsSchema, params);
  }

  protected fitChecked(trusted: Matrix): FittedVae {
    const arch = vaeArchitecture(this.params, trusted.cols);
    const { net, result } = VaeNet.train(trusted, netOptions(this.params, arch));
    return new FittedVae(this.params, net, trusted.rows, { ...arch, ...trainingCurve(result) });
  }
}

export class FittedVae extends FittedBottleneckNet<typeof VAE, VaeParams, VaeNet> {
  constructor(params: Readonly<VaeParams>, net: VaeNet, nTrain: number, state: BottleneckState) {
    super(VAE, params, net, nTrain, state);
  }

  protected scoreChecked(x: Matrix): Float64Array {
    return this.net.negativeElbo(x);
  }

  static restore(loaded: LoadedDetector): FittedVae {
    const { params, state, dim, nTrain, weights, standardizer } = loadTrainedNet(loaded, paramsSchema, bottleneckStateSchema);
    const net = VaeNet.fromState(netOptions(params, state), dim, standardizer, weights, loaded.dir);
    return new FittedVae(params, net, nTrain, state);
  }
}

export function vae(params: Partial<VaeParams> = {}): VaeSpec {
  return new VaeSpec(params);
}
