// The MLP autoencoder d→hidden…→k→…hidden→d trained to reconstruct standardised trusted rows;
// its anomaly signal is the per-row mean squared reconstruction error.

import { numpy as np } from "@jax-js/jax";
import type { Matrix } from "../linalg/matrix.js";
import { forEachChunk, perRow } from "./chunked-forward.js";
import { checkWidths, mlpForward, type Activation } from "./mlp.js";
import { checkParamShapes, type DeviceParams, type HostParams } from "./params.js";
import type { Standardizer } from "./standardizer.js";
import type { TrainResult } from "./train-loop.js";
import { MirroredMlp, NET_TRAIN_DEFAULTS, TrainedNet, trainStandardised, withDefaults, type NetOptions } from "./trained-net.js";

export interface AutoencoderOptions extends NetOptions {
  /** Encoder hidden widths; the decoder mirrors them. [] gives the linear d→k→d autoencoder (PCA's subspace). */
  readonly hidden: readonly number[];
  /** Bottleneck width k. */
  readonly latent: number;
  readonly activation: Activation;
}

export const AUTOENCODER_DEFAULTS: AutoencoderOptions = {
  hidden: [128],
  latent: 32,
  activation: "relu",
  standardize: "feature",
  train: NET_TRAIN_DEFAULTS,
};

/** Squared reconstruction error per entry [n, d]. Consumes p and x. */
function squaredErrors(p: DeviceParams, x: np.Array, opts: AutoencoderOptions): np.Array {
  const layers = opts.hidden.length + 1;
  const z = mlpForward(p, "enc", layers, x.ref, opts.activation);
  const y = mlpForward(p, "dec", layers, z, opts.activation);
  return np.square(y.sub(x));
}

/** Mean over features of the squared reconstruction error, one value per row. Consumes p and x. */
function rowErrors(p: DeviceParams, x: np.Array, opts: AutoencoderOptions): np.Array {
  return np.mean(squaredErrors(p, x, opts), 1);
}

export class AutoencoderNet extends TrainedNet<AutoencoderOptions> {
  static train(x: Matrix, options: Partial<AutoencoderOptions> = {}): { net: AutoencoderNet; result: TrainResult } {
    const opts = withDefaults(AUTOENCODER_DEFAULTS, options);
    checkWidths("autoencoder", [...opts.hidden, opts.latent]);
    const mlp = new MirroredMlp(x.cols, opts.hidden, opts.latent);
    const { standardizer, result } = trainStandardised(x, opts, {
      name: "autoencoder",
      noiseCols: 0,
      init: (rng) => mlp.init(rng),
      loss: (p, xb) => np.mean(rowErrors(p, xb, opts)),
    });
    return { net: new AutoencoderNet(opts, x.cols, standardizer, result.params), result };
  }

  /** Rebuild from saved state, checking every tensor's shape. */
  static fromState(options: AutoencoderOptions, inputDim: number, standardizer: Standardizer, params: HostParams, where: string): AutoencoderNet {
    checkParamShapes(where, params, new MirroredMlp(inputDim, options.hidden, options.latent).shapes());
    return new AutoencoderNet(options, inputDim, standardizer, params);
  }

  /** Per-row mean squared reconstruction error in standardised units (higher = more anomalous). */
  reconstructionError(x: Matrix): Float64Array {
    const data = this.standardise(x, "autoencoder");
    return perRow((p, xb) => rowErrors(p, xb, this.options), this.params, data, x.rows, x.cols);
  }

  /** Per-entry parts of `reconstructionError` (rows × d, each row sums to the row's error). */
  featureErrors(x: Matrix): Float32Array {
    const data = this.standardise(x, "autoencoder");
    const d = x.cols;
    const out = new Float32Array(x.rows * d);
    forEachChunk(
      (p, xb) => [squaredErrors(p, xb, this.options).mul(1 / d)],
      this.params,
      data,
      x.rows,
      d,
      [],
      ([e], first, n) => out.set(e!.subarray(0, n * d), first * d),
    );
    return out;
  }
}
