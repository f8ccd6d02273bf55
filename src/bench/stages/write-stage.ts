// Stage 7, write: every stage's output gathered into the results.json object, in the contract's shape
// (src/results/contract.ts). writeResults (write-results.ts) puts it on disk; the report reads nothing else.

import { RESULTS_FORMAT, RESULTS_SCHEMA_VERSION, type BenchResults, type ResultRecord, type Selection } from "../../results/contract.js";
import type { CapabilityGapBenchRun } from "../capability-gap-run.js";
import { mechanismMargins } from "../mechanism-margin.js";
import { LABEL_FREE_CRITERION } from "../label-free-selection.js";
import { SELECTION_CRITERION } from "../selection.js";
import type { PlannedRun, UnitResults } from "./hand-offs.js";

export interface RunOutputs {
  readonly run: PlannedRun;
  readonly units: readonly UnitResults[];
  /** Every unit's records, then the capability gap's. */
  readonly records: readonly ResultRecord[];
  /** The validation-labelled choices over every record of the run (the label-free ones come with the units). */
  readonly oracle: readonly Selection[];
  readonly gap: CapabilityGapBenchRun | undefined;
  readonly madkitVersion: string | undefined;
  readonly durationSeconds: number;
}

export function writeStage(o: RunOutputs): BenchResults {
  const { plan, skipped } = o.run;
  const selections = o.units.flatMap((u) => u.selections);
  return {
    format: RESULTS_FORMAT,
    schemaVersion: RESULTS_SCHEMA_VERSION,
    madkitVersion: o.madkitVersion ?? "unknown",
    createdAt: new Date().toISOString(),
    seed: plan.seed,
    quick: plan.quick,
    durationSeconds: Math.round(o.durationSeconds * 10) / 10,
    alphas: plan.alphas,
    plan: {
      notes: plan.notes,
      selectionCriterion: LABEL_FREE_CRITERION,
      oracleCriterion: SELECTION_CRITERION,
      bootstrapReplicates: plan.bootstrapReplicates,
      models: Object.values(plan.models).map((m) => ({ model: m.model, pooling: m.pooling, poolingReason: m.poolingReason, hooks: m.hooks, fewHooks: m.fewHooks })),
      detectors: plan.detectors.map((d) => ({ name: d.name, family: d.family, scope: d.scope, hooks: d.hooks })),
    },
    tasks: o.units.flatMap((u) => u.summaries),
    records: o.records,
    selections,
    oracleSelections: o.oracle,
    selectionComparison: o.units.flatMap((u) => u.comparison),
    mechanismMargins: mechanismMargins(o.records, selections),
    classOutSelections: o.units.flatMap((u) => u.classOut),
    failureModes: o.units.flatMap((u) => u.failureModes),
    examples: o.units.flatMap((u) => u.examples),
    roc: o.units.flatMap((u) => u.roc),
    histograms: o.units.flatMap((u) => u.histograms),
    ...(skipped.length > 0 ? { skipped } : {}),
    ...(o.gap ? { capabilityGap: o.gap.summary } : {}),
  };
}
