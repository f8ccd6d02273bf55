// PCA reconstruction residual: project onto the top-k principal directions of the trusted data and score
// what is left, ‖x − x̂‖² (scikit-learn's PCA inverse_transform residual). The "whitened" variant divides the
// residual along each discarded direction by its trusted variance, so rare directions count more.

import { z } from "zod";
import { MadkitError } from "../errors.js";
import { symmetricEigen } from "../linalg/lapack.js";
import { matrix, type Matrix } from "../linalg/matrix.js";
import { Directions, forEachCentredBlock, topK } from "./centred-projection.js";
import type { DetectorSpec, Explanation, FittedDetector } from "./detector.js";
import { parseParams, parseWith, type LoadedDetector, tensorOf, saveEnvelope } from "./envelope.js";
import { GaussianStats } from "./gaussian-stats.js";
import { checkFitInput, checkScoreInput } from "./input-checks.js";

export const PCA = "pca";

const paramsSchema = z
  .object({
    /** Number of kept components (integer ≥ 1), or the fraction of trusted variance to keep (0 < f < 1). */
    components: z.number().positive().default(0.95),
    /** "residual": ‖x − x̂‖²; "whitened": Σ over discarded directions of (v_jᵀ(x−μ))² / λ_j. */
    variant: z.enum(["residual", "whitened"]).default("residual"),
  })
  .strict()
  .refine((p) => p.components < 1 || Number.isInteger(p.components), {
    message: "must be an integer count of components or a fraction in (0, 1)",
    path: ["components"],
  });

export type PcaParams = z.infer<typeof paramsSchema>;

/**
 * Whitened variances are floored at this fraction of the largest, so directions the trusted data never
 * moved in (λ ≈ 0, pure round-off) give large but finite scores rather than dividing by noise.
 */
const VARIANCE_FLOOR = 1e-6;

export class PcaSpec implements DetectorSpec<PcaParams> {
  readonly kind = PCA;
  readonly params: Readonly<PcaParams>;
  constructor(params: Partial<PcaParams> = {}) {
    this.params = parseParams(paramsSchema, params, "pca");
  }

  fit(trusted: Matrix): FittedPca {
    checkFitInput(trusted, PCA, 2, false);
    return this.fitStats(GaussianStats.of(trusted, PCA, { fourthMoments: false }));
  }

  fitStats(stats: GaussianStats): FittedPca {
    const d = stats.dim;
    // n − 1 like scikit-learn's explained_variance_; the residual itself does not depend on the scale.
    const eig = symmetricEigen(stats.covariance(1), d);
    const values = eig.values.slice().reverse();
    const vectors = new Float64Array(d * d);
    for (let j = 0; j < d; j++) vectors.set(eig.vectors.data.subarray((d - 1 - j) * d, (d - j) * d), j * d);
    for (let j = 0; j < d; j++) if (values[j]! < 0) values[j] = 0;
    let k: number;
    const c = this.params.components;
    if (c >= 1) {
      if (c > d) throw new MadkitError("BAD_ARGUMENT", `pca: components is ${c} but the data has only ${d} features`);
      k = c;
    } else {
      // scikit-learn's rule: the first k whose cumulative explained-variance ratio exceeds the fraction.
      let total = 0;
      for (let j = 0; j < d; j++) total += values[j]!;
      if (total === 0) throw new MadkitError("BAD_INPUT", `pca: all ${d} features are constant in the trusted data`);
      let cum = 0;
      k = 0;
      while (k < d && cum / total <= c) cum += values[k++]!;
      k = Math.max(1, Math.min(k, d));
    }
    return new FittedPca(this.params, Float64Array.from(stats.mean), values, vectors, k, stats.count);
  }
}

const stateSchema = z.object({ k: z.number().int().positive() });

export class FittedPca implements FittedDetector<PcaParams> {
  readonly kind = PCA;
  readonly dim: number;
  /** Directions scored against: kept ones (residual) or scaled discarded ones (whitened). */
  private readonly projection: Directions;
  private readonly kept: Directions;

