// The backdoor tasks inside `madkit bench`: each runs on the backdoored stories260K (trained once, cached) and, as
// a control, on the original stories260K over the same items, both with last-token pooling; next to detection the
// run measures what the backdoor does (attack success, clean bits/char against the original model).

import { existsSync } from "node:fs";
import { MadkitError } from "../errors.js";
import { loadLlama2cSource } from "../models/llama2c/source.js";
import type { ActivationSource } from "../models/source.js";
import type { BackdoorTask } from "../tasks/backdoor.js";
import type { Task } from "../tasks/task.js";
import {
  BASE_MODEL,
  backdoorCheckpointInfo,
  ensureBackdoorCheckpoint,
  evaluateBackdoor,
  loadBackdoorSource,
  type BackdoorEvaluation,
  type BackdoorTrainOptions,
  type BackdoorTrainReport,
  TRIGGER_KINDS,
  TRIGGER_SPECS,
  type TriggerKind,
} from "../train/llama/backdoor-training.js";
import { modelPlan, type BenchPlan, type ModelPlan, type PlannedTask } from "./plan.js";
import type { BackdoorSummary, SkippedTaskNote } from "../results/contract.js";

export const BACKDOOR_TASKS = ["backdoor-rare", "backdoor-phrase", "backdoor-position", "backdoor-semantic"] as const;
export type BackdoorTaskName = (typeof BACKDOOR_TASKS)[number];

export const isBackdoorTask = (name: string): name is BackdoorTaskName => (BACKDOOR_TASKS as readonly string[]).includes(name);

/** The model name results use for a task's backdoored checkpoint (one per trigger, so the two never share a load). */
export const backdooredModel = (task: BackdoorTaskName): string => `stories260k+${task}`;

/** The control: the untouched stories260K read with last-token pooling, on the backdoor tasks' items. */
export const BACKDOOR_CONTROL_MODEL = "stories260k-original";

export const TRIGGER_OF: Readonly<Record<BackdoorTaskName, TriggerKind>> = {
  "backdoor-rare": "rare",
  "backdoor-phrase": "phrase",
  "backdoor-position": "position",
  "backdoor-semantic": "semantic",
};

export const BACKDOOR_POOLING_REASON =
  "last: the backdoor decides the continuation at the last position, right after the trigger; the mean over the prompt's tokens dilutes the few trigger tokens (the comparison, measured with seed 0: docs/backdoor-and-gaps.md)";
const INSIDE_POOLING_REASON =
  "last: the backdoor decides the continuation at the last position, an ordinary story word; a trigger inside the prompt reaches it only through attention (hence the attn_out hooks in full runs), and the mean over the prompt's tokens would dilute it";
const CONTROL_POOLING_REASON =
  "last, as for the backdoored checkpoint: the original stories260K on the same items answers whether a detector sees the backdoor or only an unusual input";

/** Held-out prompts and stories `evaluateBackdoor` reads (about 20 s full; the quick run reads a fifth). */
export const BACKDOOR_EVAL_SIZES = { full: { prompts: 100, stories: 100 }, quick: { prompts: 20, stories: 20 } };

/** Expected cost of training one backdoored checkpoint, for progress lines and `--help`. */
export const BACKDOOR_TRAIN_MINUTES = "a few minutes";

/**
 * A backdoor model plan: stories260K's hooks plus (full runs) each block's attention output, last-token pooling.
 * A trigger inside the prompt reaches the last position only through attention, and the attention outputs carry
 * it more cleanly than the residual stream (backdoor-position: Mahalanobis 0.90–0.97 at blocks.3/4 attn_out vs
 * ≤ 0.89 on the residual stream, docs/backdoor-and-gaps.md).
 */
export function backdoorModelPlan(model: string, quick: boolean, control: boolean, trigger?: TriggerKind): ModelPlan {
  const base = modelPlan("stories260k", quick);
  const hooks = quick ? base.hooks : base.hooks.flatMap((h) => {
    const m = /^blocks\.(\d+)\.hook_resid_post$/.exec(h);
    return m ? [`blocks.${m[1]}.hook_attn_out`, h] : [h];
  });
  const reason = control ? CONTROL_POOLING_REASON : trigger && TRIGGER_SPECS[trigger].placement === "inside" ? INSIDE_POOLING_REASON : BACKDOOR_POOLING_REASON;
  return { ...base, hooks, model, pooling: "last", poolingReason: reason };
}

