// Stage 4, evaluate: each scored detector × hook → thresholds calibrated on its trusted calibration scores alone →
// one result record per reported task, untrusted split and evaluation subset (ranking metrics with bootstrap CIs,
// precision / recall / F1 / FPR at each threshold). For the anomaly tasks it also keeps the plot data (ROC,
// histogram), the test-split scores the analysis reads and the leave-one-class-out candidates.

import type { ResultRecord, RocPoints, ScoreHistogram } from "../../results/contract.js";
import type { UntrustedSplit } from "../../tasks/task.js";
import { calibrationReplicates, evaluateSplit, thresholdsFor, type RowIdentity } from "../evaluate.js";
import type { Candidate } from "../leave-class-out.js";
import type { BenchPlan } from "../plan.js";
import { downsampledRoc, scoreHistogram } from "../plot-data.js";
import { SELECTION_ALPHA } from "../selection.js";
import type { EvalSubset } from "../subsets.js";
import { isShiftControl, positivesOf, subsetsOf } from "../task-roles.js";
import type { EvaluatedUnit, ExtractedUnit, ScoredHook, StageContext, TestScores } from "./hand-offs.js";
import { UNTRUSTED_SPLITS } from "./layout.js";

/** The key of a detector × hook's test scores and of its plots (results.roc[].key, results.histograms[].key). */
export const scoreKey = (task: string, model: string, detector: string, hook: string): string => `${task}/${model}/${detector}/${hook}`;

type UnitSubsets = ReadonlyMap<string, Readonly<Record<UntrustedSplit, EvalSubset[]>>>;

/** What the evaluation of one unit collects, in the order the records are made. */
interface Collected {
  readonly records: ResultRecord[];
  readonly candidates: Map<string, Candidate[]>;
  readonly roc: RocPoints[];
  readonly histograms: ScoreHistogram[];
  readonly testScores: Map<string, TestScores>;
}

/** Each reported task's evaluation subsets of both untrusted splits. */
function unitSubsets(x: ExtractedUnit, seed: number): UnitSubsets {
  const L = x.layout;
  const tokensAt = (s: UntrustedSplit) => (i: number): number => x.activations.tokens[L.split[s][i]!]!;
  const of = (r: string, s: UntrustedSplit): EvalSubset[] => subsetsOf(r, s, L.items[s], tokensAt(s), seed);
  return new Map(x.unit.reportAs.map((r) => [r, { validation: of(r, "validation"), test: of(r, "test") }] as const));
}

function rowIdentity(x: ExtractedUnit, sh: ScoredHook, reportAs: string): RowIdentity {
  const d = sh.detector;
  return {
    task: reportAs,
    model: x.unit.model,
    detector: d.name,
    family: d.family,
    hook: sh.hook,
    layer: sh.layer,
    pooling: d.hooks === "none" ? "none" : x.model.modelPlan.pooling,
    scope: d.scope,
    positives: positivesOf(reportAs),
    fitSeconds: sh.scores.fitSeconds,
    scoreSeconds: sh.scores.scoreSeconds,
  };
}

/** The plots (the `all` subset of the test split) and the test scores at the selection α that the analysis reads. */
function keepTestScores(x: ExtractedUnit, sh: ScoredHook, reportAs: string, thresholds: readonly number[], alphas: readonly number[], out: Collected): void {
  const key = scoreKey(reportAs, x.unit.model, sh.detector.name, sh.hook);
  const items = x.layout.items.test;
  const test = sh.scores.split.test;
  // The plots show the `all` subset: anomalies against normal items (shift items are the benign-shift control).
  const shown = items.map((_, i) => i).filter((i) => items[i]!.group !== "shift");
  const shownScores = Float64Array.from(shown, (i) => test[i]!);
  const labels = Uint8Array.from(shown, (i) => (items[i]!.group === "anomalous" ? 1 : 0));
  const j = alphas.indexOf(SELECTION_ALPHA);
  const t = thresholds[j >= 0 ? j : thresholds.length - 1]!;
  if (labels.includes(1) && labels.includes(0)) {
    out.roc.push(downsampledRoc(key, shownScores, labels));
    out.histograms.push(scoreHistogram(key, shownScores, labels, Number.isFinite(t) ? t : Number.MAX_VALUE));
  }
  const tokens = x.activations.tokens;
  out.testScores.set(key, { scores: test, threshold: t, items, tokens: Int32Array.from(x.layout.split.test, (r) => tokens[r]!) });
}

function evaluateHook(x: ExtractedUnit, sh: ScoredHook, subsets: UnitSubsets, plan: BenchPlan, out: Collected): void {
  const thresholds = thresholdsFor(sh.scores.calibration, plan.alphas);
  const boot = { seed: plan.seed, replicates: plan.bootstrapReplicates };
  const replicate = calibrationReplicates({ model: x.unit.model, detector: sh.detector.name, hook: sh.hook }, sh.scores.calibration, plan.alphas, boot);
  for (const reportAs of x.unit.reportAs) {
    const id = rowIdentity(x, sh, reportAs);
    for (const s of UNTRUSTED_SPLITS) {
      const options = { ...boot, replicateThresholds: replicate };
      out.records.push(...evaluateSplit(id, s, x.layout.items[s], sh.scores.split[s], subsets.get(reportAs)![s], thresholds, plan.alphas, options));
    }
    if (isShiftControl(reportAs)) continue;
    // Baselines are reference points, never candidates for a selection.
    if (sh.detector.scope === "input" && sh.detector.family !== "baseline") {
      out.candidates.set(reportAs, [...(out.candidates.get(reportAs) ?? []), { id, scores: sh.scores.split, thresholds, trusted: sh.scores.trustedValidation, calibration: sh.scores.calibration }]);
    }
    keepTestScores(x, sh, reportAs, thresholds, plan.alphas, out);
  }
}

export function evaluateStage(x: ExtractedUnit, scored: readonly ScoredHook[], { run, progress }: StageContext): EvaluatedUnit {
  const subsets = unitSubsets(x, run.plan.seed);
  const out: Collected = { records: [], candidates: new Map(), roc: [], histograms: [], testScores: new Map() };
  for (const sh of scored) evaluateHook(x, sh, subsets, run.plan, out);
  if (out.records.length === 0) progress.report("detect", `${x.unit.sourceTask} × ${x.unit.model}: no records`);
  return out;
}
