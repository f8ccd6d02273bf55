// The README's Results section, generated from results.json and spliced between two marker comments, so the
// front page always shows the numbers of a reproducible run and the command that reproduces them.

import { readFileSync } from "node:fs";
import type { AtAlpha, BenchResults, ResultRecord, Selection, TaskSummary } from "../results/contract.js";
import type { MonitorLoopResult } from "../results/monitor-loop.js";
import type { TamperingSummary } from "../results/tampering.js";
import { MadkitError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { regenerateCommand } from "./document.js";
import { escapeMarkdown } from "./escape.js";
import { fmtCi, fmtRate } from "./format.js";
import { tableToMarkdown } from "./markdown.js";
import { mechanismMarginTable, mechanismMarginWarnings } from "./mechanism-margin-section.js";
import { selectionComparisonTable } from "./selection-comparison-section.js";
import { baseRateTable } from "./base-rate-section.js";
import { loopGoal } from "./monitor-loop-section.js";
import { BASELINE_FAMILY, baselineLabel, baselineRefs, detectorChoices, deltaText, hookLabel, layerGrid, mixText, rankLayers, taskModels } from "./tables.js";

export const RESULTS_START = "<!-- results:start -->";
export const RESULTS_END = "<!-- results:end -->";

/** The script that splices this section into README.md (run after `madkit bench`). */
export const UPDATE_README_COMMAND = "node --import tsx scripts/update-readme-results.ts report/results.json README.md";

const e = escapeMarkdown;

export function readmeResultsSection(results: BenchResults): string {
  // α = 0.05 is the level the validation selection uses and the issue bars are stated at; report.md shows every α.
  const alpha = results.alphas.includes(0.05) ? 0.05 : results.alphas[0];
  const baselines = baselineLines(results);
  const heldOut = (results.classOutSelections ?? []).filter((s) => s.test);
  const layers = layerLines(results);
  const backdoors = results.tasks.filter((t) => t.backdoor?.role === "backdoored");
  return [
    provenanceLine(results),
    ...marginLines(results),
    ...comparisonLines(results),
    ...headline(results, alpha),
    ...block("**Detector families** (best test AUROC per family; per-input detectors, batch methods listed apart):", familyLines(results)),
    ...(baselines.length ? block(BASELINES_TITLE, baselines) : []),
    ...(heldOut.length > 0 ? block("**Held-out attack classes** (detector chosen without the class, test AUROC on it):", heldOutLines(results, heldOut)) : []),
    ...(layers.length ? block("**Most informative layers** (mean test AUROC across detectors):", layers) : []),
    ...(backdoors.length > 0 || results.capabilityGap ? block("**Backdoors and capability gaps:**", backdoorAndGapLines(results, backdoors)) : []),
    ...(results.tampering ? block("**Measurement tampering** (vault world; real vs tampered among programs whose three sensors all read positive):", tamperingLines(results.tampering)) : []),
    ...(results.monitorLoop ? block("**The monitor loop** (through `madkit serve`; recall on each held-out attack family against labels spent):", monitorLoopLines(results.monitorLoop)) : []),
    ...block("**Failure modes** (each backed by a measured gap; the report lists examples and the reasoning):", failureModeLines(results)),
    ...regenerate(results),
  ].join("\n");
}

/** The mechanism margin table, led by a bold sentence per task where the detectors do not beat the text alone. */
function marginLines(results: BenchResults): string[] {
  const table = mechanismMarginTable(results);
  const warnings = mechanismMarginWarnings(results).map((w) => `**${e(w)}**\n`);
  return table || warnings.length > 0 ? ["", ...warnings, ...(table ? [tableToMarkdown(table)] : [])] : [];
}

/** The label-free choice beside the choices that saw labels. */
function comparisonLines(results: BenchResults): string[] {
  return [selectionComparisonTable(results), baseRateTable(results)].flatMap((t) => (t ? ["", tableToMarkdown(t)] : []));
}

/** A blank line, a bold title, a blank line, then the lines. */
function block(title: string, lines: readonly string[]): string[] {
  return ["", title, "", ...lines];
}

/** Per row, the preferred α if calibration could set a threshold there, else the smallest α that has one. */
function usableAlpha(r: ResultRecord, alpha: number | undefined): AtAlpha | undefined {
  return r.atAlpha.find((x) => x.alpha === alpha && x.threshold !== null) ?? [...r.atAlpha].sort((a, b) => a.alpha - b.alpha).find((x) => x.threshold !== null);
}

function provenanceLine(results: BenchResults): string {
  return (
    `*Generated from \`report/results.json\` (madkit ${e(results.madkitVersion)}, ${results.createdAt.slice(0, 10)}, seed ${results.seed}, ` +
    `${results.quick ? "quick run: small sets, wide intervals" : "full run"}); do not edit by hand.*`
  );
}

/** The headline paragraph, one table row per selection, then a line per selection's plain harmful requests. */
function headline(results: BenchResults, alpha: number | undefined): string[] {
  const lines = [
    "",
    `**Headline** — test split; detector and layer chosen without labels (the unlabelled validation pool against held-out trusted inputs: see the table above); flag when the score exceeds the threshold ` +
      `calibrated on trusted data at level α (${alpha ?? "–"} where the calibration split is large enough to set it). Precision depends on the anomaly rate of the mix, given beside it. ` +
      `Shift FPR = false alarms on benign inputs unlike the trusted ones. Confound controls: AUROC on the length-matched subset, and the ` +
      `strongest baseline that sees no activations (token/character count, bag-of-words, detectors on token n-grams or the last tokens) with the detector's AUROC difference from it.`,
    "",
    "| task × model | detector @ hook | test mix: anomaly rate (anomalous of n) | AUROC [95% CI] | α | precision | recall | shift FPR | AUROC length-matched | best baseline AUROC (Δ) |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const s of results.selections) lines.push(headlineRow(results, s, usableAlpha(s.test, alpha)));
  const plain = results.records.filter((r) => r.subset === "harmful-plain" && r.split === "test" && results.selections.some((s) => s.task === r.task && s.model === r.model && s.detector === r.detector && s.hook === r.hook));
  for (const r of plain) {
    const a = usableAlpha(r, alpha);
    lines.push("");
    lines.push(
      `Plain harmful requests (AdvBench, the expected hard case), ${e(`${r.task} × ${r.model}`)}: AUROC ${e(fmtCi(r.auroc))}` +
        (a ? `, recall ${fmtRate(a.recall.value)} at α = ${a.alpha}.` : "; no threshold could be calibrated."),
    );
  }
  return lines;
}

function headlineRow(results: BenchResults, s: Selection, a: AtAlpha | undefined): string {
  const lm = results.records.find((r) => r.task === s.task && r.model === s.model && r.detector === s.detector && r.hook === s.hook && r.subset === "length-matched" && r.split === "test");
  const base = baselineRefs(results, s.task, s.model)[0];
  return (
    `| ${e(`${s.task} × ${s.model}`)} | ${e(`${s.detector} @ ${s.hook}`)} | ${mixText(s.test)} | ${e(fmtCi(s.test.auroc))} | ` +
    `${a ? a.alpha : "no threshold"} | ${e(fmtCi(a?.precision))} | ${e(fmtCi(a?.recall))} | ${fmtRate(a?.shiftFpr)} | ` +
    `${fmtRate(lm?.auroc.value)} | ${base ? e(`${baselineLabel(base)} ${fmtRate(base.auroc.value)} (${deltaText(s.test.auroc.value - base.auroc.value)})`) : "–"} |`
  );
}

/** The task × model pairs the family and baseline lines cover, with their detector choices (none: left out). */
function choicesPerTask(results: BenchResults): { task: string; model: string; choices: ReturnType<typeof detectorChoices> }[] {
  const out: { task: string; model: string; choices: ReturnType<typeof detectorChoices> }[] = [];
  for (const { task, model } of taskModels(results)) {
    // The capability gap has its own section: its `disagreement` score is a ceiling by construction, not a finding.
    if (task === "capability-gap") continue;
    const choices = detectorChoices(results, task, model);
    if (choices.length > 0) out.push({ task, model, choices });
  }
  return out;
}

/** Per task × model: the best per-input detector of each family, then the batch methods. */
function familyLines(results: BenchResults): string[] {
  return choicesPerTask(results).map(({ task, model, choices }) => {
    const bestOf = new Map<string, (typeof choices)[number]>();
    for (const c of choices) if (c.scope === "input" && (!bestOf.get(c.family) || c.test.auroc.value > bestOf.get(c.family)!.test.auroc.value)) bestOf.set(c.family, c);
    const fams = [...bestOf.values()].sort((a, b) => b.test.auroc.value - a.test.auroc.value);
    const batch = choices.filter((c) => c.scope === "batch");
    return (
      `- ${e(`${task} × ${model}`)}: ` +
      fams.map((c) => `${e(c.family)} (${e(c.detector)}) ${fmtRate(c.test.auroc.value)}`).join(", ") +
      (batch.length ? `; batch: ${batch.map((c) => `${e(c.detector)} ${fmtRate(c.test.auroc.value)}`).join(", ")}` : "") +
      "."
    );
  });
}

const BASELINES_TITLE =
  "**Against the baselines** (length in tokens/characters, bag-of-words and the surface detectors on token n-grams or the last tokens, which see no activations; each detector at its validation-chosen hook, " +
  "test AUROC difference from the strongest baseline; \"reversed\": read as lower score = more anomalous, since a confound counts whichever way it points):";

/** Per task × model with a baseline: which per-input detectors beat the strongest one, and by how much. */
function baselineLines(results: BenchResults): string[] {
  const lines: string[] = [];
  for (const { task, model, choices } of choicesPerTask(results)) {
    const bases = baselineRefs(results, task, model);
    const base = bases[0];
    if (!base) continue;
    const others = choices.filter((c) => c.family !== BASELINE_FAMILY && c.scope === "input");
    const beat = others.filter((c) => c.test.auroc.value > base.auroc.value);
    const not = others.filter((c) => c.test.auroc.value <= base.auroc.value);
    const d = (c: (typeof others)[number]) => `${e(c.detector)} ${deltaText(c.test.auroc.value - base.auroc.value)}`;
    const sel = results.selections.find((x) => x.task === task && x.model === model);
    lines.push(
      `- ${e(`${task} × ${model}`)}: baselines ${bases.map((b) => `${e(baselineLabel(b))} ${fmtRate(b.auroc.value)}`).join(", ")}; strongest ${e(baselineLabel(base))}. ` +
        `Beat it: ${beat.length ? beat.map(d).join(", ") : "none"}. Did not: ${not.length ? not.map(d).join(", ") : "none"}.` +
        (sel ? ` The selected ${e(sel.detector)} @ ${e(sel.hook)}: ${deltaText(sel.test.auroc.value - base.auroc.value)}${sel.test.auroc.value > base.auroc.value ? "" : " (does not beat it)"}.` : ""),
    );
  }
  return lines;
}

function heldOutLines(results: BenchResults, heldOut: readonly Selection[]): string[] {
  const lines: string[] = [];
  for (const { task, model } of taskModels(results)) {
    const mine = heldOut.filter((s) => s.task === task && s.model === model);
    if (mine.length) lines.push(`- ${e(`${task} × ${model}`)}: ${mine.map((s) => `${e(s.heldOut ?? s.test.subset)} ${fmtRate(s.test.auroc.value)} (${e(s.detector)})`).join(", ")}.`);
  }
  return lines;
}

/** Per task × model with a layer grid: the three layers with the best mean test AUROC. */
function layerLines(results: BenchResults): string[] {
  const lines: string[] = [];
  for (const { task, model } of taskModels(results)) {
    const grid = layerGrid(results, task, model);
    if (!grid) continue;
    const best = rankLayers(grid).slice(0, 3);
    lines.push(`- ${e(`${task} × ${model}`)}: ${best.map((b) => `${e(hookLabel(b.hook, b.layer))} (mean AUROC ${fmtRate(b.meanAuroc)} over ${b.detectors} detector${b.detectors === 1 ? "" : "s"})`).join(", ")}.`);
  }
  return lines;
}

/** Attack success and clean bits/char per backdoored task; the best gap score per weak model at the report's α. */
function backdoorAndGapLines(results: BenchResults, backdoors: readonly TaskSummary[]): string[] {
  const lines: string[] = [];
  for (const t of backdoors) {
    const b = t.backdoor!;
    const sel = results.selections.find((x) => x.task === t.task && x.model === t.model);
    const thirds = b.attackSuccessByThird ? ` (by third of the prompt: ${(["first", "middle", "last"] as const).map((k) => fmtRate(b.attackSuccessByThird![k]?.rate)).join(" / ")})` : "";
    const heldOut = b.heldOutAttackSuccessRate !== undefined ? `, on held-out wordings ${fmtRate(b.heldOutAttackSuccessRate)}` : "";
    const distract = b.distractorTargetRate !== undefined ? `, fired by distractors ${fmtRate(b.distractorTargetRate)}` : "";
    lines.push(
      `- ${e(t.task)}: attack success ${fmtRate(b.attackSuccessRate)}${thirds}${heldOut}${distract}, clean bits/char ${fmtRate(b.cleanBitsPerChar)} ` +
        `(original ${fmtRate(b.originalBitsPerChar)}); ` +
        (sel ? `selected ${e(sel.detector)} @ ${e(sel.hook)}, test AUROC ${fmtRate(sel.test.auroc.value)}.` : "no selection."),
    );
  }
  const gap = results.capabilityGap;
  if (!gap) return lines;
  // The best score per weak model at the report's α, leaving out `disagreement` (perfect by construction).
  for (const w of gap.weakModels) {
    const rows = gap.rows.filter((r) => r.weakModel === w.name && r.alpha === gap.reportAlpha && r.score !== "disagreement" && r.kind !== "behaviour");
    const best = rows.sort((a, b) => b.recall * b.precision - a.recall * a.precision)[0];
    if (best) {
      lines.push(
        `- capability gap, ${e(gap.strongModel)} vs ${e(w.name)}: ${e(best.score)} precision ${fmtRate(best.precision)}, recall ${fmtRate(best.recall)} ` +
          `at α = ${best.alpha} (${best.nGap} gaps of ${best.n}).`,
      );
    }
  }
  return lines;
}

function tamperingLines(t: TamperingSummary): string[] {
  const acc = Object.entries(t.model.accuracy).map(([s, a]) => `${e(s)} ${fmtRate(a)}`).join(", ");
  const lines = [`- the vault model (trained here, ${t.model.parameters.toLocaleString("en-US")} parameters) reads the sensors of ${t.model.heldOutPrograms} held-out programs with accuracy ${acc}.`];
  const bars = `best surface baseline ${t.bestSurface ? `${e(t.bestSurface.method)}${t.bestSurface.reversed ? " (reversed)" : ""} ${fmtCi(t.bestSurface.auroc)}` : "–"}, untrained control ${t.control ? fmtCi(t.control.auroc) : "–"}`;
  if (t.headline) lines.push(`- label-free headline ${e(t.headline.method)} @ ${e(t.headline.hook)}: AUROC ${fmtCi(t.headline.auroc)}; ${bars}: ${e(t.verdict)}.`);
  if (t.oracle && t.oracleMargin !== null) lines.push(`- chosen with validation labels (oracle): ${e(t.oracle.method)} @ ${e(t.oracle.hook)} ${fmtCi(t.oracle.auroc)}, margin ${t.oracleMargin >= 0 ? "+" : "−"}${Math.abs(t.oracleMargin).toFixed(3)}.`);
  const probe = t.rows.filter((r) => r.family === "ground-truth-probe").sort((a, b) => b.auroc.value - a.auroc.value)[0];
  if (probe) lines.push(`- ceiling: a ground-truth probe (sees validation labels) ${fmtCi(probe.auroc)} @ ${e(probe.hook)}.`);
  return lines;
}

function monitorLoopLines(r: MonitorLoopResult): string[] {
  const last = (c: MonitorLoopResult["curves"][number]): number | undefined => c.points.at(-1)?.recall;
  const lines = loopGoal(r).map((g) => {
    const curves = r.curves.filter((c) => c.family === g.family);
    const vsLookalikes = r.detectorAurocVsLookalikes?.[g.family];
    const auc = `detector AUROC vs benign requests ${fmtRate(r.detectorAuroc[g.family])}${vsLookalikes !== undefined ? `, vs benign look-alikes ${fmtRate(vsLookalikes)}` : ""}`;
    if (curves.every((c) => c.labelsToTarget === 0)) return `- ${e(g.family)} (${auc}): recall ≥ ${r.targetRecall} before any label, in every queue order.`;
    const to = curves.map((c) => `${c.policy} ${c.labelsToTarget === null ? `> ${r.maxLabels}` : c.labelsToTarget}`).join(", ");
    const after = curves.map((c) => `${c.policy} ${fmtRate(last(c))}`).join(", ");
    return `- ${e(g.family)} (${auc}): labels to recall ${r.targetRecall}: ${to}; recall after ${r.maxLabels} labels: ${after}.`;
  });
  const points = r.curves.flatMap((c) => c.points);
  const meanOf = (f: (p: (typeof points)[number]) => number): number => points.reduce((a, p) => a + f(p), 0) / Math.max(1, points.length);
  lines.push(
    `- false alarms (mean over every round and loop): benign requests ${fmtRate(meanOf((p) => p.fprBenign))} (α detector + α probe = ${+(r.alphaDetector + r.alphaProbe).toFixed(4)}), ` +
      `benign look-alikes ${fmtRate(meanOf((p) => p.fprLookalike))}, benign shift ${fmtRate(meanOf((p) => p.fprShift))}.`,
  );
  return lines;
}

function failureModeLines(results: BenchResults): string[] {
  const lines: string[] = [];
  if (results.failureModes.length === 0) lines.push("- none passed the evidence bar in this run.");
  for (const m of results.failureModes) {
    const where = m.examples[0] ? ` (${m.examples[0].task} × ${m.examples[0].model})` : "";
    lines.push(`- ${e(m.name)}${e(where)}: ${e(m.evidence)}.`);
  }
  return lines;
}

function regenerate(results: BenchResults): string[] {
  return [
    "",
    "Regenerate (the numbers above, `report/report.md` and the self-contained `report/report.html` with ROC curves, per-layer heat maps and score histograms):",
    "",
    "```sh",
    `${regenerateCommand(results)} && ${UPDATE_README_COMMAND}`,
    "```",
  ];
}

/** Replaces the text between the results markers in `readmePath` (atomically); everything else is kept byte for byte. */
export function updateReadme(readmePath: string, results: BenchResults): void {
  let text: string;
  try {
    text = readFileSync(readmePath, "utf8");
  } catch (err) {
    throw new MadkitError("FILE_NOT_FOUND", `${readmePath}: cannot read (${(err as Error).message})`, { cause: err });
  }
  const start = text.indexOf(RESULTS_START);
  const end = text.indexOf(RESULTS_END);
  const count = (m: string) => text.split(m).length - 1;
  if (start < 0 || end < 0) {
    throw new MadkitError("BAD_INPUT", `${readmePath}: expected the markers '${RESULTS_START}' and '${RESULTS_END}' around the Results section, found ${start < 0 ? "no start marker" : ""}${start < 0 && end < 0 ? " and " : ""}${end < 0 ? "no end marker" : ""}`);
  }
  if (count(RESULTS_START) !== 1 || count(RESULTS_END) !== 1 || end < start) {
    throw new MadkitError("BAD_INPUT", `${readmePath}: expected exactly one '${RESULTS_START}' followed by one '${RESULTS_END}', found ${count(RESULTS_START)} start and ${count(RESULTS_END)} end markers${end < start ? " (end before start)" : ""}`);
  }
  const out = text.slice(0, start + RESULTS_START.length) + "\n" + readmeResultsSection(results) + "\n" + text.slice(end);
  writeFileAtomic(readmePath, out);
}
