// PAPER.md: the benchmark written up as a paper, regenerated from one results.json. Hand-written prose (motivation,
// method, limitations, related work: docs/paper/*.md) is spliced around sections generated from the results — the
// abstract's findings, the mechanism margin, how the headline was chosen, precision at realistic anomaly rates,
// the headline, backdoors and capability gaps, figures, failure modes and what the confound controls show. Every
// number between the results markers comes from results.json, and `checkPaperNumbers` proves it before a file is
// written (the command refuses otherwise).

import { MECHANISM_MARGIN_MIN, type BenchResults, type Selection } from "../results/contract.js";
import { MadkitError } from "../errors.js";
import { backdoorSection } from "./backdoor-section.js";
import { baseRateTable } from "./base-rate-section.js";
import type { Block } from "./blocks.js";
import { capabilityGapSection } from "./capability-gap-section.js";
import { monitorLoopSection } from "./monitor-loop-section.js";
import { tamperingSection } from "./tampering-section.js";
import { modeSection, parseKey } from "./document.js";
import { fmtRate } from "./format.js";
import { escapeMarkdown } from "./escape.js";
import { renderMarkdown } from "./markdown.js";
import { controlRows, mechanismMarginTable, mechanismMarginWarnings } from "./mechanism-margin-section.js";
import { selectionComparisonTable } from "./selection-comparison-section.js";
import { rocSvg } from "./svg-roc.js";
import { bestBaseline, headlineTable, tasksTable, type Table } from "./tables.js";

/** The hand-written sections, by file name under docs/paper/ (without `.md`). */
export const PAPER_PROSE = ["introduction", "method", "limitations", "related-work"] as const;
export type PaperProse = Readonly<Record<(typeof PAPER_PROSE)[number], string>>;

export const PAPER_RESULTS_START = "<!-- paper:results:start -->";
export const PAPER_RESULTS_END = "<!-- paper:results:end -->";

export interface PaperFigure {
  /** File name under the figures folder. */
  readonly file: string;
  readonly svg: string;
}

export interface Paper {
  readonly markdown: string;
  readonly figures: readonly PaperFigure[];
}

const h = (level: 1 | 2 | 3, text: string): Block => ({ kind: "heading", level, text });
const para = (text: string): Block => ({ kind: "paragraph", spans: [text] });
const table = (t: Table | null): Block[] => (t ? [{ kind: "table", table: t }] : []);
const range = (xs: readonly number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? "–" : s[0] === s.at(-1) ? fmtRate(s[0]) : `${fmtRate(s[0])}–${fmtRate(s.at(-1))}`;
};

/** The abstract's findings, each sentence built from results.json. */
function findings(results: BenchResults): string[] {
  const isControl = controlRows(results);
  const margins = (results.mechanismMargins ?? []).filter((m) => m.margin !== null && !isControl(m.task, m.model));
  const beat = margins.filter((m) => m.margin! > MECHANISM_MARGIN_MIN);
  const out: string[] = [];
  out.push(
    `Against detectors run on the input text alone (length, bag-of-words, n-gram and last-token features) and, for planted backdoors, the same detectors on the unmodified model, ` +
      `the headline detector clears a mechanism margin of more than ${MECHANISM_MARGIN_MIN} AUROC on ${beat.length} of ${margins.length} task × model pairs` +
      (beat.length > 0 ? ` (${beat.map((m) => `${m.task} × ${m.model}, margin ${fmtRate(m.margin)}`).join("; ")})` : "") +
      (margins.length > beat.length ? `; on the others a text statistic or the control model explains what it sees.` : "."),
  );
  const cmp = (results.selectionComparison ?? []).filter((c) => c.recovered !== null);
  if (cmp.length > 0) {
    out.push(`The headline detector and layer are chosen without labels; that choice recovers ${range(cmp.map((c) => c.recovered!))} of the test AUROC of the choice made on labelled validation data.`);
  }
  // The control model's rows are left out: its detector is meant to see nothing.
  const at1 = results.selections
    .filter((s) => !isControl(s.task, s.model))
    .flatMap((s) => s.atBaseRates?.precision.filter((p) => p.rate === 0.01).map((p) => p.value) ?? []);
  if (at1.length > 0) out.push(`Precision falls with the anomaly rate: at 1% anomalies the headline detectors' precision is ${range(at1)} (α = 0.05).`);
  return out;
}

