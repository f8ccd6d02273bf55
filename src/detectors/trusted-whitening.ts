// The trusted frame batch methods (QUE, spectral signatures) score in: the trusted mean and (shrunk)
// covariance from the Mahalanobis fit, and rows mapped to z = L⁻¹(x − μ) — or just x − μ — in float64.

import { MadkitError } from "../errors.js";
import { cholesky, choleskyInverseFactor } from "../linalg/lapack.js";
import { matrix, type Matrix } from "../linalg/matrix.js";
import { Directions, forEachCentredBlock } from "./centred-projection.js";
import { tensorOf, type LoadedDetector, type Tensor } from "./envelope.js";
import { FittedMahalanobis, mahalanobis, type MahalanobisParams } from "./mahalanobis.js";

export type TrustedCovariance = MahalanobisParams["covariance"];

export class TrustedWhitening {
  readonly dim: number;
  /** L⁻¹ with Σ = L·Lᵀ (row-major lower), so ‖L⁻¹(x − μ)‖² is the squared Mahalanobis distance. */
  readonly whitener: Matrix<Float64Array>;
  private readonly directions: Directions;
  private readonly none: Directions;

  constructor(readonly gaussian: FittedMahalanobis) {
    const d = gaussian.dim;
    this.dim = d;
    // FittedMahalanobis has already refused a singular Σ, so this Cholesky succeeds.
    this.whitener = matrix(d, d, choleskyInverseFactor(cholesky(gaussian.covariance, d)));
    this.directions = new Directions(this.whitener);
    this.none = new Directions(matrix(0, d, new Float64Array(0)));
  }

  static fit(trusted: Matrix, covariance: TrustedCovariance): TrustedWhitening {
    return new TrustedWhitening(mahalanobis({ covariance }).fit(trusted));
  }

  get mean(): Float64Array {
    return this.gaussian.mean;
  }

  /**
   * Rows as float64 [n, d]: L⁻¹(x − μ) when `whiten`, else x − μ. Float32 input is widened first so batch
   * statistics do not depend on the input precision; a NaN/Inf raises NON_FINITE naming `kind` and the row.
   */
  transform(x: Matrix, kind: string, whiten: boolean): Float64Array {
    const d = this.dim;
    const x64 = x.data instanceof Float64Array ? x : matrix(x.rows, d, Float64Array.from(x.data));
    const out = new Float64Array(x.rows * d);
    forEachCentredBlock(x64, this.gaussian.mean, whiten ? this.directions : this.none, kind, (start, rows, xc, _norms, z) => {
      out.set((whiten ? z : xc).subarray(0, rows * d), start * d);
    });
    return out;
  }

  tensors(): Record<string, Tensor> {
    const d = this.dim;
    return { mean: { shape: [d], data: this.gaussian.mean }, covariance: { shape: [d, d], data: this.gaussian.covariance } };
  }

  static restore(loaded: LoadedDetector, covariance: TrustedCovariance, shrinkage: number): TrustedWhitening {
    const d = loaded.envelope.meta.dim;
    const mean = tensorOf(loaded, "mean", Float64Array);
    const cov = tensorOf(loaded, "covariance", Float64Array);
    if (mean.length !== d || cov.length !== d * d || !mean.every(Number.isFinite) || !cov.every(Number.isFinite)) {
      throw new MadkitError("STORE_CORRUPT", `${loaded.dir}: ${loaded.envelope.kind} mean/covariance do not match dim ${d} or are not finite`);
    }
    return new TrustedWhitening(new FittedMahalanobis({ covariance }, mean, cov, shrinkage, loaded.envelope.meta.nTrain));
  }
}
