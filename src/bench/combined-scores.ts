// `combined:max` / `combined:mean` rows: one detector's scores over all its hooks turned into one score per
// input. Each hook's scores are z-scored by their mean / std on trusted.validation (held out from fitting and
// from threshold calibration), then reduced with src/bundle/combine.ts — the same combiner bundles use.

import { combineScores, HookNormaliser, type Combiner } from "../bundle/combine.js";

/** Per-hook scores of one set of inputs, keyed by hook name, all of the same length. */
export type ScoresByHook = ReadonlyMap<string, Float64Array>;

export class HookCombination {
  private readonly hooks: string[];
  private readonly normalisers: HookNormaliser[];

  /** `normalising` holds each hook's scores on trusted.validation. */
  constructor(readonly combiner: Combiner, normalising: ScoresByHook) {
    this.hooks = [...normalising.keys()];
    this.normalisers = this.hooks.map((h) => HookNormaliser.of(normalising.get(h)!, `combined ${combiner}: trusted validation scores of ${h}`));
  }

  combine(scores: ScoresByHook): Float64Array {
    return combineScores(this.combiner, this.hooks.map((h) => scores.get(h)!), this.normalisers);
  }
}
