// The sparse autoencoder (a dictionary learner, as in Bricken et al. 2023 / Cunningham et al. 2023):
// d → m overcomplete ReLU features with an L1 penalty, and a decoder whose rows (one direction per feature)
// are kept at unit norm so the penalty can't be dodged by shrinking codes and growing directions.
// It scores a row by normalised reconstruction error plus the rarity of the features it fires, where a
// feature's rarity is −log of its (Laplace-smoothed) firing frequency on the trusted set.

import { nn, numpy as np } from "@jax-js/jax";
import { MadkitError } from "../errors.js";
import type { Matrix } from "../linalg/matrix.js";
import { forEachChunk } from "./chunked-forward.js";
import { checkParamShapes, type DeviceParams, type HostParams } from "./params.js";
import type { Standardizer, StandardizeMode } from "./standardizer.js";
import type { TrainResult } from "./train-loop.js";
import { NET_TRAIN_DEFAULTS, TrainedNet, trainStandardised, withDefaults, type NetOptions } from "./trained-net.js";

export interface SparseAutoencoderOptions extends NetOptions {
  /** Dictionary size m (number of features). */
  readonly features: number;
  /** Weight of the L1 penalty on feature activations (scale-free: the penalty is divided by √d). */
  readonly l1: number;
  /** A feature counts as active when its activation exceeds this fraction of √d (a typical row's norm
   *  after standardisation), so numerically tiny activations don't count as firing. */
  readonly activeThreshold: number;
  /** Weight of the rarity term relative to the reconstruction term in the score (both normalised to
   *  mean 1 on the trusted set). */
  readonly rarityWeight: number;
  /** "global" (one RMS, no centring) keeps feature directions comparable with the raw space. */
  readonly standardize: StandardizeMode;
}

export const SPARSE_AUTOENCODER_DEFAULTS: SparseAutoencoderOptions = {
  features: 256,
  l1: 0.3,
  activeThreshold: 0.1,
  rarityWeight: 1,
  standardize: "global",
  train: NET_TRAIN_DEFAULTS,
};

/** What the SAE learned about the trusted set; fixed after training, saved with the weights. */
export interface SaeTrustedStats {
  /** Trusted rows on which each feature was active. */
  readonly firingCounts: Float64Array;
  readonly nTrusted: number;
  /** Mean per-row reconstruction error and mean rarity on the trusted set (the score's normalisers). */
  readonly meanError: number;
  readonly meanRarity: number;
}

export interface ActiveFeature {
  readonly feature: number;
  readonly activation: number;
  /** Laplace-smoothed firing rate on the trusted set: (count + 1) / (n + 2). */
  readonly trustedFiringRate: number;
  /** −log(trustedFiringRate): this feature's additive part of the row's rarity. */
  readonly surprisal: number;
}

export interface SaeRowBreakdown {
  readonly score: number;
  /** Reconstruction error / trusted mean. */
  readonly errorTerm: number;
  /** rarityWeight × rarity / trusted mean rarity. */
  readonly rarityTerm: number;
  /** Active features, rarest first. */
  readonly active: ActiveFeature[];
  /** Each input feature's part of `errorTerm` (they sum to it): where the dictionary failed. */
  readonly featureErrorTerms: Float64Array;
}

/** Features [n, m] and squared reconstruction error per entry [n, d]. Consumes p and x. */
function encodeDecodeEntries(p: DeviceParams, x: np.Array): { f: np.Array; sq: np.Array } {
  const bDec = p["b_dec"]!;
  const f = nn.relu(np.matmul(x.ref.sub(bDec.ref), p["w_enc"]!).add(p["b_enc"]!));
  const recon = np.matmul(f.ref, p["w_dec"]!).add(bDec);
  return { f, sq: np.square(recon.sub(x)) };
}

/** Features [n, m] and per-row mean squared reconstruction error [n]. Consumes p and x. */
function encodeDecode(p: DeviceParams, x: np.Array): { f: np.Array; err: np.Array } {
  const { f, sq } = encodeDecodeEntries(p, x);
  return { f, err: np.mean(sq, 1) };
}

export class SparseAutoencoderNet extends TrainedNet<SparseAutoencoderOptions> {
  private constructor(
    options: SparseAutoencoderOptions,
    inputDim: number,
    standardizer: Standardizer,
    params: HostParams,
    readonly stats: SaeTrustedStats,
  ) {
    super(options, inputDim, standardizer, params);
  }

