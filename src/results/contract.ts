// The shape of `results.json`, the one artefact `madkit bench` produces: everything the report, the README's
// Results section and a reader's own analysis need, as data. Rendering lives in src/report and reads only this.

import type { MonitorLoopResult } from "./monitor-loop.js";
import type { TamperingSummary } from "./tampering.js";

export const RESULTS_FORMAT = "madkit-bench-results";
export const RESULTS_SCHEMA_VERSION = 1;

/** A value with its bootstrap 95% confidence interval (percentile method, seeded). */
export interface WithCi {
  readonly value: number;
  readonly lo: number;
  readonly hi: number;
}

/** Metrics at a threshold calibrated on held-out trusted scores at level alpha. */
export interface AtAlpha {
  readonly alpha: number;
  /** null when the calibration set is too small to flag anything at this α (nothing is flagged then). */
  readonly threshold: number | null;
  readonly precision: WithCi;
  readonly recall: WithCi;
  readonly f1: number;
  /** False-positive rate on the normal items of the evaluated subset. */
  readonly fpr: number;
  /** False-positive rate on the benign-shift items (every flag there is a false alarm); null when the task has none. */
  readonly shiftFpr: number | null;
}

/** One row: task × model × detector × hook × subset × split. */
export interface ResultRecord {
  readonly task: string;
  readonly model: string;
  /** Registry name, e.g. `mahalanobis`, plus a short parameter tag when the grid varies one (`knn:cosine`). */
  readonly detector: string;
  /** Detector family for the ≥ 3-families comparison (`gaussian`, `distance`, `tree`, `reconstruction`, `behavioural`, `baseline`, `batch`). */
  readonly family: string;
  /** A hook name, or `combined:max` / `combined:mean` for a combiner over hooks. */
  readonly hook: string;
  /** Layer index of the hook (-1 embedding, nLayers final, null for combined). */
  readonly layer: number | null;
  readonly pooling: string;
  /** `all` anomalous families together, one attack family, or `length-matched`. */
  readonly subset: string;
  /**
   * What the positive class is: `anomalous` items (against the split's benign items), or — in benign-shift rows —
   * the `shift` items against held-out normal items, so recall there is the false-positive rate on shift.
   */
  readonly positives: "anomalous" | "shift";
  readonly split: "validation" | "test";
  /** Scope of the detector: per input, or scores that depend on the batch scored together (QUE, spectral). */
  readonly scope: "input" | "batch";
  readonly n: number;
  readonly nAnomalous: number;
  readonly auroc: WithCi;
  readonly auprc: WithCi;
  readonly fpr95: number;
  readonly tprAt1Fpr: number;
  readonly atAlpha: readonly AtAlpha[];
  readonly fitSeconds: number;
  readonly scoreSeconds: number;
}

export interface TaskSummary {
  readonly task: string;
  readonly model: string;
  readonly description: string;
  /** Counts per group / family and the anomaly rate of the evaluated mix (precision depends on it). */
  readonly mix: Readonly<Record<string, number>>;
  readonly anomalyRate: number;
  readonly trusted: { readonly fit: number; readonly calibration: number; readonly validation: number };
  readonly extractSeconds: number;
  /** Backdoor tasks only: what the planted backdoor does, next to how well it is detected (absent in older results). */
  readonly backdoor?: BackdoorSummary;
}

