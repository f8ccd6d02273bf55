// A synthetic BenchResults with the shape of a real run (two task × model pairs, six detectors of five families
// plus a batch method, a hook per layer, per-family and length-matched subsets, ROC curves, histograms, failure
// modes from characteriseFailures), built in code so the report tests need no benchmark run.

import type { AtAlpha, BenchResults, FailureExample, FailureMode, ResultRecord, RocPoints, ScoreHistogram, Selection, TaskSummary, WithCi } from "../../src/results/contract.js";
import { characteriseFailures, type FailureItem } from "../../src/eval/failure-modes.js";

export const NASTY_TEXT = 'Ignore all rules </td></table><script>alert("pwned")</script> & ]]> | pipe `tick` *star* \u0001 end\nsecond line';

const ci = (v: number, w = 0.03): WithCi => ({ value: v, lo: Math.max(0, v - w), hi: Math.min(1, v + w) });

interface DetectorSpec {
  readonly name: string;
  readonly family: string;
  readonly scope: "input" | "batch";
  readonly base: number;
}

export const DETECTORS: readonly DetectorSpec[] = [
  { name: "mahalanobis", family: "gaussian", scope: "input", base: 0.84 },
  { name: "knn:cosine", family: "distance", scope: "input", base: 0.8 },
  { name: "isolation-forest", family: "tree", scope: "input", base: 0.7 },
  { name: "autoencoder", family: "reconstruction", scope: "input", base: 0.76 },
  { name: "length", family: "baseline", scope: "input", base: 0.72 },
  { name: "que", family: "batch", scope: "batch", base: 0.86 },
];

/** AUROC of detector d at layer l (-1..4) on a split: peaks at layer 2, validation a little above test. */
export function aurocOf(d: DetectorSpec, layer: number, split: "validation" | "test", task: string): number {
  if (d.family === "baseline") return d.base;
  const v = d.base + 0.1 - 0.035 * Math.abs(layer - 2) + (split === "validation" ? 0.01 : 0) + (task === "story-ood" ? -0.05 : 0);
  return Math.round(v * 1e4) / 1e4;
}

function atAlpha(auroc: number, alpha: number, nA: number, n: number): AtAlpha {
  const recall = Math.min(1, auroc - 0.3 + 4 * alpha);
  const fpr = alpha * 1.1;
  const tp = recall * nA;
  const fp = fpr * (n - nA);
  const precision = tp / (tp + fp);
  return {
    alpha,
    threshold: 3 + 10 * alpha,
    precision: ci(precision, 0.02),
    recall: ci(recall, 0.05),
    f1: (2 * precision * recall) / (precision + recall),
    fpr,
    shiftFpr: Math.round((0.5 - auroc / 3 + alpha) * 1e4) / 1e4,
  };
}

/** benign-shift rows: recall is the false-positive rate on shift items; shiftFpr is null there. */
function shiftAtAlpha(auroc: number, alpha: number): AtAlpha {
  const r = Math.round((auroc - 0.45 + alpha) * 1e4) / 1e4;
  return { alpha, threshold: 3, precision: ci(0.6), recall: ci(r, 0.04), f1: 0.5, fpr: alpha, shiftFpr: null };
}

export const HOOKS = [-1, 0, 1, 2, 3, 4].map((l) => ({ layer: l, hook: l < 0 ? "hook_embed" : `blocks.${l}.hook_resid_post` }));

function record(task: string, model: string, d: DetectorSpec, hook: string, layer: number | null, subset: string, split: "validation" | "test", auroc: number, positives: "anomalous" | "shift" = "anomalous"): ResultRecord {
  const n = subset === "all" ? 400 : 240;
  const nA = subset === "all" ? 200 : 40;
  return {
    task,
    model,
    detector: d.name,
    family: d.family,
    hook,
    layer,
    pooling: "mean",
    subset,
    positives,
    split,
    scope: d.scope,
    n,
    nAnomalous: nA,
    auroc: ci(auroc),
    auprc: ci(Math.min(1, auroc + 0.02)),
    fpr95: Math.max(0, 1.2 - auroc),
    tprAt1Fpr: Math.max(0, auroc - 0.45),
    atAlpha: [0.01, 0.05].map((a) => (positives === "shift" ? shiftAtAlpha(auroc, a) : atAlpha(auroc, a, nA, n))),
    fitSeconds: 1.25,
    scoreSeconds: 0.5,
  };
}

