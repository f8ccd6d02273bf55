import { test } from "node:test";
import assert from "node:assert/strict";
import { auroc, averagePrecision, fprAtTpr, rocCurve, tprAtFpr } from "../../src/eval/ranking-metrics.js";
import { calibrateThreshold, metricsAtThreshold } from "../../src/eval/threshold-metrics.js";
import { requirePython, runPython } from "../helpers/python.js";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Scores rounded to a coarse grid so ties are common. */
function sample(n: number, seed: number): { scores: Float64Array; labels: Uint8Array } {
  const r = lcg(seed);
  const scores = new Float64Array(n);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = r() < 0.3 ? 1 : 0;
    scores[i] = Math.round((r() + labels[i]! * 0.4) * 20) / 20;
  }
  return { scores, labels };
}

test("auroc equals the brute-force pairwise probability with ties counted as one half", () => {
  for (const seed of [1, 2, 3]) {
    const { scores, labels } = sample(300, seed);
    let wins = 0, pairs = 0;
    for (let i = 0; i < scores.length; i++) {
      if (!labels[i]) continue;
      for (let j = 0; j < scores.length; j++) {
        if (labels[j]) continue;
        pairs++;
        wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
      }
    }
    assert.ok(Math.abs(auroc(scores, labels) - wins / pairs) < 1e-12);
  }
});

test("auroc is 1 for perfect separation, 0 for reversed and 0.5 for all ties", () => {
  const labels = [0, 0, 1, 1];
  assert.equal(auroc([1, 2, 3, 4], labels), 1);
  assert.equal(auroc([4, 3, 2, 1], labels), 0);
  assert.equal(auroc([7, 7, 7, 7], labels), 0.5);
});

test("the ROC curve runs from (0,0) to (1,1) and its trapezoid area equals auroc", () => {
  const { scores, labels } = sample(500, 9);
  const roc = rocCurve(scores, labels);
  assert.equal(roc.fpr[0], 0);
  assert.equal(roc.tpr[roc.tpr.length - 1], 1);
  let area = 0;
  for (let i = 1; i < roc.fpr.length; i++) area += ((roc.fpr[i]! - roc.fpr[i - 1]!) * (roc.tpr[i]! + roc.tpr[i - 1]!)) / 2;
  assert.ok(Math.abs(area - auroc(scores, labels)) < 1e-12);
});

test("ranking metrics equal scikit-learn's on the same tied scores", (t) => {
  const { python, skip } = requirePython(["numpy", "sklearn"]);
  if (!python) return t.skip(skip);
  const { scores, labels } = sample(400, 5);
  const out = runPython(
    python,
    `import json,sys
from sklearn.metrics import roc_auc_score, average_precision_score, roc_curve
d=json.loads(sys.argv[1])
s,l=d["s"],d["l"]
fpr,tpr,_=roc_curve(l,s)
f95=min(f for f,t in zip(fpr,tpr) if t>=0.95)
t01=max(t for f,t in zip(fpr,tpr) if f<=0.01)
print(json.dumps([roc_auc_score(l,s),average_precision_score(l,s),f95,t01]))`,
    [JSON.stringify({ s: Array.from(scores), l: Array.from(labels) })],
  );
  const [skAuc, skAp, skF95, skT01] = JSON.parse(out) as number[];
  assert.ok(Math.abs(auroc(scores, labels) - skAuc!) < 1e-12);
  assert.ok(Math.abs(averagePrecision(scores, labels) - skAp!) < 1e-12);
  assert.ok(Math.abs(fprAtTpr(scores, labels, 0.95) - skF95!) < 1e-12);
  assert.ok(Math.abs(tprAtFpr(scores, labels, 0.01) - skT01!) < 1e-12);
});

test("a threshold calibrated at alpha flags at most alpha of the calibration scores", () => {
  const r = lcg(11);
  const cal = Float64Array.from({ length: 999 }, () => r());
  for (const alpha of [0.01, 0.05, 0.2]) {
    const thr = calibrateThreshold(cal, alpha);
    const above = cal.filter((s) => s > thr).length;
    assert.ok(above <= Math.floor(alpha * (cal.length + 1)), `alpha ${alpha}: ${above} above`);
    assert.ok(above >= Math.floor(alpha * cal.length) - 1, `alpha ${alpha}: only ${above} above, threshold too loose`);
  }
  assert.equal(calibrateThreshold([1, 2, 3], 0.01), Infinity);
});

test("metrics at a threshold count the confusion matrix by hand", () => {
  const m = metricsAtThreshold([0.1, 0.6, 0.7, 0.2, 0.9], [0, 0, 1, 1, 1], 0.5);
  assert.deepEqual([m.tp, m.fp, m.tn, m.fn], [2, 1, 1, 1]);
  assert.equal(m.precision, 2 / 3);
  assert.equal(m.recall, 2 / 3);
  assert.equal(m.fpr, 0.5);
});
