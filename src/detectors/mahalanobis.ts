// Mahalanobis distance to the trusted Gaussian: score = (x−μ)ᵀ Σ⁻¹ (x−μ) (squared, as scikit-learn's
// `mahalanobis`), with Σ empirical or shrunk (Ledoit-Wolf 2004, OAS of Chen et al. 2010, both exactly as
// scikit-learn 1.2 computes them). Fitted from mergeable GaussianStats, so any N fits in O(d²) memory.

import { z } from "zod";
import { MadkitError } from "../errors.js";
import { symmetricEigen } from "../linalg/lapack.js";
import { matrix, type Matrix } from "../linalg/matrix.js";
import { forEachCentredBlock, topK } from "./centred-projection.js";
import type { DetectorSpec, Explanation, FittedDetector } from "./detector.js";
import { parseWith, saveEnvelope, tensorOf, type LoadedDetector } from "./envelope.js";
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

/** Eigenvalues below this fraction of the largest (times d) count as zero, as scikit-learn's pinvh does. */
const EPS = 2.220446049250313e-16;

export class MahalanobisSpec implements DetectorSpec<MahalanobisParams> {
  readonly kind = MAHALANOBIS;
  readonly params: Readonly<MahalanobisParams>;
  constructor(params: Partial<MahalanobisParams> = {}) {
    const r = paramsSchema.safeParse(params);
    if (!r.success) throw new MadkitError("BAD_ARGUMENT", `mahalanobis: ${r.error.issues[0]!.path.join(".")} ${r.error.issues[0]!.message}`);
    this.params = r.data;
  }

  fit(trusted: Matrix): FittedMahalanobis {
    checkFitInput(trusted, MAHALANOBIS);
    return this.fitStats(GaussianStats.of(trusted));
  }

  /** Fit from statistics accumulated elsewhere (streamed, or merged from shards). */
  fitStats(stats: GaussianStats): FittedMahalanobis {
    const d = stats.dim;
    const n = stats.count;
    const how = this.params.covariance;
    if (n < 2) throw new MadkitError("BAD_INPUT", `mahalanobis: needs at least 2 trusted rows, got ${n}`);
    if (how === "empirical" && n <= d) {
      throw new MadkitError(
        "BAD_INPUT",
        `mahalanobis (empirical): ${n} trusted rows for ${d} features leave the covariance singular (needs N > d); ` +
          `use covariance "ledoit-wolf" or "oas", or more rows`,
      );
    }
    const cov = stats.covariance();
    const constant: number[] = [];
    for (let j = 0; j < d; j++) if (cov[j * d + j] === 0) constant.push(j);
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
    const eig = symmetricEigen(cov, d);
    const top = eig.values[d - 1]!;
    const cutoff = top * d * EPS;
    let rank = 0;
    for (let j = 0; j < d; j++) if (eig.values[j]! > cutoff) rank++;
    if (rank < d) {
      throw new MadkitError(
        "BAD_INPUT",
        `mahalanobis (${how}): the covariance has rank ${rank} of ${d} (collinear features); use covariance "ledoit-wolf" or "oas"`,
      );
    }
    return new FittedMahalanobis(this.params, Float64Array.from(stats.mean), eig.values, eig.vectors.data, shrinkage, n);
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

export class FittedMahalanobis implements FittedDetector<MahalanobisParams> {
  readonly kind = MAHALANOBIS;
  readonly dim: number;
  /** Rows v_j/√λ_j: ‖W(x−μ)‖² is the squared Mahalanobis distance. */
  private readonly whiten: Matrix<Float64Array>;

  constructor(
    readonly params: Readonly<MahalanobisParams>,
    readonly mean: Float64Array,
    /** Eigenvalues of the (shrunk) covariance, ascending. */
    readonly eigenvalues: Float64Array,
    /** Row j is the eigenvector of eigenvalues[j]. */
    readonly eigenvectors: Float64Array,
    readonly shrinkage: number,
    readonly nTrain: number,
  ) {
    const d = mean.length;
    this.dim = d;
    const w = new Float64Array(d * d);
    for (let j = 0; j < d; j++) {
      const s = 1 / Math.sqrt(eigenvalues[j]!);
      for (let p = 0, o = j * d; p < d; p++) w[o + p] = eigenvectors[o + p]! * s;
    }
    this.whiten = matrix(d, d, w);
  }

  score(x: Matrix): Float64Array {
    checkScoreInput(x, this.dim, MAHALANOBIS);
    const out = new Float64Array(x.rows);
    const d = this.dim;
    forEachCentredBlock(x, this.mean, this.whiten, (start, rows, _xc, z) => {
      for (let i = 0; i < rows; i++) {
        let s = 0;
        for (let j = 0, o = i * d; j < d; j++) s += z[o + j]! * z[o + j]!;
        out[start + i] = s;
      }
    });
    return out;
  }

  /** Principal directions of the trusted covariance that carry most of each row's distance. */
  explain(x: Matrix, top = 5): Explanation[] {
    checkScoreInput(x, this.dim, MAHALANOBIS);
    const d = this.dim;
    const out: Explanation[] = [];
    forEachCentredBlock(x, this.mean, this.whiten, (_start, rows, _xc, z) => {
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
        eigenvalues: { shape: [d], data: this.eigenvalues },
        eigenvectors: { shape: [d, d], data: this.eigenvectors },
      },
    );
  }

  static restore(loaded: LoadedDetector): FittedMahalanobis {
    const params = parseWith(loaded, "params", paramsSchema);
    const state = parseWith(loaded, "state", stateSchema);
    const d = loaded.envelope.meta.dim;
    const mean = tensorOf(loaded, "mean", Float64Array);
    const values = tensorOf(loaded, "eigenvalues", Float64Array);
    const vectors = tensorOf(loaded, "eigenvectors", Float64Array);
    if (mean.length !== d || values.length !== d || vectors.length !== d * d || !values.every((v) => v > 0)) {
      throw new MadkitError("STORE_CORRUPT", `${loaded.dir}: mahalanobis weights do not match dim ${d} or have non-positive eigenvalues`);
    }
    return new FittedMahalanobis(params, mean, values, vectors, state.shrinkage, loaded.envelope.meta.nTrain);
  }
}

export function mahalanobis(params: Partial<MahalanobisParams> = {}): MahalanobisSpec {
  return new MahalanobisSpec(params);
}
