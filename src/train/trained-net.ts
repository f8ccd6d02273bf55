// What the three trained nets (autoencoder, VAE, sparse autoencoder) share: options merged over their
// defaults, a standardiser fitted on the trusted rows and the training loop run on the standardised rows,
// one width check before scoring, and the mirrored encoder/decoder layout of the AE and the VAE.

import { MadkitError } from "../errors.js";
import type { Matrix } from "../linalg/matrix.js";
import type { SeededRng } from "../random/seeded-rng.js";
import { initMlp, mlpShapes } from "./mlp.js";
import type { HostParams } from "./params.js";
import { applyStandardizer, fitStandardizer, type Standardizer, type StandardizeMode } from "./standardizer.js";
import { trainModel, type TrainableModel, type TrainOptions, type TrainResult } from "./train-loop.js";

/** The options every trained net has besides its architecture. */
export interface NetOptions {
  readonly standardize: StandardizeMode;
  readonly train: Partial<TrainOptions>;
}

/** The training defaults the three nets start from. */
export const NET_TRAIN_DEFAULTS: Partial<TrainOptions> = {
  epochs: 50,
  batchSize: 256,
  adam: { learningRate: 1e-3 },
  validationFraction: 0.1,
  patience: 5,
};

/** `options` over `defaults`, the nested training options merged one level deeper. */
export function withDefaults<O extends NetOptions>(defaults: O, options: Partial<O>): O {
  return { ...defaults, ...options, train: { ...defaults.train, ...options.train } };
}

/** Fit the standardiser on x, then train `model` on the standardised rows. */
export function trainStandardised(
  x: Matrix,
  opts: NetOptions,
  model: TrainableModel,
): { standardizer: Standardizer; data: Float32Array; result: TrainResult } {
  const standardizer = fitStandardizer(x, opts.standardize);
  const data = applyStandardizer(standardizer, x);
  const result = trainModel(model, data, x.rows, x.cols, opts.train);
  return { standardizer, data, result };
}

/** A trained net: its options, input width, the standardiser fitted on its trusted rows and its weights. */
export abstract class TrainedNet<O extends NetOptions> {
  protected constructor(
    readonly options: O,
    readonly inputDim: number,
    readonly standardizer: Standardizer,
    readonly params: HostParams,
  ) {}

  /** x in the net's standardised units; DIMENSION_MISMATCH naming the net when x has another width. */
  protected standardise(x: Matrix, name: string): Float32Array {
    if (x.cols !== this.inputDim) {
      throw new MadkitError("DIMENSION_MISMATCH", `${name} was trained on ${this.inputDim} features, got ${x.cols}`);
    }
    return applyStandardizer(this.standardizer, x);
  }
}

/** An encoder MLP d → hidden… → encoderOut ("enc.*") and its mirrored decoder latent → …hidden → d ("dec.*"). */
export class MirroredMlp {
  readonly enc: number[];
  readonly dec: number[];

  constructor(d: number, hidden: readonly number[], latent: number, encoderOut = latent) {
    this.enc = [d, ...hidden, encoderOut];
    this.dec = [latent, ...[...hidden].reverse(), d];
  }

  /** Fresh encoder then decoder parameters (that draw order fixes the weights a seed gives). */
  init(rng: SeededRng): HostParams {
    const p: HostParams = {};
    initMlp(rng, "enc", this.enc, p);
    initMlp(rng, "dec", this.dec, p);
    return p;
  }

  /** The shapes `init` makes, after the `first` entries (checked in that order on load). */
  shapes(first: Record<string, number[]> = {}): Record<string, number[]> {
    const shapes: Record<string, number[]> = { ...first };
    mlpShapes("enc", this.enc, shapes);
    mlpShapes("dec", this.dec, shapes);
    return shapes;
  }
}
