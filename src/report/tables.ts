// The report's tables as data (columns + typed cells), built from results.json alone; markdown.ts and html.ts
// render them and readme.ts quotes them, so every number appears once, formatted one way.

import type { BenchResults, FailureExample, ResultRecord, WithCi } from "../results/contract.js";
import { fmtCi, fmtRate, fmtScore, fmtSeconds } from "./format.js";

/** How a column's cells are formatted: rates with 3 decimals, counts as integers, scores on their own scale. */
export type ColumnKind = "text" | "rate" | "ci" | "int" | "score" | "seconds";
export interface Column {
  readonly label: string;
  readonly kind: ColumnKind;
}
/** Text with one marked stretch: an example's tokens with its anomalous span (« » in Markdown, <mark> in HTML). */
export interface MarkedText {
  readonly marked: { readonly before: string; readonly span: string; readonly after: string };
}
export type Cell = string | number | WithCi | MarkedText | null;

export function isMarked(cell: Cell): cell is MarkedText {
  return typeof cell === "object" && cell !== null && "marked" in cell;
}

/** The marked text with « » around the span: how Markdown (and any plain-text reader) shows it. */
export function markedPlain(m: MarkedText): string {
  return `${m.marked.before}«${m.marked.span}»${m.marked.after}`;
}

/**
 * A shortened view of marked text that keeps the span: at most `context` characters either side of it, and a
 * long span cut in its middle, with "…" where text was left out. Unchanged when it is short enough already.
 */
export function windowMarked(m: MarkedText, context: number, maxSpan: number): MarkedText {
  const chars = (x: string) => Array.from(x);
  const b = chars(m.marked.before);
  const sp = chars(m.marked.span);
  const a = chars(m.marked.after);
  const before = b.length > context ? `…${b.slice(b.length - context).join("")}` : m.marked.before;
  const after = a.length > context ? `${a.slice(0, context).join("")}…` : m.marked.after;
  const half = Math.floor(maxSpan / 2);
  const span = sp.length > maxSpan ? `${sp.slice(0, half).join("")} … ${sp.slice(sp.length - half).join("")}` : m.marked.span;
  return { marked: { before, span, after } };
}
export interface Table {
  readonly id: string;
  readonly title: string;
  /** One or two sentences saying how to read the table (what split, which threshold, what the mix is). */
  readonly note?: string;
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly Cell[])[];
}

export function formatCell(cell: Cell, kind: ColumnKind): string {
  if (cell === null) return "–";
  if (typeof cell === "string") return cell;
  if (isMarked(cell)) return markedPlain(cell);
  if (typeof cell === "object") return fmtCi(cell);
  switch (kind) {
    case "int":
      return String(Math.round(cell));
    case "score":
      return fmtScore(cell);
    case "seconds":
      return fmtSeconds(cell);
    case "ci":
    case "rate":
      return fmtRate(cell);
    default:
      return String(cell);
  }
}

const col = (label: string, kind: ColumnKind): Column => ({ label, kind });

