// The benchmark grid: for each model and task, extract (or reuse) pooled activations, fit every planned detector
// on each of its hooks on trusted.fit, calibrate thresholds on trusted.calibration scores, score the untrusted
// validation and test splits, and turn scores into records, plot data, a validation-chosen selection and
// failure modes. Everything below the CLI: the command only parses flags, shows progress and writes files.

import { config } from "../config.js";
import type { FittedDetector } from "../detectors/detector.js";
import { createDetector } from "../detectors/registry.js";
import { MadkitError } from "../errors.js";
import { characteriseFailures } from "../eval/failure-modes.js";
import { matrix, rowSlice, type Matrix } from "../linalg/matrix.js";
import { loadModel as loadRegisteredModel } from "../models/registry.js";
import type { ActivationSource } from "../models/source.js";
import { buildTask as buildRegisteredTask } from "../tasks/registry.js";
import type { CapabilityGapOptions, CapabilityGapResult } from "../tasks/gap/run-capability-gap.js";
import type { BuildTaskOptions, Task, TaskItem, UntrustedSplit } from "../tasks/task.js";
import type { TriggerKind } from "../train/llama/backdoor-training.js";
import {
  asBackdoorTask,
  BACKDOOR_CONTROL_MODEL,
  BACKDOOR_TASKS,
  BACKDOOR_TRAIN_MINUTES,
  backdooredModel,
  backdoorSummary,
  isBackdoorTask,
  measureBackdoor,
  prepareBackdoorCheckpoint,
  withBackdoorTasks,
  type BackdoorRunHooks,
} from "./backdoor-run.js";
import { CAPABILITY_GAP_TASK, plansCapabilityGap, runCapabilityGapForBench, withCapabilityGap } from "./capability-gap-run.js";
import { HookCombination } from "./combined-scores.js";
import { leaveClassOutSelections, type Candidate } from "./leave-class-out.js";
import { evaluateSplit, thresholdsFor, type RowIdentity } from "./evaluate.js";
import { extractForBench } from "./extraction.js";
import { bagOfWordsScores, fitBagOfWords, tokenIdsOf, withBagOfWordsBaselines, type BagOfWordsVariant } from "./bag-of-words-baseline.js";
import { lengthScores, type LengthUnit } from "./length-baseline.js";
import { makePlan, type BenchPlan, type ModelPlan, type PlannedDetector, type PlanOptions } from "./plan.js";
import { downsampledRoc, scoreHistogram } from "./plot-data.js";
import { RESULTS_FORMAT, RESULTS_SCHEMA_VERSION, type BackdoorSummary, type BenchResults, type CapabilityGapSummary, type FailureExample, type SkippedTaskNote, type FailureMode, type ResultRecord, type RocPoints, type ScoreHistogram, type Selection, type TaskSummary } from "../results/contract.js";
import { SELECTION_ALPHA, SELECTION_CRITERION, selectOnValidation } from "./selection.js";
import { anomalySubsets, shiftSubsets } from "./subsets.js";
import { exampleTokenViews } from "./token-spans.js";

export interface BenchProgress {
  /** `train`: fitting a backdoored checkpoint or measuring it; `gap`: the capability-gap evaluation. */
  readonly stage: "extract" | "detect" | "train" | "gap";
  /** e.g. `jailbreak-ood × use-lite: mahalanobis @ blocks.1.hook_resid_post`. */
  readonly label: string;
  /** Work units finished and planned over the whole run (extraction counts inputs, detection counts fits). */
  readonly done: number;
  readonly total: number;
}

export interface BenchOptions extends PlanOptions {
  /** A ready plan (tests); default `makePlan(options)`. */
  readonly plan?: BenchPlan;
  readonly cacheDir?: string;
  readonly madkitVersion?: string;
  /** Injection points for tests: a fake model, a synthetic task. */
  readonly loadModel?: (name: string) => Promise<ActivationSource>;
  readonly buildTask?: (name: string, options: BuildTaskOptions) => Task;
  readonly onProgress?: (p: BenchProgress) => void;
  /** Backdoor tasks: stand-ins for training and measuring the checkpoint (tests). */
  readonly backdoor?: BackdoorRunHooks;
  /** Whether a backdoored checkpoint is cached (a quick run skips a task whose checkpoint is not); tests. */
  readonly isBackdoorCached?: (trigger: TriggerKind, seed: number) => boolean;
  /** A stand-in for `runCapabilityGap` (tests). */
  readonly runCapabilityGap?: (options: CapabilityGapOptions) => CapabilityGapResult;
}

