// The review queue's orders, against orders written out here: anomaly = highest detector score first, uncertainty =
// probe score nearest the threshold on the logit scale, mix = the two in turn, random = a seeded sample; items
// the probe already flags are never reviewed.

import assert from "node:assert/strict";
import { test } from "node:test";
import { reviewOrder, type ReviewCandidate } from "../../src/loop/review-policies.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

function candidates(n: number, seed: number): ReviewCandidate[] {
  const rng = new SeededRng(seed);
  return Array.from({ length: n }, (_, i) => ({ combined: i === 3 ? null : rng.normal() * 3, probeScore: rng.uniform(), probeFlagged: i % 5 === 0 }));
}

test("anomaly and uncertainty orders match a sort written here, without probe-flagged items", () => {
  const items = candidates(40, 1);
  const open = items.map((_, i) => i).filter((i) => !items[i]!.probeFlagged);
  const byScore = open.slice().sort((a, b) => (items[b]!.combined ?? Infinity) - (items[a]!.combined ?? Infinity));
  assert.deepEqual(reviewOrder("anomaly", items, 7, 0.3, 0, 0), byScore.slice(0, 7));
  assert.equal(reviewOrder("anomaly", items, 7, 0.3, 0, 0)[0], 3, "a non-finite detector score is the most anomalous");
  const dist = (i: number) => Math.abs(Math.log(items[i]!.probeScore / (1 - items[i]!.probeScore)) - Math.log(0.3 / 0.7));
  const byDoubt = open.slice().sort((a, b) => dist(a) - dist(b));
  assert.deepEqual(reviewOrder("uncertainty", items, 9, 0.3, 0, 0), byDoubt.slice(0, 9));
  for (const policy of ["anomaly", "uncertainty", "mix", "random"] as const) {
    const order = reviewOrder(policy, items, 100, 0.3, 0, 0);
    assert.equal(order.length, open.length, policy);
    assert.equal(new Set(order).size, order.length, policy);
    assert.ok(order.every((i) => !items[i]!.probeFlagged), policy);
  }
});

test("mix alternates the two orders without repeats; random is the same for the same seed and round only", () => {
  const items = candidates(30, 2);
  const a = reviewOrder("anomaly", items, 30, 0.5, 0, 0);
  const u = reviewOrder("uncertainty", items, 30, 0.5, 0, 0);
  const expected: number[] = [];
  for (let k = 0; expected.length < 6; k++) for (const i of [a[k]!, u[k]!]) if (!expected.includes(i) && expected.length < 6) expected.push(i);
  assert.deepEqual(reviewOrder("mix", items, 6, 0.5, 0, 0), expected);
  assert.deepEqual(reviewOrder("random", items, 8, 0.5, 4, 1), reviewOrder("random", items, 8, 0.5, 4, 1));
  assert.notDeepEqual(reviewOrder("random", items, 8, 0.5, 4, 1), reviewOrder("random", items, 8, 0.5, 5, 1));
  assert.notDeepEqual(reviewOrder("random", items, 8, 0.5, 4, 1), reviewOrder("random", items, 8, 0.5, 4, 2));
  assert.throws(() => reviewOrder("oldest" as never, items, 3, 0.5, 0, 0), /unknown review policy 'oldest'/);
  assert.throws(() => reviewOrder("random", items, 2.5, 0.5, 0, 0), /whole number/);
});

test("novelty orders by distance to the labelled set, and refuses candidates without one", () => {
  const items = candidates(20, 3).map((c, i) => ({ ...c, novelty: ((i * 7) % 20) / 20 }));
  const open = items.map((_, i) => i).filter((i) => !items[i]!.probeFlagged);
  const expected = open.slice().sort((a, b) => items[b]!.novelty - items[a]!.novelty).slice(0, 5);
  assert.deepEqual(reviewOrder("novelty", items, 5, 0.5, 0, 0), expected);
  assert.throws(() => reviewOrder("novelty", candidates(5, 3), 2, 0.5, 0, 0), /needs each candidate's novelty/);
});
