// The report's capability-gap headline: per weak model the best activation score against the best baseline by
// AUROC, behaviour rows never entering however well they separate, and a weak model without an activation score
// (too few trusted positions) still listed with its base rate.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { CapabilityGapRow } from "../../../src/results/contract.js";
import { gapHeadlineTable } from "../../../src/report/capability-gap-section.js";

const row = (weakModel: string, score: string, kind: CapabilityGapRow["kind"], auroc: number, p: number, nCalibration = 40): CapabilityGapRow => ({
  weakModel, score, kind, reads: [], alpha: 0.05, threshold: 1, precision: 0, recall: 0, auroc, precisionAtHalfRecall: p, n: 100, nGap: 25, nBetween: 10, nCalibration,
});

test("the headline pairs the best activation score with the best baseline and ignores behaviour rows", () => {
  const t = gapHeadlineTable([
    row("a", "activation:x", "activation", 0.9, 0.85),
    row("a", "activation:y", "activation", 0.7, 0.9),
    row("a", "baseline:z", "baseline", 0.8, 0.6),
    row("a", "behaviour:leak", "behaviour", 1, 1),
    row("b", "baseline:z", "baseline", 0.6, 0.5, 3),
    row("b", "behaviour:leak", "behaviour", 1, 1, 3),
  ]);
  assert.deepEqual(t.rows[0], ["a", "25 / 100 (0.250)", "activation:x", 0.9, 0.85, "baseline:z", 0.8, 0.6, "yes", "met"]);
  assert.equal(t.rows[1]![0], "b");
  assert.match(String(t.rows[1]![2]), /none: 3 trusted positions/);
  assert.deepEqual(t.rows[1]!.slice(5), ["baseline:z", 0.6, 0.5, "no", "not met"]);
});

test("an activation score above the baseline on AUROC but not on precision at recall 0.5 is not 'above every baseline'", () => {
  const t = gapHeadlineTable([row("a", "activation:x", "activation", 0.9, 0.4), row("a", "baseline:z", "baseline", 0.8, 0.6)]);
  assert.equal(t.rows[0]![8], "no");
});