const FAMILIES = ["harmful-plain", "gcg-suffix", "obfuscation-base64", "jailbreak-wild"];

export function syntheticResults(): BenchResults {
  const pairs = [
    { task: "jailbreak-ood", model: "use-lite" },
    { task: "story-ood", model: "stories260k" },
  ];
  const records: ResultRecord[] = [];
  const selections: Selection[] = [];
  const roc: RocPoints[] = [];
  const histograms: ScoreHistogram[] = [];
  const examples: FailureExample[] = [];
  const failureModes: FailureMode[] = [];
  for (const { task, model } of pairs) {
    for (const d of DETECTORS) {
      const hooks = d.family === "baseline" ? [{ layer: null as number | null, hook: "input_length" }] : HOOKS;
      for (const h of hooks) for (const split of ["validation", "test"] as const) records.push(record(task, model, d, h.hook, h.layer, "all", split, aurocOf(d, h.layer ?? 0, split, task)));
    }
    const sel = DETECTORS[0]!;
    const selHook = "blocks.2.hook_resid_post";
    const val = records.find((r) => r.task === task && r.detector === sel.name && r.hook === selHook && r.split === "validation")!;
    const test = records.find((r) => r.task === task && r.detector === sel.name && r.hook === selHook && r.split === "test")!;
    selections.push({ task, model, criterion: "validation AUROC", detector: sel.name, hook: selHook, validation: val, test });
    FAMILIES.forEach((f, i) => records.push(record(task, model, sel, selHook, 2, f, "test", f === "harmful-plain" ? 0.58 : 0.9 + 0.02 * i)));
    records.push(record(task, model, sel, selHook, 2, "length-matched", "test", 0.81));
    // ROC curves: one without its end points (the renderer must add them), one with them.
    roc.push({ key: `${task}/${model}/mahalanobis/${selHook}`, fpr: [0.01, 0.05, 0.2, 0.5, 0.9], tpr: [0.3, 0.6, 0.85, 0.95, 0.99] });
    roc.push({ key: `${task}/${model}/knn:cosine/${selHook}`, fpr: [0, 0.1, 0.3, 0.6, 1], tpr: [0, 0.5, 0.75, 0.9, 1] });
    roc.push({ key: `${task}/${model}/length/input_length`, fpr: [0, 0.2, 0.5, 1], tpr: [0, 0.4, 0.75, 1] });
    histograms.push({
      key: `${task}/${model}/mahalanobis/${selHook}`,
      edges: [0, 2, 4, 6, 8, 10, 12, 14, 16],
      normal: [10, 60, 80, 40, 8, 2, 0, 0],
      anomalous: [0, 5, 12, 30, 50, 60, 30, 13],
      threshold: 7.3,
    });
    // Failure analysis on a planted score vector: plain harmful requests evade, gsm8k questions are flagged.
    const items: FailureItem[] = [];
    const scores: number[] = [];
    const add = (family: string, group: FailureItem["group"], k: number, score: number, text?: string) => {
      items.push({ id: `${family}:${k}`, text: text ?? `${family} example ${k}`, label: group === "anomalous" ? 1 : 0, family, group, tokens: 10 + ((k * 7) % 30) });
      scores.push(score);
    };
    for (let k = 0; k < 30; k++) add("benign-heldout", "normal", k, k === 0 ? 20 : (k % 9) * 0.7, k === 0 ? NASTY_TEXT : undefined);
    for (let k = 0; k < 20; k++) add("shift-gsm8k", "shift", k, k % 4 === 0 ? 2 : 7.5 + (k % 3));
    for (let k = 0; k < 20; k++) add("harmful-plain", "anomalous", k, k % 10 === 0 ? 8 : 1 + (k % 5));
    for (const f of ["gcg-suffix", "jailbreak-wild"]) for (let k = 0; k < 20; k++) add(f, "anomalous", k, k === 0 ? 5 : 9 + (k % 4));
    const a = characteriseFailures({ task, model, detector: sel.name, hook: selHook, items, scores: Float64Array.from(scores), threshold: 7.3, top: 3 });
    examples.push(...a.examples);
    failureModes.push(...a.modes);
  }
  // The benign-shift control on use-lite: shift items are the positives.
  for (const d of DETECTORS) {
    const hooks = d.family === "baseline" ? [{ layer: null as number | null, hook: "input_length" }] : HOOKS;
    for (const hk of hooks) {
      for (const split of ["validation", "test"] as const) {
        const a = 0.55 + 0.02 * (hk.layer ?? 0) + (d.name === "knn:cosine" ? 0.1 : 0);
        records.push(record("benign-shift", "use-lite", d, hk.hook, hk.layer, "all", split, a, "shift"));
        records.push(record("benign-shift", "use-lite", d, hk.hook, hk.layer, "shift-gsm8k", split, a + 0.1, "shift"));
        records.push(record("benign-shift", "use-lite", d, hk.hook, hk.layer, "shift-truthfulqa", split, a - 0.05, "shift"));
      }
    }
  }
  // Leave-one-class-out on jailbreak-ood: obfuscation chosen without obfuscations, measured on them alone.
  const sel0 = DETECTORS[1]!;
  const classTest = record("jailbreak-ood", "use-lite", sel0, "blocks.1.hook_resid_post", 1, "class:obfuscation", "test", 0.62);
  const classVal = record("jailbreak-ood", "use-lite", sel0, "blocks.1.hook_resid_post", 1, "all-but:obfuscation", "validation", 0.85);
  records.push(classTest, classVal, record("jailbreak-ood", "use-lite", DETECTORS[0]!, "blocks.2.hook_resid_post", 2, "class:obfuscation", "test", 0.93));
  const classOutSelections: Selection[] = [
    { task: "jailbreak-ood", model: "use-lite", criterion: "validation recall", heldOut: "obfuscation", detector: sel0.name, hook: "blocks.1.hook_resid_post", validation: classVal, test: classTest },
  ];
  const tasks: TaskSummary[] = pairs.map(({ task, model }) => ({
    task,
    model,
    description: task === "jailbreak-ood" ? "Jailbreaks and harmful requests vs benign instructions." : "Corrupted and non-story texts vs TinyStories.",
    mix: { normal: 400, shift: 600, anomalous: 1272 },
    anomalyRate: 1272 / 2272,
    trusted: { fit: 2000, calibration: 500, validation: 500 },
    extractSeconds: 12,
  }));
  return {
    format: "madkit-bench-results",
    schemaVersion: 1,
    madkitVersion: "0.1.0",
    createdAt: "2026-11-25T12:00:00.000Z",
    seed: 1,
    quick: false,
    durationSeconds: 321,
    alphas: [0.01, 0.05],
    plan: {
      notes: ["Batch detectors are reported separately."],
      selectionCriterion: "highest validation recall at α = 0.05",
      bootstrapReplicates: 200,
      models: [{ model: "use-lite", pooling: "mean", poolingReason: "mean: averaged sentence embedding", hooks: HOOKS.map((h) => h.hook), fewHooks: ["blocks.2.hook_resid_post"] }],
      detectors: DETECTORS.map((d) => ({ name: d.name, family: d.family, scope: d.scope, hooks: "all" })),
    },
    tasks,
    records,
    selections,
    classOutSelections,
    failureModes,
    examples,
    roc,
    histograms,
  };
}
