// The capability-gap evaluation: label constructed positions by behaviour (gap = the strong model's next word
// is right and the weak model's wrong; no gap = both right), score them without the ground truth, set the
// threshold on trusted positions only, and report precision/recall per weak model as bench ResultRecords.

import type { AtAlpha, CapabilityGapRow, ResultRecord } from "../../results/contract.js";
import { bootstrapStatistic, type BootstrapOptions } from "../../eval/bootstrap.js";
import { auroc, averagePrecision, fprAtTpr, tprAtFpr } from "../../eval/ranking-metrics.js";
import { calibrateThreshold, metricsAtThreshold } from "../../eval/threshold-metrics.js";
import type { Llama2cSource } from "../../models/llama2c/source.js";
import { constructGapPositions, type GapPosition } from "./constructed-set.js";
import { nextWordView, PrefixSession } from "./next-word.js";
import { loadStrongModel, loadWeakModel, WEAK_MODEL_NAMES, type WeakModelName } from "./weak-models.js";

/** Detector scores (higher = more likely a gap). None reads the ground-truth word. */
export const GAP_SCORES = ["weak-surprise", "surprise-gap", "next-token-kl", "disagreement"] as const;
export type GapScoreName = (typeof GAP_SCORES)[number];

export const GAP_ALPHAS = [0.01, 0.05, 0.1] as const;
/** The α the summary rows (precision/recall) use. */
export const GAP_REPORT_ALPHA = 0.05;

/** Item-resampling bootstrap intervals: 200 replicates, 95%, lower order statistic (the published numbers' rule). */
const ci = (seed: number): BootstrapOptions => ({ seed, replicates: 200, level: 0.95, quantile: "lower" });

export interface CapabilityGapOptions {
  readonly seed: number;
  readonly quick?: boolean;
  readonly weakModels?: readonly WeakModelName[];
  readonly onProgress?: (done: number, total: number, weakModel: string) => void;
}

/** Paragraphs per part (the positions come from these; see constructed-set.ts). */
export const GAP_PARAGRAPHS = { full: { calibration: 350, evaluation: 550 }, quick: { calibration: 60, evaluation: 100 } };
export const GAP_MAX_PER_PARAGRAPH = 5;
/** BabyLlama's context is 256 pieces of a 105-piece vocabulary (≈ 1.05 characters each; longer prefixes are left-truncated). */
export const GAP_MAX_PREFIX_CHARS = 240;

/** A results.json capability-gap row, with the weak model and score narrowed to the ones this evaluation knows. */
export interface GapRow extends CapabilityGapRow {
  readonly weakModel: WeakModelName;
  readonly score: GapScoreName;
}

export interface CapabilityGapResult {
  readonly rows: GapRow[];
  readonly records: ResultRecord[];
  readonly sizes: {
    readonly positions: number;
    readonly evaluationPositions: number;
    readonly strongCorrect: number;
    /** Positions in calibration paragraphs (the trusted ones per weak model are those where it agrees: GapRow.nCalibration). */
    readonly calibrationPositions: number;
  };
  readonly seconds: number;
}

interface StrongView {
  readonly word: string;
  readonly surprise: number;
  readonly dist: Float64Array;
}

/** The weak model's side of every position: its greedy word and each gap score (the order of `GAP_SCORES`). */
interface WeakView {
  readonly words: readonly string[];
  readonly scores: ReadonlyMap<GapScoreName, Float64Array>;
  /** Whether the two models share a tokenizer (`next-token-kl` needs one). */
  readonly sameTokenizer: boolean;
  readonly scoreSeconds: number;
}

/** Which positions calibrate and which are evaluated for one weak model, with the evaluated ones' labels. */
interface Labelled {
  /** Trusted: calibration positions where the two models agree. */
  readonly calIdx: readonly number[];
  /** Evaluation positions where the strong model is right. */
  readonly evalIdx: readonly number[];
  /** Per `evalIdx` entry: 1 = gap (the weak model is wrong). */
  readonly labels: Uint8Array;
  readonly nGap: number;
}

function klDivergence(p: Float64Array, q: Float64Array): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) if (p[i]! > 0) s += p[i]! * (Math.log(p[i]!) - Math.log(Math.max(q[i]!, 1e-30)));
  return s;
}

/** AUROC, NaN when only one class is present. */
function safeAuroc(s: Float64Array, l: Uint8Array): number {
  const pos = l.reduce((a, b) => a + b, 0);
  return pos === 0 || pos === l.length ? NaN : auroc(s, l);
}

/** Scores and labels of the evaluated positions at `idx` (one bootstrap resample). */
function resample(ev: Float64Array, labels: Uint8Array, idx: Int32Array): { s: Float64Array; l: Uint8Array } {
  return { s: Float64Array.from(idx, (j) => ev[j]!), l: Uint8Array.from(idx, (j) => labels[j]!) };
}