  static train(x: Matrix, options: Partial<SparseAutoencoderOptions> = {}): { net: SparseAutoencoderNet; result: TrainResult } {
    const opts = withDefaults(SPARSE_AUTOENCODER_DEFAULTS, options);
    if (!Number.isInteger(opts.features) || opts.features < 1) {
      throw new MadkitError("BAD_ARGUMENT", `sparse-autoencoder: features must be a positive integer, got ${opts.features}`);
    }
    if (!(opts.l1 >= 0) || !(opts.activeThreshold >= 0) || !(opts.rarityWeight >= 0)) {
      throw new MadkitError("BAD_ARGUMENT", `sparse-autoencoder: l1, activeThreshold and rarityWeight must be ≥ 0`);
    }
    const d = x.cols;
    const m = opts.features;
    const l1 = opts.l1 / Math.sqrt(d);
    const { standardizer, data, result } = trainStandardised(x, opts, {
      name: "sparse-autoencoder",
      noiseCols: 0,
      init(rng, trainData, rows) {
        // Random unit decoder rows, encoder tied to their transpose, b_dec at the data mean: the
        // usual start (Anthropic's "Towards Monosemanticity" recipe, minus resampling).
        const wDec = rng.fillNormal(new Float32Array(m * d)) as Float32Array;
        normaliseRows(wDec, m, d);
        const wEnc = new Float32Array(d * m);
        for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) wEnc[j * m + i] = wDec[i * d + j]!;
        const bDec = new Float32Array(d);
        for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) bDec[j]! += trainData[r * d + j]! / rows;
        return {
          w_enc: { shape: [d, m], data: wEnc },
          b_enc: { shape: [m], data: new Float32Array(m) },
          w_dec: { shape: [m, d], data: wDec },
          b_dec: { shape: [d], data: bDec },
        };
      },
      loss: (p, xb) => {
        const { f, err } = encodeDecode(p, xb);
        return np.mean(err).add(np.mean(np.sum(f, 1)).mul(l1));
      },
      constrain: (p) => {
        const w = p["w_dec"]!;
        const norm = np.sqrt(np.sum(np.square(w.ref), 1, { keepdims: true })).add(1e-12);
        return { ...p, w_dec: w.div(norm) };
      },
    });
    const stats = trustedStats(opts, d, result.params, data, x.rows);
    return { net: new SparseAutoencoderNet(opts, d, standardizer, result.params, stats), result };
  }

  static fromState(
    options: SparseAutoencoderOptions,
    inputDim: number,
    standardizer: Standardizer,
    params: HostParams,
    stats: SaeTrustedStats,
    where: string,
  ): SparseAutoencoderNet {
    const m = options.features;
    const d = inputDim;
    checkParamShapes(where, params, { w_enc: [d, m], b_enc: [m], w_dec: [m, d], b_dec: [d] });
    if (stats.firingCounts.length !== m) {
      throw new MadkitError("STORE_CORRUPT", `${where}: firing counts have ${stats.firingCounts.length} entries, expected ${m}`);
    }
    return new SparseAutoencoderNet(options, inputDim, standardizer, params, stats);
  }

  /** Decoder direction of feature i in standardised units (unit norm). */
  featureDirection(i: number): Float32Array {
    const d = this.inputDim;
    return this.params["w_dec"]!.data.slice(i * d, (i + 1) * d);
  }

  /** Laplace-smoothed trusted firing rate of every feature. */
  firingRates(): Float64Array {
    const { firingCounts, nTrusted } = this.stats;
    return firingCounts.map((c) => (c + 1) / (nTrusted + 2));
  }

  /** Per-row score: error / trusted mean error + rarityWeight × rarity / trusted mean rarity. */
  score(x: Matrix): Float64Array {
    const out = new Float64Array(x.rows);
    this.visit(x, false, (row, err, rarity) => {
      out[row] = this.combine(err, rarity).score;
    });
    return out;
  }

  /** Each row's score split into its terms, with the active features listed rarest first (at most `top`). */
  breakdown(x: Matrix, top = 5): SaeRowBreakdown[] {
    const out: SaeRowBreakdown[] = [];
    const rates = this.firingRates();
    const d = this.inputDim;
    this.visit(x, true, (row, err, rarity, f, sq) => {
      const featureErrorTerms = new Float64Array(d);
      for (let j = 0; j < d; j++) featureErrorTerms[j] = sq![j]! / d / this.stats.meanError;
      const active: ActiveFeature[] = [];
      for (let i = 0; i < f.length; i++) {
        if (f[i]! > this.threshold()) {
          active.push({ feature: i, activation: f[i]!, trustedFiringRate: rates[i]!, surprisal: -Math.log(rates[i]!) });
        }
      }
      active.sort((a, b) => b.surprisal - a.surprisal || b.activation - a.activation);
      out[row] = { ...this.combine(err, rarity), active: active.slice(0, top), featureErrorTerms };
    });
    return out;
  }

  private threshold(): number {
    return this.options.activeThreshold * Math.sqrt(this.inputDim);
  }

  private combine(err: number, rarity: number): { score: number; errorTerm: number; rarityTerm: number } {
    const errorTerm = err / this.stats.meanError;
    const rarityTerm = (this.options.rarityWeight * rarity) / this.stats.meanRarity;
    return { score: errorTerm + rarityTerm, errorTerm, rarityTerm };
  }

  /** Runs the SAE over x and calls back per row with its error, rarity, feature activations and (when
   *  asked for) the squared residual of each input feature. */
  private visit(
    x: Matrix,
    entries: boolean,
    cb: (row: number, err: number, rarity: number, f: Float32Array, sq: Float32Array | null) => void,
  ): void {
    const data = this.standardise(x, "sparse-autoencoder");
    const surprisal = this.firingRates().map((r) => -Math.log(r));
    const m = this.options.features;
    const tau = this.threshold();
    forEachChunk(
      (p, xb) => {
        if (!entries) {
          const { f, err } = encodeDecode(p, xb);
          return [err, f];
        }
        const { f, sq } = encodeDecodeEntries(p, xb);
        return [np.mean(sq.ref, 1), f, sq];
      },
      this.params,
      data,
      x.rows,
      x.cols,
      [],
      ([err, f, sq], first, n) => {
        const d = this.inputDim;
        for (let r = 0; r < n; r++) {
          const fr = f!.subarray(r * m, (r + 1) * m);
          let rarity = 0;
          for (let i = 0; i < m; i++) if (fr[i]! > tau) rarity += surprisal[i]!;
          cb(first + r, err![r]!, rarity, fr, sq ? sq.subarray(r * d, (r + 1) * d) : null);
        }
      },
    );
  }
}

