// Mergeable sufficient statistics of a Gaussian fit, in float64: count, mean, centred scatter Σ(x-m)(x-m)ᵀ,
// and optionally the two higher moments Ledoit-Wolf shrinkage needs (Σ‖x-m‖⁴ and Σ‖x-m‖²(x-m)). Rows stream
// in blocks; shards fitted apart merge exactly by Chan et al.'s pairwise update extended to those moments.

import { MadkitError } from "../errors.js";
import { gemvInto, gramInto, rank1Into } from "../linalg/blas.js";
import { matrix, type FloatArray, type Matrix } from "../linalg/matrix.js";
import { throwNonFinite } from "./input-checks.js";

/** Rows centred at a time: bounds the temporary to BLOCK x d values. */
const BLOCK = 4096;

export class GaussianStats {
  private constructor(
    readonly dim: number,
    public count: number,
    readonly mean: Float64Array,
    /** d x d row-major, centred at `mean`. */
    readonly scatter: Float64Array,
    /** Σ‖x-m‖² (x-m), d entries. */
    readonly cubic: Float64Array,
    /** Σ‖x-m‖⁴. */
    public quartic: number,
    /** Whether cubic and quartic are tracked (they cost one more pass over each block). */
    readonly fourthMoments: boolean,
  ) {}

  static empty(dim: number, opts: { fourthMoments?: boolean } = {}): GaussianStats {
    if (!Number.isInteger(dim) || dim < 1) throw new MadkitError("BAD_ARGUMENT", `GaussianStats: dim must be a positive integer, got ${dim}`);
    return new GaussianStats(dim, 0, new Float64Array(dim), new Float64Array(dim * dim), new Float64Array(dim), 0, opts.fourthMoments ?? true);
  }

  /** Statistics of all rows of x; a non-finite value raises NON_FINITE naming `kind`, row and column. */
  static of(x: Matrix, kind = "GaussianStats", opts: { fourthMoments?: boolean } = {}): GaussianStats {
    return GaussianStats.empty(x.cols, opts).update(x, kind);
  }

  /**
   * Add rows in place, a block at a time; returns this. Each block is centred on its own mean (gemv for the
   * sums, a rank-one ger update to subtract it), its Gram matrix formed by syrk, all in the input's
   * precision (float32 rows: single precision, as numpy does for float32 data), and merged into the float64
   * totals. In float32 the block mean is off by ~1e-7 relative; that only moves the centring point, and the
   * scatter about it differs from the exact one by nb·δδᵀ, a ~1e-12 relative effect.
   */
  update(x: Matrix, kind = "GaussianStats"): this {
    if (x.cols !== this.dim) {
      throw new MadkitError("DIMENSION_MISMATCH", `GaussianStats: accumulating ${this.dim} features, got a block of ${x.cols}`);
    }
    const d = this.dim;
    const f32 = x.data instanceof Float32Array;
    const cap = Math.min(BLOCK, x.rows);
    const make = (n: number): FloatArray => (f32 ? new Float32Array(n) : new Float64Array(n));
    const buf = make(cap * d);
    const norms = make(cap);
    const gram = make(d * d);
    const cubic = make(d);
    const ones = make(cap).fill(1);
    const sums = make(d);
    const negMean = make(d);
    const m = new Float64Array(d);
    for (let start = 0; start < x.rows; start += BLOCK) {
      const nb = Math.min(BLOCK, x.rows - start);
      const src = x.data.subarray(start * d, (start + nb) * d);
      gemvInto(matrix(nb, d, src), ones.subarray(0, nb), sums, { trans: true });
      let finite = true;
      for (let j = 0; j < d; j++) {
        m[j] = sums[j]! / nb;
        negMean[j] = -m[j]!;
        if (m[j]! - m[j]! !== 0) finite = false;
      }
      // A NaN/Inf anywhere in the block poisons its mean: find the first offending row to name it.
      if (!finite) {
        for (let i = 0; i < nb; i++) for (let j = 0; j < d; j++) if (!Number.isFinite(src[i * d + j]!)) throwNonFinite(x, start + i, kind, "trusted");
        throwNonFinite(x, start, kind, "trusted");
      }
      const y = buf.subarray(0, nb * d);
      y.set(src);
      const yb = matrix(nb, d, y);
      rank1Into(yb, ones.subarray(0, nb), negMean);
      gramInto(yb, gram, 1, 0);
      let q = 0;
      if (this.fourthMoments) {
        const a = norms.subarray(0, nb);
        for (let i = 0; i < nb; i++) {
          let ai = 0;
          for (let j = 0, o = i * d; j < d; j++) ai += y[o + j]! * y[o + j]!;
          a[i] = ai;
          q += ai * ai;
        }
        if (q - q !== 0) throwNonFinite(x, start, kind, "trusted");
        // Σ‖y‖² y = Yᵀa.
        gemvInto(yb, a, cubic, { trans: true });
      }
      this.absorb(nb, m, Float64Array.from(gram), Float64Array.from(cubic), q);
    }
    return this;
  }

