// Variational-autoencoder detector: a VAE trained (jax-js autograd, src/train/) on standardised trusted
// rows; a row's score is its negative ELBO in nats (an upper bound on −log p(x) under the model), averaged
// over a fixed set of seeded noise draws so the same row always gets the same score.

import { z } from "zod";
import type { Matrix } from "../linalg/matrix.js";
import { netTensors, restoreNet } from "../train/saved-net.js";
import { trainingParamsShape, trainOptionsOf } from "../train/training-params.js";
import { VaeNet, type VaeOptions } from "../train/vae-net.js";
import type { DetectorSpec, FittedDetector } from "./detector.js";
import { parseParams, parseWith, type LoadedDetector, saveEnvelope } from "./envelope.js";
import { checkFitInput, checkScoreInput } from "./input-checks.js";

export const VAE = "vae";

const paramsSchema = z
  .object({
    /** Encoder hidden widths (the decoder mirrors them); null = [min(128, max(2·latent, d))]. [] = linear. */
    hidden: z.array(z.number().int().positive()).nullable().default(null),
    /** Latent dimension; null = clamp(⌈d/4⌉, 1, 16). */
    latent: z.number().int().positive().nullable().default(null),
    activation: z.enum(["relu", "gelu"]).default("relu"),
    /** Noise draws averaged per row at scoring time (antithetic pairs, drawn from `seed`). */
    scoreSamples: z.number().int().positive().default(16),
    ...trainingParamsShape,
  })
  .strict();

export type VaeParams = z.infer<typeof paramsSchema>;

const stateSchema = z.object({
  hidden: z.array(z.number().int().positive()),
  latent: z.number().int().positive(),
  bestEpoch: z.number().int(),
  trainLoss: z.array(z.number()),
  validationLoss: z.array(z.number()),
});

/** Scoring noise comes from its own stream so it never repeats the training draws of the same seed. */
const SCORE_SEED_SALT = 0x5bd1e995;

export function vaeArchitecture(p: VaeParams, d: number): { hidden: number[]; latent: number } {
  const latent = p.latent ?? Math.min(16, Math.max(1, Math.ceil(d / 4)));
  const hidden = p.hidden ?? [Math.min(128, Math.max(2 * latent, d))];
  return { hidden, latent };
}

function netOptions(p: VaeParams, arch: { hidden: number[]; latent: number }): VaeOptions {
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

export class VaeSpec implements DetectorSpec<VaeParams> {
  readonly kind = VAE;
  readonly params: Readonly<VaeParams>;
  constructor(params: Partial<VaeParams> = {}) {
    this.params = parseParams(paramsSchema, params, VAE);
  }

  fit(trusted: Matrix): FittedVae {
    checkFitInput(trusted, VAE);
    const arch = vaeArchitecture(this.params, trusted.cols);
    const { net, result } = VaeNet.train(trusted, netOptions(this.params, arch));
    return new FittedVae(this.params, net, trusted.rows, {
      ...arch,
      bestEpoch: result.bestEpoch,
      trainLoss: result.trainLoss,
      validationLoss: result.validationLoss,
    });
  }
}

export class FittedVae implements FittedDetector<VaeParams> {
  readonly kind = VAE;
  readonly dim: number;

  constructor(
    readonly params: Readonly<VaeParams>,
    readonly net: VaeNet,
    readonly nTrain: number,
    readonly state: z.infer<typeof stateSchema>,
  ) {
    this.dim = net.inputDim;
  }

  score(x: Matrix): Float64Array {
    checkScoreInput(x, this.dim, VAE);
    return this.net.negativeElbo(x);
  }

  save(dir: string): void {
    saveEnvelope(
      dir,
      { kind: VAE, params: this.params, state: { ...this.state }, dim: this.dim, nTrain: this.nTrain },
      netTensors(this.net.params, this.net.standardizer),
    );
  }

  static restore(loaded: LoadedDetector): FittedVae {
    const params = parseWith(loaded, "params", paramsSchema);
    const state = parseWith(loaded, "state", stateSchema);
    const d = loaded.envelope.meta.dim;
    const { params: weights, standardizer } = restoreNet(loaded.dir, loaded.tensors, params.standardize, d);
    const net = VaeNet.fromState(netOptions(params, state), d, standardizer, weights, loaded.dir);
    return new FittedVae(params, net, loaded.envelope.meta.nTrain, state);
  }
}

export function vae(params: Partial<VaeParams> = {}): VaeSpec {
  return new VaeSpec(params);
}
