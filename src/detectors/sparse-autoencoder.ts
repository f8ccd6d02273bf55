// Sparse-autoencoder detector: an overcomplete ReLU dictionary trained (jax-js autograd, src/train/) on
// trusted rows. A row's score = its reconstruction error / the trusted mean + rarityWeight × the summed
// surprisal −log(trusted firing rate) of its active features / the trusted mean. `explain` lists the
// score's additive parts: rare dictionary features (with activation and trusted firing rate) and the
// input features the dictionary failed to reconstruct.

import { z } from "zod";
import type { Matrix } from "../linalg/matrix.js";
import { SparseAutoencoderNet, type SparseAutoencoderOptions } from "../train/sparse-autoencoder-net.js";
import { trainingParamsShape, trainOptionsOf } from "../train/training-params.js";
import { CheckedSpec } from "./checked-spec.js";
import type { Contribution, Explanation } from "./detector.js";
import { tensorOf, type LoadedDetector, type Tensor } from "./envelope.js";
import { checkScoreInput } from "./input-checks.js";
import { FittedTrainedNet, loadTrainedNet, trainingCurve, trainingCurveShape, type TrainingCurve } from "./trained-net-detector.js";

export const SPARSE_AUTOENCODER = "sparse-autoencoder";

const paramsSchema = z
  .object({
    /** Dictionary size; null = 2·d (training cost grows with it: ~800 samples/s at 768 × 3072). */
    features: z.number().int().positive().nullable().default(null),
    /** L1 weight on activations (divided by √d inside, so it is comparable across widths). */
    l1: z.number().nonnegative().default(0.3),
    /** Active = activation above this fraction of √d (a typical standardised row's norm). */
    activeThreshold: z.number().nonnegative().default(0.1),
    rarityWeight: z.number().nonnegative().default(1),
    ...trainingParamsShape,
    /** Fewer passes than the dense AEs by default: an SAE step costs ~m/h times more. */
    epochs: z.number().int().positive().default(20),
    // One RMS for all columns: per-column scaling would bend the dictionary's directions.
    standardize: z.enum(["feature", "global", "none"]).default("global"),
  })
  .strict();

export type SparseAutoencoderParams = z.infer<typeof paramsSchema>;

const stateSchema = z.object({
  features: z.number().int().positive(),
  nTrusted: z.number().int().positive(),
  meanError: z.number().positive(),
  meanRarity: z.number().positive(),
  ...trainingCurveShape,
});

/** A dictionary feature's part of the score, with what `explain` promises to say about it. */
export interface SaeFeatureContribution extends Contribution {
  readonly activation: number;
  /** Laplace-smoothed share of trusted rows on which the feature fired. */
  readonly trustedFiringRate: number;
}

function netOptions(p: SparseAutoencoderParams, features: number): SparseAutoencoderOptions {
  return {
    features,
    l1: p.l1,
    activeThreshold: p.activeThreshold,
    rarityWeight: p.rarityWeight,
    standardize: p.standardize,
    train: trainOptionsOf(p),
  };
}

export class SparseAutoencoderSpec extends CheckedSpec<typeof SPARSE_AUTOENCODER, SparseAutoencoderParams, FittedSparseAutoencoder> {
  constructor(params: Partial<SparseAutoencoderParams> = {}) {
    super(SPARSE_AUTOENCODER, paramsSchema, params);
  }

  protected fitChecked(trusted: Matrix): FittedSparseAutoencoder {
    const features = this.params.features ?? 2 * trusted.cols;
    const { net, result } = SparseAutoencoderNet.train(trusted, netOptions(this.params, features));
    return new FittedSparseAutoencoder(this.params, net, trusted.rows, trainingCurve(result));
  }
}

export class FittedSparseAutoencoder extends FittedTrainedNet<typeof SPARSE_AUTOENCODER, SparseAutoencoderParams, SparseAutoencoderNet> {
  constructor(
    params: Readonly<SparseAutoencoderParams>,
    net: SparseAutoencoderNet,
    nTrain: number,
    readonly curve: TrainingCurve,
  ) {
    super(SPARSE_AUTOENCODER, params, net, nTrain);
  }

  protected scoreChecked(x: Matrix): Float64Array {
    return this.net.score(x);
  }

  /**
   * The largest additive parts of each row's score: dictionary features as kind "direction" (index = the
   * SAE feature; contribution = rarityWeight × surprisal / trusted mean rarity, with its activation and
   * trusted firing rate) and input features as kind "feature" (their share of the reconstruction term).
   */
  explain(x: Matrix, top = 5): Explanation[] {
    checkScoreInput(x, this.dim, SPARSE_AUTOENCODER);
    const { rarityWeight } = this.params;
    const meanRarity = this.net.stats.meanRarity;
    return this.net.breakdown(x, Number.MAX_SAFE_INTEGER).map((b) => {
      const items: Contribution[] = b.active.map((a): SaeFeatureContribution => {
        const contribution = (rarityWeight * a.surprisal) / meanRarity;
        return {
          kind: "direction",
          index: a.feature,
          contribution,
          share: b.score > 0 ? contribution / b.score : 0,
          activation: a.activation,
          trustedFiringRate: a.trustedFiringRate,
        };
      });
      b.featureErrorTerms.forEach((c, j) =>
        items.push({ kind: "feature", index: j, contribution: c, share: b.score > 0 ? c / b.score : 0 }),
      );
      items.sort((p, q) => q.contribution - p.contribution);
      return { score: b.score, top: items.slice(0, top) };
    });
  }

  protected savedState(): Record<string, unknown> {
    const { stats } = this.net;
    return {
      features: this.net.options.features,
      nTrusted: stats.nTrusted,
      meanError: stats.meanError,
      meanRarity: stats.meanRarity,
      ...this.curve,
    };
  }

  protected override savedTensors(): Record<string, Tensor> {
    const { firingCounts } = this.net.stats;
    return { ...super.savedTensors(), "sae.firing_counts": { shape: [firingCounts.length], data: firingCounts } };
  }

  static restore(loaded: LoadedDetector): FittedSparseAutoencoder {
    const { params, state, dim: d, nTrain, weights, standardizer } = loadTrainedNet(loaded, paramsSchema, stateSchema);
    const firingCounts = tensorOf(loaded, "sae.firing_counts", Float64Array);
    const stats = { firingCounts, nTrusted: state.nTrusted, meanError: state.meanError, meanRarity: state.meanRarity };
    const net = SparseAutoencoderNet.fromState(netOptions(params, state.features), d, standardizer, weights, stats, loaded.dir);
    const { bestEpoch, trainLoss, validationLoss } = state;
    return new FittedSparseAutoencoder(params, net, nTrain, { bestEpoch, trainLoss, validationLoss });
  }
}

export function sparseAutoencoder(params: Partial<SparseAutoencoderParams> = {}): SparseAutoencoderSpec {
  return new SparseAutoencoderSpec(params);
}