/**
 * The plan from options: makePlan's grid, plus what it cannot place — the backdoor tasks (backdoored checkpoint and
 * original-model control, last pooling) and the capability gap (no activations). Both need stories260k.
 */
export function benchPlanOf(options: BenchOptions): { plan: BenchPlan; skipped: SkippedTaskNote[] } {
  if (options.plan) return { plan: options.plan, skipped: [] };
  const requested = options.tasks && options.tasks.length > 0 ? options.tasks : undefined;
  const core = requested?.filter((t) => !isBackdoorTask(t) && t !== CAPABILITY_GAP_TASK);
  let plan = makePlan({ ...options, tasks: core });
  if (requested && core!.length === 0) plan = { ...plan, tasks: [], models: {} };
  const onStories = !options.models || options.models.length === 0 || options.models.includes("stories260k");
  const wanted = (t: string): boolean => onStories && (!requested || requested.includes(t));
  const bd = withBackdoorTasks(plan, BACKDOOR_TASKS.filter(wanted), { quick: plan.quick, seed: plan.seed, isCached: options.isBackdoorCached });
  plan = wanted(CAPABILITY_GAP_TASK) ? withCapabilityGap(bd.plan) : bd.plan;
  return { plan, skipped: bd.skipped };
}

const BEHAVIOUR_HOOK: Readonly<Record<string, string>> = { perplexity: "hook_token_nll", "output-entropy": "hook_output_entropy" };

/** The hooks a planned detector runs on for this model ([] = skip it on this model). */
export function hooksFor(d: PlannedDetector, mp: ModelPlan): string[] {
  switch (d.hooks) {
    case "all":
      return [...mp.hooks];
    case "few":
      return [...mp.fewHooks];
    case "behaviour": {
      const h = BEHAVIOUR_HOOK[d.kind];
      return h && mp.behaviourHooks.includes(h) ? [h] : [];
    }
    case "none":
      return [d.kind === "length" ? `length:${String(d.params.unit)}` : d.name];
  }
}

function takeRows(m: Matrix, rows: ArrayLike<number>): Matrix<Float32Array> {
  const out = new Float32Array(rows.length * m.cols);
  for (let k = 0; k < rows.length; k++) out.set(m.data.subarray(rows[k]! * m.cols, (rows[k]! + 1) * m.cols), k * m.cols);
  return matrix(rows.length, m.cols, out);
}

function concatRows(a: Matrix, b: Matrix): Matrix<Float32Array> {
  const out = new Float32Array((a.rows + b.rows) * a.cols);
  out.set(a.data, 0);
  out.set(b.data, a.rows * a.cols);
  return matrix(a.rows + b.rows, a.cols, out);
}

/** Scores of one detector × hook on every set the evaluation needs. */
interface HookScores {
  readonly calibration: Float64Array;
  readonly trustedValidation: Float64Array;
  readonly split: Readonly<Record<UntrustedSplit, Float64Array>>;
  readonly fitSeconds: number;
  readonly scoreSeconds: number;
}

/** Row layout of one extraction: trusted fit, calibration, validation, then untrusted items. */
interface Layout {
  readonly fit: [number, number];
  readonly calibration: [number, number];
  readonly validation: [number, number];
  /** Rows of the untrusted items of each split, in the split's item order. */
  readonly split: Readonly<Record<UntrustedSplit, Uint32Array>>;
  readonly items: Readonly<Record<UntrustedSplit, TaskItem[]>>;
}

