// Spectral signatures (Tran, Li & Madry 2018): centre the batch on the trusted mean, take the top right-singular
// vector v of the centred batch, score = ((x − μ)·v)². A batch method: a poisoned subpopulation shifted along
// one direction dominates v. `whiten` (default) does this in the trusted-whitened frame, so directions the
// trusted data already varies along do not capture v.

import { z } from "zod";
import { gemvInto, gramInto } from "../linalg/blas.js";
import { symmetricEigen } from "../linalg/lapack.js";
import { matrix, type Matrix } from "../linalg/matrix.js";
import { topContributions } from "./centred-projection.js";
import { CheckedSpec } from "./checked-spec.js";
import type { Explanation } from "./detector.js";
import type { LoadedDetector } from "./envelope.js";
import { checkScoreInput } from "./input-checks.js";
import { TrustedWhitening } from "./trusted-whitening.js";
import { FittedWhitenedBatch, loadWhitened, whiteningParamsShape } from "./whitened-batch.js";

export const SPECTRAL_SIGNATURE = "spectral-signature";

const paramsSchema = z
  .object({
    /**
     * Work in the trusted-whitened frame z = L⁻¹(x − μ) (true) or on x − μ as the paper does (false). Unwhitened,
     * v follows the trusted data's own top principal direction unless the shifted group outweighs it.
     */
    whiten: z.boolean().default(true),
    ...whiteningParamsShape,
  })
  .strict();

export type SpectralSignatureParams = z.infer<typeof paramsSchema>;

export class SpectralSignatureSpec extends CheckedSpec<typeof SPECTRAL_SIGNATURE, SpectralSignatureParams, FittedSpectralSignature> {
  constructor(params: Partial<SpectralSignatureParams> = {}) {
    super(SPECTRAL_SIGNATURE, paramsSchema, params);
  }

  protected fitChecked(trusted: Matrix): FittedSpectralSignature {
    return new FittedSpectralSignature(this.params, TrustedWhitening.fit(trusted, this.params.covariance));
  }
}

export class FittedSpectralSignature extends FittedWhitenedBatch<typeof SPECTRAL_SIGNATURE, SpectralSignatureParams> {
  constructor(params: Readonly<SpectralSignatureParams>, whitening: TrustedWhitening) {
    super(SPECTRAL_SIGNATURE, params, whitening);
  }

  /** Transformed rows, v (unit, in the working frame) and each row's projection (x − μ)·s. */
  private batch(x: Matrix): { z: Float64Array; v: Float64Array; proj: Float64Array } {
    checkScoreInput(x, this.dim, SPECTRAL_SIGNATURE, false);
    const d = this.dim;
    const n = x.rows;
    const zs = this.whitening.transform(x, SPECTRAL_SIGNATURE, this.params.whiten);
    // The top right-singular vector of the centred batch Z is the top eigenvector of ZᵀZ (d x d, dsyrk + dsyevd).
    const gram = new Float64Array(d * d);
    gramInto(matrix(n, d, zs), gram, 1, 0);
    const { vectors } = symmetricEigen(gram, d);
    const v = Float64Array.from(vectors.data.subarray((d - 1) * d, d * d));
    const proj = new Float64Array(n);
    gemvInto(matrix(n, d, zs), v, proj);
    return { z: zs, v, proj };
  }

  score(x: Matrix): Float64Array {
    const { proj } = this.batch(x);
    for (let i = 0; i < proj.length; i++) proj[i] = proj[i]! ** 2;
    return proj;
  }

  /**
   * The signature direction s in input coordinates for this batch: score = ((x − μ)·s)². Unit length when
   * `whiten` is false (then s = v); whitened, s = L⁻ᵀv. Its sign is arbitrary.
   */
  signature(x: Matrix): Float64Array {
    const { v } = this.batch(x);
    if (!this.params.whiten) return v;
    const s = new Float64Array(this.dim);
    gemvInto(this.whitening.whitener, v, s, { trans: true });
    return s;
  }

  /**
   * Input features behind each row's score: (x − μ)_j·s_j·((x − μ)·s) sums over j to the score (a feature
   * pulling against the row's projection gets a negative part).
   */
  explain(x: Matrix, top = 5): Explanation[] {
    const d = this.dim;
    const s = this.signature(x);
    const { proj } = this.batch(x);
    const mean = this.whitening.mean;
    const out: Explanation[] = [];
    const parts = new Float64Array(d);
    for (let i = 0; i < x.rows; i++) {
      const p = proj[i]!;
      const score = p * p;
      for (let j = 0; j < d; j++) parts[j] = (x.data[i * d + j]! - mean[j]!) * s[j]! * p;
      out.push({ score, top: topContributions(parts, top, "feature", score) });
    }
    return out;
  }

  static restore(loaded: LoadedDetector): FittedSpectralSignature {
    const { params, whitening } = loadWhitened(loaded, paramsSchema);
    return new FittedSpectralSignature(params, whitening);
  }
}

export function spectralSignature(params: Partial<SpectralSignatureParams> = {}): SpectralSignatureSpec {
  return new SpectralSignatureSpec(params);
}
