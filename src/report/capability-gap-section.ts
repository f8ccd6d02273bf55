// The report's capability-gap section: first the activation score against the best baseline per weak model
// (AUROC, precision at recall 0.5, the gap base rate), then every score by kind, then precision and recall at
// thresholds set on trusted agreement positions against the goal (precision ≥ 0.80 at recall ≥ 0.50). Behaviour
// scores read what the label is built from and are shown apart, never as the result. Reads results.json only.

import type { BenchResults, CapabilityGapRow, ResultRecord } from "../results/contract.js";
import type { Block, Span } from "./blocks.js";
import { fmtRate } from "./format.js";
import type { Cell, Column, Table } from "./tables.js";

export const CAPABILITY_GAP_TASK = "capability-gap";
export const GAP_GOAL = { precision: 0.8, recall: 0.5 } as const;
/** With the one-word label (results written before the multi-word label): the score that separates gap from no gap by construction. */
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
      (results.capabilityGap?.label
        ? "Labelled set: evaluation positions whose excess loss is outside the margins (see above); behaviour scores read the label's inputs. Thresholds: conformal (1 − α) "
        : "Labelled set: evaluation positions where stories260K's greedy next word is right; gap = the weak model's is wrong. Thresholds: conformal (1 − α) ") +
      `quantile of the score on trusted positions (calibration paragraphs where the two models agree; correctness never read). Goal: precision ≥ ${GAP_GOAL.precision} ` +
      `at recall ≥ ${GAP_GOAL.recall}. Brackets: bootstrap 95% CIs.`,
    columns,
    rows,
  };
}

/** The sizes line under the multi-word label: positions, then per weak model its labelled, gap and left-out counts. */
function labelledSizes(sizes: NonNullable<BenchResults["capabilityGap"]>["sizes"], rows: readonly CapabilityGapRow[]): string {
  const perWeak = [...new Map(rows.map((r) => [r.weakModel, r] as const)).values()].map(
    (r) => `${r.weakModel}: ${r.nGap} gap of ${r.n} labelled, ${r.nBetween ?? 0} between the margins, typical excess ${(r.typicalExcess ?? NaN).toFixed(2)} nats, ${r.nCalibration} trusted`,
  );
  return (
    `Positions: ${sizes.positions} (${sizes.calibrationPositions} in calibration paragraphs, ${sizes.evaluationPositions} in evaluation paragraphs; ` +
    `the strong model's greedy word is the true one at ${sizes.strongCorrect} of these). ${perWeak.join("; ")}.`
  );
}

const bestOf = (rows: readonly CapabilityGapRow[], kind: string): CapabilityGapRow | undefined =>
  rows.filter((r) => r.kind === kind && Number.isFinite(r.auroc)).sort((a, b) => b.auroc - a.auroc)[0];

/** Per weak model: the best activation score (by AUROC) against the best baseline, with the gap base rate. */
export function gapHeadlineTable(rows: readonly CapabilityGapRow[]): Table {
  const columns: Column[] = [
    col("weak model", "text"), col("gap / labelled (base rate)", "text"), col("activation score", "text"), col("AUROC", "rate"), col("precision at recall 0.5", "rate"),
    col("best baseline", "text"), col("AUROC", "rate"), col("precision at recall 0.5", "rate"), col("activation above every baseline", "text"), col("goal: precision ≥ 0.8 at recall 0.5", "text"),
  ];
  const out: Cell[][] = [];
  for (const weak of [...new Set(rows.map((r) => r.weakModel))]) {
    const mine = rows.filter((r) => r.weakModel === weak);
    const a = bestOf(mine, "activation");
    const b = bestOf(mine, "baseline");
    if (!a) {
      const n = mine[0]!;
      out.push([weak, `${n.nGap} / ${n.n} (${fmtRate(n.nGap / n.n)})`, `none: ${n.nCalibration} trusted positions, too few to fit`, null, null, b?.score ?? "–", b?.auroc ?? null, b?.precisionAtHalfRecall ?? null, "no", "not met"]);
      continue;
    }
    const above = !b || (a.auroc > b.auroc && (a.precisionAtHalfRecall ?? NaN) > (b.precisionAtHalfRecall ?? NaN));
    out.push([
      weak, `${a.nGap} / ${a.n} (${fmtRate(a.nGap / a.n)})`, a.score, a.auroc, a.precisionAtHalfRecall ?? null,
      b?.score ?? "–", b?.auroc ?? null, b?.precisionAtHalfRecall ?? null, above ? "yes" : "no",
      (a.precisionAtHalfRecall ?? 0) >= GAP_GOAL.precision ? "met" : "not met",
    ]);
  }
  return {
    id: "capability-gap-headline",
    title: "Capability gap: the activation score against the best baseline, per weak model",
    note:
      "Activation scores read only hidden states at the prefix's last token; baselines read one model's next-token entropy or the prefix's text. " +
      "'Above every baseline' needs a higher AUROC and a higher precision at recall 0.5 than the best baseline (by AUROC). Precision at recall 0.5 is threshold-free.",
    columns,
    rows: out,
  };
}

/**
 * One plain sentence per weak model whose best activation score does not beat the best baseline by more than
 * `minMargin` AUROC: the capability gap's counterpart of the mechanism-margin warnings at the top of the report.
 */
