// Every baseline the benchmark knows, by planned `kind`. The plan stage lets each add its rows and name their hook
// column; the fit & score stage hands a planned row of one of these kinds to its baseline instead of the detector
// registry. A new baseline: a `<name>-baseline.ts` exporting a `BenchBaseline` (baseline.ts), and one line here.

import { BAG_OF_WORDS_BASELINE } from "./bag-of-words-baseline.js";
import type { BenchBaseline } from "./baseline.js";
import { LENGTH_BASELINE } from "./length-baseline.js";
import type { BenchPlan } from "./plan.js";
import { SURFACE_BASELINE } from "./surface-baseline.js";

/** In plan order: each `addToPlan` sees the plan as the ones before it left it. */
export const BASELINES: readonly BenchBaseline[] = [LENGTH_BASELINE, BAG_OF_WORDS_BASELINE, SURFACE_BASELINE];

export const baselineFor = (kind: string): BenchBaseline | undefined => BASELINES.find((b) => b.kind === kind);

/** The plan with every baseline's rows added. */
export const withBaselines = (plan: BenchPlan): BenchPlan => BASELINES.reduce((p, b) => (b.addToPlan ? b.addToPlan(p) : p), plan);