  constructor(
    readonly params: Readonly<PcaParams>,
    readonly mean: Float64Array,
    /** Trusted variances along each principal direction, descending. */
    readonly variances: Float64Array,
    /** Row j is the j-th principal direction. */
    readonly directions: Float64Array,
    /** Kept components. */
    readonly k: number,
    readonly nTrain: number,
  ) {
    const d = mean.length;
    this.dim = d;
    this.kept = new Directions(matrix(k, d, directions.subarray(0, k * d)));
    if (params.variant === "residual") {
      this.projection = this.kept;
    } else {
      const floor = Math.max(variances[0]! * VARIANCE_FLOOR, Number.MIN_VALUE);
      const w = new Float64Array((d - k) * d);
      for (let j = k; j < d; j++) {
        const s = 1 / Math.sqrt(Math.max(variances[j]!, floor));
        for (let p = 0; p < d; p++) w[(j - k) * d + p] = directions[j * d + p]! * s;
      }
      this.projection = new Directions(matrix(d - k, d, w));
    }
  }

  score(x: Matrix): Float64Array {
    checkScoreInput(x, this.dim, PCA, false);
    const out = new Float64Array(x.rows);
    const m = this.projection.w.rows;
    const whitened = this.params.variant === "whitened";
    forEachCentredBlock(x, this.mean, this.projection, PCA, (start, rows, _xc, norms, z) => {
      for (let i = 0; i < rows; i++) {
        let proj = 0;
        for (let j = 0, o = i * m; j < m; j++) proj += z[o + j]! * z[o + j]!;
        if (whitened) {
          out[start + i] = proj;
        } else {
          // ‖x−μ‖² − ‖Vₖᵀ(x−μ)‖² (Pythagoras): one gemm with k columns instead of a full reconstruction.
          out[start + i] = Math.max(0, norms[i]! - proj);
        }
      }
    });
    return out;
  }

  /** Input features that carry most of each row's reconstruction error (x − x̂)_f². */
  explain(x: Matrix, top = 5): Explanation[] {
    checkScoreInput(x, this.dim, PCA, false);
    const d = this.dim;
    const k = this.k;
    const scores = this.score(x);
    const out: Explanation[] = [];
    forEachCentredBlock(x, this.mean, this.kept, PCA, (start, rows, xc, _norms, z) => {
      for (let i = 0; i < rows; i++) {
        const err = new Float64Array(d);
        for (let p = 0; p < d; p++) {
          let rec = 0;
          for (let j = 0; j < k; j++) rec += z[i * k + j]! * this.directions[j * d + p]!;
          err[p] = (xc[i * d + p]! - rec) ** 2;
        }
        let total = 0;
        for (let p = 0; p < d; p++) total += err[p]!;
        out.push({
          score: scores[start + i]!,
          top: topK(err, Math.min(top, d)).map(({ index, value }) => ({
            kind: "feature" as const,
            index,
            contribution: value,
            share: total > 0 ? value / total : 0,
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
      { kind: PCA, params: this.params, state: { k: this.k }, dim: d, nTrain: this.nTrain },
      {
        mean: { shape: [d], data: this.mean },
        variances: { shape: [d], data: this.variances },
        directions: { shape: [d, d], data: this.directions },
      },
    );
  }

  static restore(loaded: LoadedDetector): FittedPca {
    const params = parseWith(loaded, "params", paramsSchema);
    const { k } = parseWith(loaded, "state", stateSchema);
    const d = loaded.envelope.meta.dim;
    const mean = tensorOf(loaded, "mean", Float64Array);
    const variances = tensorOf(loaded, "variances", Float64Array);
    const directions = tensorOf(loaded, "directions", Float64Array);
    if (mean.length !== d || variances.length !== d || directions.length !== d * d || k > d) {
      throw new MadkitError("STORE_CORRUPT", `${loaded.dir}: pca weights do not match dim ${d} and k ${k}`);
    }
    return new FittedPca(params, mean, variances, directions, k, loaded.envelope.meta.nTrain);
  }
}

export function pca(params: Partial<PcaParams> = {}): PcaSpec {
  return new PcaSpec(params);
}
