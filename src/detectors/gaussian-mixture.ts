// Gaussian mixture likelihood: EM as scikit-learn's GaussianMixture (full or diagonal covariances, reg_covar
// added to every diagonal, stop when the mean log-likelihood moves less than tol), seeded k-means++ init.
// Score = −log p(x) per row (log-sum-exp over components, Cholesky-whitened log-densities for "full").

import { z } from "zod";
import { isMadkitError, MadkitError } from "../errors.js";
import { gemm, gramInto } from "../linalg/blas.js";
import { cholesky, choleskyDiagonal, choleskyInverseFactor } from "../linalg/lapack.js";
import { matrix, type Matrix } from "../linalg/matrix.js";
import { SeededRng } from "../random/seeded-rng.js";
import { Directions, forEachCentredBlock, topK } from "./centred-projection.js";
import type { DetectorSpec, Explanation, FittedDetector } from "./detector.js";
import { parseParams, parseWith, type LoadedDetector, tensorOf, saveEnvelope } from "./envelope.js";
import { checkFitInput, checkScoreInput, throwNonFinite } from "./input-checks.js";

export const GAUSSIAN_MIXTURE = "gaussian-mixture";

const paramsSchema = z
  .object({
    /** Mixture components k (scikit-learn's n_components, default 1). Fitting needs at least k trusted rows. */
    components: z.number().int().positive().default(1),
    /** "full": one d x d covariance per component; "diag": per-feature variances only. */
    covariance: z.enum(["full", "diag"]).default("full"),
    /** Added to every covariance diagonal so each stays positive definite (scikit-learn's reg_covar). */
    regCovar: z.number().nonnegative().default(1e-6),
    /** EM stops when the mean trusted log-likelihood changes by less than this (scikit-learn's tol). */
    tol: z.number().positive().default(1e-3),
    maxIter: z.number().int().positive().default(100),
    /** Seeds the k-means++ choice of initial centres. */
    seed: z.number().int().default(0),
  })
  .strict();

export type GaussianMixtureParams = z.infer<typeof paramsSchema>;

/** Mixture parameters: weights [k], means [k, d], covariances [k, d, d] ("full") or [k, d] ("diag"). */
export interface MixtureParameters {
  readonly weights: Float64Array;
  readonly means: Float64Array;
  readonly covariances: Float64Array;
}

const LOG_2PI = Math.log(2 * Math.PI);
/** scikit-learn adds 10·ε to every component's mass so an empty component divides by a tiny number, not 0. */
const MASS_EPS = 10 * 2.220446049250313e-16;
/** Rows per block when accumulating weighted scatter matrices. */
const BLOCK = 4096;

function toFloat64(x: Matrix): Matrix<Float64Array> {
  return x.data instanceof Float64Array ? (x as Matrix<Float64Array>) : matrix(x.rows, x.cols, Float64Array.from(x.data));
}

/**
 * The initial mixture the EM starts from: greedy k-means++ centres (D² sampling, seeded),
 * each trusted row assigned to its nearest centre, then one M-step on those hard responsibilities. Exported
 * so a reference implementation can be started from the same point.
 */
export function gaussianMixtureInit(trusted: Matrix, params: Partial<GaussianMixtureParams> = {}): MixtureParameters {
  const p = new GaussianMixtureSpec(params).params;
  checkFitInput(trusted, GAUSSIAN_MIXTURE, p.components);
  return initialMixture(toFloat64(trusted), p);
}

