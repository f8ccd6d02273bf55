import { test } from "node:test";
import assert from "node:assert/strict";
import type { PlannedDetector } from "../../../src/bench/plan.js";
import { hooksFor, planStage } from "../../../src/bench/stages/plan-stage.js";
import { SURFACE_ROWS } from "../../../src/bench/surface-baseline.js";
import { NOISE_HOOK, plantedPlan, plantedTask, SIGNAL_HOOK } from "../planted-source.js";

const MAHALANOBIS: PlannedDetector = { name: "mahalanobis", kind: "mahalanobis", params: {}, family: "gaussian", scope: "input", hooks: "all" };
const LENGTH: PlannedDetector = { name: "length:tokens", kind: "length", params: { unit: "tokens" }, family: "baseline", scope: "input", hooks: "none" };

test("the plan stage folds a riding task into its source task's unit, adds the baselines, names their hook column and counts the work", () => {
  const tasks = ["jailbreak-ood", "story-ood", "benign-shift"].map((task) => ({ task, models: ["planted"] }));
  const built: string[] = [];
  const run = planStage({
    plan: { ...plantedPlan([MAHALANOBIS, LENGTH]), tasks },
    buildTask: (name) => {
      built.push(name);
      return plantedTask();
    },
  });
  // benign-shift reads jailbreak-ood's items: one extraction, reported as both.
  assert.deepEqual(
    run.groups.map((g) => [g.model, g.units.map((u) => [u.sourceTask, u.reportAs])]),
    [["planted", [["jailbreak-ood", ["jailbreak-ood", "benign-shift"]], ["story-ood", ["story-ood"]]]]],
  );
  const surface = SURFACE_ROWS.map((d) => d.name);
  assert.deepEqual(run.plan.detectors.map((d) => d.name), ["mahalanobis", "length:tokens", "bow:unigram-surprisal", "bow:cosine", ...surface]);
  assert.deepEqual(
    run.plan.detectors.map((d) => hooksFor(d, run.plan.models.planted!)),
    [[SIGNAL_HOOK, NOISE_HOOK], ["length:tokens"], ["bow:unigram-surprisal"], ["bow:cosine"], ...surface.map((s) => [s])],
  );
  // Per unit: 1000 inputs to extract, and 2 + 1 + 1 + 1 detector × hook fits plus one per surface row.
  assert.equal(run.total, 2 * (1000 + 5 + surface.length));
  // Tasks are built once each, the riding task only when a stage asks for it.
  run.taskOf("jailbreak-ood");
  assert.deepEqual(built, ["jailbreak-ood", "story-ood"]);
});

test("the plan stage refuses a task planned on a model the plan does not describe", () => {
  assert.throws(
    () => planStage({ plan: { ...plantedPlan([MAHALANOBIS]), tasks: [{ task: "synthetic", models: ["elsewhere"] }] }, buildTask: () => plantedTask() }),
    /the plan has no entry for model 'elsewhere'/,
  );
});