/** One ROC figure per headline selection: its curve and the strongest surface baseline's. */
function rocFigures(results: BenchResults): Block[] {
  const blocks: Block[] = [];
  for (const s of results.selections) {
    const base = bestBaseline(results, s.task, s.model);
    const curves = results.roc
      .map((r) => ({ r, k: parseKey(r.key) }))
      .filter(({ k }) => k && k.task === s.task && k.model === s.model && ((k.detector === s.detector && k.hook === s.hook) || (base && k.detector === base.detector)))
      .map(({ r, k }) => ({ label: `${k!.detector} @ ${k!.hook}`, fpr: r.fpr, tpr: r.tpr }));
    if (curves.length === 0) continue;
    const title = `ROC, ${s.task} × ${s.model} (test split)`;
    blocks.push({ kind: "figure", svg: rocSvg(curves, title), caption: `${title}: the headline detector and the strongest text-only baseline.` });
  }
  return blocks;
}

/** What the confound controls show, one sentence per task × model. */
function confoundBlocks(results: BenchResults): Block[] {
  const margins = results.mechanismMargins ?? [];
  if (margins.length === 0) return [];
  return [
    h(3, "What the confound controls show"),
    { kind: "list", items: margins.map((m) => [`${m.task} × ${m.model}: ${m.verdict}.`]) },
    ...mechanismMarginWarnings(results).map((w) => para(w)),
  ];
}

/** The report's sections one heading level down, so they sit inside "3 Results". */
function demote(blocks: readonly Block[]): Block[] {
  return blocks.map((b) => (b.kind === "heading" ? { ...b, level: Math.min(3, b.level + 1) as 2 | 3 } : b));
}

function resultsBlocks(results: BenchResults, figureBlocks: readonly Block[]): Block[] {
  return [
    h(2, "3 Results"),
    para(`Everything in this section is generated from results.json (madkit ${results.madkitVersion}, ${results.createdAt}, seed ${results.seed}, ${results.quick ? "quick run" : "full run"}).`),
    h(3, "3.1 The mechanism margin"),
    ...table(mechanismMarginTable(results)),
    h(3, "3.2 Choosing without labels"),
    ...table(selectionComparisonTable(results)),
    h(3, "3.3 Precision at realistic anomaly rates"),
    ...table(baseRateTable(results)),
    h(3, "3.4 Headline"),
    ...table(headlineTable(results)),
    ...demote(backdoorSection(results)),
    ...demote(capabilityGapSection(results)),
    ...demote(tamperingSection(results)),
    ...demote(monitorLoopSection(results)),
    h(3, "Figures"),
    ...figureBlocks,
    h(2, "4 Failure modes"),
    ...(results.failureModes.length === 0 ? [para("No failure mode passed the evidence bar in this run.")] : results.failureModes.flatMap((m, i) => modeSection(m, i))),
    ...confoundBlocks(results),
  ];
}

/** Markdown with each figure as an image link to an SVG file under `figuresDir` (collected into `figures`). */
function renderPaperMarkdown(blocks: readonly Block[], figuresDir: string, figures: PaperFigure[]): string {
  return blocks
    .map((b) => {
      if (b.kind !== "figure") return renderMarkdown([b]);
      const file = `figure-${figures.length + 1}.svg`;
      figures.push({ file, svg: b.svg });
      return `![${escapeMarkdown(b.caption.replace(/[[\]]/g, ""))}](${figuresDir}/${file})\n\n*${escapeMarkdown(b.caption)}*\n`;
    })
    .join("\n");
}

export function buildPaper(results: BenchResults, prose: PaperProse, figuresDir = "paper-figures"): Paper {
  const figures: PaperFigure[] = [];
  const head: Block[] = [
    h(1, "Mechanistic anomaly detection against text-only baselines: a benchmark with madkit"),
    para(`Generated by madkit ${results.madkitVersion} from results.json of ${results.createdAt} (seed ${results.seed}). Regenerate: npm run paper.`),
    h(2, "Abstract"),
    para(
      "We flag inputs on which a language model computes its output for unusual reasons by fitting anomaly detectors on its activations over trusted inputs only, " +
        "and we ask of every success whether the input text alone, or the model without the planted behaviour, explains it.",
    ),
  ];
  const md = [
    renderMarkdown(head),
    PAPER_RESULTS_START,
    renderMarkdown([para(findings(results).join(" "))]),
    PAPER_RESULTS_END,
    prose.introduction.trim() + "\n",
    prose.method.trim() + "\n",
    renderMarkdown([h(3, "Tasks in this run"), ...table(tasksTable(results))]),
    PAPER_RESULTS_START,
    renderPaperMarkdown(resultsBlocks(results, rocFigures(results)), figuresDir, figures),
    PAPER_RESULTS_END,
    prose.limitations.trim() + "\n",
    prose["related-work"].trim() + "\n",
  ].join("\n");
  checkPaperNumbers(md, results);
  return { markdown: md, figures };
}

