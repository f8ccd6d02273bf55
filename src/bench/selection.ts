// Choosing one detector × hook per task × model on the validation split only, then reporting its test record:
// the numbers a user would get by deploying what the validation data recommended.

import type { ResultRecord, Selection } from "../results/contract.js";

export const SELECTION_ALPHA = 0.05;
export const SELECTION_MIN_PRECISION = 0.9;
export const SELECTION_CRITERION =
  `highest validation recall at α = ${SELECTION_ALPHA} among input-scope rows (subset all) with validation precision ≥ ${SELECTION_MIN_PRECISION}; ` +
  `if none reaches it, highest validation F1 at α = ${SELECTION_ALPHA}; ties broken by validation AUROC`;

/** The criterion as a sortable tuple: [meets the precision floor, recall (or F1 when it does not), AUROC]. */
export function selectionRank(r: ResultRecord): number[] {
  const m = at(r);
  const meets = m.precision >= SELECTION_MIN_PRECISION ? 1 : 0;
  return [meets, meets ? m.recall : m.f1, r.auroc.value];
}

function at(r: ResultRecord): { precision: number; recall: number; f1: number } {
  const a = r.atAlpha.find((x) => x.alpha === SELECTION_ALPHA);
  return a ? { precision: a.precision.value, recall: a.recall.value, f1: a.f1 } : { precision: 0, recall: 0, f1: 0 };
}

/**
 * One selection per (task, model) among records with positives = anomalous. `exclude` drops candidates (e.g.
 * the length baseline is a reference, not a deployable detector).
 */
export function selectOnValidation(records: readonly ResultRecord[], exclude: (r: ResultRecord) => boolean = () => false): Selection[] {
  const key = (r: ResultRecord): string => `${r.task}\0${r.model}\0${r.detector}\0${r.hook}`;
  const tests = new Map<string, ResultRecord>();
  for (const r of records) if (r.split === "test" && r.subset === "all") tests.set(key(r), r);
  const best = new Map<string, { r: ResultRecord; rank: number[] }>();
  for (const r of records) {
    if (r.split !== "validation" || r.subset !== "all" || r.scope !== "input" || r.positives !== "anomalous" || exclude(r)) continue;
    const rank = selectionRank(r);
    const tm = `${r.task}\0${r.model}`;
    const cur = best.get(tm);
    if (!cur || greater(rank, cur.rank)) best.set(tm, { r, rank });
  }
  const out: Selection[] = [];
  for (const { r } of best.values()) {
    const test = tests.get(key(r));
    if (!test) continue;
    out.push({ task: r.task, model: r.model, criterion: SELECTION_CRITERION, detector: r.detector, hook: r.hook, validation: r, test });
  }
  return out;
}

export function greater(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! > b[i]!;
  return false;
}