function layoutOf(task: Task): Layout {
  const nf = task.trusted.fit.length;
  const nc = task.trusted.calibration.length;
  const nv = task.trusted.validation.length;
  const base = nf + nc + nv;
  const rows: Record<UntrustedSplit, number[]> = { validation: [], test: [] };
  const items: Record<UntrustedSplit, TaskItem[]> = { validation: [], test: [] };
  task.untrusted.forEach((it, i) => {
    rows[it.split].push(base + i);
    items[it.split].push(it);
  });
  return {
    fit: [0, nf],
    calibration: [nf, nf + nc],
    validation: [nf + nc, base],
    split: { validation: Uint32Array.from(rows.validation), test: Uint32Array.from(rows.test) },
    items,
  };
}

const range = (a: number, b: number): Uint32Array => Uint32Array.from({ length: b - a }, (_, i) => a + i);
const seconds = (t0: number): number => (performance.now() - t0) / 1000;

function scoreDetector(fitted: FittedDetector, m: Matrix, L: Layout, fitSeconds: number): HookScores {
  const t0 = performance.now();
  const batch = fitted.scope === "batch";
  const trustedVal = rowSlice(m, L.validation[0], L.validation[1]);
  const calibration = fitted.score(rowSlice(m, L.calibration[0], L.calibration[1]));
  const trustedValidation = fitted.score(trustedVal);
  const split = {} as Record<UntrustedSplit, Float64Array>;
  for (const s of ["validation", "test"] as const) {
    const x = takeRows(m, L.split[s]);
    // A batch method sees the split's untrusted items with trusted validation rows as the normal bulk; only the
    // untrusted items' scores are evaluated.
    split[s] = batch ? fitted.score(concatRows(x, trustedVal)).slice(0, x.rows) : fitted.score(x);
  }
  return { calibration, trustedValidation, split, fitSeconds, scoreSeconds: seconds(t0) };
}

interface Unit {
  readonly model: string;
  /** The task whose items are extracted (benign-shift rides on jailbreak-ood). */
  readonly sourceTask: string;
  readonly reportAs: readonly string[];
}

function unitsOf(plan: BenchPlan): Unit[] {
  const units = new Map<string, { model: string; sourceTask: string; reportAs: string[] }>();
  for (const t of plan.tasks) {
    for (const model of t.models) {
      const sourceTask = t.task === "benign-shift" ? "jailbreak-ood" : t.task;
      const k = `${model}\0${sourceTask}`;
      const u = units.get(k) ?? { model, sourceTask, reportAs: [] };
      u.reportAs.push(t.task);
      units.set(k, u);
    }
  }
  return [...units.values()];
}

/** Check that benign-shift's items are jailbreak-ood's normal + shift items, so scoring them once is right. */
function checkBenignShiftInside(shift: Task, jail: Task): void {
  const ids = new Map(jail.untrusted.map((it) => [it.id, it.split] as const));
  for (const it of shift.untrusted) {
    if (ids.get(it.id) !== it.split) {
      throw new MadkitError("BAD_INPUT", `bench: benign-shift item '${it.id}' (${it.split}) is not in jailbreak-ood with the same split; the tasks no longer share items`);
    }
  }
}

/**
 * The positive rate of the mix the headline subset evaluates: anomalous against held-out normal items (shift
 * items are the benign-shift control, not negatives), or shift against normal for benign-shift itself.
 */
function evaluatedRate(task: string, m: { readonly anomalous: number; readonly normal: number; readonly shift: number }): number {
  const pos = task === "benign-shift" ? m.shift : m.anomalous;
  return pos + m.normal === 0 ? 0 : pos / (pos + m.normal);
}

