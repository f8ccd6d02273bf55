// Stage 5, select: the detector × hook a user would deploy, chosen on the validation split only and reported on
// test (selection.ts), per task of a unit and again over the whole run; and the leave-one-attack-class-out
// selections (leave-class-out.ts), which ask how a choice made without an attack class transfers to it.

import type { ResultRecord, Selection } from "../../results/contract.js";
import { leaveClassOutSelections } from "../leave-class-out.js";
import { selectOnValidation } from "../selection.js";
import type { EvaluatedUnit, ExtractedUnit, SelectedUnit, StageContext } from "./hand-offs.js";

/** The length and bag-of-words baselines are reference points, not deployable detectors: they are never selected. */
const isBaseline = (r: ResultRecord): boolean => r.family === "baseline";

export function selectStage(x: ExtractedUnit, ev: EvaluatedUnit, { run }: StageContext): SelectedUnit {
  const classOut: Selection[] = [];
  for (const cands of ev.candidates.values()) {
    classOut.push(...leaveClassOutSelections(cands, x.layout.items, run.plan.alphas, { seed: run.plan.seed, replicates: run.plan.bootstrapReplicates }));
  }
  return { classOut, selections: selectOnValidation(ev.records, isBaseline) };
}

/** The run's selections (results.selections), over every record of the run. */
export function selectRun(records: readonly ResultRecord[]): Selection[] {
  return selectOnValidation(records, isBaseline);
}