/** Positions come paragraph by paragraph in text order: one prefix session per paragraph and model. */
function sessionPerParagraph(): (p: GapPosition) => PrefixSession {
  let current = "";
  let session = new PrefixSession();
  return (p) => {
    if (p.paragraphId !== current) [current, session] = [p.paragraphId, new PrefixSession()];
    return session;
  };
}

/** Step 1: the constructed positions (calibration and evaluation paragraphs). */
function constructedPositions(options: CapabilityGapOptions): GapPosition[] {
  return constructGapPositions({
    seed: options.seed,
    paragraphs: options.quick ? GAP_PARAGRAPHS.quick : GAP_PARAGRAPHS.full,
    maxPrefixChars: GAP_MAX_PREFIX_CHARS,
    maxPerParagraph: GAP_MAX_PER_PARAGRAPH,
  });
}

/** Step 2: the strong model's greedy next word at each position, its surprise at that word and its next-token distribution. */
function strongModelViews(strong: Llama2cSource, positions: readonly GapPosition[]): StrongView[] {
  const session = sessionPerParagraph();
  return positions.map((p) => {
    const s = session(p);
    const v = nextWordView(strong, p.prefix, [], s);
    const own = v.greedyWord ? nextWordView(strong, p.prefix, [v.greedyWord], s).surprise[0]! : Infinity;
    return { word: v.greedyWord, surprise: own, dist: v.nextToken };
  });
}

/** Step 3: one weak model's greedy word and every gap score at each position the strong model has a word for. */
function weakModelView(name: WeakModelName, strong: Llama2cSource, positions: readonly GapPosition[], strongViews: readonly StrongView[], options: CapabilityGapOptions): WeakView {
  const weak = loadWeakModel(name);
  const ts = performance.now();
  const sameTokenizer = weak.tokenizer.vocabSize === strong.tokenizer.vocabSize;
  const scores = new Map<GapScoreName, Float64Array>(GAP_SCORES.map((s) => [s, new Float64Array(positions.length)]));
  const words: string[] = new Array(positions.length).fill("");
  const session = sessionPerParagraph();
  positions.forEach((p, i) => {
    options.onProgress?.(i, positions.length, name);
    const sv = strongViews[i]!;
    if (!sv.word) return;
    const wv = nextWordView(weak, p.prefix, [sv.word], session(p));
    words[i] = wv.greedyWord;
    scores.get("weak-surprise")![i] = wv.surprise[0]!;
    scores.get("surprise-gap")![i] = wv.surprise[0]! - sv.surprise;
    scores.get("next-token-kl")![i] = sameTokenizer ? klDivergence(sv.dist, wv.nextToken) : NaN;
    scores.get("disagreement")![i] = wv.greedyWord === sv.word ? 0 : 1;
  });
  options.onProgress?.(positions.length, positions.length, name);
  return { words, scores, sameTokenizer, scoreSeconds: (performance.now() - ts) / 1000 };
}

/** Step 4: the trusted calibration positions and the labels of the evaluated ones, for one weak model. */
function labelPositions(positions: readonly GapPosition[], strongViews: readonly StrongView[], weakWords: readonly string[], evalIdx: readonly number[]): Labelled {
  // Trusted calibration: positions of the calibration paragraphs where the two models' greedy words agree.
  // Chosen from model outputs only: whether either word is right is never read.
  const calIdx = positions
    .map((p, i) => (p.part === "calibration" && strongViews[i]!.word !== "" && weakWords[i] === strongViews[i]!.word ? i : -1))
    .filter((i) => i >= 0);
  // Labels: among evaluation positions where the strong model is right, gap = the weak model is wrong.
  const labels = Uint8Array.from(evalIdx, (i) => (weakWords[i] === positions[i]!.target ? 0 : 1));
  return { calIdx, evalIdx, labels, nGap: labels.reduce((s, x) => s + x, 0) };
}

/** Step 5: per α, the threshold from the trusted calibration scores and precision / recall (bootstrap CIs) on the evaluated ones. */
function gapAtAlpha(cal: Float64Array, ev: Float64Array, labels: Uint8Array, seed: number): AtAlpha[] {
  return GAP_ALPHAS.map((alpha, k) => {
    const threshold = calibrateThreshold(cal, alpha);
    const m = metricsAtThreshold(ev, labels, threshold);
    const at = (f: (x: { precision: number; recall: number }) => number) => (idx: Int32Array): number => {
      const { s, l } = resample(ev, labels, idx);
      return f(metricsAtThreshold(s, l, threshold));
    };
    return {
      alpha,
      threshold,
      precision: bootstrapStatistic(ev.length, at((x) => x.precision), ci(seed + 11 * k + 1)),
      recall: bootstrapStatistic(ev.length, at((x) => x.recall), ci(seed + 11 * k + 2)),
      f1: m.f1,
      fpr: m.fpr,
      shiftFpr: null,
    };
  });
}

