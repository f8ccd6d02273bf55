// The activation score on a constructed pair whose answer is known: the strong model's state is a linear function
// of the weak model's plus, at gap positions only, a component the weak state does not carry. And the guard on
// what a detector may read: a score that restates the label (the label plus noise) separates perfectly, yet is
// classed as behaviour, refused as an activation detector and left out of the headline comparison.

import { test } from "node:test";
import assert from "node:assert/strict";
import { auroc } from "../../../src/eval/ranking-metrics.js";
import { matrix } from "../../../src/linalg/matrix.js";
import { SeededRng } from "../../../src/random/seeded-rng.js";
import { GAP_SCORE_SPECS } from "../../../src/tasks/gap/gap-scores.js";
import { excessLossLabel, GAP_MARGIN_NATS, medianOf } from "../../../src/tasks/gap/excess-loss-label.js";
import { precisionAtRecall } from "../../../src/tasks/gap/precision-at-recall.js";
import { fitResidualScorer, residualScores } from "../../../src/tasks/gap/residual-score.js";
import { requireActivationScore, scoreKind, type GapScoreSpec } from "../../../src/tasks/gap/score-kinds.js";
import { gapHeadlineTable } from "../../../src/report/capability-gap-section.js";
import type { CapabilityGapRow } from "../../../src/results/contract.js";

/** n positions: weak state x (dx), strong state y = A·x + noise, plus `shift` along a hidden direction where gap = 1. */
function constructedPair(seed: number, n: number, gapShare: number, shift: number) {
  const rng = new SeededRng(seed);
  const [dx, dy] = [12, 8];
  const a = rng.fillNormal(new Float64Array(dx * dy)) as Float64Array;
  const hidden = rng.fillNormal(new Float64Array(dy)) as Float64Array;
  const x = rng.fillNormal(new Float64Array(n * dx)) as Float64Array;
  const y = rng.fillNormal(new Float64Array(n * dy), 0.3) as Float64Array;
  const gap = Uint8Array.from({ length: n }, () => (rng.uniform() < gapShare ? 1 : 0));
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < dy; k++) {
      for (let j = 0; j < dx; j++) y[i * dy + k]! += x[i * dx + j]! * a[j * dy + k]!;
      // The extra component's size varies, as a real gap's would; it is independent of x.
      if (gap[i]) y[i * dy + k]! += shift * (0.5 + rng.uniform()) * hidden[k]!;
    }
  }
  return { x: matrix(n, dx, x), y: matrix(n, dy, y), gap, dx, dy };
}

test("on a constructed pair the ridge residual separates gap positions (AUROC ≥ 0.95) and precision at recall 0.5 ≥ 0.9", () => {
  const trusted = constructedPair(1, 300, 0, 2);
  const scorer = fitResidualScorer(trusted.x, trusted.y);
  const ev = constructedPair(1, 600, 0.3, 2);
  // The same A and hidden direction: same seed, so the first draws match; regenerate evaluation rows on top.
  const s = residualScores(scorer, ev.x, ev.y);
  assert.ok(auroc(s, ev.gap) >= 0.95, `AUROC ${auroc(s, ev.gap)}`);
  assert.ok(precisionAtRecall(s, ev.gap, 0.5) >= 0.9);
  // Without the shift the same score is at chance: it finds the planted component, not something else.
  const null0 = constructedPair(1, 600, 0.3, 0);
  const a0 = auroc(residualScores(scorer, null0.x, null0.y), null0.gap);
  assert.ok(Math.abs(a0 - 0.5) < 0.08, `AUROC without a gap component ${a0}`);
});

test("a score that restates the label separates perfectly but is behaviour: refused as a detector and kept out of the headline", () => {
  const rng = new SeededRng(9);
  const labels = Uint8Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const leak = Float64Array.from(labels, (l) => l + 0.01 * rng.uniform());
  assert.equal(auroc(leak, labels), 1);
  const leakSpec: GapScoreSpec = { name: "activation:label-plus-noise", reads: ["prefix-activations", "label-losses"] };
  assert.equal(scoreKind(leakSpec), "behaviour");
  assert.throws(() => requireActivationScore(leakSpec), /offered as an activation detector but reads prefix-activations, label-losses/);
  const row = (score: string, kind: CapabilityGapRow["kind"], a: number, p: number): CapabilityGapRow => ({
    weakModel: "w", score, kind, reads: [], alpha: 0.05, threshold: 0, precision: 0, recall: 0, auroc: a, precisionAtHalfRecall: p, n: 200, nGap: 67, nCalibration: 50,
  });
  const t = gapHeadlineTable([
    row(leakSpec.name, scoreKind(leakSpec), auroc(leak, labels), precisionAtRecall(leak, labels, 0.5)),
    row("activation:ridge-residual", "activation", 0.7, 0.6),
    row("baseline:weak-entropy", "baseline", 0.65, 0.5),
  ]);
  assert.deepEqual([t.rows[0]![2], t.rows[0]![5], t.rows[0]![8]], ["activation:ridge-residual", "baseline:weak-entropy", "yes"]);
});

test("every shipped score's kind is what its name says, and only activation scores read activations alone", () => {
  for (const spec of GAP_SCORE_SPECS) assert.equal(scoreKind(spec), spec.name.split(":")[0], spec.name);
  assert.throws(() => scoreKind({ name: "x", reads: [] }), /expected at least one input/);
  assert.throws(() => scoreKind({ name: "x", reads: ["logits" as never] }), /unknown input 'logits'/);
});

test("precision at recall equals a brute-force count over every cut, ties taken whole", () => {
  const rng = new SeededRng(4);
  for (let trial = 0; trial < 20; trial++) {
    const n = 30;
    const s = Float64Array.from({ length: n }, () => Math.round(rng.uniform() * 8));
    const l = Uint8Array.from({ length: n }, () => (rng.uniform() < 0.4 ? 1 : 0));
    const pos = l.reduce((a, b) => a + b, 0);
    if (pos === 0 || pos === n) continue;
    // Brute force: thresholds from high to low, flag score ≥ t; the first whose recall reaches 0.5.
    let expected = NaN;
    for (const t of [...new Set(s)].sort((a, b) => b - a)) {
      let tp = 0, k = 0;
      for (let i = 0; i < n; i++) if (s[i]! >= t) { k++; tp += l[i]!; }
      if (tp >= Math.ceil(0.5 * pos)) { expected = tp / k; break; }
    }
    assert.equal(precisionAtRecall(s, l, 0.5), expected);
  }
});

test("the label: gap above the typical excess plus ln 10, no gap at or below it, the band between left out", () => {
  const typical = medianOf([1, 5, 2, NaN, 4, 3]);
  assert.equal(typical, 3);
  assert.equal(excessLossLabel(typical + GAP_MARGIN_NATS + 1e-9, typical), 1);
  assert.equal(excessLossLabel(typical + GAP_MARGIN_NATS - 1e-9, typical), null);
  assert.equal(excessLossLabel(typical, typical), 0);
  assert.equal(excessLossLabel(NaN, typical), null);
});
