// MLP autoencoder detector: an autoencoder trained (jax-js autograd, src/train/) on standardised trusted
// rows; a row's score is its mean squared reconstruction error, and `explain` names the input features
// it reconstructs worst.

import { z } from "zod";
import type { Matrix } from "../linalg/matrix.js";
import { AutoencoderNet, type AutoencoderOptions } from "../train/autoencoder-net.js";
import { trainingParamsShape, trainOptionsOf } from "../train/training-params.js";
import { CheckedSpec } from "./checked-spec.js";
import type { Contribution, Explanation } from "./detector.js";
import type { LoadedDetector } from "./envelope.js";
import { checkScoreInput } from "./input-checks.js";
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

export const AUTOENCODER = "autoencoder";

const paramsSchema = z
  .object({
    ...bottleneckParamsShape,
    ...trainingParamsShape,
  })
  .strict();

export type AutoencoderParams = z.infer<typeof paramsSchema>;

/** The architecture the auto (null) sizes resolve to for d input features. */
export function autoencoderArchitecture(p: AutoencoderParams, d: number): BottleneckArchitecture {
  return bottleneckArchitecture(p, d, 32);
}

function netOptions(p: AutoencoderParams, arch: BottleneckArchitecture): AutoencoderOptions {
  return { hidden: arch.hidden, latent: arch.latent, activation: p.activation, standardize: p.standardize, train: trainOptionsOf(p) };
}

export class AutoencoderSpec extends CheckedSpec<typeof AUTOENCODER, AutoencoderParams, FittedAutoencoder> {
  constructor(params: Partial<AutoencoderParams> = {}) {
    super(AUTOENCODER, paramsSchema, params);
  }

  protected fitChecked(trusted: Matrix): FittedAutoencoder {
    const arch = autoencoderArchitecture(this.params, trusted.cols);
    const { net, result } = AutoencoderNet.train(trusted, netOptions(this.params, arch));
    return new FittedAutoencoder(this.params, net, trusted.rows, { ...arch, ...trainingCurve(result) });
  }
}

export class FittedAutoencoder extends FittedBottleneckNet<typeof AUTOENCODER, AutoencoderParams, AutoencoderNet> {
  constructor(params: Readonly<AutoencoderParams>, net: AutoencoderNet, nTrain: number, state: BottleneckState) {
    super(AUTOENCODER, params, net, nTrain, state);
  }

  protected scoreChecked(x: Matrix): Float64Array {
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

  static restore(loaded: LoadedDetector): FittedAutoencoder {
    const { params, state, dim, nTrain, weights, standardizer } = loadTrainedNet(loaded, paramsSchema, bottleneckStateSchema);
    const net = AutoencoderNet.fromState(netOptions(params, state), dim, standardizer, weights, loaded.dir);
    return new FittedAutoencoder(params, net, nTrain, state);
  }
}

export function autoencoder(params: Partial<AutoencoderParams> = {}): AutoencoderSpec {
  return new AutoencoderSpec(params);
}
