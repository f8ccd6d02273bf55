// How the headline detector was chosen, and what that costs: the label-free choice (no labels at all) beside the
// choices that saw labels — one attack class hidden (leave-one-class-out) and the oracle (the labelled validation
// split) — with the share of the oracle's test AUROC that the label-free choice recovers.

import type { BenchResults, SelectionComparison } from "../results/contract.js";
import type { Block } from "./blocks.js";
import { fmtRate } from "./format.js";
import type { Table } from "./tables.js";

const rowsOf = (results: BenchResults): readonly SelectionComparison[] => results.selectionComparison ?? [];

export function selectionComparisonTable(results: BenchResults): Table | null {
  const rows = rowsOf(results);
  if (rows.length === 0) return null;
  return {
    id: "selection-comparison",
    title: "Label-free selection against choices that saw labels",
    note:
      `Headline: ${results.plan.selectionCriterion}. Oracle: ${results.plan.oracleCriterion ?? "chosen on the labelled validation split"}. ` +
      "Leave-one-class-out: for each attack class, the choice made on validation data without that class, tested on that class alone (mean over classes), " +
      "beside the label-free choice's test AUROC on the same classes. Recovered = label-free / oracle test AUROC; above chance = (label-free − 0.5) / (oracle − 0.5).",
    columns: [
      { label: "task × model", kind: "text" },
      { label: "label-free detector @ hook", kind: "text" },
      { label: "pool AUROC", kind: "text" },
      { label: "label-free test AUROC [95% CI]", kind: "ci" },
      { label: "oracle detector @ hook", kind: "text" },
      { label: "oracle test AUROC [95% CI]", kind: "ci" },
      { label: "leave-one-class-out mean (label-free on the same classes)", kind: "text" },
      { label: "recovered", kind: "text" },
      { label: "above chance", kind: "text" },
    ],
    rows: rows.map((c) => [
      `${c.task} × ${c.model}`,
      `${c.labelFree.detector} @ ${c.labelFree.hook}`,
      fmtRate(c.labelFree.poolAuroc),
      c.labelFree.test,
      c.oracle ? `${c.oracle.detector} @ ${c.oracle.hook}` : null,
      c.oracle?.test ?? null,
      c.leaveClassOut ? `${fmtRate(c.leaveClassOut.meanTest)} (${fmtRate(c.leaveClassOut.labelFreeMeanTest)}) over ${c.leaveClassOut.classes.length} classes` : null,
      c.recovered === null ? null : fmtRate(c.recovered),
      c.recoveredAboveChance === null ? null : fmtRate(c.recoveredAboveChance),
    ]),
  };
}

export function selectionComparisonSection(results: BenchResults): Block[] {
  const table = selectionComparisonTable(results);
  if (!table) return [];
  return [{ kind: "heading", level: 2, text: "How the headline detector was chosen" }, { kind: "table", table }];
}
