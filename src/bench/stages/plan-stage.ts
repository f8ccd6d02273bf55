// Stage 1, plan: the options → the plan as run (makePlan's grid plus what it cannot place: the backdoor tasks, the
// capability gap, the baselines), the units of extraction grouped by model, the tasks (built once each) and the
// progress total. A new task reaches the benchmark through src/tasks/registry.ts and TASK_MODELS in plan.ts;
// nothing here changes for it.

import { MadkitError } from "../../errors.js";
import { buildTask as buildRegisteredTask } from "../../tasks/registry.js";
import type { SkippedTaskNote } from "../../results/contract.js";
import type { Task } from "../../tasks/task.js";
import { MONITOR_LOOP_TASK } from "../../tasks/monitor-loop-task.js";
import { BACKDOOR_TASKS, isBackdoorTask, withBackdoorTasks } from "../backdoor-run.js";
import { baselineFor, withBaselines } from "../baselines.js";
import { CAPABILITY_GAP_PROGRESS, CAPABILITY_GAP_TASK, plansCapabilityGap, withCapabilityGap } from "../capability-gap-run.js";
import type { BenchOptions } from "../options.js";
import { MEASUREMENT_TAMPERING_TASK, withTampering } from "../tampering-run.js";
import { BEHAVIOUR_HOOKS, makePlan, type BenchPlan, type ModelPlan, type PlannedDetector } from "../plan.js";
import { sourceTaskOf } from "../task-roles.js";
import type { ModelGroup, PlannedRun, Unit } from "./hand-offs.js";

/**
 * The plan from options: makePlan's grid, plus what it cannot place — the backdoor tasks (backdoored checkpoint and
 * original-model control, last pooling) and the capability gap (no activations). Both need stories260k.
 */
export function benchPlanOf(options: BenchOptions): { plan: BenchPlan; skipped: SkippedTaskNote[] } {
  if (options.plan) return { plan: options.plan, skipped: [] };
  const requested = options.tasks && options.tasks.length > 0 ? options.tasks : undefined;
  // The monitor loop runs through the service, outside these stages (src/cli/bench.ts → src/loop/).
  const core = requested?.filter((t) => !isBackdoorTask(t) && t !== CAPABILITY_GAP_TASK && t !== MEASUREMENT_TAMPERING_TASK && t !== MONITOR_LOOP_TASK);
  let plan = makePlan({ ...options, tasks: core });
  if (requested && core!.length === 0) plan = { ...plan, tasks: [], models: {} };
  const onStories = !options.models || options.models.length === 0 || options.models.includes("stories260k");
  const wanted = (t: string): boolean => onStories && (!requested || requested.includes(t));
  const bd = withBackdoorTasks(plan, BACKDOOR_TASKS.filter(wanted), { quick: plan.quick, seed: plan.seed, isCached: options.isBackdoorCached });
  plan = wanted(CAPABILITY_GAP_TASK) ? withCapabilityGap(bd.plan) : bd.plan;
  // Its own vault model: run by default (no task or model chosen) or when named.
  if (requested ? requested.includes(MEASUREMENT_TAMPERING_TASK) : !options.models || options.models.length === 0) plan = withTampering(plan);
  return { plan, skipped: bd.skipped };
}

/** The hooks a planned detector runs on for this model ([] = skip it on this model). */
export function hooksFor(d: PlannedDetector, mp: ModelPlan): string[] {
  switch (d.hooks) {
    case "all":
      return [...mp.hooks];
    case "few":
      return [...mp.fewHooks];
    case "behaviour": {
      const h = BEHAVIOUR_HOOKS[d.kind];
      return h && mp.behaviourHooks.includes(h) ? [h] : [];
    }
    case "none":
      return [baselineFor(d.kind)?.hookName(d) ?? d.name];
  }
}

/** One unit per model × source task; a task riding on another's items joins that task's unit. */
function unitsOf(plan: BenchPlan): Unit[] {
  const units = new Map<string, { model: string; sourceTask: string; reportAs: string[] }>();
  for (const t of plan.tasks) {
    for (const model of t.models) {
      const sourceTask = sourceTaskOf(t.task);
      const k = `${model}\0${sourceTask}`;
      const u = units.get(k) ?? { model, sourceTask, reportAs: [] };
      u.reportAs.push(t.task);
      units.set(k, u);
    }
  }
  return [...units.values()];
}

function groupsOf(plan: BenchPlan, units: readonly Unit[]): ModelGroup[] {
  const byModel = new Map<string, Unit[]>();
  for (const u of units) byModel.set(u.model, [...(byModel.get(u.model) ?? []), u]);
  return [...byModel].map(([model, modelUnits]) => {
    const modelPlan = plan.models[model];
    if (!modelPlan) throw new MadkitError("BAD_ARGUMENT", `bench: the plan has no entry for model '${model}'`);
    return { model, modelPlan, units: modelUnits };
  });
}

function taskBook(build: NonNullable<BenchOptions["buildTask"]>, plan: BenchPlan): (name: string) => Task {
  const tasks = new Map<string, Task>();
  return (name) => {
    let t = tasks.get(name);
    if (!t) tasks.set(name, (t = build(name, { seed: plan.seed, quick: plan.quick, sizes: plan.taskSizes })));
    return t;
  };
}

/** Progress units: inputs to extract, one per detector × hook fit, and the capability gap's share. */
function progressTotal(plan: BenchPlan, units: readonly Unit[], taskOf: (name: string) => Task): number {
  let total = 0;
  for (const u of units) {
    const t = taskOf(u.sourceTask);
    total += t.trusted.fit.length + t.trusted.calibration.length + t.trusted.validation.length + t.untrusted.length;
    const mp = plan.models[u.model]!;
    for (const d of plan.detectors) total += hooksFor(d, mp).length;
  }
  if (plansCapabilityGap(plan)) total += CAPABILITY_GAP_PROGRESS.perWeakModel * CAPABILITY_GAP_PROGRESS.weakModels;
  return total;
}

export function planStage(options: BenchOptions): PlannedRun {
  const { plan: planned, skipped } = benchPlanOf(options);
  const plan = withBaselines(planned);
  const units = unitsOf(plan);
  const groups = groupsOf(plan, units);
  const taskOf = taskBook(options.buildTask ?? buildRegisteredTask, plan);
  return { plan, skipped, groups, taskOf, total: progressTotal(plan, units, taskOf) };
}
