// Stage 3, fit & score: every planned detector on each of its hooks — fitted on the unit's trusted fit rows, then
// scoring trusted calibration, trusted validation and both untrusted splits — and, for input-scope representation
// detectors on two or more hooks, the plan's combiners over those hooks. A baseline kind (baselines.ts) is scored
// by its baseline; every other kind is a registry detector, fitted on the hook's pooled activations.

import type { FittedDetector } from "../../detectors/detector.js";
import { createDetector } from "../../detectors/registry.js";
import { rowSlice, takeRows32, vstack32, type Matrix } from "../../linalg/matrix.js";
import type { UntrustedSplit } from "../../tasks/task.js";
import type { BaselineInput } from "../baseline.js";
import { baselineFor } from "../baselines.js";
import { HookCombination } from "../combined-scores.js";
import type { PlannedDetector } from "../plan.js";
import type { ExtractedUnit, HookScores, ScoredHook, StageContext } from "./hand-offs.js";
import { UNTRUSTED_SPLITS, type Layout } from "./layout.js";
import { hooksFor } from "./plan-stage.js";

const seconds = (t0: number): number => (performance.now() - t0) / 1000;

/** Score every set with a fitted registry detector; `m` holds the unit's rows at one hook. */
function scoreDetector(fitted: FittedDetector, m: Matrix, L: Layout, fitSeconds: number): HookScores {
  const t0 = performance.now();
  const batch = fitted.scope === "batch";
  const trustedVal = rowSlice(m, L.validation[0], L.validation[1]);
  const calibration = fitted.score(rowSlice(m, L.calibration[0], L.calibration[1]));
  const trustedValidation = fitted.score(trustedVal);
  const split = {} as Record<UntrustedSplit, Float64Array>;
  for (const s of UNTRUSTED_SPLITS) {
    const x = takeRows32(m, L.split[s]);
    // A batch method sees the split's untrusted items with trusted validation rows as the normal bulk; only the
    // untrusted items' scores are evaluated.
    split[s] = batch ? fitted.score(vstack32([x, trustedVal])).slice(0, x.rows) : fitted.score(x);
  }
  return { calibration, trustedValidation, split, fitSeconds, scoreSeconds: seconds(t0) };
}

/** One detector at one hook: its baseline when the kind is one, else the registry detector on that hook's rows. */
function scoreHook(d: PlannedDetector, hook: string, x: ExtractedUnit, forBaselines: Omit<BaselineInput, "detector">): HookScores {
  const baseline = baselineFor(d.kind);
  if (baseline) return baseline.fitAndScore({ ...forBaselines, detector: d });
  const m = x.activations.matrices.get(hook)!;
  const t0 = performance.now();
  const fitted = createDetector(d.kind, { ...d.params }).fit(rowSlice(m, x.layout.fit[0], x.layout.fit[1]));
  return scoreDetector(fitted, m, x.layout, seconds(t0));
}

/** The plan's combiners over one detector's hooks (z-scores normalised on trusted validation), if it qualifies. */
function combinedHooks(d: PlannedDetector, perHook: ReadonlyMap<string, HookScores>, combiners: readonly ("max" | "mean")[]): ScoredHook[] {
  if (d.scope !== "input" || d.hooks === "none" || d.hooks === "behaviour" || perHook.size < 2) return [];
  const pick = (f: (s: HookScores) => Float64Array): Map<string, Float64Array> => new Map([...perHook].map(([h, s]) => [h, f(s)] as const));
  return combiners.map((c) => {
    const t0 = performance.now();
    const comb = new HookCombination(c, pick((s) => s.trustedValidation));
    const scores: HookScores = {
      calibration: comb.combine(pick((s) => s.calibration)),
      trustedValidation: comb.combine(pick((s) => s.trustedValidation)),
      split: { validation: comb.combine(pick((s) => s.split.validation)), test: comb.combine(pick((s) => s.split.test)) },
      fitSeconds: [...perHook.values()].reduce((a, s) => a + s.fitSeconds, 0),
      scoreSeconds: [...perHook.values()].reduce((a, s) => a + s.scoreSeconds, 0) + seconds(t0),
    };
    return { detector: d, hook: `combined:${c}`, layer: null, scores };
  });
}

/** What the baselines of one unit see, with a store for what they compute once per unit. */
function baselineInputOf(x: ExtractedUnit): Omit<BaselineInput, "detector"> {
  const shared = new Map<string, unknown>();
  const once = <T>(key: string, make: () => T): T => {
    if (!shared.has(key)) shared.set(key, make());
    return shared.get(key) as T;
  };
  return { source: x.model.source, texts: x.texts.map((t) => t.text), tokens: x.activations.tokens, layout: x.layout, once };
}

export function fitScoreStage(x: ExtractedUnit, { run, progress }: StageContext): ScoredHook[] {
  const forBaselines = baselineInputOf(x);
  const out: ScoredHook[] = [];
  for (const d of run.plan.detectors) {
    const perHook = new Map<string, HookScores>();
    for (const hook of hooksFor(d, x.model.modelPlan)) {
      progress.report("detect", `${x.unit.sourceTask} × ${x.unit.model}: ${d.name} @ ${hook}`);
      const scores = scoreHook(d, hook, x, forBaselines);
      perHook.set(hook, scores);
      out.push({ detector: d, hook, layer: d.hooks === "none" ? null : (x.model.layerOf.get(hook) ?? null), scores });
      progress.step();
    }
    out.push(...combinedHooks(d, perHook, run.plan.combiners));
  }
  return out;
}