function initialMixture(x: Matrix<Float64Array>, p: GaussianMixtureParams): MixtureParameters {
  const { rows: n, cols: d } = x;
  const k = p.components;
  const rng = new SeededRng(p.seed);
  const sqDist = (i: number, c: number) => {
    let s = 0;
    for (let j = 0, a = i * d, b = c * d; j < d; j++) {
      const v = x.data[a + j]! - x.data[b + j]!;
      s += v * v;
    }
    return s;
  };
  // nearest[i]: squared distance from row i to its closest centre so far; owner[i]: that centre's number.
  const nearest = new Float64Array(n).fill(Infinity);
  const owner = new Int32Array(n);
  const candidate = new Float64Array(n);
  const best = new Float64Array(n);
  // Greedy k-means++ (as scikit-learn's kmeans_plusplus): draw 2 + ⌊ln k⌋ candidates by D² sampling and keep
  // the one that lowers the total squared distance most; plain D² sampling often puts two centres in one cluster.
  const trials = 2 + Math.floor(Math.log(k));
  let total = 0;
  const first = rng.int(n);
  for (let i = 0; i < n; i++) {
    nearest[i] = sqDist(i, first);
    total += nearest[i]!;
  }
  for (let c = 1; c < k; c++) {
    let bestPotential = Infinity;
    for (let t = 0; t < trials; t++) {
      let row = -1;
      if (total > 0) {
        let u = rng.uniform() * total;
        for (let i = 0; i < n && row < 0; i++) {
          u -= nearest[i]!;
          if (u <= 0 && nearest[i]! > 0) row = i;
        }
        for (let i = n - 1; i >= 0 && row < 0; i--) if (nearest[i]! > 0) row = i;
      }
      if (row < 0) row = rng.int(n); // every row already coincides with a centre
      let potential = 0;
      for (let i = 0; i < n; i++) {
        candidate[i] = Math.min(nearest[i]!, sqDist(i, row));
        potential += candidate[i]!;
      }
      if (potential < bestPotential) {
        bestPotential = potential;
        best.set(candidate);
      }
    }
    for (let i = 0; i < n; i++) if (best[i]! < nearest[i]!) owner[i] = c;
    nearest.set(best);
    total = bestPotential;
  }
  const resp = new Float64Array(n * k);
  for (let i = 0; i < n; i++) resp[i * k + owner[i]!] = 1;
  return mStep(x, resp, p);
}

/** Weights, means and (regularised) covariances from responsibilities resp [n, k] (scikit-learn's M-step). */
function mStep(x: Matrix<Float64Array>, resp: Float64Array, p: GaussianMixtureParams): MixtureParameters {
  const { rows: n, cols: d } = x;
  const k = p.components;
  const mass = new Float64Array(k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) mass[c]! += resp[i * k + c]!;
  for (let c = 0; c < k; c++) mass[c]! += MASS_EPS;
  const means = gemm(matrix(n, k, resp), x, { transA: true }).data;
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) means[c * d + j]! /= mass[c]!;
  const full = p.covariance === "full";
  const covariances = new Float64Array(full ? k * d * d : k * d);
  if (full) {
    // Σ_c = Σ_i r_ic (x_i − μ_c)(x_i − μ_c)ᵀ / n_c, as the Gram matrix of rows scaled by √r_ic (dsyrk per block).
    const buf = new Float64Array(Math.min(BLOCK, n) * d);
    for (let c = 0; c < k; c++) {
      const cov = covariances.subarray(c * d * d, (c + 1) * d * d);
      for (let start = 0; start < n; start += BLOCK) {
        const nb = Math.min(BLOCK, n - start);
        for (let i = 0; i < nb; i++) {
          const w = Math.sqrt(resp[(start + i) * k + c]!);
          for (let j = 0, o = i * d, s = (start + i) * d; j < d; j++) buf[o + j] = w * (x.data[s + j]! - means[c * d + j]!);
        }
        gramInto(matrix(nb, d, buf.subarray(0, nb * d)), cov, 1 / mass[c]!, start === 0 ? 0 : 1);
      }
      for (let j = 0; j < d; j++) cov[j * d + j]! += p.regCovar;
    }
  } else {
    // Centred per component (not scikit-learn's E[x²] − μ² form, which cancels badly far from the origin).
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < k; c++) {
        const r = resp[i * k + c]!;
        if (r === 0) continue;
        for (let j = 0, o = i * d, m = c * d; j < d; j++) {
          const v = x.data[o + j]! - means[m + j]!;
          covariances[m + j]! += r * v * v;
        }
      }
    }
    for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) covariances[c * d + j] = covariances[c * d + j]! / mass[c]! + p.regCovar;
  }
  const weights = new Float64Array(k);
  for (let c = 0; c < k; c++) weights[c] = mass[c]! / n;
  return { weights, means, covariances };
}