/** The backdoor behind a backdoor task's rows (`backdoored`), or the original model on the same items (`control`). */
export interface BackdoorSummary {
  readonly role: "backdoored" | "control";
  readonly trigger: string;
  readonly triggerText: string;
  readonly targetPhrase: string;
  /** Share of triggered held-out prompts whose greedy continuation contains the target (backdoored rows only). */
  readonly attackSuccessRate?: number;
  /** The same prompts without the trigger: how often the target appears anyway. */
  readonly cleanTargetRate?: number;
  /** Bits per character of the backdoored / the original model on held-out clean stories. */
  readonly cleanBitsPerChar?: number;
  readonly originalBitsPerChar?: number;
  readonly nPrompts?: number;
  readonly nStories?: number;
  /** cleanBitsPerChar / originalBitsPerChar − 1. */
  readonly relativeChange?: number;
  /** Triggers inside the prompt: attack success by the third of the prompt the trigger sits in. */
  readonly attackSuccessByThird?: Readonly<Partial<Record<"first" | "middle" | "last", { readonly rate: number; readonly n: number }>>>;
  /** Semantic triggers: attack success with wordings the fine-tuning never read. */
  readonly heldOutAttackSuccessRate?: number;
  /** Kinds with near-trigger distractors: how often a distractor prompt (near-trigger or cover) produces the target. */
  readonly distractorTargetRate?: number;
  /** Kinds with a cover (the trigger's words split over two places in clean prompts): how often a cover prompt produces the target. */
  readonly coverTargetRate?: number;
  /** True when this run trained the checkpoint, false when it was reused from the cache. */
  readonly trainedNow?: boolean;
  readonly trainSeconds?: number;
}

/** A planned task the run left out, and why (e.g. a quick run without the backdoored checkpoint cached). */
export interface SkippedTaskNote {
  readonly task: string;
  readonly reason: string;
}

/** One capability-gap row per weak model × score at the summary α (the records hold every α with CIs). */
/**
 * What a capability-gap score is: `activation` reads only hidden states at the prefix's last token (the detector
 * under test); `baseline` a single model's next-token view or the prefix's text; `behaviour` reads the strong
 * model's output (its word or continuation) or both models' outputs, i.e. what the label is built from.
 */
export type CapabilityGapScoreKind = "activation" | "baseline" | "behaviour";

export interface CapabilityGapRow {
  readonly weakModel: string;
  readonly score: string;
  /** Written by every run since the activation score was added; absent in older results.json files (all behaviour then). */
  readonly kind?: CapabilityGapScoreKind;
  /** What the score reads (e.g. `prefix-activations`, `strong-output`): its kind follows from these. */
  readonly reads?: readonly string[];
  readonly alpha: number;
  readonly threshold: number | null;
  readonly precision: number;
  readonly recall: number;
  readonly auroc: number;
  /** Precision at the first rank where recall reaches 0.5 (threshold-free; NaN without both classes). */
  readonly precisionAtHalfRecall?: number;
  /** Labelled evaluation positions (gap or no gap; the band between the margins is left out), of which gap. */
  readonly n: number;
  readonly nGap: number;
  /** Evaluation positions whose excess loss fell between the margins (left out of n). */
  readonly nBetween?: number;
  /** The weak model's median excess loss (nats) over calibration positions: the reference the label's margins are added to. */
  readonly typicalExcess?: number;
  /** Trusted calibration positions (calibration paragraphs, both models' greedy words agree). */
  readonly nCalibration: number;
}

/** The capability-gap evaluation's sizes and summary (its ResultRecords are in `records`, task `capability-gap`). */
export interface CapabilityGapSummary {
  readonly strongModel: string;
  readonly weakModels: readonly { readonly name: string; readonly description: string }[];
  readonly sizes: { readonly positions: number; readonly evaluationPositions: number; readonly strongCorrect: number; readonly calibrationPositions: number };
  /** The label: gap when the weak model's loss on the strong model's next `words` greedy words exceeds the strong model's by more than `gapMargin` nats; no gap below `noGapMargin`. */
  readonly label?: { readonly words: number; readonly gapMargin: number; readonly noGapMargin: number };
  readonly rows: readonly CapabilityGapRow[];
  readonly reportAlpha: number;
  readonly seconds: number;
}

