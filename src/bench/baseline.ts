// The contract of a benchmark baseline: a reference scorer that reads no activations and fits no registry
// detector (the input's length, its bag of token ids). Baselines are rows of family `baseline`: evaluated like
// every detector, never selected. Adding one is a module implementing `BenchBaseline` and one line in baselines.ts.

import type { ActivationSource } from "../models/source.js";
import type { BenchPlan, PlannedDetector } from "./plan.js";
import type { HookScores } from "./stages/hand-offs.js";
import { rowsIn, type Layout } from "./stages/layout.js";

/** What a baseline sees of one unit (one model × task). */
export interface BaselineInput {
  /** The planned row being scored (its `params` say which variant). */
  readonly detector: PlannedDetector;
  /** The model, for its tokenizer only. */
  readonly source: ActivationSource;
  /** Every text of the unit, in layout order. */
  readonly texts: readonly string[];
  /** Tokens the model saw per text (after truncation). */
  readonly tokens: Int32Array;
  readonly layout: Layout;
  /** A value computed once per unit and shared by the baselines of that unit (e.g. every text's token ids). */
  readonly once: <T>(key: string, make: () => T) => T;
}

export interface BenchBaseline {
  /** The `kind` of its planned rows. */
  readonly kind: string;
  /** The plan with this baseline's rows added; absent when the plan's detector grid (plan.ts) already holds them. */
  readonly addToPlan?: (plan: BenchPlan) => BenchPlan;
  /** The `hook` column of a row: baselines read no hook. */
  readonly hookName: (d: PlannedDetector) => string;
  /** Fit on the layout's trusted fit rows (if it fits at all); score calibration, trusted validation and both untrusted splits. */
  readonly fitAndScore: (input: BaselineInput) => HookScores;
}

/** HookScores from a scorer of layout rows: calibration, trusted validation and the untrusted splits, timed. */
export function scoreLayoutRows(score: (rows: ArrayLike<number>) => Float64Array, layout: Layout, fitSeconds: number): HookScores {
  const t0 = performance.now();
  return {
    calibration: score(rowsIn(layout.calibration)),
    trustedValidation: score(rowsIn(layout.validation)),
    split: { validation: score(layout.split.validation), test: score(layout.split.test) },
    fitSeconds,
    scoreSeconds: (performance.now() - t0) / 1000,
  };
}
