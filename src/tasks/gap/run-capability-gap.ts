// The capability-gap evaluation: label constructed positions by behaviour over several words (gap = the weak
// model's loss on the strong model's next words exceeds the strong model's own by a margin), score them with
// activation scores, baselines and (marked apart) behaviour scores, set thresholds on trusted positions only,
// and report precision / recall, AUROC and precision at recall 0.5 per weak model as bench ResultRecords.

import type { AtAlpha, CapabilityGapRow, ResultRecord, WithCi } from "../../results/contract.js";
import { bootstrapMetrics, replicateThresholds, type BootstrapOptions } from "../../eval/bootstrap.js";
import { auroc, fprAtTpr, tprAtFpr } from "../../eval/ranking-metrics.js";
import { calibrateThreshold, metricsAtThreshold } from "../../eval/threshold-metrics.js";
import { constructGapPositions, type GapPosition } from "./constructed-set.js";
import { excessLossLabel, GAP_MARGIN_NATS, LABEL_WORDS, medianOf, NO_GAP_MARGIN_NATS } from "./excess-loss-label.js";
import { allGapScores, GAP_SCORE_SPECS, type GapScoreName } from "./gap-scores.js";
import { strongModelViews, weakModelViews, type StrongView, type WeakView } from "./model-views.js";
import { precisionAtRecall } from "./precision-at-recall.js";
import { scoreKind } from "./score-kinds.js";
import { loadStrongModel, loadWeakModel, WEAK_MODEL_NAMES, type WeakModelName } from "./weak-models.js";
import { wordRarityFromSample } from "./word-rarity.js";

/** Every score's name, in report order (kinds and inputs: GAP_SCORE_SPECS). */
export const GAP_SCORES: readonly GapScoreName[] = GAP_SCORE_SPECS.map((s) => s.name);
export { GAP_SCORE_SPECS };

export const GAP_ALPHAS = [0.01, 0.05, 0.1] as const;
/** The α the summary rows (precision/recall) use. */
export const GAP_REPORT_ALPHA = 0.05;

/** Item-resampling bootstrap intervals: 200 replicates, 95%, lower order statistic (the published numbers' rule). */
const ci = (seed: number): BootstrapOptions => ({ seed, replicates: 200, level: 0.95 });

export interface CapabilityGapOptions {
  readonly seed: number;
  readonly quick?: boolean;
  readonly weakModels?: readonly WeakModelName[];
  readonly onProgress?: (done: number, total: number, weakModel: string) => void;
}

/** Paragraphs per part (the positions come from these; see constructed-set.ts); the rest of the order trains the small sibling. */
export const GAP_PARAGRAPHS = { full: { calibration: 300, evaluation: 800 }, quick: { calibration: 60, evaluation: 100 } };
export const GAP_MAX_PER_PARAGRAPH = 8;
/**
 * BabyLlama's context is 256 pieces of a 105-piece vocabulary (≈ 1.05 characters each): prefixes past ~220
 * characters are left-truncated for it (BOS + the last pieces), one more way in which it is the weaker model.
 */
export const GAP_MAX_PREFIX_CHARS = 300;
/** The label's settings, as results.json states them. */
export const GAP_LABEL = { words: LABEL_WORDS, gapMargin: GAP_MARGIN_NATS, noGapMargin: NO_GAP_MARGIN_NATS } as const;

/** A results.json capability-gap row, with the weak model and score narrowed to the ones this evaluation knows. */
export interface GapRow extends CapabilityGapRow {
  readonly weakModel: WeakModelName;
  readonly score: GapScoreName;
  readonly kind: NonNullable<CapabilityGapRow["kind"]>;
  readonly reads: readonly string[];
  readonly precisionAtHalfRecall: number;
  readonly nBetween: number;
  readonly typicalExcess: number;
}

export interface CapabilityGapResult {
  /** GapRows from runCapabilityGap; typed as the contract's rows so a stand-in run (tests) may give fewer fields. */
  readonly rows: Array<CapabilityGapRow & { readonly weakModel: WeakModelName }>;
  readonly records: ResultRecord[];
  readonly sizes: {
    readonly positions: number;
    readonly evaluationPositions: number;
    /** Evaluation positions where the strong model's greedy word is the true next word (stated; the label does not need it). */
    readonly strongCorrect: number;
    /** Positions in calibration paragraphs (the trusted ones per weak model are those where it agrees: GapRow.nCalibration). */
    readonly calibrationPositions: number;
  };
  readonly seconds: number;
}

/** Which positions calibrate and which are evaluated for one weak model, with the evaluated ones' labels. */
interface Labelled {
  /** Trusted: calibration positions where the two models agree. */
  readonly calIdx: readonly number[];
  /** Evaluation positions whose excess loss is outside the margins. */
  readonly evalIdx: readonly number[];
  /** Per `evalIdx` entry: 1 = gap. */
  readonly labels: Uint8Array;
  readonly nGap: number;
  /** Evaluation positions left out between the margins. */
  readonly nBetween: number;
  /** The weak model's median excess loss over calibration positions (nats): the label's reference. */
  readonly typicalExcess: number;
}

