// The length-only baseline: a "detector" whose score is the input's length in the model's tokens or in
// characters. Jailbreak templates are long, so any detector that merely tracks length must beat this to count.
// Its rows (`length:tokens`, `length:chars`) are in the plan's detector grid (plan.ts).

import { charLength } from "../tasks/length.js";
import { scoreLayoutRows, type BenchBaseline } from "./baseline.js";

export type LengthUnit = "tokens" | "chars";

/** Scores for texts at positions `rows` of the extraction: token counts (after truncation) or character counts. */
export function lengthScores(unit: LengthUnit, rows: ArrayLike<number>, tokens: ArrayLike<number>, texts: readonly string[]): Float64Array {
  const out = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    out[k] = unit === "tokens" ? tokens[r]! : charLength(texts[r]!);
  }
  return out;
}

export const LENGTH_BASELINE: BenchBaseline = {
  kind: "length",
  hookName: (d) => `length:${String(d.params.unit)}`,
  fitAndScore: ({ detector, tokens, texts, layout }) => {
    const unit = detector.params.unit as LengthUnit;
    return scoreLayoutRows((rows) => lengthScores(unit, rows, tokens, texts), layout, 0);
  },
};
