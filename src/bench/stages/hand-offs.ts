// The typed hand-offs of the benchmark pipeline, in the order the stages pass them on:
//
//   plan ─► PlannedRun ─► extract ─► ExtractedUnit ─► fit & score ─► ScoredHook[] ─► evaluate ─► EvaluatedUnit
//        ─► select ─► SelectedUnit ─► analyse ─► AnalysedUnit ─► (UnitResults per unit) ─► write ─► BenchResults
//
// The plan stage runs once; extract … analyse run once per unit (one model × one task) while that model is open;
// the capability gap (no activations) runs after the units; write runs once. Only UnitResults outlive a unit, so
// a unit's activations and scores are freed before the next one.

import type { ActivationSource } from "../../models/source.js";
import type {
  BackdoorSummary,
  BenchResults,
  ResultRecord,
  RocPoints,
  ScoreHistogram,
  Selection,
  SelectionComparison,
  SkippedTaskNote,
  TaskSummary,
} from "../../results/contract.js";
import type { Task, TaskItem, UntrustedSplit } from "../../tasks/task.js";
import type { BenchText, ExtractedActivations } from "../extraction.js";
import type { Candidate } from "../leave-class-out.js";
import type { BenchOptions } from "../options.js";
import type { BenchPlan, ModelPlan, PlannedDetector } from "../plan.js";
import type { Layout } from "./layout.js";
import type { ProgressMeter } from "./progress.js";

/** One extraction: a model × the task whose items it reads, reported as that task and every task riding on it. */
export interface Unit {
  readonly model: string;
  /** The task whose items are extracted (benign-shift rides on jailbreak-ood). */
  readonly sourceTask: string;
  readonly reportAs: readonly string[];
}

/** The units of one model: the model is opened once for all of them. */
export interface ModelGroup {
  readonly model: string;
  readonly modelPlan: ModelPlan;
  readonly units: readonly Unit[];
}

/** plan → extract: what runs, in which order, and how much work that is. */
export interface PlannedRun {
  /** The plan as run: makePlan's grid, the backdoor tasks, the capability gap and the baselines. */
  readonly plan: BenchPlan;
  readonly skipped: readonly SkippedTaskNote[];
  /** Units grouped by model, in the plan's order. */
  readonly groups: readonly ModelGroup[];
  /** A task by name, built once. */
  readonly taskOf: (name: string) => Task;
  /** Progress units of the whole run. */
  readonly total: number;
}

/** What every stage after plan reads: the planned run, the progress counter, the caller's options. */
export interface StageContext {
  readonly run: PlannedRun;
  readonly progress: ProgressMeter;
  readonly options: BenchOptions;
}

/** The model a group's units are extracted from, open until the group is done. */
export interface OpenedModel {
  readonly model: string;
  readonly modelPlan: ModelPlan;
  readonly source: ActivationSource;
  /** Layer of each hook point of the model. */
  readonly layerOf: ReadonlyMap<string, number>;
  /** Backdoor facts per task, for the backdoored checkpoint and its control (empty for any other model). */
  readonly backdoor: ReadonlyMap<string, BackdoorSummary>;
}

/** extract → fit & score: a unit's pooled activations and everything needed to address their rows. */
export interface ExtractedUnit {
  readonly unit: Unit;
  readonly model: OpenedModel;
  /** The source task. */
  readonly task: Task;
  readonly layout: Layout;
  /** The texts in layout order. */
  readonly texts: readonly BenchText[];
  readonly activations: ExtractedActivations;
  /** One summary per reported task (results.tasks). */
  readonly summaries: readonly TaskSummary[];
}

/** Scores of one detector × hook on every set the evaluation needs. */
export interface HookScores {
  readonly calibration: Float64Array;
  readonly trustedValidation: Float64Array;
  readonly split: Readonly<Record<UntrustedSplit, Float64Array>>;
  readonly fitSeconds: number;
  readonly scoreSeconds: number;
}

/** fit & score → evaluate: one per detector × hook in plan order, each detector's combined rows after its hooks. */
export interface ScoredHook {
  readonly detector: PlannedDetector;
  /** A hook name, a baseline's own name, or `combined:<combiner>`. */
  readonly hook: string;
  readonly layer: number | null;
  readonly scores: HookScores;
}

/** Test-split scores and the α = 0.05 threshold of one (task, model, detector, hook), for the failure analysis. */
export interface TestScores {
  readonly scores: Float64Array;
  readonly threshold: number;
  readonly items: readonly TaskItem[];
  readonly tokens: Int32Array;
}

/** evaluate → select and analyse. */
export interface EvaluatedUnit {
  readonly records: readonly ResultRecord[];
  /** Input-scope, non-baseline candidates per anomaly task, for the leave-one-class-out selection. */
  readonly candidates: ReadonlyMap<string, readonly Candidate[]>;
  readonly roc: readonly RocPoints[];
  readonly histograms: readonly ScoreHistogram[];
  /** Keyed by `scoreKey` (evaluate-stage.ts). */
  readonly testScores: ReadonlyMap<string, TestScores>;
}

/** select → analyse. */
export interface SelectedUnit {
  /** Leave-one-attack-class-out selections. */
  readonly classOut: readonly Selection[];
  /** The headline: the label-free detector × hook per task of this unit. */
  readonly selections: readonly Selection[];
  /** The validation-labelled choice per task (the oracle). */
  readonly oracle: readonly Selection[];
  /** The label-free, leave-one-class-out and oracle choices side by side. */
  readonly comparison: readonly SelectionComparison[];
}

/** analyse → write: the results contract's own fields. */
export type AnalysedUnit = Pick<BenchResults, "failureModes" | "examples">;

/** What a unit leaves for the write stage: its share of the results contract's lists. */
export type UnitResults = Pick<BenchResults, "records" | "roc" | "histograms" | "failureModes" | "examples"> & {
  /** Its share of `BenchResults.tasks`. */
  readonly summaries: readonly TaskSummary[];
  /** Its share of `BenchResults.classOutSelections`. */
  readonly classOut: readonly Selection[];
  /** Its share of `BenchResults.selections` (label-free) and `selectionComparison`. */
  readonly selections: readonly Selection[];
  readonly comparison: readonly SelectionComparison[];
};
