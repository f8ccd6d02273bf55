// The label-free choice beside the choices that saw labels, per task × model: the oracle (chosen on the labelled
// validation split) and the leave-one-attack-class-out choices (each chosen with one class hidden, tested on it),
// with the share of the oracle's test AUROC that the label-free choice recovers.

import type { Selection, SelectionComparison } from "../results/contract.js";
import type { TaskItem } from "../tasks/task.js";
import type { Candidate } from "./leave-class-out.js";
import { twoSampleAuroc } from "../eval/ranking-metrics.js";
import type { LabelFreeChoice } from "./label-free-selection.js";

const round = (x: number): number => Math.round(x * 1e6) / 1e6;

/** The candidate's test AUROC on one attack class against the normal test items (infinite scores allowed). */
function classAuroc(c: Candidate, testItems: readonly TaskItem[], attackClass: string): number {
  const pos: number[] = [];
  const neg: number[] = [];
  testItems.forEach((it, i) => {
    if (it.group === "normal") neg.push(c.scores.test[i]!);
    else if (it.group === "anomalous" && it.attackClass === attackClass) pos.push(c.scores.test[i]!);
  });
  return twoSampleAuroc(pos, neg);
}

export function compareSelections(
  choice: LabelFreeChoice,
  labelFree: Selection,
  oracle: Selection | undefined,
  classOut: readonly Selection[],
  testItems: readonly TaskItem[],
): SelectionComparison {
  const lf = labelFree.test.auroc;
  const held = classOut.filter((s) => s.task === labelFree.task && s.model === labelFree.model && s.heldOut !== undefined);
  const classes = held.map((s) => s.heldOut!);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const or = oracle?.test.auroc.value;
  return {
    task: labelFree.task,
    model: labelFree.model,
    labelFree: { detector: labelFree.detector, hook: labelFree.hook, poolAuroc: round(choice.poolAuroc), test: lf },
    oracle: oracle ? { detector: oracle.detector, hook: oracle.hook, test: oracle.test.auroc } : null,
    leaveClassOut: held.length >= 2
      ? { classes, meanTest: round(mean(held.map((s) => s.test.auroc.value))), labelFreeMeanTest: round(mean(classes.map((c) => classAuroc(choice.candidate, testItems, c)))) }
      : null,
    recovered: or !== undefined && or > 0 ? round(lf.value / or) : null,
    recoveredAboveChance: or !== undefined && or > 0.5 ? round((lf.value - 0.5) / (or - 0.5)) : null,
  };
}
