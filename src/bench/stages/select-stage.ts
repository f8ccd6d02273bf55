// Stage 5, select: the detector × hook a user would deploy, per task of a unit, chosen WITHOUT labels
// (label-free-selection.ts: the unlabelled validation pool against held-out trusted inputs) — the headline — and,
// beside it, the choice on the labelled validation split (selection.ts, the oracle) and the leave-one-attack-class-out
// choices (leave-class-out.ts), which ask how a choice made without an attack class transfers to it; and the three
// side by side (selection-comparison.ts).

import type { ResultRecord, Selection, SelectionComparison } from "../../results/contract.js";
import { baseRatePoint } from "../base-rate-point.js";
import { selectLabelFree } from "../label-free-selection.js";
import { leaveClassOutSelections } from "../leave-class-out.js";
import { compareSelections } from "../selection-comparison.js";
import { selectOnValidation } from "../selection.js";
import type { EvaluatedUnit, ExtractedUnit, SelectedUnit, StageContext } from "./hand-offs.js";

/** The length, bag-of-words and surface baselines are reference points, not deployable detectors: they are never selected. */
const isBaseline = (r: ResultRecord): boolean => r.family === "baseline";

export function selectStage(x: ExtractedUnit, ev: EvaluatedUnit, { run }: StageContext): SelectedUnit {
  const classOut: Selection[] = [];
  for (const cands of ev.candidates.values()) {
    classOut.push(...leaveClassOutSelections(cands, x.layout.items, run.plan.alphas, { seed: run.plan.seed, replicates: run.plan.bootstrapReplicates }));
  }
  const oracle = selectOnValidation(ev.records, isBaseline);
  const labelFree = selectLabelFree(ev.candidates, ev.records);
  const comparison: SelectionComparison[] = labelFree.map(({ choice, selection }) =>
    compareSelections(choice, selection, oracle.find((o) => o.task === selection.task && o.model === selection.model), classOut, x.layout.items.test),
  );
  const options = { seed: run.plan.seed, replicates: run.plan.bootstrapReplicates };
  const selections = labelFree.map(({ choice, selection }): Selection => {
    const atBaseRates = baseRatePoint(choice.candidate, x.layout.items.test, options);
    return atBaseRates ? { ...selection, atBaseRates } : selection;
  });
  return { classOut, selections, oracle, comparison };
}

/** The run's oracle selections (results.oracleSelections), over every record of the run. */
export function selectRun(records: readonly ResultRecord[]): Selection[] {
  return selectOnValidation(records, isBaseline);
}
