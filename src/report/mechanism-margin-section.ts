// The mechanism margin, first in the report and the README: each selected detector against what the input text alone
// explains (the strongest baseline that reads no activation, and on backdoor tasks the unmodified control model),
// with a plain sentence for every task where the detectors do not clear them by more than MECHANISM_MARGIN_MIN.

import { MECHANISM_MARGIN_MIN, type BenchResults, type MechanismMargin } from "../results/contract.js";
import type { Block } from "./blocks.js";
import { capabilityGapWarnings } from "./capability-gap-section.js";
import { fmtRate } from "./format.js";
import { deltaText, type Table } from "./tables.js";

const marginsOf = (results: BenchResults): readonly MechanismMargin[] => results.mechanismMargins ?? [];

/** The task × model pairs that serve as another row's control (the unmodified model of a backdoor task). */
export function controlRows(results: BenchResults): (task: string, model: string) => boolean {
  const keys = new Set(marginsOf(results).flatMap((m) => (m.control ? [`${m.task}\0${m.control.model}`] : [])));
  return (task, model) => keys.has(`${task}\0${model}`);
}

/** One sentence per task × model whose margin is at or below MECHANISM_MARGIN_MIN, then the capability gap's. */
export function mechanismMarginWarnings(results: BenchResults): string[] {
  return [...selectionWarnings(results), ...capabilityGapWarnings(results, MECHANISM_MARGIN_MIN), ...tamperingWarnings(results)];
}

/** Measurement tampering keeps its margin in results.tampering (its own stage), so its warning is read from there. */
function tamperingWarnings(results: BenchResults): string[] {
  const t = results.tampering;
  if (!t?.headline || t.mechanismMargin === null || t.mechanismMargin > MECHANISM_MARGIN_MIN) return [];
  const bars = [
    t.bestSurface ? `the best surface baseline (${t.bestSurface.method}${t.bestSurface.reversed ? ", reversed" : ""}, AUROC ${fmtRate(t.bestSurface.auroc.value)})` : null,
    t.control ? `the untrained control (${t.control.method} @ ${t.control.hook}, AUROC ${fmtRate(t.control.auroc.value)})` : null,
  ].filter((x): x is string => x !== null);
  return [
    `On measurement-tampering the label-free detector does not beat the surface baselines / control: ${t.headline.method} @ ${t.headline.hook} ` +
      `(test AUROC ${fmtRate(t.headline.auroc.value)}) does not exceed ${bars.join(" and ")} by more than ${MECHANISM_MARGIN_MIN} (margin ${deltaText(t.mechanismMargin)}).`,
  ];
}

/** The control model's own rows are left out: its detectors are meant to see nothing. */
function selectionWarnings(results: BenchResults): string[] {
  const isControl = controlRows(results);
  return marginsOf(results)
    .filter((m) => m.margin !== null && m.margin <= MECHANISM_MARGIN_MIN && !isControl(m.task, m.model))
    .map((m) => {
      const bars = [
        m.bestSurface ? `the best surface baseline (${m.bestSurface.detector}${m.bestSurface.reversed ? ", reversed" : ""}, AUROC ${fmtRate(m.bestSurface.auroc.value)})` : null,
        m.control ? `the control model (${m.control.model}, AUROC ${fmtRate(m.control.auroc.value)})` : null,
      ].filter((x): x is string => x !== null);
      return (
        `On ${m.task} × ${m.model} the detectors do not beat the surface baselines${m.control ? " / control" : ""}: the selected ${m.selected.detector} @ ${m.selected.hook} ` +
        `(test AUROC ${fmtRate(m.selected.auroc.value)}) does not exceed ${bars.join(" and ")} by more than ${MECHANISM_MARGIN_MIN} (margin ${deltaText(m.margin!)}), ` +
        (m.control
          ? "so this result shows nothing that the input text or the model without the backdoor does not already show."
          : "so this result says nothing about the model's mechanism that the input text does not already show.")
      );
    });
}

export function mechanismMarginTable(results: BenchResults): Table | null {
  const margins = marginsOf(results);
  if (margins.length === 0) return null;
  return {
    id: "mechanism-margin",
    title: "Mechanism margin: the selected detector against the input text alone",
    note:
      `Test split, all anomalous families. Best surface: the strongest row that reads no activation (length, bag-of-words, and the grid's detectors on ` +
      `token n-grams or the last tokens' identity), read in whichever direction separates better and chosen on test, so it favours the baseline. ` +
      `Control: on backdoor tasks, the unmodified model's own label-free choice on the same items. Margin = selected − max(best surface, control); ` +
      `at or below ${MECHANISM_MARGIN_MIN} the detectors do not beat what the text alone explains.`,
    columns: [
      { label: "task × model", kind: "text" },
      { label: "selected detector @ hook", kind: "text" },
      { label: "selected AUROC [95% CI]", kind: "ci" },
      { label: "best surface", kind: "text" },
      { label: "best surface AUROC [95% CI]", kind: "ci" },
      { label: "control", kind: "text" },
      { label: "control AUROC [95% CI]", kind: "ci" },
      { label: "margin", kind: "text" },
      { label: "verdict", kind: "text" },
    ],
    rows: margins.map((m) => [
      `${m.task} × ${m.model}`,
      `${m.selected.detector} @ ${m.selected.hook}`,
      m.selected.auroc,
      m.bestSurface ? `${m.bestSurface.detector}${m.bestSurface.reversed ? ", reversed" : ""}` : null,
      m.bestSurface?.auroc ?? null,
      m.control ? `${m.control.model}: ${m.control.detector} @ ${m.control.hook}` : null,
      m.control?.auroc ?? null,
      m.margin === null ? null : deltaText(m.margin),
      m.verdict,
    ]),
  };
}

/** The section that opens the report: the warnings, then the table; nothing for results without margins. */
export function mechanismMarginSection(results: BenchResults): Block[] {
  const table = mechanismMarginTable(results);
  const warnings = mechanismMarginWarnings(results);
  if (!table && warnings.length === 0) return [];
  return [
    { kind: "heading", level: 2, text: "Mechanism margin" },
    ...(warnings.length > 0 ? [{ kind: "list" as const, items: warnings.map((w) => [{ strong: w }]) }] : []),
    ...(table ? [{ kind: "table" as const, table }] : []),
  ];
}
