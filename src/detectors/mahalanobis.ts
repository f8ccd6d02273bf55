// Mahalanobis distance to the trusted Gaussian: score = (x−μ)ᵀ Σ⁻¹ (x−μ) (squared, as scikit-learn's
// `mahalanobis`), with Σ empirical or shrunk (Ledoit-Wolf 2004, OAS of Chen et al. 2010, both exactly as
// scikit-learn 1.2 computes them). Fitted from mergeable GaussianStats, so any N fits in O(d²) memory.

import { z } from "zod";
import { isMadkitError, MadkitError } from "../errors.js";
import { cholesky, choleskyDiagonal, choleskyInverseFactor, symmetricEigen } from "../linalg/lapack.js";
import { matrix, type Matrix } from "../linalg/matrix.js";
import { Directions, forEachCentredBlock, topK } from "./centred-projection.js";
import type { DetectorSpec, Explanation, FittedDetector } from "./detector.js";
import { parseParams, parseWith, type LoadedDetector, tensorOf, saveEnvelope } from "./envelope.js";
import { GaussianStats } from "./gaussian-stats.js";
import { checkFitInput, checkScoreInput } from "./input-checks.js";

export const MAHALANOBIS = "mahalanobis";

const paramsSchema = z
  .object({
    /** How Σ is estimated. "empirical" needs N > d and no constant features; the shrunk ones do not. */
    covariance: z.enum(["empirical", "ledoit-wolf", "oas"]).default("ledoit-wolf"),
  })
  .strict();

export type MahalanobisParams = z.infer<typeof paramsSchema>;

/** Double-precision machine epsilon: pivots below d·ε of the largest variance count as zero (as pinvh's cutoff). */
const EPS = 2.220446049250313e-16;

export class MahalanobisSpec implements DetectorSpec<MahalanobisParams> {
  readonly kind = MAHALANOBIS;
  readonly params: Readonly<MahalanobisParams>;
  constructor(params: Partial<MahalanobisParams> = {}) {
    this.params = parseParams(paramsSchema, params, "mahalanobis");
  }

  fit(trusted: Matrix): FittedMahalanobis {
    checkFitInput(trusted, MAHALANOBIS, 2, false);
    // Only Ledoit-Wolf needs the fourth moments; the others skip that pass.
    return this.fitStats(GaussianStats.of(trusted, MAHALANOBIS, { fourthMoments: this.params.covariance === "ledoit-wolf" }));
  }

  /** Fit from statistics accumulated elsewhere (streamed, or merged from shards). */
  fitStats(stats: GaussianStats): FittedMahalanobis {
    const d = stats.dim;
    const n = stats.count;
    const how = this.params.covariance;
    if (n < 2) throw new MadkitError("BAD_INPUT", `mahalanobis: needs at least 2 trusted rows, got ${n}`);
    if (how === "ledoit-wolf" && !stats.fourthMoments) {
      throw new MadkitError("BAD_ARGUMENT", "mahalanobis (ledoit-wolf): the statistics were accumulated without fourthMoments, which Ledoit-Wolf needs");
    }
    if (how === "empirical" && n <= d) {
      throw new MadkitError(
        "BAD_INPUT",
        `mahalanobis (empirical): ${n} trusted rows for ${d} features leave the covariance singular (needs N > d); ` +
          `use covariance "ledoit-wolf" or "oas", or more rows`,
      );
    }
    const cov = stats.covariance();
    const constant: number[] = [];
    // Constant up to rounding: float32 sums of a repeated value are not exact, so allow 1e-6 relative spread.
    for (let j = 0; j < d; j++) if (cov[j * d + j]! <= 1e-12 * stats.mean[j]! ** 2) constant.push(j);
    if (how === "empirical" && constant.length > 0) {
      throw new MadkitError(
        "BAD_INPUT",
        `mahalanobis (empirical): ${constant.length} feature(s) are constant in the trusted data (first: ${constant.slice(0, 5).join(", ")}), ` +
          `so the covariance is singular; drop them or use covariance "ledoit-wolf" or "oas"`,
      );
    }
    if (constant.length === d) throw new MadkitError("BAD_INPUT", `mahalanobis: all ${d} features are constant in the trusted data`);
    const shrinkage = how === "ledoit-wolf" ? ledoitWolfShrinkage(stats, cov) : how === "oas" ? oasShrinkage(n, cov, d) : 0;
    if (shrinkage > 0) {
      let tr = 0;
      for (let j = 0; j < d; j++) tr += cov[j * d + j]!;
      const mu = tr / d;
      for (let i = 0; i < cov.length; i++) cov[i]! *= 1 - shrinkage;
      for (let j = 0; j < d; j++) cov[j * d + j]! += shrinkage * mu;
    }
    return new FittedMahalanobis(this.params, Float64Array.from(stats.mean), cov, shrinkage, n);
  }
}

