// The MLP autoencoder d→hidden…→k→…hidden→d trained to reconstruct standardised trusted rows;
// its anomaly signal is the per-row mean squared reconstruction error.

import { numpy as np } from "@jax-js/jax";
import { MadkitError } from "../errors.js";
import type { Matrix } from "../linalg/matrix.js";
import { forEachChunk, perRow } from "./chunked-forward.js";
import { checkWidths, initMlp, mlpForward, mlpShapes, type Activation } from "./mlp.js";
import { checkParamShapes, type DeviceParams, type HostParams } from "./params.js";
import { applyStandardizer, fitStandardizer, type Standardizer, type StandardizeMode } from "./standardizer.js";
import { trainModel, type TrainOptions, type TrainResult } from "./train-loop.js";

export interface AutoencoderOptions {
  /** Encoder hidden widths; the decoder mirrors them. [] gives the linear d→k→d autoencoder (PCA's subspace). */
  readonly hidden: readonly number[];
  /** Bottleneck width k. */
  readonly latent: number;
  readonly activation: Activation;
  readonly standardize: StandardizeMode;
  readonly train: Partial<TrainOptions>;
}

export const AUTOENCODER_DEFAULTS: AutoencoderOptions = {
  hidden: [128],
  latent: 32,
  activation: "relu",
  standardize: "feature",
  train: { epochs: 50, batchSize: 256, adam: { learningRate: 1e-3 }, validationFraction: 0.1, patience: 5 },
};

function widthsOf(opts: AutoencoderOptions, d: number): { enc: number[]; dec: number[] } {
  return { enc: [d, ...opts.hidden, opts.latent], dec: [opts.latent, ...[...opts.hidden].reverse(), d] };
}

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

export class AutoencoderNet {
  private constructor(
    readonly options: AutoencoderOptions,
    readonly inputDim: number,
    readonly standardizer: Standardizer,
    readonly params: HostParams,
  ) {}

  static train(x: Matrix, options: Partial<AutoencoderOptions> = {}): { net: AutoencoderNet; result: TrainResult } {
    const opts: AutoencoderOptions = { ...AUTOENCODER_DEFAULTS, ...options, train: { ...AUTOENCODER_DEFAULTS.train, ...options.train } };
    checkWidths("autoencoder", [...opts.hidden, opts.latent]);
    const d = x.cols;
    const standardizer = fitStandardizer(x, opts.standardize);
    const data = applyStandardizer(standardizer, x);
    const { enc, dec } = widthsOf(opts, d);
    const result = trainModel(
      {
        name: "autoencoder",
        noiseCols: 0,
        init(rng) {
          const p: HostParams = {};
          initMlp(rng, "enc", enc, p);
          initMlp(rng, "dec", dec, p);
          return p;
        },
        loss: (p, xb) => np.mean(rowErrors(p, xb, opts)),
      },
      data,
      x.rows,
      d,
      opts.train,
    );
    return { net: new AutoencoderNet(opts, d, standardizer, result.params), result };
  }

  /** Rebuild from saved state, checking every tensor's shape. */
  static fromState(options: AutoencoderOptions, inputDim: number, standardizer: Standardizer, params: HostParams, where: string): AutoencoderNet {
    const shapes: Record<string, number[]> = {};
    const { enc, dec } = widthsOf(options, inputDim);
    mlpShapes("enc", enc, shapes);
    mlpShapes("dec", dec, shapes);
    checkParamShapes(where, params, shapes);
    return new AutoencoderNet(options, inputDim, standardizer, params);
  }

  /** Per-row mean squared reconstruction error in standardised units (higher = more anomalous). */
  reconstructionError(x: Matrix): Float64Array {
    if (x.cols !== this.inputDim) {
      throw new MadkitError("DIMENSION_MISMATCH", `autoencoder was trained on ${this.inputDim} features, got ${x.cols}`);
    }
    const data = applyStandardizer(this.standardizer, x);
    return perRow((p, xb) => rowErrors(p, xb, this.options), this.params, data, x.rows, x.cols);
  }

  /** Per-entry parts of `reconstructionError` (rows × d, each row sums to the row's error). */
  featureErrors(x: Matrix): Float32Array {
    if (x.cols !== this.inputDim) {
      throw new MadkitError("DIMENSION_MISMATCH", `autoencoder was trained on ${this.inputDim} features, got ${x.cols}`);
    }
    const d = x.cols;
    const data = applyStandardizer(this.standardizer, x);
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
