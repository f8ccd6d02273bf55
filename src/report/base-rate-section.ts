// Precision where anomalies are rare: each headline selection's recall, false-positive rate and precision at anomaly
// rates of 1%, 5% and 20% (the test mix reweighted), beside the test mix's own rate and precision. The intervals
// resample the calibration set too, so they include the threshold's own variance.

import type { BenchResults, Selection } from "../results/contract.js";
import type { Block } from "./blocks.js";
import { fmtRate } from "./format.js";
import type { Table } from "./tables.js";

const pct = (r: number): string => `${+(100 * r).toFixed(2)}%`;

export function baseRateTable(results: BenchResults): Table | null {
  const sels = results.selections.filter((s): s is Selection & { atBaseRates: NonNullable<Selection["atBaseRates"]> } => s.atBaseRates !== undefined);
  if (sels.length === 0) return null;
  const rates = sels[0]!.atBaseRates.precision.map((p) => p.rate);
  return {
    id: "base-rates",
    title: "Precision at realistic anomaly rates",
    note:
      `The headline selections at α = ${sels[0]!.atBaseRates.alpha} on the test split's normal and anomalous items: recall, false-positive rate, and precision if anomalies ` +
      `made up ${rates.map(pct).join(", ")} of the inputs (rate·recall / (rate·recall + (1 − rate)·FPR): the test mix reweighted), beside the test mix's own rate and precision. ` +
      "Brackets: bootstrap 95% intervals whose replicates resample the trusted calibration set and set the threshold again, then the test items.",
    columns: [
      { label: "task × model", kind: "text" },
      { label: "detector @ hook", kind: "text" },
      { label: "recall [95% CI]", kind: "ci" },
      { label: "FPR [95% CI]", kind: "ci" },
      ...rates.map((r) => ({ label: `precision at ${pct(r)} [95% CI]`, kind: "ci" as const })),
      { label: "test mix: rate, precision", kind: "text" },
    ],
    rows: sels.map((s) => {
      const mixAt = s.test.atAlpha.find((a) => a.alpha === s.atBaseRates.alpha);
      return [
        `${s.task} × ${s.model}`,
        `${s.detector} @ ${s.hook}`,
        s.atBaseRates.recall,
        s.atBaseRates.fpr,
        ...s.atBaseRates.precision.map((p) => ({ value: p.value, lo: p.lo, hi: p.hi })),
        `${fmtRate(s.test.nAnomalous / s.test.n)}, ${fmtRate(mixAt?.precision.value)}`,
      ];
    }),
  };
}

export function baseRateSection(results: BenchResults): Block[] {
  const table = baseRateTable(results);
  return table ? [{ kind: "heading", level: 2, text: "Precision at realistic anomaly rates" }, { kind: "table", table }] : [];
}
