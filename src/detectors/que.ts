// QUE, quantum-entropy scoring (Dong, Hopkins & Li 2019; as in cupbearer): in the trusted-whitened frame,
// Q = exp(α(Σ_b − I)/(‖Σ_b‖₂ − 1)) / tr(·) from the batch covariance Σ_b, score = zᵀQz. A batch method:
// α → 0 gives the whitened squared norm / d (Mahalanobis), large α the projection on Σ_b's top direction.

import { z } from "zod";
import { gemm, gramInto } from "../linalg/blas.js";
import { symmetricEigen } from "../linalg/lapack.js";
import { matrix, type Matrix } from "../linalg/matrix.js";
import { topContributions } from "./centred-projection.js";
import { CheckedSpec } from "./checked-spec.js";
import type { Explanation } from "./detector.js";
import type { LoadedDetector } from "./envelope.js";
import { checkScoreInput } from "./input-checks.js";
import { TrustedWhitening } from "./trusted-whitening.js";
import { FittedWhitenedBatch, loadWhitened, whiteningParamsShape } from "./whitened-batch.js";

export const QUE = "que";

const paramsSchema = z
  .object({
    /** Inverse temperature α of the matrix exponential: how sharply Q concentrates on the batch's excess-variance directions. */
    alpha: z.number().nonnegative().default(4),
    ...whiteningParamsShape,
  })
  .strict();

export type QueParams = z.infer<typeof paramsSchema>;

/** Q in its eigenbasis: weights (descending, summing to 1) and the whitened-space unit directions (row j). */
export interface QueDirections {
  readonly weights: Float64Array;
  readonly vectors: Matrix<Float64Array>;
}

export class QueSpec extends CheckedSpec<typeof QUE, QueParams, FittedQue> {
  constructor(params: Partial<QueParams> = {}) {
    super(QUE, paramsSchema, params);
  }

  protected fitChecked(trusted: Matrix): FittedQue {
    return new FittedQue(this.params, TrustedWhitening.fit(trusted, this.params.covariance));
  }
}

export class FittedQue extends FittedWhitenedBatch<typeof QUE, QueParams> {
  constructor(params: Readonly<QueParams>, whitening: TrustedWhitening) {
    super(QUE, params, whitening);
  }

  /** Whitened rows and Q's eigen-decomposition for this batch. */
  private batch(x: Matrix): { z: Float64Array; q: QueDirections } {
    checkScoreInput(x, this.dim, QUE, false);
    const d = this.dim;
    const n = x.rows;
    const zs = this.whitening.transform(x, QUE, true);
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += zs[i * d + j]!;
    for (let j = 0; j < d; j++) mean[j]! /= Math.max(n, 1);
    const centred = new Float64Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) centred[i * d + j] = zs[i * d + j]! - mean[j]!;
    const cov = new Float64Array(d * d);
    gramInto(matrix(n, d, centred), cov, 1 / Math.max(n, 1), 0);
    const { values, vectors } = symmetricEigen(cov, d);
    // Descending order; the exponent is shifted by its maximum (it cancels in the trace normalisation).
    const weights = new Float64Array(d);
    const ordered = new Float64Array(d * d);
    const top = values[d - 1]!;
    let total = 0;
    for (let r = 0; r < d; r++) {
      const j = d - 1 - r;
      ordered.set(vectors.data.subarray(j * d, (j + 1) * d), r * d);
      // ‖Σ_b‖₂ ≤ 1: no direction has excess variance, and the formula's sign would flip; Q = I/d (α → 0 limit).
      weights[r] = top > 1 + 1e-9 ? Math.exp((this.params.alpha * (values[j]! - top)) / (top - 1)) : 1;
      total += weights[r]!;
    }
    for (let r = 0; r < d; r++) weights[r]! /= total;
    return { z: zs, q: { weights, vectors: matrix(d, d, ordered) } };
  }

  /** Per row and Q-direction: weight_j · (u_j·z)², [n, d]; the row's score is their sum. */
  private parts(x: Matrix): { parts: Float64Array; q: QueDirections } {
    const d = this.dim;
    const n = x.rows;
    const { z: zs, q } = this.batch(x);
    const proj = gemm(matrix(n, d, zs), q.vectors, { transB: true }).data;
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) proj[i * d + j] = q.weights[j]! * proj[i * d + j]! ** 2;
    return { parts: proj, q };
  }

  score(x: Matrix): Float64Array {
    const d = this.dim;
    const { parts } = this.parts(x);
    const out = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += parts[i * d + j]!;
      out[i] = s;
    }
    return out;
  }

  /** Q for this batch: weights descending and whitened-space directions (map to input space with whitener ᵀ). */
  directions(x: Matrix): QueDirections {
    return this.batch(x).q;
  }

  /** The Q-directions carrying most of each row's score (index = rank by Q weight; see `directions`). */
  explain(x: Matrix, top = 5): Explanation[] {
    const d = this.dim;
    const { parts } = this.parts(x);
    const out: Explanation[] = [];
    for (let i = 0; i < x.rows; i++) {
      const row = parts.subarray(i * d, (i + 1) * d);
      let s = 0;
      for (let j = 0; j < d; j++) s += row[j]!;
      out.push({ score: s, top: topContributions(row, top, "direction", s) });
    }
    return out;
  }

  static restore(loaded: LoadedDetector): FittedQue {
    const { params, whitening } = loadWhitened(loaded, paramsSchema);
    return new FittedQue(params, whitening);
  }
}

export function que(params: Partial<QueParams> = {}): QueSpec {
  return new QueSpec(params);
}
