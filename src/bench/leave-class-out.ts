// Leave-one-attack-class-out selection: for each attack class, choose the detector × hook on validation data with
// that class removed, then measure recall on that class alone in the test split — how well a choice made
// without ever seeing an attack style transfers to it (the question a deployment against new attacks faces).

import type { TaskItem, UntrustedSplit } from "../tasks/task.js";
import { evaluateSplit, type RowIdentity } from "./evaluate.js";
import type { ResultRecord, Selection } from "../results/contract.js";
import { greater, SELECTION_CRITERION, selectionRank } from "./selection.js";
import type { EvalSubset } from "./subsets.js";

/** One input-scope detector × hook's scores on both splits and its calibrated thresholds. */
export interface Candidate {
  readonly id: RowIdentity;
  readonly scores: Readonly<Record<UntrustedSplit, Float64Array>>;
  readonly thresholds: readonly number[];
  /** Scores of the held-out trusted validation inputs (never fitted on, never calibrated on): the label-free selection's reference. */
  readonly trusted: Float64Array;
  /** Scores of the trusted calibration inputs the thresholds were set on (the base-rate bootstrap resamples them). */
  readonly calibration: Float64Array;
}

function subsetOf(name: string, items: readonly TaskItem[], keep: (it: TaskItem) => boolean): EvalSubset {
  const idx = items.map((_, i) => i).filter((i) => keep(items[i]!));
  return { name, indices: Uint32Array.from(idx), labels: Uint8Array.from(idx, (i) => (items[i]!.group === "anomalous" ? 1 : 0)) };
}

export function leaveClassOutSelections(
  candidates: readonly Candidate[],
  items: Readonly<Record<UntrustedSplit, readonly TaskItem[]>>,
  alphas: readonly number[],
  options: { readonly seed: number; readonly replicates: number },
): Selection[] {
  const classes = [...new Set(items.validation.filter((it) => it.group === "anomalous" && it.attackClass).map((it) => it.attackClass!))].sort();
  const out: Selection[] = [];
  if (classes.length < 2) return out;
  for (const c of classes) {
    const inClass = (it: TaskItem): boolean => it.group === "anomalous" && it.attackClass === c;
    // Negatives are the held-out normal items only, as in the headline subsets: benign-shift items are a
    // separate false-positive control, never part of an anomaly task's mix.
    const val = subsetOf(`all-but:${c}`, items.validation, (it) => it.group !== "shift" && !inClass(it));
    const test = subsetOf(`class:${c}`, items.test, (it) => it.group === "normal" || inClass(it));
    if (!val.labels.includes(1) || !test.labels.includes(1)) continue;
    let best: { cand: Candidate; rec: ResultRecord; rank: number[] } | undefined;
    for (const cand of candidates) {
      const [rec] = evaluateSplit(cand.id, "validation", items.validation, cand.scores.validation, [val], cand.thresholds, alphas, options);
      const rank = selectionRank(rec!);
      if (!best || greater(rank, best.rank)) best = { cand, rec: rec!, rank };
    }
    if (!best) continue;
    const [testRec] = evaluateSplit(best.cand.id, "test", items.test, best.cand.scores.test, [test], best.cand.thresholds, alphas, options);
    out.push({
      task: best.cand.id.task,
      model: best.cand.id.model,
      criterion: `${SELECTION_CRITERION}; attack class '${c}' removed from the validation data`,
      heldOut: c,
      detector: best.cand.id.detector,
      hook: best.cand.id.hook,
      validation: best.rec,
      test: testRec!,
    });
  }
  return out;
}