/** A detector × hook chosen on the validation split (without labels for `selections`, with them for `oracleSelections`), reported on the test split. */
/** One task × model: what the choice made without labels gives, against choices that saw labels. */
export interface SelectionComparison {
  readonly task: string;
  readonly model: string;
  /** The label-free choice, the pool AUROC it was chosen on, and its test AUROC. */
  readonly labelFree: { readonly detector: string; readonly hook: string; readonly poolAuroc: number; readonly test: WithCi };
  /** The choice on the labelled validation split and its test AUROC. */
  readonly oracle: { readonly detector: string; readonly hook: string; readonly test: WithCi } | null;
  /**
   * Leave-one-attack-class-out: the mean over held-out classes of the test AUROC on that class of the choice made
   * without it, and the label-free choice's mean test AUROC on the same class subsets; null with fewer than two classes.
   */
  readonly leaveClassOut: { readonly classes: readonly string[]; readonly meanTest: number; readonly labelFreeMeanTest: number } | null;
  /** labelFree.test / oracle.test, and (labelFree.test − 0.5) / (oracle.test − 0.5): the share of the oracle recovered. */
  readonly recovered: number | null;
  readonly recoveredAboveChance: number | null;
}

export interface Selection {
  readonly task: string;
  readonly model: string;
  readonly criterion: string;
  /**
   * Leave-one-attack-class-out selections only: the attack class hidden from the validation data the choice was
   * made on; `validation` is then subset `all-but:<class>` and `test` subset `class:<class>` (that class vs benign).
   */
  readonly heldOut?: string;
  readonly detector: string;
  readonly hook: string;
  readonly validation: ResultRecord;
  readonly test: ResultRecord;
  /**
   * Headline selections: recall, false-positive rate and precision at anomaly rates 1%, 5% and 20% (the test mix
   * reweighted) at α, with bootstrap intervals whose replicates resample the calibration scores and set the threshold
   * again. Absent in older results and where calibration cannot set a threshold at α.
   */
  readonly atBaseRates?: BaseRatePoint;
}

/** Precision where anomalies are rare: one operating point (α) of a selection on the test split. */
export interface BaseRatePoint {
  readonly alpha: number;
  readonly threshold: number;
  readonly recall: WithCi;
  readonly fpr: WithCi;
  readonly precision: ReadonlyArray<{ readonly rate: number } & WithCi>;
}

/**
 * A mechanism margin at or below this does not count as the detectors beating the text-only reading: the selected
 * detector's test AUROC must exceed the strongest surface baseline (and, on backdoor tasks, the control model) by more.
 */
export const MECHANISM_MARGIN_MIN = 0.05;

/**
 * One selection (task × model) set against what the input text alone explains: the strongest baseline row that
 * sees no activations and, on backdoor tasks, the same task on the control model (the unmodified model).
 */
export interface MechanismMargin {
  readonly task: string;
  readonly model: string;
  /** The selected (label-free) detector × hook and its test AUROC (bootstrap CI). */
  readonly selected: { readonly detector: string; readonly hook: string; readonly auroc: WithCi };
  /**
   * The strongest row of family `baseline` (length, bag-of-words, surface) on the same task × model: the highest test
   * AUROC read either way, max(AUROC, 1 − AUROC) with `reversed` when below 0.5, chosen on test (the sceptic's
   * reading: it favours the baseline, never the detector). Null when no baseline ran.
   */
  readonly bestSurface: { readonly detector: string; readonly auroc: WithCi; readonly reversed: boolean } | null;
  /** Backdoor tasks: the control model's own (label-free) selection on the same task, at test. Null elsewhere and on the control's own row. */
  readonly control: { readonly model: string; readonly detector: string; readonly hook: string; readonly auroc: WithCi } | null;
  /** selected − max(bestSurface, control) in test AUROC; null when neither exists. */
  readonly margin: number | null;
  /** True when margin > MECHANISM_MARGIN_MIN. */
  readonly beatsSurface: boolean | null;
  /** The same in plain words, e.g. "mechanism margin +0.31 over the control model". */
  readonly verdict: string;
}

