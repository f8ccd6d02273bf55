// Split-conformal calibration on held-out trusted scores: the p-value of a new score s is
// p = (1 + #{cal ≥ s}) / (n + 1), and flagging when p ≤ α keeps the false-positive rate on exchangeable
// normal inputs at most α. The threshold form (flag when s > t) uses the same rank rule, so both always agree.

import { MadkitError } from "../errors.js";

function checkAlpha(alpha: number): void {
  if (!(alpha > 0 && alpha < 1)) throw new MadkitError("BAD_ARGUMENT", `alpha must be in (0, 1), got ${alpha}`);
}

/**
 * The largest count c of calibration scores ≥ s for which (1 + c) / (n + 1) ≤ α, or -1 when even c = 0 is
 * too many (n too small for this α). Computed with the same floating-point division the p-value uses, so
 * `p ≤ α` and `s > threshold(α)` can never disagree by a rounding of α(n+1).
 */
export function maxExceedances(n: number, alpha: number): number {
  checkAlpha(alpha);
  let c = Math.floor(alpha * (n + 1)) - 1;
  while (c + 1 <= n && (c + 2) / (n + 1) <= alpha) c++;
  while (c >= 0 && (c + 1) / (n + 1) > alpha) c--;
  return Math.min(c, n);
}

/**
 * The smallest α at which `n` calibration scores can flag anything: p-values are never below 1/(n + 1), so
 * below it the threshold is Infinity and nothing is ever flagged.
 */
export function smallestAlpha(n: number): number {
  return 1 / (n + 1);
}

/** The fewest calibration scores that let level α flag anything (n + 1 ≥ 1/α, with the p-value's own division). */
export function calibrationNeeded(alpha: number): number {
  checkAlpha(alpha);
  let n = Math.max(0, Math.ceil(1 / alpha) - 1);
  while (1 / (n + 1) > alpha) n++;
  while (n > 0 && 1 / n <= alpha) n--;
  return n;
}

/** `x` rounded up to 3 significant digits, so the printed number is itself a level that works. */
function ceil3(x: number): number {
  const f = 10 ** (2 - Math.floor(Math.log10(x)));
  const k = Math.ceil(x * f);
  const y = Number((k / f).toPrecision(3));
  return y >= x ? y : Number(((k + 1) / f).toPrecision(3));
}

/** Held-out trusted scores, sorted once, answering p-values and thresholds. */
export class ConformalCalibration {
  /** Calibration scores ascending. */
  readonly sorted: Float64Array;

  constructor(trustedScores: ArrayLike<number>, what = "calibration") {
    const n = trustedScores.length;
    if (n === 0) throw new MadkitError("BAD_INPUT", `${what}: conformal calibration needs at least one held-out trusted score`);
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(trustedScores[i]!)) {
        throw new MadkitError("NON_FINITE", `${what}: held-out trusted score ${i} is ${trustedScores[i]}; every score must be finite`);
      }
    }
    this.sorted = Float64Array.from(trustedScores).sort();
  }

  /** Rebuild from scores already sorted ascending (a loaded bundle); no copy. */
  static fromSorted(sorted: Float64Array, what = "calibration"): ConformalCalibration {
    const c = Object.create(ConformalCalibration.prototype) as { sorted: Float64Array };
    for (let i = 0; i < sorted.length; i++) {
      if (!Number.isFinite(sorted[i]!) || (i > 0 && sorted[i]! < sorted[i - 1]!)) {
        throw new MadkitError("STORE_CORRUPT", `${what}: calibration scores must be finite and sorted ascending (entry ${i} is ${sorted[i]})`);
      }
    }
    if (sorted.length === 0) throw new MadkitError("STORE_CORRUPT", `${what}: no calibration scores`);
    c.sorted = sorted;
    return c as ConformalCalibration;
  }

  get n(): number {
    return this.sorted.length;
  }

  /** #{cal ≥ s} by binary search: O(log n), no allocation. */
  countAtLeast(s: number): number {
    const a = this.sorted;
    let lo = 0, hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! < s) lo = mid + 1;
      else hi = mid;
    }
    return a.length - lo;
  }

  /** p = (1 + #{cal ≥ s}) / (n + 1); NaN in gives NaN out. */
  pValue(s: number): number {
    if (Number.isNaN(s)) return NaN;
    return (1 + this.countAtLeast(s)) / (this.n + 1);
  }

  pValues(scores: ArrayLike<number>, out = new Float64Array(scores.length)): Float64Array {
    for (let i = 0; i < scores.length; i++) out[i] = this.pValue(scores[i]!);
    return out;
  }

  /** The smallest level α this calibration can flag at: 1/(n + 1), the smallest p-value it gives. */
  get smallestAlpha(): number {
    return smallestAlpha(this.n);
  }

  /**
   * Refuse a level α at which these calibration scores can never flag (threshold Infinity): the error names
   * the smallest α they support and how many scores α itself would need. `what` names the calibration set.
   */
  requireAlpha(alpha: number, what = "the calibration set"): number {
    if (maxExceedances(this.n, alpha) >= 0) return alpha;
    throw new MadkitError(
      "BAD_ARGUMENT",
      `α = ${alpha} can never flag anything with ${what} of ${this.n} calibration scores: conformal p-values are at least ` +
        `1/(n + 1) = ${this.smallestAlpha.toPrecision(3)}, so the smallest α it supports is ${ceil3(this.smallestAlpha)}; ` +
        `use α ≥ ${ceil3(this.smallestAlpha)}, or calibrate on at least ${calibrationNeeded(alpha)} trusted inputs for α = ${alpha}`,
    );
  }

  /**
   * The score threshold at level α: flag ⇔ s > threshold ⇔ pValue(s) ≤ α. Infinity when there are too few
   * calibration scores to ever flag at this α (n + 1 < 1/α).
   */
  threshold(alpha: number): number {
    const c = maxExceedances(this.n, alpha);
    if (c < 0) return Infinity;
    // s > sorted[n-1-c] ⇔ at most c calibration scores are ≥ s.
    return this.sorted[this.n - 1 - c]!;
  }
}

/** Flag at level α from a conformal p-value. */
export function conformalFlag(pValue: number, alpha: number): boolean {
  checkAlpha(alpha);
  return pValue <= alpha;
}

/** One-off p-value of `score` against unsorted held-out trusted scores. */
export function conformalPValue(trustedScores: ArrayLike<number>, score: number): number {
  return new ConformalCalibration(trustedScores).pValue(score);
}

/** One-off threshold at level α (the same rule as `ConformalCalibration.threshold`). */
export function conformalThreshold(trustedScores: ArrayLike<number>, alpha: number): number {
  checkAlpha(alpha);
  return new ConformalCalibration(trustedScores).threshold(alpha);
}