/** The text between the results markers. */
export function paperResultsText(markdown: string): string {
  const parts: string[] = [];
  let at = 0;
  for (;;) {
    const a = markdown.indexOf(PAPER_RESULTS_START, at);
    if (a < 0) break;
    const b = markdown.indexOf(PAPER_RESULTS_END, a);
    if (b < 0) throw new MadkitError("BAD_INPUT", "paper: a results section is opened and never closed");
    parts.push(markdown.slice(a + PAPER_RESULTS_START.length, b));
    at = b + PAPER_RESULTS_END.length;
  }
  return parts.join("\n");
}

/** Every number a value of results.json can print as: at its own precision and rounded to 1–4 decimals, and percentages. */
function printableNumbers(results: BenchResults): Set<string> {
  const out = new Set<string>();
  const add = (x: number): void => {
    if (x < 0) add(-x);
    out.add(String(x));
    for (let d = 0; d <= 4; d++) {
      out.add(x.toFixed(d));
      out.add((100 * x).toFixed(d));
      out.add(String(+(100 * x).toFixed(d)));
    }
  };
  const walk = (v: unknown, key: string): void => {
    if (typeof v === "number" && Number.isFinite(v)) add(v);
    else if (typeof v === "string" && key !== "svg") for (const m of v.match(/\d+(?:\.\d+)?/g) ?? []) out.add(m);
    else if (Array.isArray(v)) {
      add(v.length);
      v.forEach((x) => walk(x, key));
    } else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(results, "");
  return out;
}

/** Whether `printed` is a difference, ratio, percentage or relative change of two numbers `a`, `b` shown beside it. */
function derivedFrom(printed: string, values: readonly number[]): boolean {
  const decimals = printed.includes(".") ? printed.split(".")[1]!.length : 0;
  const target = Number(printed);
  const matches = (x: number): boolean => Number.isFinite(x) && Math.abs(x).toFixed(decimals) === Math.abs(target).toFixed(decimals);
  for (const a of values) {
    for (const b of values) {
      if (a === b) continue;
      if (matches(a - b) || (b !== 0 && (matches(a / b) || matches((100 * a) / b) || matches(100 * (a / b - 1))))) return true;
    }
  }
  return false;
}

/**
 * Throws BAD_INPUT naming the first number in the results sections that neither appears in results.json (at the
 * printed precision) nor is derived — a difference, ratio, percentage or relative change — from two numbers of
 * results.json printed on the same line (a table row: "AUROC 0.93 vs baseline 0.90 (+0.03)"). A typed-in number
 * passes neither. Numbers inside figure file names and section numbering are not findings and are skipped.
 */
export function checkPaperNumbers(markdown: string, results: BenchResults): void {
  const known = printableNumbers(results);
  const text = paperResultsText(markdown)
    .replace(/\]\([^)]*\)/g, "]()")
    .replace(/^#+ [\d.]+ /gm, "# ")
    .replace(/−/g, "-");
  for (const line of text.split("\n")) {
    const found = [...line.matchAll(/(?<![\w.])-?\d+(?:\.\d+)?(?![\w])/g)];
    const onLine = found.map((m) => m[0].replace(/^-/, "")).filter((n) => known.has(n) || known.has(String(+n))).map(Number);
    for (const m of found) {
      const n = m[0].replace(/^-/, "");
      if (known.has(n) || known.has(String(+n)) || derivedFrom(n, onLine)) continue;
      const at = line.slice(Math.max(0, m.index! - 60), m.index! + 20).replace(/\s+/g, " ");
      throw new MadkitError("BAD_INPUT", `paper: the number ${m[0]} in a results section appears nowhere in results.json ("…${at}…"); results sections may only print numbers the run produced`);
    }
  }
}