/** Step 6: the results.json record of one weak model × score: ranking metrics with bootstrap CIs and the α rows. */
function gapRecord(name: WeakModelName, scoreName: GapScoreName, ev: Float64Array, lab: Labelled, atAlpha: AtAlpha[], scoreSeconds: number, seed: number): ResultRecord {
  const { labels, nGap } = lab;
  const degenerate = nGap === 0 || nGap === ev.length;
  const none = { value: NaN, lo: NaN, hi: NaN };
  return {
    task: "capability-gap",
    model: `stories260k/${name}`,
    detector: scoreName,
    family: "behavioural",
    hook: "next-word",
    layer: null,
    pooling: "last",
    subset: "all",
    positives: "anomalous",
    split: "test",
    scope: "input",
    n: ev.length,
    nAnomalous: nGap,
    auroc: degenerate ? none : bootstrapStatistic(ev.length, (idx) => { const { s, l } = resample(ev, labels, idx); return safeAuroc(s, l); }, ci(seed + 101)),
    auprc: degenerate ? none : bootstrapStatistic(ev.length, (idx) => { const { s, l } = resample(ev, labels, idx); return l.includes(1) && l.includes(0) ? averagePrecision(s, l) : NaN; }, ci(seed + 102)),
    fpr95: degenerate ? NaN : fprAtTpr(ev, labels, 0.95),
    tprAt1Fpr: degenerate ? NaN : tprAtFpr(ev, labels, 0.01),
    atAlpha,
    fitSeconds: 0,
    scoreSeconds,
  };
}

/** Steps 5 and 6 for one score: its summary row and record, or undefined when no position calibrates or is evaluated. */
function evaluateGapScore(name: WeakModelName, scoreName: GapScoreName, weak: WeakView, lab: Labelled, seed: number): { row: GapRow; record: ResultRecord } | undefined {
  const all = weak.scores.get(scoreName)!;
  const cal = Float64Array.from(lab.calIdx, (i) => all[i]!);
  const ev = Float64Array.from(lab.evalIdx, (i) => all[i]!);
  if (cal.length === 0 || ev.length === 0) return undefined;
  const atAlpha = gapAtAlpha(cal, ev, lab.labels, seed);
  const main = atAlpha.find((a) => a.alpha === GAP_REPORT_ALPHA)!;
  const row: GapRow = {
    weakModel: name, score: scoreName, alpha: GAP_REPORT_ALPHA, threshold: main.threshold,
    precision: main.precision.value, recall: main.recall.value, auroc: safeAuroc(ev, lab.labels), n: ev.length, nGap: lab.nGap, nCalibration: cal.length,
  };
  return { row, record: gapRecord(name, scoreName, ev, lab, atAlpha, weak.scoreSeconds, seed) };
}

/**
 * The evaluation as named steps: construct positions → the strong model's views → per weak model: its views and
 * scores → trusted calibration and labels → per score: thresholds, precision / recall → row and record.
 */
export function runCapabilityGap(options: CapabilityGapOptions): CapabilityGapResult {
  const t0 = performance.now();
  const positions = constructedPositions(options);
  const strong = loadStrongModel();
  const strongViews = strongModelViews(strong, positions);
  const evalIdx = positions.map((p, i) => (p.part === "evaluation" && strongViews[i]!.word === p.target ? i : -1)).filter((i) => i >= 0);
  const rows: GapRow[] = [];
  const records: ResultRecord[] = [];
  for (const name of options.weakModels ?? WEAK_MODEL_NAMES) {
    const weak = weakModelView(name, strong, positions, strongViews, options);
    const lab = labelPositions(positions, strongViews, weak.words, evalIdx);
    for (const scoreName of GAP_SCORES) {
      if (scoreName === "next-token-kl" && !weak.sameTokenizer) continue;
      const out = evaluateGapScore(name, scoreName, weak, lab, options.seed);
      if (!out) continue;
      rows.push(out.row);
      records.push(out.record);
    }
  }
  return {
    rows,
    records,
    sizes: {
      positions: positions.length,
      evaluationPositions: positions.filter((p) => p.part === "evaluation").length,
      strongCorrect: evalIdx.length,
      calibrationPositions: positions.filter((p) => p.part === "calibration").length,
    },
    seconds: (performance.now() - t0) / 1000,
  };
}

export type { GapPosition, Llama2cSource };