/** Per-component quantities for log-densities: whitening L⁻¹ and log det Σ ("full"), or 1/σ² ("diag"). */
class PreparedMixture {
  readonly k: number;
  readonly d: number;
  private readonly whiten: Directions[] = [];
  private readonly logNorm: Float64Array;
  private readonly invVar: Float64Array | undefined;

  constructor(
    readonly mixture: MixtureParameters,
    readonly full: boolean,
  ) {
    const k = mixture.weights.length;
    const d = mixture.means.length / k;
    this.k = k;
    this.d = d;
    // logNorm_c = log w_c − ½(d log 2π + log det Σ_c)
    this.logNorm = new Float64Array(k);
    if (full) {
      for (let c = 0; c < k; c++) {
        const cov = mixture.covariances.subarray(c * d * d, (c + 1) * d * d);
        let factor;
        try {
          factor = cholesky(Float64Array.from(cov), d);
        } catch (e) {
          if (isMadkitError(e) && e.code === "BAD_INPUT") {
            throw new MadkitError(
              "BAD_INPUT",
              `${GAUSSIAN_MIXTURE}: component ${c}'s covariance is not positive definite (too few or collinear rows in it); ` +
                `use fewer components, covariance "diag" or a larger regCovar`,
            );
          }
          throw e;
        }
        let logDet = 0;
        for (const v of choleskyDiagonal(factor)) logDet += 2 * Math.log(v);
        this.whiten.push(new Directions(matrix(d, d, choleskyInverseFactor(factor))));
        this.logNorm[c] = Math.log(mixture.weights[c]!) - 0.5 * (d * LOG_2PI + logDet);
      }
    } else {
      this.invVar = new Float64Array(k * d);
      for (let c = 0; c < k; c++) {
        let logDet = 0;
        for (let j = 0; j < d; j++) {
          const v = mixture.covariances[c * d + j]!;
          if (!(v > 0)) {
            throw new MadkitError("BAD_INPUT", `${GAUSSIAN_MIXTURE}: component ${c} has variance ${v} in feature ${j}; use a larger regCovar`);
          }
          logDet += Math.log(v);
          this.invVar[c * d + j] = 1 / v;
        }
        this.logNorm[c] = Math.log(mixture.weights[c]!) - 0.5 * (d * LOG_2PI + logDet);
      }
    }
  }

  /** log(w_c · N(x_i | μ_c, Σ_c)) for every row and component, [n, k]; non-finite rows raise NON_FINITE. */
  weightedLogDensities(x: Matrix, what: "trusted" | "input"): Float64Array {
    const { k, d } = this;
    const n = x.rows;
    const out = new Float64Array(n * k);
    const means = this.mixture.means;
    if (this.full) {
      for (let c = 0; c < k; c++) {
        const mean = means.subarray(c * d, (c + 1) * d);
        forEachCentredBlock(x, mean, this.whiten[c]!, GAUSSIAN_MIXTURE, (start, rows, _xc, _norms, zb) => {
          for (let i = 0; i < rows; i++) {
            let s = 0;
            for (let j = 0, o = i * d; j < d; j++) s += zb[o + j]! * zb[o + j]!;
            out[(start + i) * k + c] = this.logNorm[c]! - 0.5 * s;
          }
        });
      }
    } else {
      const inv = this.invVar!;
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < k; c++) {
          let s = 0;
          for (let j = 0, o = i * d, m = c * d; j < d; j++) {
            const v = x.data[o + j]! - means[m + j]!;
            s += v * v * inv[m + j]!;
          }
          if (s - s !== 0) throwNonFinite(x, i, GAUSSIAN_MIXTURE, what);
          out[i * k + c] = this.logNorm[c]! - 0.5 * s;
        }
      }
    }
    return out;
  }
}

