import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { PlannedDetector } from "../../src/bench/plan.js";
import type { BenchResults, ResultRecord } from "../../src/results/contract.js";
import { runBench } from "../../src/bench/runner.js";
import { createDetector } from "../../src/detectors/registry.js";
import { calibrateThreshold } from "../../src/eval/threshold-metrics.js";
import { matrix } from "../../src/linalg/matrix.js";
import { NOISE_HOOK, plantedActivation, PlantedSource, plantedPlan, plantedTask, SIGNAL_HOOK, DIM } from "./planted-source.js";

const MAHALANOBIS: PlannedDetector = { name: "mahalanobis", kind: "mahalanobis", params: {}, family: "gaussian", scope: "input", hooks: "all" };
const LENGTH: PlannedDetector = { name: "length:tokens", kind: "length", params: { unit: "tokens" }, family: "baseline", scope: "input", hooks: "none" };
const QUE: PlannedDetector = { name: "que", kind: "que", params: {}, family: "batch", scope: "batch", hooks: "few" };

async function run(cacheDir: string, options: { flipLabels?: boolean; source?: PlantedSource } = {}): Promise<BenchResults> {
  const source = options.source ?? new PlantedSource();
  return runBench({
    plan: plantedPlan([MAHALANOBIS, LENGTH, QUE]),
    cacheDir,
    loadModel: async () => source,
    buildTask: () => plantedTask({ flipLabels: options.flipLabels }),
  });
}

function find(r: BenchResults, detector: string, hook: string, split = "test", subset = "all"): ResultRecord {
  const x = r.records.find((q) => q.detector === detector && q.hook === hook && q.split === split && q.subset === subset);
  assert.ok(x, `no record ${detector} @ ${hook} ${split} ${subset}`);
  return x;
}

/** results.json without the fields that measure time. */
function withoutTiming(r: BenchResults): unknown {
  return JSON.parse(
    JSON.stringify(r, (k, v: unknown) => (["createdAt", "durationSeconds", "fitSeconds", "scoreSeconds", "extractSeconds"].includes(k) ? undefined : v)),
  );
}

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), "madkit-bench-"));

test("mahalanobis finds planted anomalies (AUROC ≈ 1) and a hook without signal scores at chance (≈ 0.5)", async () => {
  const dir = tmp();
  try {
    const r = await run(dir);
    assert.ok(find(r, "mahalanobis", SIGNAL_HOOK).auroc.value > 0.99);
    const noise = find(r, "mahalanobis", NOISE_HOOK).auroc.value;
    assert.ok(Math.abs(noise - 0.5) < 0.1, `noise-hook AUROC ${noise}`);
    // Every subset, split and the combiners are there; families each get a row.
    for (const subset of ["all", "planted-a", "planted-b", "length-matched"]) find(r, "mahalanobis", SIGNAL_HOOK, "validation", subset);
    assert.ok(find(r, "mahalanobis", "combined:max").auroc.value > 0.95);
    assert.equal(find(r, "que", SIGNAL_HOOK).scope, "batch");
    // Length carries no signal here (every text is 4 words): the baseline sits at chance.
    assert.ok(Math.abs(find(r, "length:tokens", "length:tokens").auroc.value - 0.5) < 1e-9);
    // The selection is chosen on validation and reported on test, never the length baseline.
    const sel = r.selections.find((s) => s.task === "synthetic")!;
    assert.equal(sel.validation.split, "validation");
    assert.equal(sel.test.split, "test");
    assert.notEqual(sel.detector, "length:tokens");
    assert.ok(sel.test.atAlpha.find((a) => a.alpha === 0.05)!.recall.value > 0.9);
    // Leave-one-attack-class-out: one selection per class, chosen without it, tested on it alone.
    assert.deepEqual(r.classOutSelections.map((s) => [s.heldOut, s.validation.subset, s.test.subset, s.test.nAnomalous]), [
      ["planted-a", "all-but:planted-a", "class:planted-a", 75],
      ["planted-b", "all-but:planted-b", "class:planted-b", 75],
    ]);
    assert.equal(r.classOutSelections[0]!.validation.nAnomalous, 75);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("thresholds are the conformal quantile of trusted calibration scores and do not move when untrusted labels change", async () => {
  const dir = tmp();
  try {
    const a = await run(dir);
    const b = await run(dir, { flipLabels: true });
    const thresholds = (r: BenchResults): Map<string, (number | null)[]> =>
      new Map(r.records.filter((x) => x.subset === "all").map((x) => [`${x.detector}/${x.hook}/${x.split}`, x.atAlpha.map((q) => q.threshold)] as const));
    const ta = thresholds(a);
    const tb = thresholds(b);
    assert.ok(ta.size > 5);
    for (const [k, v] of ta) assert.deepEqual(tb.get(k), v, k);
    // Independent recomputation: fit on the fit rows, quantile of the calibration rows' scores.
    const task = plantedTask();
    const rows = (recs: readonly { text: string }[]) => {
      const d = new Float32Array(recs.length * DIM);
      recs.forEach((x, i) => d.set(plantedActivation(x.text, SIGNAL_HOOK), i * DIM));
      return matrix(recs.length, DIM, d);
    };
    const fitted = createDetector("mahalanobis").fit(rows(task.trusted.fit));
    const cal = fitted.score(rows(task.trusted.calibration));
    const got = find(a, "mahalanobis", SIGNAL_HOOK).atAlpha;
    assert.ok(Math.abs(got[1]!.threshold! - calibrateThreshold(cal, 0.05)) < 1e-9 * Math.max(1, Math.abs(got[1]!.threshold!)));
    assert.ok(Math.abs(got[0]!.threshold! - calibrateThreshold(cal, 0.01)) < 1e-9 * Math.max(1, Math.abs(got[0]!.threshold!)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the same seed gives the same results minus timing, and a rerun reads the activation cache instead of the model", async () => {
  const dir = tmp();
  try {
    const first = new PlantedSource();
    const a = await run(dir, { source: first });
    assert.ok(first.forwardCalls > 0);
    const second = new PlantedSource();
    const b = await run(dir, { source: second });
    assert.equal(second.forwardCalls, 0);
    assert.deepEqual(withoutTiming(b), withoutTiming(a));
    const other = tmp();
    try {
      // A fresh cache (the model runs again) gives the same numbers too.
      assert.deepEqual(withoutTiming(await run(other)), withoutTiming(a));
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
