// The hook combiners against hand computation: z-scores from the held-out mean and sample std, max / mean / sum
// of them, and Fisher's −2 Σ log p over brute-force conformal p-values.

import assert from "node:assert/strict";
import { test } from "node:test";
import { combineScores, HookNormaliser, parseCombiner } from "../../src/bundle/combine.js";
import { isMadkitError } from "../../src/errors.js";

const heldA = [1, 2, 3, 4, 5]; // mean 3, sample std √2.5
const heldB = [10, 10, 20, 40]; // mean 20, sample std √200
const a = [3, 8, 0];
const b = [20, 10, 60];
const zA = a.map((s) => (s - 3) / Math.sqrt(2.5));
const zB = b.map((s) => (s - 20) / Math.sqrt(200));
const norms = [HookNormaliser.of(heldA, "A"), HookNormaliser.of(heldB, "B")];

test("a hook normaliser holds the held-out mean and sample standard deviation (1 when the scores are constant)", () => {
  assert.equal(norms[0]!.mean, 3);
  assert.ok(Math.abs(norms[0]!.std - Math.sqrt(2.5)) < 1e-15);
  assert.equal(HookNormaliser.of([4, 4, 4], "C").std, 1);
  assert.equal(HookNormaliser.of([4], "C").z(6), 2);
});

test("max, mean and sum combine the hooks' z-scores exactly as computed by hand", () => {
  const close = (got: Float64Array, want: number[]) => want.forEach((w, i) => assert.ok(Math.abs(got[i]! - w) < 1e-12, `row ${i}: ${got[i]} vs ${w}`));
  close(combineScores("max", [a, b], norms), a.map((_, i) => Math.max(zA[i]!, zB[i]!)));
  close(combineScores("mean", [a, b], norms), a.map((_, i) => (zA[i]! + zB[i]!) / 2));
  close(combineScores("sum", [a, b], norms), a.map((_, i) => zA[i]! + zB[i]!));
});

test("fisher combines −2 Σ log p with p = (1 + #{held-out ≥ s}) / (n + 1) counted by brute force", () => {
  const p = (held: number[], s: number) => (1 + held.filter((v) => v >= s).length) / (held.length + 1);
  const got = combineScores("fisher", [a, b], norms);
  a.forEach((_, i) => assert.ok(Math.abs(got[i]! - -2 * (Math.log(p(heldA, a[i]!)) + Math.log(p(heldB, b[i]!)))) < 1e-12));
});

test("mismatched hook counts or row counts and unknown combiner names raise clear errors", () => {
  assert.throws(() => combineScores("max", [a], norms), (e: unknown) => isMadkitError(e) && e.code === "DIMENSION_MISMATCH");
  assert.throws(() => combineScores("max", [a, [1, 2]], norms), (e: unknown) => isMadkitError(e) && /different numbers of rows/.test(e.message));
  assert.throws(() => parseCombiner("median"), (e: unknown) => isMadkitError(e) && /max, mean, sum, fisher/.test(e.message));
});