/** Ledoit-Wolf shrinkage from centred moments (scikit-learn's ledoit_wolf_shrinkage, without the data). */
export function ledoitWolfShrinkage(stats: GaussianStats, cov: Float64Array): number {
  const d = stats.dim;
  const n = stats.count;
  let tr = 0;
  for (let j = 0; j < d; j++) tr += cov[j * d + j]!;
  const mu = tr / d;
  let fro = 0;
  for (let i = 0; i < cov.length; i++) fro += cov[i]! * cov[i]!;
  let beta = (stats.quartic / n - fro) / (d * n);
  const delta = (fro - 2 * mu * tr + d * mu * mu) / d;
  beta = Math.min(beta, delta);
  return beta === 0 ? 0 : beta / delta;
}

/** Oracle Approximating Shrinkage, in the form scikit-learn 1.2 implements (Chen et al.'s code, not the paper). */
export function oasShrinkage(n: number, cov: Float64Array, d: number): number {
  let tr = 0;
  for (let j = 0; j < d; j++) tr += cov[j * d + j]!;
  const mu = tr / d;
  let fro = 0;
  for (let i = 0; i < cov.length; i++) fro += cov[i]! * cov[i]!;
  const alpha = fro / (d * d);
  const num = alpha + mu * mu;
  const den = (n + 1) * (alpha - (mu * mu) / d);
  return den === 0 ? 1 : Math.min(num / den, 1);
}

const stateSchema = z.object({ shrinkage: z.number().min(0).max(1) });

/**
 * Whitening by the inverse Cholesky factor: z = L⁻¹(x−μ) and score = ‖z‖², a sum of squares, so float32
 * scoring loses nothing to cancellation. A pivot below d·ε of the largest variance means Σ is singular
 * to working precision (scikit-learn's pinvh would drop that direction); we refuse instead.
 */
function whitener(cov: Float64Array, d: number, how: string): Float64Array {
  const singular = (detail: string) =>
    new MadkitError(
      "BAD_INPUT",
      `mahalanobis (${how}): the covariance is singular (${detail}: collinear or duplicated features); use covariance "ledoit-wolf" or "oas"`,
    );
  let factor;
  try {
    factor = cholesky(cov, d);
  } catch (e) {
    if (isMadkitError(e) && e.code === "BAD_INPUT") throw singular("not positive definite");
    throw e;
  }
  const diag = choleskyDiagonal(factor);
  let maxVar = 0;
  for (let j = 0; j < d; j++) maxVar = Math.max(maxVar, cov[j * d + j]!);
  for (let j = 0; j < d; j++) if (diag[j]! * diag[j]! <= maxVar * d * EPS) throw singular(`pivot ${j} is ${(diag[j]! * diag[j]!).toExponential(2)}`);
  return choleskyInverseFactor(factor);
}

export class FittedMahalanobis implements FittedDetector<MahalanobisParams> {
  readonly kind = MAHALANOBIS;
  readonly dim: number;
  /** L⁻¹ (row-major, lower): ‖L⁻¹(x−μ)‖² is the squared Mahalanobis distance. */
  private readonly whiten: Directions;
  private eig: { values: Float64Array; vectors: Float64Array; whiten: Directions } | undefined;