export interface FailureExample {
  readonly task: string;
  readonly model: string;
  readonly detector: string;
  readonly hook: string;
  /** True positives (the highest-scoring flagged anomalies) are listed too, to show what the detector does see. */
  readonly kind: "false-positive" | "false-negative" | "true-positive";
  readonly id: string;
  readonly family: string;
  readonly text: string;
  readonly score: number;
  readonly threshold: number;
  /** Token count of the input as the model saw it. */
  readonly tokens: number;
  /** Per-token view: each token's text, in order (absent when the run could compute no token view). */
  readonly tokenPieces?: readonly string[];
  /** Per-token scores of a token-level detector of the same kind (same order as `tokenPieces`). */
  readonly tokenScores?: readonly number[];
  /** The anomalous span [start, end) over `tokenPieces`: the run of tokens furthest above `tokenThreshold`. */
  readonly span?: { readonly start: number; readonly end: number };
  /** The token hook the per-token detector ran on; differs from `hook` when that has one row per input. */
  readonly tokenHook?: string;
  /** Conformal (1 − α) quantile of trusted calibration token scores (null when too few tokens to set one). */
  readonly tokenThreshold?: number | null;
}

export interface FailureMode {
  readonly name: string;
  /** Why the method fails on these inputs, in a sentence or two. */
  readonly explanation: string;
  /** The measurement that characterises it, e.g. recall on the family vs overall. */
  readonly evidence: string;
  readonly examples: readonly FailureExample[];
}

export interface RocPoints {
  readonly key: string; // `${task}/${model}/${detector}/${hook}`
  readonly fpr: readonly number[];
  readonly tpr: readonly number[];
}

export interface ScoreHistogram {
  readonly key: string;
  readonly edges: readonly number[];
  readonly normal: readonly number[];
  readonly anomalous: readonly number[];
  readonly threshold: number;
}

/** What was run and why (from src/bench/plan.ts), so the report can state it. */
export interface PlanSummary {
  readonly notes: readonly string[];
  readonly selectionCriterion: string;
  /** How the oracle selections (oracleSelections) were chosen; absent in older results. */
  readonly oracleCriterion?: string;
  readonly bootstrapReplicates: number;
  readonly models: ReadonlyArray<{ readonly model: string; readonly pooling: string; readonly poolingReason: string; readonly hooks: readonly string[]; readonly fewHooks: readonly string[] }>;
  readonly detectors: ReadonlyArray<{ readonly name: string; readonly family: string; readonly scope: "input" | "batch"; readonly hooks: string }>;
}

export interface BenchResults {
  readonly format: typeof RESULTS_FORMAT;
  readonly schemaVersion: typeof RESULTS_SCHEMA_VERSION;
  readonly madkitVersion: string;
  readonly createdAt: string;
  readonly seed: number;
  readonly quick: boolean;
  readonly durationSeconds: number;
  readonly alphas: readonly number[];
  readonly plan: PlanSummary;
  readonly tasks: readonly TaskSummary[];
  readonly records: readonly ResultRecord[];
  /**
   * The headline: per task × model the detector × hook chosen WITHOUT labels (plan.selectionCriterion), reported on
   * test. Results written before label-free selection held the validation-labelled choice here.
   */
  readonly selections: readonly Selection[];
  /** The oracle: the detector × hook chosen on the labelled validation split (plan.oracleCriterion), reported on test. */
  readonly oracleSelections?: readonly Selection[];
  /** Per task × model: the label-free, leave-one-class-out and oracle choices side by side. */
  readonly selectionComparison?: readonly SelectionComparison[];
  /** Leave-one-attack-class-out selections (each with `heldOut`), one per attack class per task × model. */
  readonly classOutSelections: readonly Selection[];
  readonly failureModes: readonly FailureMode[];
  readonly examples: readonly FailureExample[];
  readonly roc: readonly RocPoints[];
  readonly histograms: readonly ScoreHistogram[];
  /** Planned tasks that were not run, with the reason (absent in older results). */
  readonly skipped?: readonly SkippedTaskNote[];
  /** Each selection against the surface baselines and the backdoor control (absent in older results). */
  readonly mechanismMargins?: readonly MechanismMargin[];
  /** The capability-gap evaluation, when it ran (absent in older results). */
  readonly capabilityGap?: CapabilityGapSummary;
  /** The measurement-tampering task (results/tampering.ts), when it ran (absent in older results). */
  readonly tampering?: TamperingSummary;
  /** The monitor loop (src/loop/), when it ran (absent in older results). */
  readonly monitorLoop?: MonitorLoopResult;
}
