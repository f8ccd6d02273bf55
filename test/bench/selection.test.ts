import assert from "node:assert/strict";
import { test } from "node:test";
import type { ResultRecord } from "../../src/results/contract.js";
import { selectOnValidation } from "../../src/bench/selection.js";

const ci = (value: number) => ({ value, lo: value, hi: value });

function rec(detector: string, split: "validation" | "test", p: number, r: number, auroc: number, extra: Partial<ResultRecord> = {}): ResultRecord {
  return {
    task: "jailbreak-ood", model: "use-lite", detector, family: "gaussian", hook: "h", layer: 0, pooling: "rootn", subset: "all",
    positives: "anomalous", split, scope: "input", n: 100, nAnomalous: 50, auroc: ci(auroc), auprc: ci(auroc), fpr95: 0, tprAt1Fpr: 0,
    atAlpha: [{ alpha: 0.05, threshold: 1, precision: ci(p), recall: ci(r), f1: p + r > 0 ? (2 * p * r) / (p + r) : 0, fpr: 0, shiftFpr: null }],
    fitSeconds: 0, scoreSeconds: 0, ...extra,
  };
}

test("the choice is made on validation numbers alone and reports that detector's test record", () => {
  const records = [
    rec("a", "validation", 0.95, 0.85, 0.9), rec("a", "test", 0.9, 0.5, 0.7),
    // b is worse on validation but far better on test: it must not be chosen.
    rec("b", "validation", 0.95, 0.8, 0.99), rec("b", "test", 1, 1, 1),
  ];
  const [s] = selectOnValidation(records);
  assert.equal(s!.detector, "a");
  assert.equal(s!.validation.split, "validation");
  assert.equal(s!.test.split, "test");
  assert.equal(s!.test.atAlpha[0]!.recall.value, 0.5);
});

test("precision below 0.90 loses to any candidate above it, whatever its recall", () => {
  const records = [
    rec("high-recall", "validation", 0.89, 1, 0.99), rec("high-recall", "test", 0.89, 1, 0.99),
    rec("precise", "validation", 0.9, 0.3, 0.6), rec("precise", "test", 0.9, 0.3, 0.6),
  ];
  assert.equal(selectOnValidation(records)[0]!.detector, "precise");
});

test("excluded rows (the baselines), batch-scope rows and non-`all` subsets are never chosen", () => {
  const records = [
    rec("length:tokens", "validation", 1, 1, 1, { family: "baseline" }), rec("length:tokens", "test", 1, 1, 1, { family: "baseline" }),
    rec("que", "validation", 1, 1, 1, { scope: "batch" }), rec("que", "test", 1, 1, 1, { scope: "batch" }),
    rec("lm-only", "validation", 1, 1, 1, { subset: "length-matched" }), rec("lm-only", "test", 1, 1, 1, { subset: "length-matched" }),
    rec("mahalanobis", "validation", 0.95, 0.7, 0.9), rec("mahalanobis", "test", 0.95, 0.7, 0.9),
  ];
  const [s] = selectOnValidation(records, (r) => r.family === "baseline");
  assert.equal(s!.detector, "mahalanobis");
});