/** The task × model pairs, in the order results.tasks lists them, then any others that only records name. */
export function taskModels(results: BenchResults): { task: string; model: string }[] {
  const seen = new Set<string>();
  const out: { task: string; model: string }[] = [];
  const add = (task: string, model: string): void => {
    const k = `${task}\u0000${model}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ task, model });
    }
  };
  for (const t of results.tasks) add(t.task, t.model);
  for (const r of results.records) add(r.task, r.model);
  return out;
}

const ALL = "all";
const LENGTH_MATCHED = "length-matched";
/** Leave-one-attack-class-out subsets: validation without the class, test on the class alone. */
const ALL_BUT = "all-but:";
const CLASS = "class:";
/** Detector family of the length-only (and other trivial) baselines, reported beside every detector. */
export const BASELINE_FAMILY = "baseline";
/** Detectors on behaviour hooks (token NLL, output entropy): one number per input, not a layer's representation. */
const BEHAVIOURAL_FAMILY = "behavioural";

/** The record's metrics at α, or null when the run has none or calibration could set no threshold there. */
function atAlpha(r: ResultRecord, alpha: number) {
  const a = r.atAlpha.find((x) => Math.abs(x.alpha - alpha) < 1e-12) ?? null;
  return a && a.threshold !== null ? a : null;
}

/** The α cell: the level, marked when the calibration split was too small to set a threshold at it. */
function alphaCell(r: ResultRecord, alpha: number): string {
  const a = r.atAlpha.find((x) => Math.abs(x.alpha - alpha) < 1e-12);
  return a && a.threshold === null ? `${alpha} (no threshold)` : String(alpha);
}

function find(results: BenchResults, q: Partial<Pick<ResultRecord, "task" | "model" | "detector" | "hook" | "subset" | "split">>): ResultRecord | undefined {
  return results.records.find(
    (r) =>
      (q.task === undefined || r.task === q.task) &&
      (q.model === undefined || r.model === q.model) &&
      (q.detector === undefined || r.detector === q.detector) &&
      (q.hook === undefined || r.hook === q.hook) &&
      (q.subset === undefined || r.subset === q.subset) &&
      (q.split === undefined || r.split === q.split),
  );
}

export interface DetectorChoice {
  readonly detector: string;
  readonly family: string;
  readonly scope: ResultRecord["scope"];
  /** The hook with the best validation AUROC (test AUROC only when the run has no validation rows). */
  readonly hook: string;
  readonly chosenOn: "validation" | "test";
  /** The test-split record of that detector × hook on all anomalous families. */
  readonly test: ResultRecord;
}

/**
 * One row per detector: its best hook chosen on the validation split, reported on the test split, so the
 * comparison between detectors is not won by picking layers on the numbers it reports.
 */
export function detectorChoices(results: BenchResults, task: string, model: string): DetectorChoice[] {
  const rows = results.records.filter((r) => r.task === task && r.model === model && r.subset === ALL && r.positives !== "shift");
  const detectors = [...new Set(rows.map((r) => r.detector))];
  const out: DetectorChoice[] = [];
  for (const d of detectors) {
    const mine = rows.filter((r) => r.detector === d);
    const val = mine.filter((r) => r.split === "validation");
    const pool = val.length > 0 ? val : mine.filter((r) => r.split === "test");
    let best: ResultRecord | undefined;
    for (const r of pool) if (!best || r.auroc.value > best.auroc.value) best = r;
    if (!best) continue;
    const test = mine.find((r) => r.split === "test" && r.hook === best.hook);
    if (!test) continue;
    out.push({ detector: d, family: test.family, scope: test.scope, hook: best.hook, chosenOn: val.length > 0 ? "validation" : "test", test });
  }
  return out.sort((a, b) => b.test.auroc.value - a.test.auroc.value || a.detector.localeCompare(b.detector));
}

/** A baseline's test AUROC on one task × model, read in whichever direction separates better (the stricter bar). */
export interface BaselineRef {
  readonly detector: string;
  readonly auroc: WithCi;
  /**
   * True when the baseline's test AUROC is below 0.5, so it is read reversed (lower score = more anomalous, e.g.
   * "shorter inputs are the anomalies"): a confound separates the classes whichever way it points, so the bar a
   * detector must clear is max(AUROC, 1 − AUROC). Choosing the direction on test favours the baseline, never the detector.
   */
  readonly reversed: boolean;
}

const flip = (v: WithCi): WithCi => ({ value: 1 - v.value, lo: 1 - v.hi, hi: 1 - v.lo });

/** Every baseline (length, bag-of-words, surface detectors) on the task × model, strongest first (by its oriented test AUROC). */
export function baselineRefs(results: BenchResults, task: string, model: string): BaselineRef[] {
  const rows = results.records.filter((r) => r.task === task && r.model === model && r.subset === ALL && r.positives !== "shift" && r.family === BASELINE_FAMILY);
  const out: BaselineRef[] = [];
  for (const d of [...new Set(rows.map((r) => r.detector))]) {
    const test = rows.find((r) => r.detector === d && r.split === "test");
    if (!test) continue;
    const reversed = test.auroc.value < 0.5;
    out.push({ detector: d, auroc: reversed ? flip(test.auroc) : test.auroc, reversed });
  }
  return out.sort((a, b) => b.auroc.value - a.auroc.value || a.detector.localeCompare(b.detector));
}

/** The strongest baseline: the reference a detector must beat (chosen on test AUROC, so the comparison is strict). */
export function bestBaseline(results: BenchResults, task: string, model: string): BaselineRef | null {
  return baselineRefs(results, task, model)[0] ?? null;
}

export function baselineLabel(b: BaselineRef): string {
  return b.reversed ? `${b.detector}, reversed` : b.detector;
}

/** A signed AUROC difference: `+0.052` / `−0.031`. */
export function deltaText(x: number): string {
  return `${x >= 0 ? "+" : "−"}${fmtRate(Math.abs(x))}`;
}

export function tasksTable(results: BenchResults): Table {
  return {
    id: "tasks",
    title: "Tasks and their mixes",
    note:
      "Counts are over the whole untrusted set (validation + test); the anomaly rate is what precision depends on. " +
      "Thresholds are calibrated on the trusted calibration split only.",
    columns: [col("task", "text"), col("model", "text"), col("trusted fit / calibration / validation", "text"), col("untrusted mix", "text"), col("anomaly rate", "rate")],
    rows: results.tasks.map((t) => [
      t.task,
      t.model,
      `${t.trusted.fit} / ${t.trusted.calibration} / ${t.trusted.validation}`,
      Object.entries(t.mix)
        .map(([k, v]) => `${k} ${v}`)
        .join(", "),
      t.anomalyRate,
    ]),
  };
}

/** `0.560 (1272 of 2272)`: the mix a precision figure was measured at. */
export function mixText(r: ResultRecord): string {
  return `${fmtRate(r.n === 0 ? 0 : r.nAnomalous / r.n)} (${r.nAnomalous} of ${r.n})`;
}

/** The headline: the selected detector per task × model, test split, one row per α. */
export function headlineTable(results: BenchResults): Table {
  const rows: Cell[][] = [];
  for (const s of results.selections) {
    const base = bestBaseline(results, s.task, s.model);
    for (const alpha of results.alphas) {
      const a = atAlpha(s.test, alpha);
      rows.push([
        s.task,
        s.model,
        s.detector,
        s.hook,
        mixText(s.test),
        s.test.auroc,
        find(results, { task: s.task, model: s.model, detector: s.detector, hook: s.hook, subset: LENGTH_MATCHED, split: "test" })?.auroc ?? null,
        base ? `${baselineLabel(base)} ${fmtRate(base.auroc.value)}` : null,
        base ? deltaText(s.test.auroc.value - base.auroc.value) : null,
        s.test.auprc,
        s.test.fpr95,
        s.test.tprAt1Fpr,
        alphaCell(s.test, alpha),
        a?.precision ?? null,
        a?.recall ?? null,
        a?.f1 ?? null,
        a?.fpr ?? null,
        a?.shiftFpr ?? null,
      ]);
    }
  }
  return {
    id: "headline",
    title: "Headline: the detector selected without labels, measured on the test split",
    note:
      "Flag when the score exceeds the threshold calibrated on trusted data at level α (expected false-positive rate on " +
      "in-distribution inputs ≤ α). Precision depends on the anomaly rate of the test mix, given in the mix column; " +
      "shift FPR is the false-positive rate on benign inputs unlike the trusted ones (every flag there is a false alarm). " +
      "Brackets: bootstrap 95% CIs. \"no threshold\": the trusted calibration split is too small to set one at that α " +
      "(it needs at least 1/α − 1 scores), so nothing would be flagged. Confound controls: AUROC on the length-matched " +
      "subset (normal and anomalous items resampled to one token-length histogram), and the strongest baseline that sees " +
      "no activations (token or character count, bag-of-words surprisal or cosine, detectors on token n-grams or the last tokens; \"reversed\" = read as lower score is more anomalous, " +
      "since a confound counts whichever way it points) with the selected detector's AUROC difference from it.",
    columns: [
      col("task", "text"),
      col("model", "text"),
      col("detector", "text"),
      col("hook", "text"),
      col("test mix: anomaly rate (anomalous of n)", "text"),
      col("AUROC", "ci"),
      col("AUROC length-matched", "ci"),
      col("best baseline: AUROC", "text"),
      col("Δ AUROC vs best baseline", "text"),
      col("AUPRC", "ci"),
      col("FPR@95TPR", "rate"),
      col("TPR@1%FPR", "rate"),
      col("α", "text"),
      col("precision", "ci"),
      col("recall", "ci"),
      col("F1", "rate"),
      col("FPR", "rate"),
      col("shift FPR", "rate"),
    ],
    rows,
  };
}

/**
 * Every detector of one scope on one task × model, with the shift-FPR column next to each detector's recall.
 * Optional columns appear only when the run has the rows: length-matched AUROC, Δ AUROC vs the length baseline.
 */
export function detectorTable(results: BenchResults, task: string, model: string, scope: "input" | "batch"): Table | null {
  const choices = detectorChoices(results, task, model).filter((c) => c.scope === scope);
  if (choices.length === 0) return null;
  const lengthMatched = (c: DetectorChoice) => find(results, { task, model, detector: c.detector, hook: c.hook, subset: LENGTH_MATCHED, split: "test" });
  const hasLm = choices.some((c) => lengthMatched(c) !== undefined);
  const baseline = bestBaseline(results, task, model);
  const columns: Column[] = [col("detector", "text"), col("family", "text"), col("hook", "text"), col("AUROC", "ci")];
  if (hasLm) columns.push(col("AUROC length-matched", "ci"));
  if (baseline) columns.push(col(`Δ AUROC vs best baseline (${baselineLabel(baseline)} ${fmtRate(baseline.auroc.value)})`, "text"));
  columns.push(col("AUPRC", "ci"), col("FPR@95TPR", "rate"), col("TPR@1%FPR", "rate"));
  for (const alpha of results.alphas) columns.push(col(`recall α=${alpha}`, "rate"), col(`FPR α=${alpha}`, "rate"), col(`shift FPR α=${alpha}`, "rate"));
  columns.push(col("fit s", "seconds"), col("score s", "seconds"));
  const rows = choices.map((c) => {
    const r = c.test;
    const row: Cell[] = [c.family === BASELINE_FAMILY ? `${c.detector} (baseline)` : c.detector, c.family, c.hook, r.auroc];
    if (hasLm) row.push(lengthMatched(c)?.auroc ?? null);
    if (baseline) row.push(c.family === BASELINE_FAMILY ? "–" : deltaText(r.auroc.value - baseline.auroc.value));
    row.push(r.auprc, r.fpr95, r.tprAt1Fpr);
    for (const alpha of results.alphas) {
      const a = atAlpha(r, alpha);
      row.push(a?.recall.value ?? null, a?.fpr ?? null, a?.shiftFpr ?? null);
    }
    row.push(r.fitSeconds, r.scoreSeconds);
    return row;
  });
  return {
    id: `detectors-${scope}-${task}-${model}`,
    title:
      scope === "input"
        ? `${task} × ${model}: per-input detectors (best hook per detector, chosen on validation)`
        : `${task} × ${model}: batch methods (scores depend on the batch scored together; not comparable one-to-one with per-input detectors)`,
    note:
      (choices.some((c) => c.chosenOn === "test")
        ? "Some detectors had no validation rows; their hook was chosen on the test split (optimistic)."
        : "Test split, all anomalous families together.") +
      (baseline
        ? " Rows marked (baseline) see no activations: length in tokens or characters, bag-of-words surprisal or cosine, the grid's detectors on token n-grams or the last tokens (surface:…). Δ is against the " +
          "strongest of them (read reversed when its AUROC is below 0.5: a confound counts whichever way it points); a detector with Δ ≤ 0 does no better than it."
        : ""),
    columns,
    rows,
  };
}

/** The ≥ 3-families comparison: the best per-input detector of each family (by test AUROC of its validation-chosen hook). */
export function familyComparisonTable(results: BenchResults, task: string, model: string): Table | null {
  const byFamily = new Map<string, DetectorChoice>();
  for (const c of detectorChoices(results, task, model)) {
    if (c.scope !== "input") continue;
    const cur = byFamily.get(c.family);
    if (!cur || c.test.auroc.value > cur.test.auroc.value) byFamily.set(c.family, c);
  }
  if (byFamily.size === 0) return null;
  const rows = [...byFamily.values()]
    .sort((a, b) => b.test.auroc.value - a.test.auroc.value)
    .map((c): Cell[] => {
      const row: Cell[] = [c.family, c.detector, c.hook, c.test.auroc, c.test.tprAt1Fpr];
      for (const alpha of results.alphas) {
        const a = atAlpha(c.test, alpha);
        row.push(a?.recall.value ?? null, a?.shiftFpr ?? null);
      }
      return row;
    });
  const columns: Column[] = [col("family", "text"), col("best detector", "text"), col("hook", "text"), col("AUROC", "ci"), col("TPR@1%FPR", "rate")];
  for (const alpha of results.alphas) columns.push(col(`recall α=${alpha}`, "rate"), col(`shift FPR α=${alpha}`, "rate"));
  return {
    id: `families-${task}-${model}`,
    title: `${task} × ${model}: detector families compared (best of each family)`,
    note: "Per-input detectors only, test split.",
    columns,
    rows,
  };
}

/** Per anomalous family (and held-out-family / length-matched rows when present) for the selected detector. */
export function perFamilyTable(results: BenchResults, task: string, model: string): Table | null {
  const sel = results.selections.find((s) => s.task === task && s.model === model);
  if (!sel) return null;
  const subs = results.records.filter(
    (r) =>
      r.task === task && r.model === model && r.detector === sel.detector && r.hook === sel.hook && r.split === "test" && r.subset !== ALL &&
      r.positives !== "shift" && !r.subset.startsWith(ALL_BUT),
  );
  if (subs.length === 0) return null;
  const columns: Column[] = [col("subset", "text"), col("anomalous / n", "text"), col("AUROC", "ci")];
  for (const alpha of results.alphas) columns.push(col(`recall α=${alpha}`, "ci"));
  const rows = subs
    .slice()
    .sort((a, b) => a.auroc.value - b.auroc.value)
    .map((r): Cell[] => {
      const label =
        r.subset === "harmful-plain"
          ? "harmful-plain (plain AdvBench requests: the expected hard case)"
          : r.subset === LENGTH_MATCHED
            ? "length-matched (all families, normal items matched in length)"
            : r.subset.startsWith(CLASS)
              ? `attack class ${r.subset.slice(CLASS.length)} (all its families)`
              : r.subset;
      const row: Cell[] = [label, `${r.nAnomalous} / ${r.n}`, r.auroc];
      for (const alpha of results.alphas) row.push(atAlpha(r, alpha)?.recall ?? null);
      return row;
    });
  return {
    id: `per-family-${task}-${model}`,
    title: `${task} × ${model}: per anomalous family, ${sel.detector} @ ${sel.hook}`,
    note: "Each row scores one family against the same normal items (test split); sorted from hardest to easiest.",
    columns,
    rows,
  };
}

/** True when the pair's rows are the benign-shift control (positives = shift items), not an anomaly task. */
export function isShiftControl(results: BenchResults, task: string, model: string): boolean {
  const rows = results.records.filter((r) => r.task === task && r.model === model);
  return rows.length > 0 && rows.every((r) => r.positives === "shift");
}

/**
 * The benign-shift control: every flag on a shift item is a false alarm, so "recall" of these rows is the
 * false-positive rate on shift. One row per detector, at the hook chosen for it on an anomaly task with the same
 * model (so the control measures the detector as it would be deployed), else one row per hook.
 */
export function shiftControlTable(results: BenchResults, task: string, model: string): Table | null {
  const rows = results.records.filter((r) => r.task === task && r.model === model && r.positives === "shift" && r.split === "test");
  if (rows.length === 0) return null;
  const families = [...new Set(rows.map((r) => r.subset))].filter((f) => f !== ALL).sort();
  const chosenHook = new Map<string, string>();
  for (const tm of taskModels(results)) {
    if (tm.model !== model || tm.task === task) continue;
    for (const c of detectorChoices(results, tm.task, model)) if (!chosenHook.has(c.detector)) chosenHook.set(c.detector, c.hook);
  }
  const alphaLast = results.alphas[results.alphas.length - 1];
  const columns: Column[] = [col("detector", "text"), col("family", "text"), col("hook", "text")];
  for (const alpha of results.alphas) columns.push(col(`shift FPR α=${alpha}`, "ci"), col(`normal FPR α=${alpha}`, "rate"));
  for (const f of families) columns.push(col(`${f} FPR α=${alphaLast}`, "rate"));
  columns.push(col("AUROC shift vs normal (lower = fewer false alarms)", "ci"));
  const allRows = rows.filter((r) => r.subset === ALL);
  const picked = allRows.filter((r) => !chosenHook.has(r.detector) || chosenHook.get(r.detector) === r.hook);
  const out = picked
    .slice()
    .sort((a, b) => (atAlpha(a, alphaLast ?? 0)?.recall.value ?? 0) - (atAlpha(b, alphaLast ?? 0)?.recall.value ?? 0) || a.detector.localeCompare(b.detector))
    .map((r): Cell[] => {
      const row: Cell[] = [r.detector, r.family, r.hook];
      for (const alpha of results.alphas) {
        const a = atAlpha(r, alpha);
        row.push(a?.recall ?? null, a?.fpr ?? null);
      }
      for (const f of families) {
        const fr = rows.find((x) => x.detector === r.detector && x.hook === r.hook && x.subset === f);
        row.push(fr && alphaLast !== undefined ? (atAlpha(fr, alphaLast)?.recall.value ?? null) : null);
      }
      row.push(r.auroc);
      return row;
    });
  return {
    id: `shift-control-${task}-${model}`,
    title: `${task} × ${model}: the benign-shift control (every flag is a false positive)`,
    note:
      "Test split. Shift FPR = share of benign-but-unusual inputs flagged at the threshold calibrated on trusted data; normal FPR = the same on " +
      "held-out in-distribution inputs (should be about α). Each detector at the hook chosen for it on the anomaly task; sorted from fewest false alarms.",
    columns,
    rows: out,
  };
}

/**
 * Leave-one-attack-class-out: for each attack class, the detector × hook chosen on validation data without that
 * class, measured on that class alone (test) — next to the main selection on the same class, which saw it.
 */
export function heldOutTable(results: BenchResults, task: string, model: string): Table | null {
  const sels = (results.classOutSelections ?? []).filter((s) => s.task === task && s.model === model);
  if (sels.length === 0) return null;
  const main = results.selections.find((s) => s.task === task && s.model === model);
  // The main selection's AUROC on the class: its own class row when the run stored one, or this row itself when
  // the choice without the class landed on the same detector × hook (the same scores, hence the same number).
  const mainOn = (s: (typeof sels)[number]) =>
    main
      ? (find(results, { task, model, detector: main.detector, hook: main.hook, subset: s.test.subset, split: "test" }) ??
        (s.detector === main.detector && s.hook === main.hook ? s.test : undefined))
      : undefined;
  const withMain = sels.some((s) => mainOn(s) !== undefined);
  const columns: Column[] = [col("held-out class", "text"), col("detector chosen without it", "text"), col("hook", "text"), col("AUROC on the class", "ci"), col("TPR@1%FPR", "rate")];
  for (const alpha of results.alphas) columns.push(col(`recall α=${alpha}`, "ci"));
  if (main && withMain) columns.push(col(`AUROC of ${main.detector} @ ${main.hook} (chosen with it)`, "ci"));
  const rows = sels.map((s): Cell[] => {
    const row: Cell[] = [s.heldOut ?? s.test.subset, s.detector, s.hook, s.test.auroc, s.test.tprAt1Fpr];
    for (const alpha of results.alphas) row.push(atAlpha(s.test, alpha)?.recall ?? null);
    if (main && withMain) row.push(mainOn(s)?.auroc ?? null);
    return row;
  });
  return {
    id: `held-out-${task}-${model}`,
    title: `${task} × ${model}: held-out attack classes (leave one class out of the choice)`,
    note: "Test split, the class against all benign items. A drop against the last column is what seeing the attack class during selection was worth.",
    columns,
    rows,
  };
}

export interface LayerGrid {
  readonly task: string;
  readonly model: string;
  readonly detectors: readonly string[];
  /** Hooks with a layer index, ordered by layer then name. */
  readonly hooks: readonly { readonly hook: string; readonly layer: number }[];
  /** auroc[d * hooks.length + h], NaN where the run has no such row. */
  readonly auroc: Float64Array;
}

/** Test AUROC of each per-input representation detector at each single-layer hook: the data behind the heat map. */
export function layerGrid(results: BenchResults, task: string, model: string): LayerGrid | null {
  const rows = results.records.filter(
    (r) =>
      r.task === task && r.model === model && r.subset === ALL && r.split === "test" && r.scope === "input" && r.layer !== null && r.family !== BASELINE_FAMILY && r.family !== BEHAVIOURAL_FAMILY &&
      r.positives !== "shift",
  );
  if (rows.length === 0) return null;
  const detectors = [...new Set(rows.map((r) => r.detector))].sort();
  const hookLayer = new Map<string, number>();
  for (const r of rows) hookLayer.set(r.hook, r.layer!);
  const hooks = [...hookLayer.entries()].map(([hook, layer]) => ({ hook, layer })).sort((a, b) => a.layer - b.layer || a.hook.localeCompare(b.hook));
  const auroc = new Float64Array(detectors.length * hooks.length).fill(NaN);
  for (const r of rows) auroc[detectors.indexOf(r.detector) * hooks.length + hooks.findIndex((h) => h.hook === r.hook)] = r.auroc.value;
  return { task, model, detectors, hooks, auroc };
}

/** A short column label for a hook: `L3 resid_post` for `blocks.3.hook_resid_post`. */
export function hookLabel(hook: string, layer: number): string {
  const m = /^blocks\.(\d+)\.hook_(.+)$/.exec(hook);
  if (m) return `L${m[1]} ${m[2]}`;
  if (hook === "hook_embed") return "embedding";
  return layer < 0 ? `emb ${hook.replace(/^hook_/, "")}` : hook.replace(/^hook_/, "");
}

export function layerTable(grid: LayerGrid): Table {
  return {
    id: `layers-${grid.task}-${grid.model}`,
    title: `${grid.task} × ${grid.model}: test AUROC per layer`,
    note: "Rows: detectors; columns: hooks from the embedding (first) to the last layer. Descriptive: the layer choice for the headline is made on validation.",
    columns: [col("detector", "text"), ...grid.hooks.map((h) => col(hookLabel(h.hook, h.layer), "rate"))],
    rows: grid.detectors.map((d, i) => [d, ...grid.hooks.map((_, j) => {
      const v = grid.auroc[i * grid.hooks.length + j]!;
      return Number.isNaN(v) ? null : v;
    })]),
  };
}

export interface BestLayer {
  readonly hook: string;
  readonly layer: number;
  /** Mean test AUROC over the detectors that have this hook. */
  readonly meanAuroc: number;
  readonly detectors: number;
}

/** Hooks ranked by mean AUROC across detectors (ties by layer): "which layers are most informative". */
export function rankLayers(grid: LayerGrid): BestLayer[] {
  const out: BestLayer[] = grid.hooks.map((h, j) => {
    let s = 0;
    let n = 0;
    for (let i = 0; i < grid.detectors.length; i++) {
      const v = grid.auroc[i * grid.hooks.length + j]!;
      if (!Number.isNaN(v)) {
        s += v;
        n++;
      }
    }
    return { hook: h.hook, layer: h.layer, meanAuroc: n ? s / n : NaN, detectors: n };
  });
  return out.filter((b) => b.detectors > 0).sort((a, b) => b.meanAuroc - a.meanAuroc || a.layer - b.layer);
}

/** The example's tokens with its anomalous span marked, or null when the run computed no token view for it. */
export function exampleMarked(e: FailureExample): MarkedText | null {
  if (!e.tokenPieces || !e.span) return null;
  const p = e.tokenPieces;
  return { marked: { before: p.slice(0, e.span.start).join(""), span: p.slice(e.span.start, e.span.end).join(""), after: p.slice(e.span.end).join("") } };
}

/** `tokens 5–9 of 40; max 3.21 vs 2.05`: where the span is and how far its highest token score is above the token threshold. */
function spanText(e: FailureExample): string | null {
  if (!e.tokenPieces || !e.span || !e.tokenScores) return null;
  let max = -Infinity;
  for (let i = e.span.start; i < e.span.end; i++) max = Math.max(max, e.tokenScores[i]!);
  const where = e.span.end - e.span.start === 1 ? `token ${e.span.start}` : `tokens ${e.span.start}–${e.span.end - 1}`;
  const t = e.tokenThreshold;
  return `${where} of ${e.tokenPieces.length}; max ${fmtScore(max)}${t === null || t === undefined ? "" : ` vs ${fmtScore(t)}`}`;
}

/** How the token views of these examples were made (one sentence per distinct token hook). */
function tokenViewNote(examples: readonly FailureExample[]): string {
  const seen = new Map<string, FailureExample>();
  for (const e of examples) if (e.tokenHook && !seen.has(`${e.detector}\u0000${e.hook}`)) seen.set(`${e.detector}\u0000${e.hook}`, e);
  if (seen.size === 0) return "";
  const parts = [...seen.values()].map((e) =>
    e.tokenHook === e.hook
      ? `${e.detector} refitted on trusted token rows at ${e.hook}`
      : `${e.detector} refitted on trusted token rows at ${e.tokenHook} (the selected hook ${e.hook} has no per-token rows, so the token hook where ${e.detector} did best on validation stands in)`,
  );
  return (
    ` Marked (« » in Markdown): the anomalous span, the run of tokens whose per-token scores rise furthest above the token threshold ` +
    `(the conformal 95% quantile of trusted calibration tokens' scores), from ${parts.join("; ")}. With no token above it, the span is the single highest-scoring token.`
  );
}

/** Failure examples with their full texts (renderers shorten long cells); the span marked where a token view exists. */
export function examplesTable(examples: readonly FailureExample[], id: string, title: string): Table {
  const spans = examples.some((e) => e.span !== undefined);
  const columns = [col("kind", "text"), col("family", "text"), col("score", "score"), col("threshold", "score"), col("tokens", "int")];
  if (spans) columns.push(col("anomalous span", "text"));
  columns.push(col("text", "text"));
  return {
    id,
    title,
    note:
      "Scores are on the detector's own scale; a row whose score is on the correct side of the threshold is a near miss, listed because fewer items were misclassified." +
      tokenViewNote(examples),
    columns,
    rows: examples.map((e) => {
      const row: Cell[] = [nearMiss(e) ? `${e.kind} (near miss)` : e.kind, e.family, e.score, e.threshold, e.tokens];
      if (spans) row.push(spanText(e));
      row.push(exampleMarked(e) ?? e.text);
      return row;
    }),
  };
}

/** An example that is listed but on the correct side of its threshold (the detector got it right, narrowly). */
export function nearMiss(e: FailureExample): boolean {
  if (e.kind === "true-positive") return false;
  return e.kind === "false-positive" ? !(e.score > e.threshold) : e.score > e.threshold;
}
