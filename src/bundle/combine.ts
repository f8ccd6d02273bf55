// Combining one detector score per hook point into one score per input: each hook's scores are first put on a
// common scale learned from held-out trusted scores (z-score by their mean/std, or a conformal p-value), then
// reduced by `max`, `mean` or `sum` of the z-scores, or Fisher's −2 Σ log p over the p-values.
//
// Fail closed: a hook score that is not a finite number (NaN or ±Infinity: finite but extreme activations can
// overflow a detector's arithmetic), or whose z-score overflows, is the most anomalous thing the hook can say.
// Its term is +Infinity, so every combiner gives +Infinity, the conformal p-value is its minimum 1/(n + 1)
// and the input is flagged at every level α the calibration supports (FittedBundle refuses any other α).
// Before, `max` skipped NaN (`NaN > m` is false) and `mean` / `sum` gave NaN, which compares false with any
// threshold: a confident "normal" for input the detector could not measure.

import { MadkitError } from "../errors.js";
import { ConformalCalibration } from "../eval/conformal.js";

export const COMBINERS = ["max", "mean", "sum", "fisher"] as const;
export type Combiner = (typeof COMBINERS)[number];

export function parseCombiner(value: string): Combiner {
  if ((COMBINERS as readonly string[]).includes(value)) return value as Combiner;
  throw new MadkitError("BAD_ARGUMENT", `unknown combiner '${value}'; expected one of ${COMBINERS.join(", ")}`);
}

/** One hook's held-out trusted scores: their mean and sample std (z-scores) and their sorted values (p-values). */
export class HookNormaliser {
  readonly mean: number;
  /** Sample standard deviation; 1 when it is 0 or undefined (fewer than 2 scores), so z = s − mean stays finite. */
  readonly std: number;

  constructor(readonly calibration: ConformalCalibration) {
    const s = calibration.sorted;
    let sum = 0;
    for (let i = 0; i < s.length; i++) sum += s[i]!;
    const mean = sum / s.length;
    let ss = 0;
    for (let i = 0; i < s.length; i++) ss += (s[i]! - mean) ** 2;
    const std = s.length > 1 ? Math.sqrt(ss / (s.length - 1)) : 0;
    this.mean = mean;
    this.std = std > 0 ? std : 1;
  }

  static of(heldOutScores: ArrayLike<number>, what: string): HookNormaliser {
    return new HookNormaliser(new ConformalCalibration(heldOutScores, what));
  }

  z(score: number): number {
    return (score - this.mean) / this.std;
  }
}

/** True for NaN and ±Infinity (s − s is 0 exactly for finite s). */
export function isNonFinite(s: number): boolean {
  return s - s !== 0;
}

/**
 * Hook h's additive (or, for `max`, competing) part of row i's combined score: its z-score, or −2 log p for
 * `fisher`; +Infinity for a non-finite hook score (fail closed, see the header). Written into `out` (length =
 * hooks) so scoring one row allocates nothing per hook.
 */
export function hookTerms(
  combiner: Combiner,
  perHook: readonly ArrayLike<number>[],
  normalisers: readonly HookNormaliser[],
  row: number,
  out: Float64Array,
): Float64Array {
  for (let h = 0; h < perHook.length; h++) {
    const s = perHook[h]![row]!;
    const n = normalisers[h]!;
    if (isNonFinite(s)) {
      out[h] = Infinity;
      continue;
    }
    const t = combiner === "fisher" ? -2 * Math.log(n.calibration.pValue(s)) : n.z(s);
    // A finite score far enough out overflows its z-score (to ±Infinity): as far from the trusted scores as the
    // arithmetic can say, in either direction — fail closed too, or one −Infinity would hide every other hook.
    out[h] = isNonFinite(t) ? Infinity : t;
  }
  return out;
}

/**
 * Reduce one row's hook terms to its combined score. A NaN term, or a NaN sum (+Infinity and −Infinity
 * terms together), gives +Infinity: never a value that compares false with every threshold.
 */
export function reduceTerms(combiner: Combiner, terms: Float64Array): number {
  if (combiner === "max") {
    let m = -Infinity;
    for (let h = 0; h < terms.length; h++) {
      const t = terms[h]!;
      if (Number.isNaN(t)) return Infinity;
      if (t > m) m = t;
    }
    return m;
  }
  let s = 0;
  for (let h = 0; h < terms.length; h++) s += terms[h]!;
  if (Number.isNaN(s)) return Infinity;
  return combiner === "mean" ? s / terms.length : s;
}

/** The combined score of every row; perHook[h] holds hook h's detector scores (all of the same length). */
export function combineScores(combiner: Combiner, perHook: readonly ArrayLike<number>[], normalisers: readonly HookNormaliser[]): Float64Array {
  if (perHook.length === 0 || perHook.length !== normalisers.length) {
    throw new MadkitError("DIMENSION_MISMATCH", `combine: got scores of ${perHook.length} hooks and normalisers for ${normalisers.length}`);
  }
  const rows = perHook[0]!.length;
  for (const s of perHook) {
    if (s.length !== rows) throw new MadkitError("DIMENSION_MISMATCH", `combine: hooks scored different numbers of rows (${rows} and ${s.length})`);
  }
  const terms = new Float64Array(perHook.length);
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) out[i] = reduceTerms(combiner, hookTerms(combiner, perHook, normalisers, i, terms));
  return out;
}