/** AUROC, NaN when only one class is present. */
function safeAuroc(s: Float64Array, l: Uint8Array): number {
  const pos = l.reduce((a, b) => a + b, 0);
  return pos === 0 || pos === l.length ? NaN : auroc(s, l);
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

/**
 * Step 4: the trusted calibration positions and the labels of the evaluated ones, for one weak model. Trusted:
 * calibration positions where the two greedy words agree (model outputs only; correctness never read).
 * Labelled: evaluation positions where the strong model continues with words, whose excess loss is outside the
 * margins around the weak model's typical excess (the median over calibration positions).
 */
export function labelPositions(positions: readonly GapPosition[], strong: readonly StrongView[], weak: readonly WeakView[]): Labelled {
  const excess = (i: number): number => (strong[i]!.word ? weak[i]!.textLoss - strong[i]!.textLoss : NaN);
  const calibration = positions.map((p, i) => (p.part === "calibration" ? i : -1)).filter((i) => i >= 0);
  const calIdx = calibration.filter((i) => strong[i]!.word !== "" && weak[i]!.word === strong[i]!.word);
  const typicalExcess = medianOf(calibration.map(excess));
  const evalIdx: number[] = [];
  const labels: number[] = [];
  let nBetween = 0;
  positions.forEach((p, i) => {
    if (p.part !== "evaluation" || !strong[i]!.word) return;
    const label = excessLossLabel(excess(i), typicalExcess);
    if (label === null) {
      nBetween++;
      return;
    }
    evalIdx.push(i);
    labels.push(label);
  });
  const nGap = labels.reduce((s, x) => s + x, 0);
  return { calIdx, evalIdx, labels: Uint8Array.from(labels), nGap, nBetween, typicalExcess };
}

/**
 * Step 5: per α, the threshold from the trusted calibration scores and precision / recall on the evaluated ones, with
 * the benchmark's one bootstrap (eval/bootstrap.ts: stratified, and the calibration resampled with the threshold set
 * again per replicate). Without both classes or with a non-finite score there is no interval: it is the point value.
 */
function gapMetrics(cal: Float64Array, ev: Float64Array, labels: Uint8Array, seed: number): { atAlpha: AtAlpha[]; auroc: WithCi; auprc: WithCi } {
  const thresholds = GAP_ALPHAS.map((alpha) => calibrateThreshold(cal, alpha));
  const nGap = labels.reduce((x, y) => x + y, 0);
  const usable = nGap > 0 && nGap < labels.length && ev.every(Number.isFinite) && cal.every(Number.isFinite);
  const point = (v: number): WithCi => ({ value: v, lo: v, hi: v });
  const m = usable
    ? bootstrapMetrics(ev, labels, thresholds, { ...ci(seed + 1), replicateThresholds: replicateThresholds(cal, GAP_ALPHAS, ci(seed + 2)) })
    : undefined;
  const atAlpha = GAP_ALPHAS.map((alpha, k): AtAlpha => {
    const threshold = thresholds[k]!;
    const x = metricsAtThreshold(ev, labels, threshold);
    const b = m?.atThresholds[k];
    return {
      alpha,
      threshold,
      precision: b ? { value: b.precision, ...b.precisionCi } : point(x.precision),
      recall: b ? { value: b.recall, ...b.recallCi } : point(x.recall),
      f1: x.f1,
      fpr: x.fpr,
      shiftFpr: null,
    };
  });
  const none = { value: NaN, lo: NaN, hi: NaN };
  return { atAlpha, auroc: m ? { value: m.auroc, ...m.aurocCi } : none, auprc: m ? { value: m.auprc, ...m.auprcCi } : none };
}

/** Step 6: the results.json record of one weak model × score: ranking metrics with bootstrap CIs and the α rows. */
function gapRecord(name: WeakModelName, scoreName: GapScoreName, ev: Float64Array, lab: Labelled, metrics: ReturnType<typeof gapMetrics>, scoreSeconds: number): ResultRecord {
  const kind = scoreKind(GAP_SCORE_SPECS.find((x) => x.name === scoreName)!);
  const { labels, nGap } = lab;
  const degenerate = nGap === 0 || nGap === ev.length || !ev.every(Number.isFinite);
  return {
    task: "capability-gap",
    model: `stories260k/${name}`,
    detector: scoreName,
    family: kind === "behaviour" ? "behavioural" : kind,
    hook: kind === "activation" ? "ln_final.hook_normalized" : "next-word",
    layer: null,
    pooling: "last",
    subset: "all",
    positives: "anomalous",
    split: "test",
    scope: "input",
    n: ev.length,
    nAnomalous: nGap,
    auroc: metrics.auroc,
    auprc: metrics.auprc,
    fpr95: degenerate ? NaN : fprAtTpr(ev, labels, 0.95),
    tprAt1Fpr: degenerate ? NaN : tprAtFpr(ev, labels, 0.01),
    atAlpha: metrics.atAlpha,
    fitSeconds: 0,
    scoreSeconds,
  };
}

/** Steps 5 and 6 for one score: its summary row and record, or undefined when no position calibrates or is evaluated. */
function evaluateGapScore(name: WeakModelName, scoreName: GapScoreName, all: Float64Array, lab: Labelled, scoreSeconds: number, seed: number): { row: GapRow; record: ResultRecord } | undefined {
  const cal = Float64Array.from(lab.calIdx, (i) => all[i]!);
  const ev = Float64Array.from(lab.evalIdx, (i) => all[i]!);
  if (cal.length === 0 || ev.length === 0) return undefined;
  const metrics = gapMetrics(cal, ev, lab.labels, seed);
  const atAlpha = metrics.atAlpha;
  const main = atAlpha.find((a) => a.alpha === GAP_REPORT_ALPHA)!;
  const spec = GAP_SCORE_SPECS.find((x) => x.name === scoreName)!;
  const row: GapRow = {
    weakModel: name, score: scoreName, kind: scoreKind(spec), reads: [...spec.reads], alpha: GAP_REPORT_ALPHA, threshold: main.threshold,
    precision: main.precision.value, recall: main.recall.value, auroc: safeAuroc(ev, lab.labels),
    precisionAtHalfRecall: precisionAtRecall(ev, lab.labels, 0.5),
    n: ev.length, nGap: lab.nGap, nBetween: lab.nBetween, nCalibration: cal.length, typicalExcess: lab.typicalExcess,
  };
  return { row, record: gapRecord(name, scoreName, ev, lab, metrics, scoreSeconds) };
}

/** Steps 3–6 for one weak model: its views, labels, every score, and a row and record per score. */
function evaluateWeakModel(
  name: WeakModelName, positions: readonly GapPosition[], strongViews: readonly StrongView[], strongVocab: number,
  rarity: ReturnType<typeof wordRarityFromSample>, options: CapabilityGapOptions,
): Array<{ row: GapRow; record: ResultRecord }> {
  const used = GAP_PARAGRAPHS.full.calibration + GAP_PARAGRAPHS.full.evaluation;
  const weak = loadWeakModel(name, options.seed, used);
  const t0 = performance.now();
  const views = weakModelViews(weak, positions, strongViews, (i, n) => options.onProgress?.(i, n, name));
  const lab = labelPositions(positions, strongViews, views);
  const sameTokenizer = weak.tokenizer.vocabSize === strongVocab;
  const scores = allGapScores(positions, strongViews, views, lab.calIdx, sameTokenizer, rarity);
  const seconds = (performance.now() - t0) / 1000;
  const out: Array<{ row: GapRow; record: ResultRecord }> = [];
  for (const spec of GAP_SCORE_SPECS) {
    const all = scores.get(spec.name);
    // Absent: too few trusted positions to fit an activation score; next-token KL across tokenizers.
    if (!all || (spec.name === "behaviour:next-token-kl" && !sameTokenizer)) continue;
    const r = evaluateGapScore(name, spec.name, all, lab, seconds, options.seed);
    if (r) out.push(r);
  }
  return out;
}

/**
 * The evaluation as named steps: construct positions → the strong model's views → per weak model: its views →
 * trusted calibration and labels → every score → per score: thresholds, precision / recall → row and record.
 */
export function runCapabilityGap(options: CapabilityGapOptions): CapabilityGapResult {
  const t0 = performance.now();
  const positions = constructedPositions(options);
  const strong = loadStrongModel();
  const strongViews = strongModelViews(strong, positions);
  const strongCorrect = positions.map((p, i) => (p.part === "evaluation" && strongViews[i]!.word === p.target ? i : -1)).filter((i) => i >= 0);
  const rarity = wordRarityFromSample();
  const rows: GapRow[] = [];
  const records: ResultRecord[] = [];
  for (const name of options.weakModels ?? WEAK_MODEL_NAMES) {
    for (const r of evaluateWeakModel(name, positions, strongViews, strong.tokenizer.vocabSize, rarity, options)) {
      rows.push(r.row);
      records.push(r.record);
    }
  }
  return {
    rows,
    records,
    sizes: {
      positions: positions.length,
      evaluationPositions: positions.filter((p) => p.part === "evaluation").length,
      strongCorrect: strongCorrect.length,
      calibrationPositions: positions.filter((p) => p.part === "calibration").length,
    },
    seconds: (performance.now() - t0) / 1000,
  };
}

export type { GapPosition };
