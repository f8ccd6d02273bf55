// MLP autoencoder detector: an autoencoder trained (jax-js autograd, src/train/) on standardised trusted
// rows; a row's score is its mean squared reconstruction error, and `explain` names the input features
// it reconstructs worst.

import { z } from "zod";
import type { Matrix } from "../linalg/matrix.js";
import { AutoencoderNet, type AutoencoderOptions } from "../train/autoencoder-net.js";
import { netTensors, restoreNet } from "../train/saved-net.js";
import { trainingParamsShape, trainOptionsOf } from "../train/training-params.js";
import type { Contribution, DetectorSpec, Explanation, FittedDetector } from "./detector.js";
import { parseParams, parseWith, type LoadedDetector, saveEnvelope } from "./envelope.js";
import { checkFitInput, checkScoreInput } from "./input-checks.js";

export const AUTOENCODER = "autoencoder";

const paramsSchema = z
  .object({
    /** Encoder hidden widths (the decoder mirrors them); null = [min(128, max(2·latent, d))]. [] = linear. */
    hidden: z.array(z.number().int().positive()).nullable().default(null),
    /** Bottleneck width; null = clamp(⌈d/4⌉, 1, 32). */
    latent: z.number().int().positive().nullable().default(null),
    activation: z.enum(["relu", "gelu"]).default("relu"),
    ...trainingParamsShape,
  })
  .strict();

export type AutoencoderParams = z.infer<typeof paramsSchema>;

const stateSchema = z.object({
  hidden: z.array(z.number().int().positive()),
  latent: z.number().int().positive(),
  bestEpoch: z.number().int(),
  trainLoss: z.array(z.number()),
  validationLoss: z.array(z.number()),
});

/** The architecture the auto (null) sizes resolve to for d input features. */
export function autoencoderArchitecture(p: AutoencoderParams, d: number): { hidden: number[]; latent: number } {
  const latent = p.latent ?? Math.min(32, Math.max(1, Math.ceil(d / 4)));
  const hidden = p.hidden ?? [Math.min(128, Math.max(2 * latent, d))];
  return { hidden, latent };
}

function netOptions(p: AutoencoderParams, arch: { hidden: number[]; latent: number }): AutoencoderOptions {
  return { hidden: arch.hidden, latent: arch.latent, activation: p.activation, standardize: p.standardize, train: trainOptionsOf(p) };
}

export class AutoencoderSpec implements DetectorSpec<AutoencoderParams> {
  readonly kind = AUTOENCODER;
  readonly params: Readonly<AutoencoderParams>;
  constructor(params: Partial<AutoencoderParams> = {}) {
    this.params = parseParams(paramsSchema, params, AUTOENCODER);
  }

  fit(trusted: Matrix): FittedAutoencoder {
    checkFitInput(trusted, AUTOENCODER);
    const arch = autoencoderArchitecture(this.params, trusted.cols);
    const { net, result } = AutoencoderNet.train(trusted, netOptions(this.params, arch));
    return new FittedAutoencoder(this.params, net, trusted.rows, {
      ...arch,
      bestEpoch: result.bestEpoch,
      trainLoss: result.trainLoss,
      validationLoss: result.validationLoss,
    });
  }
}

export class FittedAutoencoder implements FittedDetector<AutoencoderParams> {
  readonly kind = AUTOENCODER;
  readonly dim: number;

  constructor(
    readonly params: Readonly<AutoencoderParams>,
    readonly net: AutoencoderNet,
    readonly nTrain: number,
    /** Resolved architecture and the training curve. */
    readonly state: z.infer<typeof stateSchema>,
  ) {
    this.dim = net.inputDim;
  }

  score(x: Matrix): Float64Array {
    checkScoreInput(x, this.dim, AUTOENCODER);
    return this.net.reconstructionError(x);
  }

  /** The input features with the largest squared reconstruction error; they sum to the score. */
  explain(x: Matrix, top = 5): Explanation[] {
    checkScoreInput(x, this.dim, AUTOENCODER);
    const d = this.dim;
    const parts = this.net.featureErrors(x);
    const out: Explanation[] = [];
    for (let i = 0; i < x.rows; i++) {
      const row = parts.subarray(i * d, (i + 1) * d);
      let score = 0;
      for (let j = 0; j < d; j++) score += row[j]!;
      const order = Array.from({ length: d }, (_, j) => j).sort((a, b) => row[b]! - row[a]!);
      const items: Contribution[] = order.slice(0, top).map((j) => ({
        kind: "feature",
        index: j,
        contribution: row[j]!,
        share: score > 0 ? row[j]! / score : 0,
      }));
      out.push({ score, top: items });
    }
    return out;
  }

  save(dir: string): void {
    saveEnvelope(
      dir,
      { kind: AUTOENCODER, params: this.params, state: { ...this.state }, dim: this.dim, nTrain: this.nTrain },
      netTensors(this.net.params, this.net.standardizer),
    );
  }

  static restore(loaded: LoadedDetector): FittedAutoencoder {
    const params = parseWith(loaded, "params", paramsSchema);
    const state = parseWith(loaded, "state", stateSchema);
    const d = loaded.envelope.meta.dim;
    const { params: weights, standardizer } = restoreNet(loaded.dir, loaded.tensors, params.standardize, d);
    const net = AutoencoderNet.fromState(netOptions(params, state), d, standardizer, weights, loaded.dir);
    return new FittedAutoencoder(params, net, loaded.envelope.meta.nTrain, state);
  }
}

export function autoencoder(params: Partial<AutoencoderParams> = {}): AutoencoderSpec {
  return new AutoencoderSpec(params);
}
