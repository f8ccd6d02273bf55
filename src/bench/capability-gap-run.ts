// The capability-gap evaluation inside `madkit bench`. It is not a `Task` (no trusted/untrusted text split; it
// reads its own activations at word positions): `runCapabilityGap` labels positions by the two models' behaviour,
// scores them, and returns ResultRecords, which the bench appends to results.records, plus the summary rows.

import {
  GAP_LABEL,
  GAP_REPORT_ALPHA,
  runCapabilityGap,
  type CapabilityGapOptions,
  type CapabilityGapResult,
} from "../tasks/gap/run-capability-gap.js";
import { WEAK_MODEL_DESCRIPTIONS, WEAK_MODEL_NAMES } from "../tasks/gap/weak-models.js";
import type { BenchPlan } from "./plan.js";
import type { CapabilityGapSummary, ResultRecord } from "../results/contract.js";

export const CAPABILITY_GAP_TASK = "capability-gap";

/** Expected wall time on 2 cores (measured for the four weak models: see docs/backdoor-and-gaps.md). */
export const CAPABILITY_GAP_MINUTES = { full: "a few minutes", quick: "under a minute" };

/**
 * Mark the capability gap as planned: an entry with no models, so the activation loop skips it, and a plan note.
 * The bench runs it after the activation tasks.
 */
export function withCapabilityGap(plan: BenchPlan): BenchPlan {
  return {
    ...plan,
    tasks: [...plan.tasks, { task: CAPABILITY_GAP_TASK, models: [] }],
    notes: [
      ...plan.notes,
      `Capability gap: stories260K (strong) against ${WEAK_MODEL_NAMES.join(", ")} (weak) on constructed TinyStories positions; ` +
        `labels from the weak model's excess loss on the strong model's next ${GAP_LABEL.words} greedy words; activation scores (ridge map weak → strong at the prefix's last token) against baselines, behaviour scores apart; ` +
        `thresholds from trusted positions where the two models agree; no detector grid (${plan.quick ? CAPABILITY_GAP_MINUTES.quick : CAPABILITY_GAP_MINUTES.full}).`,
    ],
  };
}

/**
 * Progress units of the capability gap: it scores word positions, not inputs × hooks, so it counts a fixed share per
 * weak model.
 */
export const CAPABILITY_GAP_PROGRESS = { perWeakModel: 100, weakModels: WEAK_MODEL_NAMES.length } as const;

export const plansCapabilityGap = (plan: BenchPlan): boolean => plan.tasks.some((t) => t.task === CAPABILITY_GAP_TASK);

export interface CapabilityGapBenchRun {
  readonly records: ResultRecord[];
  readonly summary: CapabilityGapSummary;
}

/** Run the evaluation (or a stand-in, for tests) and shape it for results.json. */
export function runCapabilityGapForBench(
  o: { readonly seed: number; readonly quick: boolean; readonly onProgress?: CapabilityGapOptions["onProgress"] },
  run: (options: CapabilityGapOptions) => CapabilityGapResult = runCapabilityGap,
): CapabilityGapBenchRun {
  const r = run({ seed: o.seed, quick: o.quick, onProgress: o.onProgress });
  const weak = [...new Set(r.rows.map((x) => x.weakModel))];
  return {
    records: r.records,
    summary: {
      strongModel: "stories260k",
      weakModels: weak.map((name) => ({ name, description: WEAK_MODEL_DESCRIPTIONS[name] })),
      sizes: { ...r.sizes },
      label: { ...GAP_LABEL },
      rows: r.rows.map((x) => ({ ...x })),
      reportAlpha: GAP_REPORT_ALPHA,
      seconds: Math.round(r.seconds * 10) / 10,
    },
  };
}