export async function runBench(options: BenchOptions = {}): Promise<BenchResults> {
  const started = performance.now();
  const { plan: planned, skipped } = benchPlanOf(options);
  const plan = withBagOfWordsBaselines(planned);
  const buildTask = options.buildTask ?? buildRegisteredTask;
  const loadModel = options.loadModel ?? ((name: string) => loadRegisteredModel(name));
  const cacheDir = options.cacheDir ?? config.cacheDir;
  const units = unitsOf(plan);

  const tasks = new Map<string, Task>();
  const taskOf = (name: string): Task => {
    let t = tasks.get(name);
    if (!t) tasks.set(name, (t = buildTask(name, { seed: plan.seed, quick: plan.quick, sizes: plan.taskSizes })));
    return t;
  };
  // Progress: inputs to extract, plus one unit per detector × hook fit.
  let total = 0;
  for (const u of units) {
    const t = taskOf(u.sourceTask);
    total += t.trusted.fit.length + t.trusted.calibration.length + t.trusted.validation.length + t.untrusted.length;
    const mp = plan.models[u.model]!;
    for (const d of plan.detectors) total += hooksFor(d, mp).length;
  }
  // The capability gap counts GAP_UNITS per weak model (it scores positions, not inputs × hooks).
  const GAP_UNITS = 100;
  const gapWeakModels = 3;
  if (plansCapabilityGap(plan)) total += GAP_UNITS * gapWeakModels;
  let done = 0;
  const progress = (stage: BenchProgress["stage"], label: string): void => options.onProgress?.({ stage, label, done, total });

  /** Backdoor facts per `${task}\0${model}` row, filled when the backdoored checkpoint is opened. */
  const backdoorFacts = new Map<string, BackdoorSummary>();
  // A backdoored model is its task's checkpoint, trained first when missing; the control is the original stories260k.
  const openModel = async (model: string, modelUnits: readonly Unit[]): Promise<ActivationSource> => {
    if (model === BACKDOOR_CONTROL_MODEL) {
      for (const u of modelUnits) if (isBackdoorTask(u.sourceTask)) backdoorFacts.set(`${u.sourceTask}\0${model}`, backdoorSummary(asBackdoorTask(taskOf(u.sourceTask)), "control", undefined, undefined));
      return loadModel("stories260k");
    }
    const unit = modelUnits.find((u) => isBackdoorTask(u.sourceTask) && backdooredModel(u.sourceTask) === model);
    if (!unit) return loadModel(model);
    const task = asBackdoorTask(taskOf(unit.sourceTask));
    progress("train", `${task.name}: backdoored checkpoint (trained once if missing, ${BACKDOOR_TRAIN_MINUTES}; then reused from ${task.checkpoint})`);
    const train = prepareBackdoorCheckpoint(task, options.backdoor ?? {}, (p) => {
      if (p.step === 1 || p.step % 10 === 0 || p.step === p.steps) {
        progress("train", `${task.name}: training the backdoored checkpoint (missing from the cache; ${BACKDOOR_TRAIN_MINUTES}, once): step ${p.step}/${p.steps}, loss ${p.loss.toFixed(3)}`);
      }
    });
    progress("train", `${task.name}: attack success and clean bits/char against the original stories260k`);
    const evaluation = await (options.backdoor?.evaluate ?? measureBackdoor)(task, plan.quick);
    backdoorFacts.set(`${task.name}\0${model}`, backdoorSummary(task, "backdoored", train, evaluation));
    return loadModel(task.checkpoint);
  };

  const records: ResultRecord[] = [];
  const summaries: TaskSummary[] = [];
  const roc: RocPoints[] = [];
  const histograms: ScoreHistogram[] = [];
  /** Test-split scores and α = 0.05 thresholds per (task, model, detector, hook), for the failure analysis. */
  const classOut: Selection[] = [];
  const testScores = new Map<string, { scores: Float64Array; threshold: number; items: TaskItem[]; tokens: Int32Array }>();
  // The length and bag-of-words baselines are reference points, not deployable detectors: they are never selected.
  const isBaseline = (r: ResultRecord): boolean => r.family === "baseline";
  const failureModes: FailureMode[] = [];
  const examples: FailureExample[] = [];

  const byModel = new Map<string, Unit[]>();
  for (const u of units) byModel.set(u.model, [...(byModel.get(u.model) ?? []), u]);
  for (const [model, modelUnits] of byModel) {
    const mp = plan.models[model];
    if (!mp) throw new MadkitError("BAD_ARGUMENT", `bench: the plan has no entry for model '${model}'`);
    const source = await openModel(model, modelUnits);
    try {
      const layerOf = new Map(source.hooks().map((h) => [h.name, h.layer] as const));
      for (const u of modelUnits) {
        const task = taskOf(u.sourceTask);
        if (u.reportAs.includes("benign-shift")) checkBenignShiftInside(taskOf("benign-shift"), task);
        const L = layoutOf(task);
        const records0 = records.length;
        let tokenIds: ReturnType<typeof tokenIdsOf> | undefined;
        const texts = [...task.trusted.fit, ...task.trusted.calibration, ...task.trusted.validation, ...task.untrusted].map((r) => ({ id: r.id, text: r.text }));
        const needed = new Set<string>();
        for (const d of plan.detectors) if (d.hooks !== "none") for (const h of hooksFor(d, mp)) needed.add(h);
        const hookList = source.hooks().map((h) => h.name).filter((h) => needed.has(h));
        for (const h of needed) if (!layerOf.has(h)) throw new MadkitError("UNKNOWN_HOOK", `bench: model '${model}' has no hook '${h}'`);
        const doneBefore = done;
        const ex = await extractForBench({
          source,
          texts,
          hooks: hookList,
          pooling: mp.pooling,
          cacheDir,
          onProgress: (k) => {
            done = doneBefore + k;
            progress("extract", `${u.sourceTask} × ${model}: activations ${k}/${texts.length}`);
          },
        });
        for (const reportAs of u.reportAs) {
          const t = taskOf(reportAs);
          summaries.push({
            task: reportAs,
            model,
            description: t.description,
            mix: { ...t.mix.untrusted.byFamily },
            anomalyRate: evaluatedRate(reportAs, t.mix.untrusted),
            trusted: t.mix.trusted,
            extractSeconds: Math.round(ex.seconds * 1000) / 1000,
          });
        }
        const tokensAt = (s: UntrustedSplit) => (i: number): number => ex.tokens[L.split[s][i]!]!;
        const subsetsFor = (reportAs: string, s: UntrustedSplit) =>
          reportAs === "benign-shift" ? shiftSubsets(L.items[s]) : anomalySubsets(L.items[s], tokensAt(s), plan.seed, s);
        const candidates = new Map<string, Candidate[]>();
        const subsets = new Map(u.reportAs.map((r) => [r, { validation: subsetsFor(r, "validation"), test: subsetsFor(r, "test") }] as const));

        const emit = (d: PlannedDetector, hook: string, layer: number | null, sc: HookScores): void => {
          const thresholds = thresholdsFor(sc.calibration, plan.alphas);
          for (const reportAs of u.reportAs) {
            const id: RowIdentity = {
              task: reportAs,
              model,
              detector: d.name,
              family: d.family,
              hook,
              layer,
              pooling: d.hooks === "none" ? "none" : mp.pooling,
              scope: d.scope,
              positives: reportAs === "benign-shift" ? "shift" : "anomalous",
              fitSeconds: sc.fitSeconds,
              scoreSeconds: sc.scoreSeconds,
            };
            for (const s of ["validation", "test"] as const) {
              records.push(
                ...evaluateSplit(id, s, L.items[s], sc.split[s], subsets.get(reportAs)![s], thresholds, plan.alphas, {
                  seed: plan.seed,
                  replicates: plan.bootstrapReplicates,
                }),
              );
            }
            if (reportAs === "benign-shift") continue;
            if (d.scope === "input" && d.family !== "baseline") {
              candidates.set(reportAs, [...(candidates.get(reportAs) ?? []), { id, scores: sc.split, thresholds }]);
            }
            const key = `${reportAs}/${model}/${d.name}/${hook}`;
            const items = L.items.test;
            // The plots show the `all` subset: anomalies against normal items (shift items are the benign-shift control).
            const shown = items.map((_, i) => i).filter((i) => items[i]!.group !== "shift");
            const shownScores = Float64Array.from(shown, (i) => sc.split.test[i]!);
            const labels = Uint8Array.from(shown, (i) => (items[i]!.group === "anomalous" ? 1 : 0));
            const j = plan.alphas.indexOf(SELECTION_ALPHA);
            const t = thresholds[j >= 0 ? j : thresholds.length - 1]!;
            if (labels.includes(1) && labels.includes(0)) {
              roc.push(downsampledRoc(key, shownScores, labels));
              histograms.push(scoreHistogram(key, shownScores, labels, Number.isFinite(t) ? t : Number.MAX_VALUE));
            }
            testScores.set(key, { scores: sc.split.test, threshold: t, items, tokens: Int32Array.from(L.split.test, (r) => ex.tokens[r]!) });
          }
        };

        for (const d of plan.detectors) {
          const hooks = hooksFor(d, mp);
          const perHook = new Map<string, HookScores>();
          for (const hook of hooks) {
            progress("detect", `${u.sourceTask} × ${model}: ${d.name} @ ${hook}`);
            let sc: HookScores;
            if (d.kind === "length") {
              const unit = d.params.unit as LengthUnit;
              const all = texts.map((t) => t.text);
              const f = (rows: ArrayLike<number>): Float64Array => lengthScores(unit, rows, ex.tokens, all);
              const t0 = performance.now();
              sc = {
                calibration: f(range(...L.calibration)),
                trustedValidation: f(range(...L.validation)),
                split: { validation: f(L.split.validation), test: f(L.split.test) },
                fitSeconds: 0,
                scoreSeconds: seconds(t0),
              };
            } else if (d.kind === "bag-of-words") {
              // Token ids of every text, once per unit: the bag-of-words baselines see nothing else.
              const t0 = performance.now();
              tokenIds ??= tokenIdsOf(source, texts.map((t) => t.text));
              const tok = tokenIds;
              const bow = fitBagOfWords(Array.from(range(...L.fit), (r) => tok.ids[r]!), tok.vocabSize, { smoothing: d.params.smoothing as number | undefined });
              const fitSeconds = seconds(t0);
              const f = (rows: ArrayLike<number>): Float64Array => bagOfWordsScores(d.params.variant as BagOfWordsVariant, bow, rows, tok.ids);
              const t1 = performance.now();
              sc = {
                calibration: f(range(...L.calibration)),
                trustedValidation: f(range(...L.validation)),
                split: { validation: f(L.split.validation), test: f(L.split.test) },
                fitSeconds,
                scoreSeconds: seconds(t1),
              };
            } else {
              const m = ex.matrices.get(hook)!;
              const t0 = performance.now();
              const fitted = createDetector(d.kind, { ...d.params }).fit(rowSlice(m, L.fit[0], L.fit[1]));
              sc = scoreDetector(fitted, m, L, seconds(t0));
            }
            perHook.set(hook, sc);
            emit(d, hook, d.hooks === "none" ? null : (layerOf.get(hook) ?? null), sc);
            done++;
          }
          // Combiners over hooks: input-scope representation detectors with at least two hooks.
          if (d.scope === "input" && d.hooks !== "none" && d.hooks !== "behaviour" && perHook.size >= 2) {
            const pick = (f: (s: HookScores) => Float64Array): Map<string, Float64Array> => new Map([...perHook].map(([h, s]) => [h, f(s)] as const));
            for (const c of plan.combiners) {
              const t0 = performance.now();
              const comb = new HookCombination(c, pick((s) => s.trustedValidation));
              const sc: HookScores = {
                calibration: comb.combine(pick((s) => s.calibration)),
                trustedValidation: comb.combine(pick((s) => s.trustedValidation)),
                split: { validation: comb.combine(pick((s) => s.split.validation)), test: comb.combine(pick((s) => s.split.test)) },
                fitSeconds: [...perHook.values()].reduce((a, s) => a + s.fitSeconds, 0),
                scoreSeconds: [...perHook.values()].reduce((a, s) => a + s.scoreSeconds, 0) + seconds(t0),
              };
              emit(d, `combined:${c}`, null, sc);
            }
          }
        }
        if (records.length === records0) progress("detect", `${u.sourceTask} × ${model}: no records`);
        for (const cands of candidates.values()) {
          classOut.push(...leaveClassOutSelections(cands, L.items, plan.alphas, { seed: plan.seed, replicates: plan.bootstrapReplicates }));
        }
        // Failure analysis of this unit's selections while the model is loaded, so the examples get per-token views.
        for (const s of selectOnValidation(records.slice(records0), isBaseline)) {
          const ts = testScores.get(`${s.task}/${s.model}/${s.detector}/${s.hook}`);
          if (!ts || !Number.isFinite(ts.threshold)) continue;
          const analysis = characteriseFailures({
            task: s.task,
            model: s.model,
            detector: s.detector,
            hook: s.hook,
            items: ts.items.map((it, i) => ({ id: it.id, text: it.text, label: it.label, family: it.family, group: it.group, tokens: ts.tokens[i]! })),
            scores: ts.scores,
            threshold: ts.threshold,
            truePositives: 3,
          });
          progress("detect", `${s.task} × ${model}: per-token views of ${s.detector}'s examples`);
          const view = await exampleTokenViews(
            {
              source,
              planned: plan.detectors.find((d) => d.name === s.detector),
              selection: s,
              records,
              fitTexts: task.trusted.fit.map((r) => r.text),
              calibrationTexts: task.trusted.calibration.map((r) => r.text),
              alpha: SELECTION_ALPHA,
              seed: plan.seed,
            },
            [...analysis.examples, ...analysis.modes.flatMap((m) => m.examples)],
          );
          failureModes.push(...analysis.modes.map((m) => ({ ...m, examples: m.examples.map(view) })));
          examples.push(...analysis.examples.map(view));
        }
      }
    } finally {
      await source.dispose();
    }
  }

  let capabilityGap: CapabilityGapSummary | undefined;
  if (plansCapabilityGap(plan)) {
    const before = done;
    const seen: string[] = [];
    const gap = runCapabilityGapForBench(
      {
        seed: plan.seed,
        quick: plan.quick,
        onProgress: (i, n, weak) => {
          if (!seen.includes(weak)) seen.push(weak);
          done = before + Math.min(gapWeakModels, seen.length - 1) * GAP_UNITS + Math.floor((GAP_UNITS * i) / Math.max(1, n));
          if (i % 20 === 0 || i === n) progress("gap", `capability-gap: stories260k vs ${weak}, position ${i}/${n}`);
        },
      },
      options.runCapabilityGap,
    );
    records.push(...gap.records);
    capabilityGap = gap.summary;
  }
  for (let i = 0; i < summaries.length; i++) {
    const facts = backdoorFacts.get(`${summaries[i]!.task}\0${summaries[i]!.model}`);
    if (facts) summaries[i] = { ...summaries[i]!, backdoor: facts };
  }

  done = total;
  progress("detect", "done");

  const selections = selectOnValidation(records, isBaseline);

  return {
    format: RESULTS_FORMAT,
    schemaVersion: RESULTS_SCHEMA_VERSION,
    madkitVersion: options.madkitVersion ?? "unknown",
    createdAt: new Date().toISOString(),
    seed: plan.seed,
    quick: plan.quick,
    durationSeconds: Math.round(seconds(started) * 10) / 10,
    alphas: plan.alphas,
    plan: {
      notes: plan.notes,
      selectionCriterion: SELECTION_CRITERION,
      bootstrapReplicates: plan.bootstrapReplicates,
      models: Object.values(plan.models).map((m) => ({ model: m.model, pooling: m.pooling, poolingReason: m.poolingReason, hooks: m.hooks, fewHooks: m.fewHooks })),
      detectors: plan.detectors.map((d) => ({ name: d.name, family: d.family, scope: d.scope, hooks: d.hooks })),
    },
    tasks: summaries,
    records,
    selections,
    classOutSelections: classOut,
    failureModes,
    examples,
    roc,
    histograms,
    ...(skipped.length > 0 ? { skipped } : {}),
    ...(capabilityGap ? { capabilityGap } : {}),
  };
}
