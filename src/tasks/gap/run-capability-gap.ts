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

function klDivergence(p: Float64Array, q: Float64Array): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) if (p[i]! > 0) s += p[i]! * (Math.log(p[i]!) - Math.log(Math.max(q[i]!, 1e-30)));
  return s;
}

export function runCapabilityGap(options: CapabilityGapOptions): CapabilityGapResult {
  const t0 = performance.now();
  const { seed } = options;
  const positions = constructGapPositions({
    seed,
    paragraphs: options.quick ? GAP_PARAGRAPHS.quick : GAP_PARAGRAPHS.full,
    maxPrefixChars: GAP_MAX_PREFIX_CHARS,
    maxPerParagraph: GAP_MAX_PER_PARAGRAPH,
  });
  const strong = loadStrongModel();
  // Positions come paragraph by paragraph in text order: one prefix session per paragraph and model.
  const sessionFor = (): ((p: GapPosition) => PrefixSession) => {
    let current = "";
    let session = new PrefixSession();
    return (p) => {
      if (p.paragraphId !== current) [current, session] = [p.paragraphId, new PrefixSession()];
      return session;
    };
  };
  const strongSession = sessionFor();
  const strongViews: StrongView[] = positions.map((p) => {
    const s = strongSession(p);
    const v = nextWordView(strong, p.prefix, [], s);
    const own = v.greedyWord ? nextWordView(strong, p.prefix, [v.greedyWord], s).surprise[0]! : Infinity;
    return { word: v.greedyWord, surprise: own, dist: v.nextToken };
  });
  const weakNames = options.weakModels ?? WEAK_MODEL_NAMES;
  const rows: GapRow[] = [];
  const records: ResultRecord[] = [];
  const evalIdx = positions.map((p, i) => (p.part === "evaluation" && strongViews[i]!.word === p.target ? i : -1)).filter((i) => i >= 0);
  for (const name of weakNames) {
    const weak = loadWeakModel(name);
    const ts = performance.now();
    const sameTokenizer = weak.tokenizer.vocabSize === strong.tokenizer.vocabSize;
    const scores = new Map<GapScoreName, Float64Array>(GAP_SCORES.map((s) => [s, new Float64Array(positions.length)]));
    const weakWords: string[] = new Array(positions.length).fill("");
    const weakSession = sessionFor();
    positions.forEach((p, i) => {
      options.onProgress?.(i, positions.length, name);
      const sv = strongViews[i]!;
      if (!sv.word) return;
      const wv = nextWordView(weak, p.prefix, [sv.word], weakSession(p));
      weakWords[i] = wv.greedyWord;
      scores.get("weak-surprise")![i] = wv.surprise[0]!;
      scores.get("surprise-gap")![i] = wv.surprise[0]! - sv.surprise;
      scores.get("next-token-kl")![i] = sameTokenizer ? klDivergence(sv.dist, wv.nextToken) : NaN;
      scores.get("disagreement")![i] = wv.greedyWord === sv.word ? 0 : 1;
    });
    options.onProgress?.(positions.length, positions.length, name);
    const scoreSeconds = (performance.now() - ts) / 1000;
    // Trusted calibration: positions of the calibration paragraphs where the two models' greedy words agree.
    // Chosen from model outputs only: whether either word is right is never read.
    const calIdx = positions
      .map((p, i) => (p.part === "calibration" && strongViews[i]!.word !== "" && weakWords[i] === strongViews[i]!.word ? i : -1))
      .filter((i) => i >= 0);
    // Labels: among evaluation positions where the strong model is right, gap = the weak model is wrong.
    const labels = Uint8Array.from(evalIdx, (i) => (weakWords[i] === positions[i]!.target ? 0 : 1));
    const nGap = labels.reduce((s, x) => s + x, 0);
    for (const scoreName of GAP_SCORES) {
      const all = scores.get(scoreName)!;
      if (scoreName === "next-token-kl" && !sameTokenizer) continue;
      const cal = Float64Array.from(calIdx, (i) => all[i]!);
      const ev = Float64Array.from(evalIdx, (i) => all[i]!);
      if (cal.length === 0 || ev.length === 0) continue;
      const sub = (idx: Int32Array): { s: Float64Array; l: Uint8Array } => ({
        s: Float64Array.from(idx, (j) => ev[j]!), l: Uint8Array.from(idx, (j) => labels[j]!),
      });
      const safeAuroc = (s: Float64Array, l: Uint8Array): number => {
        const pos = l.reduce((a, b) => a + b, 0);
        return pos === 0 || pos === l.length ? NaN : auroc(s, l);
      };
      const atAlpha: AtAlpha[] = GAP_ALPHAS.map((alpha, k) => {
        const threshold = calibrateThreshold(cal, alpha);
        const m = metricsAtThreshold(ev, labels, threshold);
        return {
          alpha,
          threshold,
          precision: bootstrapStatistic(ev.length, (idx) => { const { s, l } = sub(idx); return metricsAtThreshold(s, l, threshold).precision; }, ci(seed + 11 * k + 1)),
          recall: bootstrapStatistic(ev.length, (idx) => { const { s, l } = sub(idx); return metricsAtThreshold(s, l, threshold).recall; }, ci(seed + 11 * k + 2)),
          f1: m.f1,
          fpr: m.fpr,
          shiftFpr: null,
        };
      });
      const main = atAlpha.find((a) => a.alpha === GAP_REPORT_ALPHA)!;
      const aur = safeAuroc(ev, labels);
      rows.push({
        weakModel: name, score: scoreName, alpha: GAP_REPORT_ALPHA, threshold: main.threshold,
        precision: main.precision.value, recall: main.recall.value, auroc: aur, n: ev.length, nGap, nCalibration: cal.length,
      });
      const degenerate = nGap === 0 || nGap === ev.length;
      records.push({
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
        auroc: degenerate ? { value: NaN, lo: NaN, hi: NaN } : bootstrapStatistic(ev.length, (idx) => { const { s, l } = sub(idx); return safeAuroc(s, l); }, ci(seed + 101)),
        auprc: degenerate ? { value: NaN, lo: NaN, hi: NaN } : bootstrapStatistic(ev.length, (idx) => { const { s, l } = sub(idx); return l.includes(1) && l.includes(0) ? averagePrecision(s, l) : NaN; }, ci(seed + 102)),
        fpr95: degenerate ? NaN : fprAtTpr(ev, labels, 0.95),
        tprAt1Fpr: degenerate ? NaN : tprAtFpr(ev, labels, 0.01),
        atAlpha,
        fitSeconds: 0,
        scoreSeconds,
      });
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