/** In place: each row of logp [n, k] becomes log responsibilities; returns log p(x_i) per row (log-sum-exp). */
function normalizeRows(logp: Float64Array, n: number, k: number): Float64Array {
  const norm = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let c = 0; c < k; c++) m = Math.max(m, logp[i * k + c]!);
    let s = 0;
    for (let c = 0; c < k; c++) s += Math.exp(logp[i * k + c]! - m);
    const lse = m + Math.log(s);
    norm[i] = lse;
    for (let c = 0; c < k; c++) logp[i * k + c]! -= lse;
  }
  return norm;
}

export class GaussianMixtureSpec implements DetectorSpec<GaussianMixtureParams> {
  readonly kind = GAUSSIAN_MIXTURE;
  readonly params: Readonly<GaussianMixtureParams>;
  constructor(params: Partial<GaussianMixtureParams> = {}) {
    this.params = parseParams(paramsSchema, params, GAUSSIAN_MIXTURE);
  }

  fit(trusted: Matrix): FittedGaussianMixture {
    checkFitInput(trusted, GAUSSIAN_MIXTURE, Math.max(2, this.params.components));
    const x = toFloat64(trusted);
    return this.em(x, initialMixture(x, this.params));
  }

  /**
   * EM from a given starting mixture (scikit-learn's loop: E-step, M-step, stop when the E-step's mean
   * log-likelihood changed by less than tol). The fit is in float64 whatever the input precision.
   */
  fitFrom(trusted: Matrix, start: MixtureParameters): FittedGaussianMixture {
    checkFitInput(trusted, GAUSSIAN_MIXTURE, Math.max(2, this.params.components));
    return this.em(toFloat64(trusted), start);
  }

  private em(x: Matrix<Float64Array>, start: MixtureParameters): FittedGaussianMixture {
    const p = this.params;
    const { rows: n, cols: d } = x;
    const k = p.components;
    const full = p.covariance === "full";
    if (start.weights.length !== k || start.means.length !== k * d || start.covariances.length !== (full ? k * d * d : k * d)) {
      throw new MadkitError("DIMENSION_MISMATCH", `${GAUSSIAN_MIXTURE}: the starting mixture does not have ${k} components of dimension ${d}`);
    }
    let mixture = start;
    let lowerBound = -Infinity;
    let converged = false;
    let iterations = 0;
    for (let it = 1; it <= p.maxIter; it++) {
      iterations = it;
      const prev = lowerBound;
      const logResp = new PreparedMixture(mixture, full).weightedLogDensities(x, "trusted");
      const logNorm = normalizeRows(logResp, n, k);
      let mean = 0;
      for (let i = 0; i < n; i++) mean += logNorm[i]!;
      lowerBound = mean / n;
      for (let i = 0; i < logResp.length; i++) logResp[i] = Math.exp(logResp[i]!);
      mixture = mStep(x, logResp, p);
      if (Math.abs(lowerBound - prev) < p.tol) {
        converged = true;
        break;
      }
    }
    return new FittedGaussianMixture(p, d, mixture, { converged, iterations, lowerBound }, n);
  }
}

const stateSchema = z.object({
  converged: z.boolean(),
  iterations: z.number().int().nonnegative(),
  /** Mean trusted log-likelihood at the last E-step. */
  lowerBound: z.number(),
});

export type GaussianMixtureState = z.infer<typeof stateSchema>;

export class FittedGaussianMixture implements FittedDetector<GaussianMixtureParams> {
  readonly kind = GAUSSIAN_MIXTURE;
  readonly scope = "input" as const;
  private readonly prepared: PreparedMixture;