export function capabilityGapWarnings(results: BenchResults, minMargin: number): string[] {
  const rows = (results.capabilityGap?.rows ?? []).filter((r) => r.kind !== undefined && r.alpha === (results.capabilityGap?.reportAlpha ?? 0.05));
  const out: string[] = [];
  for (const weak of [...new Set(rows.map((r) => r.weakModel))]) {
    const mine = rows.filter((r) => r.weakModel === weak);
    const a = bestOf(mine, "activation");
    const b = bestOf(mine, "baseline");
    if (!b) continue;
    if (!a) {
      out.push(`On the capability gap (${results.capabilityGap!.strongModel} vs ${weak}) no activation score could be fitted, so this task shows nothing about the models' mechanism.`);
      continue;
    }
    const margin = a.auroc - b.auroc;
    if (margin > minMargin) continue;
    out.push(
      `On the capability gap (${results.capabilityGap!.strongModel} vs ${weak}) the activation score does not beat the baselines: ${a.score} AUROC ${fmtRate(a.auroc)} ` +
        `against ${b.score} ${fmtRate(b.auroc)}, not more than ${minMargin} above it, so this task shows nothing about the models' mechanism that their entropies or the text do not.`,
    );
  }
  return out;
}

/** Every score of every weak model with its kind and what it reads. */
export function gapScoresTable(rows: readonly CapabilityGapRow[]): Table {
  const order = { activation: 0, baseline: 1, behaviour: 2 } as const;
  const weakOrder = [...new Set(rows.map((r) => r.weakModel))];
  const rank = (r: CapabilityGapRow): number => weakOrder.indexOf(r.weakModel) * 3 + order[r.kind ?? "behaviour"];
  const sorted = [...rows].sort((x, y) => rank(x) - rank(y));
  return {
    id: "capability-gap-scores",
    title: "Capability gap: every score by kind (behaviour scores read the strong model's output, i.e. the label's inputs: not detectors)",
    columns: [col("weak model", "text"), col("kind", "text"), col("score", "text"), col("reads", "text"), col("AUROC", "rate"), col("precision at recall 0.5", "rate")],
    rows: sorted.map((r): Cell[] => [r.weakModel, r.kind ?? "behaviour", r.score, (r.reads ?? []).join(", "), r.auroc, r.precisionAtHalfRecall ?? null]),
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
  const labelled = gap?.label;
  const withKinds = (gap?.rows ?? []).filter((r) => r.kind !== undefined && r.alpha === reportAlpha);
  if (labelled) {
    out.push(
      p(
        "At word positions in TinyStories paragraphs whose next word is a name or object introduced earlier, the strong model (stories260K) continues greedily for ",
        `${labelled.words} words. Gap: the weak model's loss on those words exceeds the strong model's own by more than ln 10 ≈ ${labelled.gapMargin.toFixed(2)} nats `,
        "over the weak model's typical excess (its median on calibration positions); no gap: at or below the typical excess; in between: left out. ",
        "Activation scores (", { code: "activation:*" }, ") read only the two models' hidden states at the prefix's last token and are fitted on trusted positions; ",
        "baselines (", { code: "baseline:*" }, ") are one model's entropy, the last word's rarity and the prefix length; behaviour scores (", { code: "behaviour:*" },
        ") read the strong model's output, which the label is built from, and are shown apart, never as the result.",
      ),
    );
    if (withKinds.length > 0) out.push({ kind: "table", table: gapHeadlineTable(withKinds) }, { kind: "table", table: gapScoresTable(withKinds) });
  } else {
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
  }
  if (gap) {
    const items: Span[][] = [
      [labelled ? labelledSizes(gap.sizes, withKinds) : `Positions: ${gap.sizes.positions} (${gap.sizes.calibrationPositions} in calibration paragraphs, ${gap.sizes.evaluationPositions} in evaluation paragraphs); the strong model is right on ${gap.sizes.strongCorrect} evaluation positions, which form the labelled set.`],
      ...gap.weakModels.map((w): Span[] => [{ strong: w.name }, `: ${w.description}.`]),
      [`Run time: ${gap.seconds.toFixed(0)} s.`],
    ];
    out.push({ kind: "list", items });
  }
  if (!labelled) {
    out.push(
      p(
        { strong: `Note on ${CEILING_SCORE}:` },
        " no-gap positions are exactly those where the weak model says the strong model's (right) word, so disagreement separates gap from no gap perfectly by construction. ",
        "It is the ceiling, not a finding; the continuous scores are the result.",
      ),
    );
  }
  out.push({ kind: "table", table: capabilityGapTable(results, alphas, reportAlpha) });
  const lines: Span[][] = [];
  for (const weak of [...new Set(recs.map(weakOf))]) {
    // Behaviour scores (and, with the one-word label, the ceiling) are not detectors: the goal is judged without them.
    const real = recs.filter((r) => weakOf(r) === weak && r.detector !== CEILING_SCORE && !(labelled && r.family === "behavioural"));
    const met = real.filter((r) => meetsGapGoal(r, reportAlpha)).map((r) => r.detector);
    lines.push([{ strong: weak }, met.length > 0 ? `: goal met at α = ${reportAlpha} by ${met.join(", ")}.` : labelled ? `: goal not met at α = ${reportAlpha} by any activation score or baseline.` : `: goal not met at α = ${reportAlpha} by any score that does not read the true word.`]);
  }
  out.push({ kind: "list", items: lines });
  return out;
}