/** Firing counts, then mean error and mean rarity, over the (standardised) trusted rows: two passes. */
function trustedStats(opts: SparseAutoencoderOptions, d: number, params: HostParams, data: Float32Array, rows: number): SaeTrustedStats {
  const m = opts.features;
  const tau = opts.activeThreshold * Math.sqrt(d);
  const firingCounts = new Float64Array(m);
  let errSum = 0;
  const fn = (p: DeviceParams, xb: np.Array): np.Array[] => {
    const { f, err } = encodeDecode(p, xb);
    return [err, f];
  };
  forEachChunk(fn, params, data, rows, d, [], ([err, f], _first, n) => {
    for (let r = 0; r < n; r++) {
      errSum += err![r]!;
      for (let i = 0; i < m; i++) if (f![r * m + i]! > tau) firingCounts[i]! += 1;
    }
  });
  const surprisal = firingCounts.map((c) => -Math.log((c + 1) / (rows + 2)));
  let raritySum = 0;
  forEachChunk(fn, params, data, rows, d, [], ([, f], _first, n) => {
    for (let r = 0; r < n; r++) for (let i = 0; i < m; i++) if (f![r * m + i]! > tau) raritySum += surprisal[i]!;
  });
  // Guards: a perfect reconstruction or a feature-less trusted set would otherwise divide by zero.
  const meanError = Math.max(errSum / rows, 1e-12);
  const meanRarity = Math.max(raritySum / rows, 1e-12);
  return { firingCounts, nTrusted: rows, meanError, meanRarity };
}

function normaliseRows(w: Float32Array, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) {
    let ss = 0;
    for (let j = 0; j < cols; j++) ss += w[i * cols + j]! ** 2;
    const inv = 1 / Math.sqrt(ss || 1);
    for (let j = 0; j < cols; j++) w[i * cols + j]! *= inv;
  }
}
