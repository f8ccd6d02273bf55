// The capability gap inside the pipeline: it reads its own activations at word positions and has no detector
// grid, so it runs once after the units (capability-gap-run.ts shapes it for results.json) and its records join
// the run's records before the run-wide selection and the write stage.

import { CAPABILITY_GAP_PROGRESS, plansCapabilityGap, runCapabilityGapForBench, type CapabilityGapBenchRun } from "../capability-gap-run.js";
import type { StageContext } from "./hand-offs.js";

/** The capability gap's records and summary, or undefined when the plan does not hold it. */
export function capabilityGapStage({ run, progress, options }: StageContext): CapabilityGapBenchRun | undefined {
  if (!plansCapabilityGap(run.plan)) return undefined;
  const { perWeakModel, weakModels } = CAPABILITY_GAP_PROGRESS;
  const before = progress.done;
  const seen: string[] = [];
  return runCapabilityGapForBench(
    {
      seed: run.plan.seed,
      quick: run.plan.quick,
      onProgress: (i, n, weak) => {
        if (!seen.includes(weak)) seen.push(weak);
        progress.done = before + Math.min(weakModels, seen.length - 1) * perWeakModel + Math.floor((perWeakModel * i) / Math.max(1, n));
        if (i % 20 === 0 || i === n) progress.report("gap", `capability-gap: stories260k vs ${weak}, position ${i}/${n}`);
      },
    },
    options.runCapabilityGap,
  );
}
