// Stage 2, extract: open each model (a backdoor task's checkpoint is trained and measured first), then per unit
// check the tasks riding on its items, lay its texts out, and extract (or reuse from the cache) pooled activations
// at every hook the planned detectors read; the unit's task summaries come with them.

import { config } from "../../config.js";
import { MadkitError } from "../../errors.js";
import { loadModel as loadRegisteredModel } from "../../models/registry.js";
import type { BackdoorSummary, TaskSummary } from "../../results/contract.js";
import type { Task } from "../../tasks/task.js";
import { openBackdoorModel } from "../backdoor-run.js";
import { extractForBench } from "../extraction.js";
import { checkRidesInside, evaluatedRate } from "../task-roles.js";
import type { ExtractedUnit, ModelGroup, OpenedModel, StageContext, Unit } from "./hand-offs.js";
import { layoutOf, layoutTexts } from "./layout.js";
import { hooksFor } from "./plan-stage.js";

/** Open a group's model; the caller disposes of `source` when the group is done. */
export async function openModelStage(group: ModelGroup, { run, progress, options }: StageContext): Promise<OpenedModel> {
  const loadModel = options.loadModel ?? ((name: string) => loadRegisteredModel(name));
  const backdoor = await openBackdoorModel(
    group.model,
    group.units.map((u) => u.sourceTask),
    { taskOf: run.taskOf, loadModel, hooks: options.backdoor ?? {}, quick: run.plan.quick, onProgress: (label) => progress.report("train", label) },
  );
  const source = backdoor?.source ?? (await loadModel(group.model));
  return {
    model: group.model,
    modelPlan: group.modelPlan,
    source,
    layerOf: new Map(source.hooks().map((h) => [h.name, h.layer] as const)),
    backdoor: backdoor?.facts ?? new Map(),
  };
}

/** The representation hooks the planned detectors read on this model, in the model's hook order. */
function neededHooks(opened: OpenedModel, ctx: StageContext): string[] {
  const needed = new Set<string>();
  for (const d of ctx.run.plan.detectors) if (d.hooks !== "none") for (const h of hooksFor(d, opened.modelPlan)) needed.add(h);
  const hooks = opened.source.hooks().map((h) => h.name).filter((h) => needed.has(h));
  for (const h of needed) if (!opened.layerOf.has(h)) throw new MadkitError("UNKNOWN_HOOK", `bench: model '${opened.model}' has no hook '${h}'`);
  return hooks;
}

function taskSummary(reportAs: string, model: string, t: Task, extractSeconds: number, backdoor: BackdoorSummary | undefined): TaskSummary {
  return {
    task: reportAs,
    model,
    description: t.description,
    mix: { ...t.mix.untrusted.byFamily },
    anomalyRate: evaluatedRate(reportAs, t.mix.untrusted),
    trusted: t.mix.trusted,
    extractSeconds: Math.round(extractSeconds * 1000) / 1000,
    ...(backdoor ? { backdoor } : {}),
  };
}

export async function extractStage(unit: Unit, opened: OpenedModel, ctx: StageContext): Promise<ExtractedUnit> {
  const { run, progress } = ctx;
  const task = run.taskOf(unit.sourceTask);
  for (const r of unit.reportAs) if (r !== unit.sourceTask) checkRidesInside(run.taskOf(r), task);
  const texts = layoutTexts(task);
  const hooks = neededHooks(opened, ctx);
  const doneBefore = progress.done;
  const activations = await extractForBench({
    source: opened.source,
    texts,
    hooks,
    pooling: opened.modelPlan.pooling,
    cacheDir: ctx.options.cacheDir ?? config.cacheDir,
    onProgress: (k) => {
      progress.done = doneBefore + k;
      progress.report("extract", `${unit.sourceTask} × ${unit.model}: activations ${k}/${texts.length}`);
    },
  });
  const summaries = unit.reportAs.map((r) => taskSummary(r, unit.model, run.taskOf(r), activations.seconds, opened.backdoor.get(r)));
  return { unit, model: opened, task, layout: layoutOf(task), texts, activations, summaries };
}
