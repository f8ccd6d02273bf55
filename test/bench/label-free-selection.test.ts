// The label-free selection: the pool-vs-trusted AUROC equals the labelled Mann-Whitney AUROC computed independently,
// obeys the positive-unlabelled identity AUROC(pool vs trusted) = π·AUROC(anomalous vs normal) + (1 − π)/2 on
// simulated scores, picks the candidate that separates anomalies over one that does not, and in a benchmark run
// chooses the same detector × hook whatever the untrusted labels say (the oracle's choice is read off them).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { chooseLabelFree } from "../../src/bench/label-free-selection.js";
import type { Candidate } from "../../src/bench/leave-class-out.js";
import type { PlannedDetector } from "../../src/bench/plan.js";
import { runBench } from "../../src/bench/runner.js";
import { precisionAtRate } from "../../src/eval/base-rate.js";
import { auroc, twoSampleAuroc } from "../../src/eval/ranking-metrics.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { PlantedSource, plantedPlan, plantedTask, SIGNAL_HOOK } from "./planted-source.js";

const gauss = (rng: SeededRng, n: number, mean = 0): Float64Array => Float64Array.from({ length: n }, () => mean + rng.normal());

test("twoSampleAuroc equals the labelled AUROC of the concatenation, with ties; +Infinity outranks; NaN gives NaN", () => {
  const rng = new SeededRng(2);
  const pool = Float64Array.from({ length: 57 }, () => Math.round(rng.normal() * 3) / 3 + 0.4);
  const trusted = Float64Array.from({ length: 41 }, () => Math.round(rng.normal() * 3) / 3);
  const labels = Uint8Array.from([...pool].map(() => 1).concat([...trusted].map(() => 0)));
  assert.ok(Math.abs(twoSampleAuroc(pool, trusted) - auroc(Float64Array.from([...pool, ...trusted]), labels)) < 1e-12);
  assert.equal(twoSampleAuroc([Infinity, Infinity], [1, 2, 3]), 1);
  assert.equal(twoSampleAuroc([Infinity], [Infinity]), 0.5);
  assert.ok(Number.isNaN(twoSampleAuroc([NaN, 1], [0])));
  assert.ok(Number.isNaN(twoSampleAuroc([], [0])));
});

test("on simulated scores the pool AUROC is π·AUROC(anomalous vs normal) + (1 − π)/2", () => {
  const rng = new SeededRng(7);
  const shift = 1.2;
  for (const pi of [0.1, 0.3, 0.7]) {
    const n = 20000;
    const nA = Math.round(pi * n);
    const pool = Float64Array.from([...gauss(rng, nA, shift), ...gauss(rng, n - nA)]);
    const trusted = gauss(rng, n);
    const separation = twoSampleAuroc(gauss(rng, n, shift), gauss(rng, n));
    const expected = pi * separation + (1 - pi) / 2;
    assert.ok(Math.abs(twoSampleAuroc(pool, trusted) - expected) < 0.01, `π = ${pi}: ${twoSampleAuroc(pool, trusted)} vs ${expected}`);
  }
});

function candidate(detector: string, validation: Float64Array, trusted: Float64Array): Candidate {
  return {
    id: { task: "t", model: "m", detector, family: "gaussian", hook: "h", layer: 0, pooling: "last", scope: "input", positives: "anomalous", fitSeconds: 0, scoreSeconds: 0 },
    scores: { validation, test: validation },
    thresholds: [],
    trusted,
    calibration: trusted,
  };
}

test("chooseLabelFree prefers the candidate whose pool stands out from the trusted scores, skips one with NaN", () => {
  const rng = new SeededRng(9);
  // The pool: 30 anomalies then 70 normal items; the "useful" detector shifts the anomalies, the "blind" one does not.
  const useful = Float64Array.from([...gauss(rng, 30, 2), ...gauss(rng, 70)]);
  const blind = gauss(rng, 100);
  const broken = Float64Array.from([NaN, ...gauss(rng, 99, 5)]);
  const choice = chooseLabelFree([candidate("blind", blind, gauss(rng, 60)), candidate("broken", broken, gauss(rng, 60)), candidate("useful", useful, gauss(rng, 60))]);
  assert.equal(choice?.candidate.id.detector, "useful");
  assert.ok(choice!.poolAuroc > 0.6);
  assert.equal(chooseLabelFree([candidate("broken", broken, gauss(rng, 60))]), undefined);
});

const DETECTORS: PlannedDetector[] = [
  { name: "mahalanobis", kind: "mahalanobis", params: {}, family: "gaussian", scope: "input", hooks: "all" },
  { name: "knn", kind: "knn", params: { k: 5 }, family: "distance", scope: "input", hooks: "all" },
];

test("in a benchmark run the headline is chosen without labels: flipping every untrusted label leaves it unchanged", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "madkit-label-free-"));
  try {
    const run = (flipLabels: boolean) => runBench({ plan: plantedPlan(DETECTORS), cacheDir: dir, loadModel: async () => new PlantedSource(), buildTask: () => plantedTask({ flipLabels }) });
    const a = await run(false);
    const b = await run(true);
    const pick = (r: typeof a) => r.selections.map((s) => [s.task, s.model, s.detector, s.hook, s.criterion]);
    assert.deepEqual(pick(b), pick(a));
    assert.equal(a.selections[0]!.hook === SIGNAL_HOOK || a.selections[0]!.hook.startsWith("combined:"), true, `chose ${a.selections[0]!.hook}`);
    assert.match(a.plan.selectionCriterion, /^label-free/);
    // The comparison row reads the same records: label-free and oracle test AUROCs, and the recovered share.
    const c = a.selectionComparison![0]!;
    const o = a.oracleSelections!.find((s) => s.task === c.task && s.model === c.model)!;
    assert.deepEqual(c.oracle?.test, o.test.auroc);
    assert.deepEqual(c.labelFree.test, a.selections[0]!.test.auroc);
    assert.ok(Math.abs(c.recovered! - c.labelFree.test.value / o.test.auroc.value) < 1e-6);
    assert.deepEqual(a.mechanismMargins!.map((m) => m.selected.detector), a.selections.map((s) => s.detector));
    // Precision at anomaly rates: the point estimates agree with the test record at α = 0.05 (another code path)
    // and with the closed form of the reweighted mix.
    const br = a.selections[0]!.atBaseRates!;
    const at = a.selections[0]!.test.atAlpha.find((q) => q.alpha === 0.05)!;
    assert.ok(Math.abs(br.recall.value - at.recall.value) < 1e-6);
    assert.ok(Math.abs(br.threshold - at.threshold!) < 1e-9 * Math.max(1, Math.abs(br.threshold)));
    assert.deepEqual(br.precision.map((p) => p.rate), [0.01, 0.05, 0.2]);
    for (const p of br.precision) assert.ok(Math.abs(p.value - precisionAtRate(br.recall.value, br.fpr.value, p.rate)) < 1e-5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