  constructor(
    readonly params: Readonly<MahalanobisParams>,
    readonly mean: Float64Array,
    /** The (shrunk) covariance Σ, d x d row-major. */
    readonly covariance: Float64Array,
    readonly shrinkage: number,
    readonly nTrain: number,
  ) {
    const d = mean.length;
    this.dim = d;
    this.whiten = new Directions(matrix(d, d, whitener(covariance, d, params.covariance)));
  }

  score(x: Matrix): Float64Array {
    checkScoreInput(x, this.dim, MAHALANOBIS, false);
    const out = new Float64Array(x.rows);
    const d = this.dim;
    forEachCentredBlock(x, this.mean, this.whiten, MAHALANOBIS, (start, rows, _xc, _norms, z) => {
      for (let i = 0; i < rows; i++) {
        let s = 0;
        for (let j = 0, o = i * d; j < d; j++) s += z[o + j]! * z[o + j]!;
        out[start + i] = s;
      }
    });
    return out;
  }

  /** Eigendecomposition of Σ (computed on first use): values ascending, row j of vectors = eigenvector j. */
  eigen(): { values: Float64Array; vectors: Float64Array } {
    return this.eigenBasis();
  }

  private eigenBasis(): { values: Float64Array; vectors: Float64Array; whiten: Directions } {
    if (!this.eig) {
      const d = this.dim;
      const { values, vectors } = symmetricEigen(this.covariance, d);
      const w = new Float64Array(d * d);
      for (let j = 0; j < d; j++) {
        const s = 1 / Math.sqrt(Math.max(values[j]!, Number.MIN_VALUE));
        for (let p = 0, o = j * d; p < d; p++) w[o + p] = vectors.data[o + p]! * s;
      }
      this.eig = { values, vectors: vectors.data, whiten: new Directions(matrix(d, d, w)) };
    }
    return this.eig;
  }

  /**
   * Principal directions of the trusted covariance that carry most of each row's distance: in the eigenbasis
   * the squared distance splits into d additive parts (v_jᵀ(x−μ))²/λ_j. Index = rank by trusted variance.
   */
  explain(x: Matrix, top = 5): Explanation[] {
    checkScoreInput(x, this.dim, MAHALANOBIS, false);
    const d = this.dim;
    const out: Explanation[] = [];
    forEachCentredBlock(x, this.mean, this.eigenBasis().whiten, MAHALANOBIS, (_start, rows, _xc, _norms, z) => {
      for (let i = 0; i < rows; i++) {
        const parts = new Float64Array(d);
        let s = 0;
        for (let j = 0; j < d; j++) {
          parts[j] = z[i * d + j]! ** 2;
          s += parts[j]!;
        }
        out.push({
          score: s,
          top: topK(parts, Math.min(top, d)).map(({ index, value }) => ({
            kind: "direction" as const,
            index: d - 1 - index,
            contribution: value,
            share: s > 0 ? value / s : 0,
          })),
        });
      }
    });
    return out;
  }

  save(dir: string): void {
    const d = this.dim;
    saveEnvelope(
      dir,
      { kind: MAHALANOBIS, params: this.params, state: { shrinkage: this.shrinkage }, dim: d, nTrain: this.nTrain },
      {
        mean: { shape: [d], data: this.mean },
        covariance: { shape: [d, d], data: this.covariance },
      },
    );
  }

  static restore(loaded: LoadedDetector): FittedMahalanobis {
    const params = parseWith(loaded, "params", paramsSchema);
    const state = parseWith(loaded, "state", stateSchema);
    const d = loaded.envelope.meta.dim;
    const mean = tensorOf(loaded, "mean", Float64Array);
    const covariance = tensorOf(loaded, "covariance", Float64Array);
    if (mean.length !== d || covariance.length !== d * d || !covariance.every(Number.isFinite)) {
      throw new MadkitError("STORE_CORRUPT", `${loaded.dir}: mahalanobis weights do not match dim ${d} or are not finite`);
    }
    return new FittedMahalanobis(params, mean, covariance, state.shrinkage, loaded.envelope.meta.nTrain);
  }
}

export function mahalanobis(params: Partial<MahalanobisParams> = {}): MahalanobisSpec {
  return new MahalanobisSpec(params);
}
