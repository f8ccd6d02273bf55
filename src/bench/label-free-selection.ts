// Choosing the detector × hook without a single label. What a deployment has before anyone labels anything: held-out
// trusted inputs (normal by construction) and the unlabelled traffic it must screen (here: the untrusted validation
// split, every item whatever its group, labels never read). The criterion is the AUROC of the unlabelled pool
// against the held-out trusted scores. When the pool's normal inputs are distributed like the trusted ones and a
// share π of it is anomalous,
//
//   AUROC(pool vs trusted) = π · AUROC(anomalous vs normal) + (1 − π) / 2,
//
// (the positive-unlabelled identity: the pool's normal part ties with the trusted scores in distribution), so the
// candidate that best separates the pool from the trusted inputs is, in expectation, the one that best separates
// anomalies from normal inputs — the oracle's target — at a scale shrunk by π. What breaks it: normal traffic that
// is itself shifted from the trusted data (benign shift), which a detector of shift would win on.

import type { ResultRecord, Selection } from "../results/contract.js";
import { twoSampleAuroc } from "../eval/ranking-metrics.js";
import type { Candidate } from "./leave-class-out.js";

export const LABEL_FREE_CRITERION =
  "label-free: highest AUROC of the unlabelled untrusted validation pool (every item, labels never read) against held-out " +
  "trusted inputs (normal by construction), among input-scope rows; ties broken by the detector × hook name";

export interface LabelFreeChoice {
  readonly candidate: Candidate;
  /** AUROC of the unlabelled validation pool against the held-out trusted scores. */
  readonly poolAuroc: number;
}

/** The label-free choice among one task's candidates (undefined when none has finite-rankable scores). */
export function chooseLabelFree(candidates: readonly Candidate[]): LabelFreeChoice | undefined {
  let best: LabelFreeChoice | undefined;
  const name = (c: Candidate): string => `${c.id.detector}\0${c.id.hook}`;
  for (const candidate of candidates) {
    const poolAuroc = twoSampleAuroc(candidate.scores.validation, candidate.trusted);
    if (Number.isNaN(poolAuroc)) continue;
    if (!best || poolAuroc > best.poolAuroc || (poolAuroc === best.poolAuroc && name(candidate) < name(best.candidate))) best = { candidate, poolAuroc };
  }
  return best;
}

/**
 * The label-free selection per task of a unit, as Selection records read from the unit's own records (validation and
 * test, subset all). The criterion string carries the pool AUROC the choice was made on.
 */
export function selectLabelFree(candidatesByTask: ReadonlyMap<string, readonly Candidate[]>, records: readonly ResultRecord[]): { selection: Selection; choice: LabelFreeChoice }[] {
  const out: { selection: Selection; choice: LabelFreeChoice }[] = [];
  for (const cands of candidatesByTask.values()) {
    const choice = chooseLabelFree(cands);
    if (!choice) continue;
    const id = choice.candidate.id;
    const find = (split: "validation" | "test"): ResultRecord | undefined =>
      records.find((r) => r.task === id.task && r.model === id.model && r.detector === id.detector && r.hook === id.hook && r.split === split && r.subset === "all" && r.positives === id.positives);
    const validation = find("validation");
    const test = find("test");
    if (!validation || !test) continue;
    out.push({ choice, selection: { task: id.task, model: id.model, criterion: `${LABEL_FREE_CRITERION} (pool AUROC ${choice.poolAuroc.toFixed(3)})`, detector: id.detector, hook: id.hook, validation, test } });
  }
  return out;
}
