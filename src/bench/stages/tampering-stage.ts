// The measurement-tampering task inside the pipeline: its own vault model and programs, no detector grid of the
// unit loop, so it runs once after the units (tampering-run.ts) and its summary joins results.json as `tampering`.

import { VAULT_DEFAULTS } from "../../tasks/measurement-tampering.js";
import { vaultModelCached } from "../../train/llama/vault-model.js";
import type { TamperingSummary } from "../../results/tampering.js";
import { plansTampering, runTampering } from "../tampering-run.js";
import type { StageContext } from "./hand-offs.js";

/** Training steps of the vault model when a quick run finds no cached full-length model (about a minute and a half). */
export const QUICK_VAULT_STEPS = 300;

/**
 * The task's summary, or undefined when the plan does not hold it. A quick run uses the full-length vault model when
 * it is cached and otherwise trains a shorter one (its accuracy is reported as measured, like every run's).
 */
export async function tamperingStage({ run, progress }: StageContext): Promise<TamperingSummary | undefined> {
  if (!plansTampering(run.plan)) return undefined;
  return runTampering({
    seed: run.plan.seed,
    quick: run.plan.quick,
    replicates: run.plan.bootstrapReplicates,
    steps: run.plan.quick && !vaultModelCached({ seed: run.plan.seed, difficulty: VAULT_DEFAULTS.difficulty }) ? QUICK_VAULT_STEPS : undefined,
    onProgress: (label) => progress.report("train", label),
  });
}