  /** A new object holding the statistics of both shards' rows together. */
  merge(other: GaussianStats): GaussianStats {
    if (other.dim !== this.dim) {
      throw new MadkitError("DIMENSION_MISMATCH", `GaussianStats.merge: shards have ${this.dim} and ${other.dim} features`);
    }
    // Higher moments survive only when both shards tracked them.
    const both = this.fourthMoments && other.fourthMoments;
    const out = new GaussianStats(this.dim, this.count, Float64Array.from(this.mean), Float64Array.from(this.scatter), Float64Array.from(this.cubic), this.quartic, both);
    out.absorb(other.count, other.mean, other.scatter, other.cubic, other.quartic);
    return out;
  }

  clone(): GaussianStats {
    return new GaussianStats(this.dim, this.count, Float64Array.from(this.mean), Float64Array.from(this.scatter), Float64Array.from(this.cubic), this.quartic, this.fourthMoments);
  }

  /** Maximum-likelihood covariance scatter / n (scikit-learn's EmpiricalCovariance). */
  covariance(ddof = 0): Float64Array {
    if (this.count - ddof <= 0) throw new MadkitError("BAD_INPUT", `GaussianStats: ${this.count} rows are too few for a covariance`);
    const c = new Float64Array(this.scatter.length);
    const f = 1 / (this.count - ddof);
    for (let i = 0; i < c.length; i++) c[i] = this.scatter[i]! * f;
    return c;
  }

  /** Rebuild from saved arrays (e.g. a shard written by another process). */
  static fromParts(parts: { count: number; mean: Float64Array; scatter: Float64Array; cubic: Float64Array; quartic: number; fourthMoments: boolean }): GaussianStats {
    const d = parts.mean.length;
    if (parts.scatter.length !== d * d || parts.cubic.length !== d) {
      throw new MadkitError("DIMENSION_MISMATCH", `GaussianStats.fromParts: mean has ${d} entries, scatter ${parts.scatter.length}, cubic ${parts.cubic.length}`);
    }
    return new GaussianStats(d, parts.count, parts.mean, parts.scatter, parts.cubic, parts.quartic, parts.fourthMoments);
  }

  /**
   * Merge a shard (n, mean mb, centred moments) into this one. Each shard's moments are re-centred on the
   * combined mean by the exact shift identities (δ = new mean − shard mean, c = ‖δ‖², first moment 0):
   *   S' = S + nδδᵀ,  V' = V − 2Sδ − tr(S)δ − ncδ,  Q' = Q + 4δᵀSδ + nc² − 4V·δ + 2c·tr(S).
   */
  private absorb(nb: number, mb: Float64Array, sb: Float64Array, vb: Float64Array, qb: number): void {
    if (nb === 0) return;
    const d = this.dim;
    const na = this.count;
    const n = na + nb;
    const newMean = new Float64Array(d);
    for (let j = 0; j < d; j++) newMean[j] = this.mean[j]! + ((mb[j]! - this.mean[j]!) * nb) / n;
    const shifted = (cnt: number, mean: Float64Array, s: Float64Array, v: Float64Array, q: number) => {
      const delta = new Float64Array(d);
      let c = 0;
      for (let j = 0; j < d; j++) {
        delta[j] = newMean[j]! - mean[j]!;
        c += delta[j]! * delta[j]!;
      }
      if (!this.fourthMoments) return { delta, v2: new Float64Array(d), q2: 0 };
      let tr = 0;
      for (let j = 0; j < d; j++) tr += s[j * d + j]!;
      const sd = new Float64Array(d);
      let dsd = 0;
      let vd = 0;
      for (let i = 0; i < d; i++) {
        let acc = 0;
        for (let j = 0, o = i * d; j < d; j++) acc += s[o + j]! * delta[j]!;
        sd[i] = acc;
        dsd += acc * delta[i]!;
        vd += v[i]! * delta[i]!;
      }
      const v2 = new Float64Array(d);
      for (let j = 0; j < d; j++) v2[j] = v[j]! - 2 * sd[j]! - tr * delta[j]! - cnt * c * delta[j]!;
      const q2 = q + 4 * dsd + cnt * c * c - 4 * vd + 2 * c * tr;
      return { delta, v2, q2 };
    };
    const a = na > 0 ? shifted(na, this.mean, this.scatter, this.cubic, this.quartic) : undefined;
    const b = shifted(nb, mb, sb, vb, qb);
    const sc = this.scatter;
    for (let i = 0; i < d; i++) {
      for (let j = 0, o = i * d; j < d; j++) {
        const own = a ? sc[o + j]! + na * a.delta[i]! * a.delta[j]! : 0;
        sc[o + j] = own + sb[o + j]! + nb * b.delta[i]! * b.delta[j]!;
      }
    }
    for (let j = 0; j < d; j++) this.cubic[j] = (a ? a.v2[j]! : 0) + b.v2[j]!;
    this.quartic = (a ? a.q2 : 0) + b.q2;
    this.mean.set(newMean);
    this.count = n;
  }
}