  constructor(
    readonly params: Readonly<GaussianMixtureParams>,
    readonly dim: number,
    readonly mixture: MixtureParameters,
    readonly state: GaussianMixtureState,
    readonly nTrain: number,
  ) {
    this.prepared = new PreparedMixture(mixture, params.covariance === "full");
  }

  /** log p(x) per row (scikit-learn's score_samples); the anomaly score is its negative. */
  logLikelihood(x: Matrix): Float64Array {
    checkScoreInput(x, this.dim, GAUSSIAN_MIXTURE, false);
    return normalizeRows(this.prepared.weightedLogDensities(x, "input"), x.rows, this.params.components);
  }

  score(x: Matrix): Float64Array {
    const ll = this.logLikelihood(x);
    for (let i = 0; i < ll.length; i++) ll[i] = -ll[i]!;
    return ll;
  }

  /** Posterior responsibilities [n, k] (scikit-learn's predict_proba). */
  responsibilities(x: Matrix): Float64Array {
    checkScoreInput(x, this.dim, GAUSSIAN_MIXTURE, false);
    const r = this.prepared.weightedLogDensities(x, "input");
    normalizeRows(r, x.rows, this.params.components);
    for (let i = 0; i < r.length; i++) r[i] = Math.exp(r[i]!);
    return r;
  }

  /**
   * Which component a row belongs to: components ranked by posterior responsibility (share), each credited
   * that share of the row's score. A high score with a confident component = far out in that component's tail.
   */
  explain(x: Matrix, top = 3): Explanation[] {
    const k = this.params.components;
    const r = this.responsibilities(x);
    const s = this.score(x);
    const out: Explanation[] = [];
    for (let i = 0; i < x.rows; i++) {
      const ranked = topK(r.subarray(i * k, (i + 1) * k), Math.min(top, k));
      out.push({
        score: s[i]!,
        top: ranked.map(({ index, value }) => ({ kind: "component" as const, index, contribution: value * s[i]!, share: value })),
      });
    }
    return out;
  }

  save(dir: string): void {
    const { components: k, covariance } = this.params;
    const d = this.dim;
    saveEnvelope(
      dir,
      { kind: GAUSSIAN_MIXTURE, params: this.params, state: { ...this.state }, dim: d, nTrain: this.nTrain },
      {
        weights: { shape: [k], data: this.mixture.weights },
        means: { shape: [k, d], data: this.mixture.means },
        covariances: { shape: covariance === "full" ? [k, d, d] : [k, d], data: this.mixture.covariances },
      },
    );
  }

  static restore(loaded: LoadedDetector): FittedGaussianMixture {
    const params = parseWith(loaded, "params", paramsSchema);
    const state = parseWith(loaded, "state", stateSchema);
    const d = loaded.envelope.meta.dim;
    const k = params.components;
    const weights = tensorOf(loaded, "weights", Float64Array);
    const means = tensorOf(loaded, "means", Float64Array);
    const covariances = tensorOf(loaded, "covariances", Float64Array);
    const covLen = params.covariance === "full" ? k * d * d : k * d;
    if (weights.length !== k || means.length !== k * d || covariances.length !== covLen) {
      throw new MadkitError("STORE_CORRUPT", `${loaded.dir}: ${GAUSSIAN_MIXTURE} weights do not match ${k} components of dim ${d}`);
    }
    if (!weights.every((w) => w > 0 && w <= 1) || !means.every(Number.isFinite) || !covariances.every(Number.isFinite)) {
      throw new MadkitError("STORE_CORRUPT", `${loaded.dir}: ${GAUSSIAN_MIXTURE} weights must lie in (0, 1] and means/covariances be finite`);
    }
    return new FittedGaussianMixture(params, d, { weights, means, covariances }, state, loaded.envelope.meta.nTrain);
  }
}

export function gaussianMixture(params: Partial<GaussianMixtureParams> = {}): GaussianMixtureSpec {
  return new GaussianMixtureSpec(params);
}
