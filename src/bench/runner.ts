// `madkit bench` below the CLI: the evaluation benchmark as a pipeline of named stages with typed hand-offs
// (stages/hand-offs.ts) —
//
//   plan → (per model: open it; per unit of that model: extract → fit & score → evaluate → select → analyse)
//        → capability gap → run-wide oracle selection → write
//
// Each stage is a module of src/bench/stages/. The command only parses flags, shows progress and writes files.

import type { BenchResults } from "../results/contract.js";
import type { BenchOptions } from "./options.js";
import { analyseStage } from "./stages/analyse-stage.js";
import { capabilityGapStage } from "./stages/capability-gap-stage.js";
import { evaluateStage } from "./stages/evaluate-stage.js";
import { extractStage, openModelStage } from "./stages/extract-stage.js";
import { fitScoreStage } from "./stages/fit-score-stage.js";
import type { OpenedModel, StageContext, Unit, UnitResults } from "./stages/hand-offs.js";
import { planStage } from "./stages/plan-stage.js";
import { ProgressMeter } from "./stages/progress.js";
import { selectRun, selectStage } from "./stages/select-stage.js";
import { tamperingStage } from "./stages/tampering-stage.js";
import { writeStage } from "./stages/write-stage.js";

export type { BenchOptions, BenchProgress } from "./options.js";
export { benchPlanOf, hooksFor } from "./stages/plan-stage.js";

/** One unit (a model × task) through extract … analyse, while its model is open; only its results are kept. */
async function runUnit(unit: Unit, model: OpenedModel, ctx: StageContext): Promise<UnitResults> {
  const extracted = await extractStage(unit, model, ctx);
  const scored = fitScoreStage(extracted, ctx);
  const evaluated = evaluateStage(extracted, scored, ctx);
  const selected = selectStage(extracted, evaluated, ctx);
  const analysed = await analyseStage(extracted, evaluated, selected, ctx);
  const { records, roc, histograms } = evaluated;
  return {
    summaries: extracted.summaries, records, roc, histograms, classOut: selected.classOut, selections: selected.selections, comparison: selected.comparison,
    failureModes: analysed.failureModes, examples: analysed.examples,
  };
}

export async function runBench(options: BenchOptions = {}): Promise<BenchResults> {
  const started = performance.now();
  const run = planStage(options);
  const ctx: StageContext = { run, progress: new ProgressMeter(run.total, options.onProgress), options };
  const units: UnitResults[] = [];
  for (const group of run.groups) {
    const model = await openModelStage(group, ctx);
    try {
      for (const unit of group.units) units.push(await runUnit(unit, model, ctx));
    } finally {
      await model.source.dispose();
    }
  }
  const gap = capabilityGapStage(ctx);
  const tampering = await tamperingStage(ctx);
  ctx.progress.finish();
  const records = [...units.flatMap((u) => u.records), ...(gap?.records ?? [])];
  const oracle = selectRun(records);
  const results = writeStage({ run, units, records, oracle, gap, madkitVersion: options.madkitVersion, durationSeconds: (performance.now() - started) / 1000 });
  return tampering ? { ...results, tampering } : results;
}