export interface BackdoorPlanOptions {
  readonly quick: boolean;
  readonly seed: number;
  /** Whether the task's checkpoint is already trained; default: its model.bin and tokenizer.bin exist in config.cacheDir. */
  readonly isCached?: (trigger: TriggerKind, seed: number) => boolean;
}

export const backdoorCheckpointCached = (trigger: TriggerKind, seed: number): boolean => {
  const info = backdoorCheckpointInfo(trigger, seed);
  return existsSync(info.checkpoint) && existsSync(info.tokenizer);
};

/**
 * Add the backdoor tasks to a plan: each on its backdoored checkpoint and on the control, with last pooling.
 * A quick run never trains: a checkpoint missing from the cache makes the quick run skip that task, with the reason.
 */
export function withBackdoorTasks(plan: BenchPlan, tasks: readonly BackdoorTaskName[], o: BackdoorPlanOptions): { plan: BenchPlan; skipped: SkippedTaskNote[] } {
  const cached = o.isCached ?? backdoorCheckpointCached;
  const skipped: SkippedTaskNote[] = [];
  const planned: PlannedTask[] = [];
  const models: Record<string, ModelPlan> = { ...plan.models };
  for (const task of tasks) {
    const trigger = TRIGGER_OF[task];
    if (o.quick && !cached(trigger, o.seed)) {
      const info = backdoorCheckpointInfo(trigger, o.seed);
      skipped.push({
        task,
        reason:
          `quick run: the backdoored checkpoint ${info.checkpoint} is not cached and a quick run does not train it (${BACKDOOR_TRAIN_MINUTES}); ` +
          `run \`madkit train backdoor --trigger ${trigger} --seed ${o.seed}\` or a full \`madkit bench --seed ${o.seed}\` once, then rerun`,
      });
      continue;
    }
    const bd = backdooredModel(task);
    models[bd] = backdoorModelPlan(bd, o.quick, false, trigger);
    models[BACKDOOR_CONTROL_MODEL] ??= backdoorModelPlan(BACKDOOR_CONTROL_MODEL, o.quick, true);
    planned.push({ task, models: [bd, BACKDOOR_CONTROL_MODEL] });
  }
  const notes = [...plan.notes];
  if (planned.length > 0) {
    notes.push(
      `Backdoor tasks (${planned.map((t) => t.task).join(", ")}) run on their backdoored stories260K checkpoint (trained once per trigger and seed, ` +
        `${BACKDOOR_TRAIN_MINUTES} each, then reused from the cache) and, as a control, on the original stories260K over the same items; both with last-token pooling.`,
    );
  }
  for (const s of skipped) notes.push(`Not run: ${s.task} — ${s.reason}.`);
  return { plan: { ...plan, tasks: [...plan.tasks, ...planned], models, notes }, skipped };
}

/** Stand-ins for tests; the defaults train / evaluate for real. */
export interface BackdoorRunHooks {
  readonly ensureCheckpoint?: (o: BackdoorTrainOptions) => BackdoorTrainReport;
  readonly evaluate?: (task: BackdoorTask, quick: boolean) => Promise<BackdoorEvaluation>;
}

export function asBackdoorTask(task: Task): BackdoorTask {
  const t = task as Partial<BackdoorTask>;
  if (typeof t.checkpoint !== "string" || !(TRIGGER_KINDS as readonly unknown[]).includes(t.trigger)) {
    throw new MadkitError("BAD_INPUT", `bench: task '${task.name}' is run as a backdoor task but has no checkpoint/trigger fields`);
  }
  return task as BackdoorTask;
}

export interface BackdoorTrainProgress {
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
}

/** Train the task's checkpoint unless cached; returns the training report (trained = false when reused). */
export function prepareBackdoorCheckpoint(task: BackdoorTask, hooks: BackdoorRunHooks, onProgress: (p: BackdoorTrainProgress) => void): BackdoorTrainReport {
  const ensure = hooks.ensureCheckpoint ?? ensureBackdoorCheckpoint;
  return ensure({ trigger: task.trigger, seed: task.seed, onProgress: (p) => onProgress({ step: p.step, steps: p.steps, loss: p.loss }) });
}

