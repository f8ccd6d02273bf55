// How the benchmark reads a task's items. Every task is an anomaly task (positives: its anomalous items, negatives:
// its held-out normal items) except benign-shift, the false-positive control: it rides on jailbreak-ood's items
// (one extraction, one set of fitted detectors) and its positives are the shift items. Everything the stages need
// to know about that difference is here.

import { MadkitError } from "../errors.js";
import type { ResultRecord } from "../results/contract.js";
import type { Task, TaskItem, UntrustedSplit } from "../tasks/task.js";
import { anomalySubsets, shiftSubsets, type EvalSubset } from "./subsets.js";

export const BENIGN_SHIFT_TASK = "benign-shift";

/** Tasks whose items are another task's, extracted and scored once with it. */
const RIDES_ON: Readonly<Record<string, string>> = { [BENIGN_SHIFT_TASK]: "jailbreak-ood" };

/** The task whose items are extracted for `task` (itself, unless it rides on another's). */
export const sourceTaskOf = (task: string): string => RIDES_ON[task] ?? task;

/** Whether `task` is the benign-shift control (positives are shift items; never selected, no plots). */
export const isShiftControl = (task: string): boolean => task === BENIGN_SHIFT_TASK;

export const positivesOf = (task: string): ResultRecord["positives"] => (isShiftControl(task) ? "shift" : "anomalous");

/** Check that a riding task's items are its source task's items with the same split, so scoring them once is right. */
export function checkRidesInside(rider: Task, source: Task): void {
  const ids = new Map(source.untrusted.map((it) => [it.id, it.split] as const));
  for (const it of rider.untrusted) {
    if (ids.get(it.id) !== it.split) {
      throw new MadkitError("BAD_INPUT", `bench: benign-shift item '${it.id}' (${it.split}) is not in jailbreak-ood with the same split; the tasks no longer share items`);
    }
  }
}

/**
 * The positive rate of the mix the headline subset evaluates: anomalous against held-out normal items (shift
 * items are the benign-shift control, not negatives), or shift against normal for benign-shift itself.
 */
export function evaluatedRate(task: string, m: { readonly anomalous: number; readonly normal: number; readonly shift: number }): number {
  const pos = isShiftControl(task) ? m.shift : m.anomalous;
  return pos + m.normal === 0 ? 0 : pos / (pos + m.normal);
}

/** The evaluation subsets of one split as `task` reads it; `tokensOf(i)` is item i's token count. */
export function subsetsOf(task: string, split: UntrustedSplit, items: readonly TaskItem[], tokensOf: (i: number) => number, seed: number): EvalSubset[] {
  return isShiftControl(task) ? shiftSubsets(items) : anomalySubsets(items, tokensOf, seed, split);
}
