// The report's capability-gap section: per weak model and score, precision and recall at thresholds set on
// trusted agreement positions, against the goal (precision ≥ 0.80 at recall ≥ 0.50), with the construction's
// sizes and the caveat that `disagreement` is a ceiling by construction. Reads results.json only.

import type { BenchResults, ResultRecord } from "../results/contract.js";
import type { Block, Span } from "./blocks.js";
import { fmtRate } from "./format.js";
import type { Cell, Column, Table } from "./tables.js";

export const CAPABILITY_GAP_TASK = "capability-gap";
export const GAP_GOAL = { precision: 0.8, recall: 0.5 } as const;
/** The score that separates gap from no gap perfectly by construction (see the section's note). */
export const CEILING_SCORE = "disagreement";

const col = (label: string, kind: Column["kind"]): Column => ({ label, kind });

/** `stories260k/babyllama-105` → `babyllama-105`. */
const weakOf = (r: ResultRecord): string => r.model.slice(r.model.indexOf("/") + 1);

export function gapRecords(results: BenchResults): ResultRecord[] {
  return results.records.filter((r) => r.task === CAPABILITY_GAP_TASK && r.split === "test" && r.subset === "all");
}

export function meetsGapGoal(r: ResultRecord, alpha: number): boolean {
  const a = r.atAlpha.find((x) => Math.abs(x.alpha - alpha) < 1e-12);
  return !!a && a.threshold !== null && a.precision.value >= GAP_GOAL.precision && a.recall.value >= GAP_GOAL.recall;
}

export function capabilityGapTable(results: BenchResults, alphas: readonly number[], reportAlpha: number): Table {
  const recs = gapRecords(results);
  const nCal = new Map((results.capabilityGap?.rows ?? []).map((r) => [`${r.weakModel}\0${r.score}`, r.nCalibration] as const));
  const columns: Column[] = [col("weak model", "text"), col("score", "text"), col("gap / labelled", "text"), col("trusted calibration positions", "text"), col("AUROC", "ci")];
  for (const a of alphas) columns.push(col(`precision α=${a}`, "ci"), col(`recall α=${a}`, "ci"));
  columns.push(col(`goal met at α=${reportAlpha}`, "text"));
  const rows = recs.map((r): Cell[] => {
    const weak = weakOf(r);
    const row: Cell[] = [weak, r.detector === CEILING_SCORE ? `${r.detector} (ceiling by construction)` : r.detector, `${r.nAnomalous} / ${r.n}`, String(nCal.get(`${weak}\0${r.detector}`) ?? "–"), r.auroc];
    for (const alpha of alphas) {
      const a = r.atAlpha.find((x) => Math.abs(x.alpha - alpha) < 1e-12);
      row.push(a && a.threshold !== null ? a.precision : null, a && a.threshold !== null ? a.recall : null);
    }
    row.push(meetsGapGoal(r, reportAlpha) ? "yes" : "no");
    return row;
  });
  return {
    id: "capability-gap",
    title: "Capability gap: does the weak model miss what the strong one knows? Precision and recall per weak model and score",
    note:
      `Labelled set: evaluation positions where stories260K's greedy next word is right; gap = the weak model's is wrong. Thresholds: conformal (1 − α) ` +
      `quantile of the score on trusted positions (calibration paragraphs where the two models agree; correctness never read). Goal: precision ≥ ${GAP_GOAL.precision} ` +
      `at recall ≥ ${GAP_GOAL.recall}. Brackets: bootstrap 95% CIs.`,
    columns,
    rows,
  };
}

export function capabilityGapSection(results: BenchResults): Block[] {
  const recs = gapRecords(results);
  const skipped = (results.skipped ?? []).filter((s) => s.task === CAPABILITY_GAP_TASK);
  if (recs.length === 0 && skipped.length === 0) return [];
  const p = (...spans: Span[]): Block => ({ kind: "paragraph", spans });
  const out: Block[] = [{ kind: "heading", level: 2, text: "Capability gap: stories260K against weaker models" }];
  for (const s of skipped) out.push(p({ strong: "Not run:" }, ` ${s.reason}.`));
  if (recs.length === 0) return out;
  const gap = results.capabilityGap;
  const reportAlpha = gap?.reportAlpha ?? 0.05;
  const alphas = [...new Set(recs.flatMap((r) => r.atAlpha.map((a) => a.alpha)))].sort((a, b) => a - b);
  out.push(
    p(
      "At word positions in TinyStories paragraphs whose next word is a name or object introduced earlier, the strong model (stories260K) and a weak one each predict the next word greedily. ",
      "Scores flag positions where the weak model lacks what the strong one knows, without reading the true word: ",
      { code: "weak-surprise" }, " (the weak model's surprise at the strong model's word), ",
      { code: "surprise-gap" }, " (that minus the strong model's own surprise), ",
      { code: "next-token-kl" }, " (same tokenizer only) and ",
      { code: CEILING_SCORE }, ".",
    ),
  );
  if (gap) {
    const items: Span[][] = [
      [`Positions: ${gap.sizes.positions} (${gap.sizes.calibrationPositions} in calibration paragraphs, ${gap.sizes.evaluationPositions} in evaluation paragraphs); the strong model is right on ${gap.sizes.strongCorrect} evaluation positions, which form the labelled set.`],
      ...gap.weakModels.map((w): Span[] => [{ strong: w.name }, `: ${w.description}.`]),
      [`Run time: ${gap.seconds.toFixed(0)} s.`],
    ];
    out.push({ kind: "list", items });
  }
  out.push(
    p(
      { strong: `Note on ${CEILING_SCORE}:` },
      " no-gap positions are exactly those where the weak model says the strong model's (right) word, so disagreement separates gap from no gap perfectly by construction. ",
      "It is the ceiling, not a finding; the continuous scores are the result.",
    ),
  );
  out.push({ kind: "table", table: capabilityGapTable(results, alphas, reportAlpha) });
  const lines: Span[][] = [];
  for (const weak of [...new Set(recs.map(weakOf))]) {
    const real = recs.filter((r) => weakOf(r) === weak && r.detector !== CEILING_SCORE);
    const met = real.filter((r) => meetsGapGoal(r, reportAlpha)).map((r) => r.detector);
    lines.push([{ strong: weak }, met.length > 0 ? `: goal met at α = ${reportAlpha} by ${met.join(", ")}.` : `: goal not met at α = ${reportAlpha} by any score that does not read the true word.`]);
  }
  out.push({ kind: "list", items: lines });
  return out;
}