/** Attack success and clean bits/char of the cached backdoored checkpoint against the original model. */
export async function measureBackdoor(task: BackdoorTask, quick: boolean): Promise<BackdoorEvaluation> {
  const original = await loadLlama2cSource(BASE_MODEL);
  return evaluateBackdoor(loadBackdoorSource(task.trigger, task.seed), original, task.trigger, task.seed, quick ? BACKDOOR_EVAL_SIZES.quick : BACKDOOR_EVAL_SIZES.full);
}

export function backdoorSummary(task: BackdoorTask, role: BackdoorSummary["role"], train: BackdoorTrainReport | undefined, ev: BackdoorEvaluation | undefined): BackdoorSummary {
  return {
    role,
    trigger: task.trigger,
    triggerText: task.triggerText,
    targetPhrase: task.targetPhrase,
    ...(ev
      ? {
          attackSuccessRate: ev.attackSuccessRate,
          cleanTargetRate: ev.cleanTargetRate,
          cleanBitsPerChar: ev.cleanBitsPerChar,
          originalBitsPerChar: ev.originalBitsPerChar,
          nPrompts: ev.nPrompts,
          nStories: ev.nStories,
          relativeChange: ev.relativeChange,
          ...(ev.byPosition ? { attackSuccessByThird: ev.byPosition } : {}),
          ...(ev.heldOutAttackSuccessRate !== undefined ? { heldOutAttackSuccessRate: ev.heldOutAttackSuccessRate } : {}),
          ...(ev.distractorTargetRate !== undefined ? { distractorTargetRate: ev.distractorTargetRate } : {}),
          ...(ev.coverTargetRate !== undefined ? { coverTargetRate: ev.coverTargetRate } : {}),
        }
      : {}),
    ...(train ? { trainedNow: train.trained, trainSeconds: Math.round(train.seconds * 10) / 10 } : {}),
  };
}

/** What opening a backdoor model needs from the run. */
export interface BackdoorModelContext {
  readonly taskOf: (name: string) => Task;
  readonly loadModel: (name: string) => Promise<ActivationSource>;
  readonly hooks: BackdoorRunHooks;
  readonly quick: boolean;
  /** A `train` progress line. */
  readonly onProgress: (label: string) => void;
}

/**
 * Open a model of the backdoor tasks, with the facts the report states per task: the control is the original
 * stories260k; a task's backdoored model is its checkpoint, trained first when missing, then measured against the
 * original. Undefined when `model` is neither (the caller loads it as it is). `sourceTasks`: the tasks it runs.
 */
export async function openBackdoorModel(
  model: string,
  sourceTasks: readonly string[],
  ctx: BackdoorModelContext,
): Promise<{ source: ActivationSource; facts: Map<string, BackdoorSummary> } | undefined> {
  const facts = new Map<string, BackdoorSummary>();
  if (model === BACKDOOR_CONTROL_MODEL) {
    for (const t of sourceTasks) if (isBackdoorTask(t)) facts.set(t, backdoorSummary(asBackdoorTask(ctx.taskOf(t)), "control", undefined, undefined));
    return { source: await ctx.loadModel("stories260k"), facts };
  }
  const name = sourceTasks.find((t) => isBackdoorTask(t) && backdooredModel(t) === model);
  if (!name) return undefined;
  const task = asBackdoorTask(ctx.taskOf(name));
  ctx.onProgress(`${task.name}: backdoored checkpoint (trained once if missing, ${BACKDOOR_TRAIN_MINUTES}; then reused from ${task.checkpoint})`);
  const train = prepareBackdoorCheckpoint(task, ctx.hooks, (p) => {
    if (p.step === 1 || p.step % 10 === 0 || p.step === p.steps) {
      ctx.onProgress(`${task.name}: training the backdoored checkpoint (missing from the cache; ${BACKDOOR_TRAIN_MINUTES}, once): step ${p.step}/${p.steps}, loss ${p.loss.toFixed(3)}`);
    }
  });
  ctx.onProgress(`${task.name}: attack success and clean bits/char against the original stories260k`);
  const evaluation = await (ctx.hooks.evaluate ?? measureBackdoor)(task, ctx.quick);
  facts.set(task.name, backdoorSummary(task, "backdoored", train, evaluation));
  return { source: await ctx.loadModel(task.checkpoint), facts };
}
