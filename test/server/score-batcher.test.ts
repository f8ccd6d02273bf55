// The score batcher: inputs queued in one event-loop turn are scored in one detector call, each caller gets
// its own inputs' results in order, and a failing input fails only its own request.

import assert from "node:assert/strict";
import { test } from "node:test";
import { MonitorMetrics } from "../../src/server/metrics.js";
import { ScoreBatcher } from "../../src/server/score-batcher.js";
import { MonitorScorer } from "../../src/server/scorer.js";
import type { ItemActivations } from "../../src/server/storage.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { HOOKS, standInBundle } from "./fixture.js";

function input(rng: SeededRng, shift = 0): ItemActivations {
  return Object.fromEntries(HOOKS.map((h) => [h.name, Float32Array.from({ length: h.dim }, () => rng.normal() + shift)]));
}

test("requests queued in the same turn share one detector call and each gets its own results, in order", async () => {
  const bundle = standInBundle();
  const scorer = new MonitorScorer(bundle, 0.05, new MonitorMetrics());
  const batcher = new ScoreBatcher(scorer);
  const rng = new SeededRng(4);
  const requests = [[input(rng)], [input(rng, 6), input(rng)], [input(rng, 0.5)]];
  const answers = await Promise.all(requests.map((inputs) => batcher.score(inputs, inputs.map(() => false))));
  assert.equal(scorer.metrics.scoreBatches, 1);
  assert.equal(scorer.metrics.scoreBatchRows, 4);
  requests.forEach((inputs, r) => {
    assert.equal(answers[r]!.length, inputs.length);
    inputs.forEach((one, i) => assert.deepEqual(answers[r]![i], scorer.scoreMany([one])[0], `request ${r} input ${i}`));
  });
  assert.equal(answers[1]![0]!.flagged, true);
});

test("a batch reaching maxRows is scored at once; a later one waits for the next turn", async () => {
  const scorer = new MonitorScorer(standInBundle(), 0.05, new MonitorMetrics());
  const batcher = new ScoreBatcher(scorer, 3);
  const rng = new SeededRng(5);
  const first = batcher.score([input(rng), input(rng), input(rng)], [false, false, false]);
  assert.equal(scorer.metrics.scoreBatches, 1, "a full batch is scored synchronously");
  const second = batcher.score([input(rng)], [false]);
  assert.equal(scorer.metrics.scoreBatches, 1);
  await Promise.all([first, second]);
  assert.equal(scorer.metrics.scoreBatches, 2);
});

test("an input the detectors reject fails only its own request", async () => {
  const scorer = new MonitorScorer(standInBundle(), 0.05, new MonitorMetrics());
  const batcher = new ScoreBatcher(scorer);
  const rng = new SeededRng(6);
  const bad: ItemActivations = { ...input(rng), [HOOKS[0].name]: new Float32Array(HOOKS[0].dim).fill(Number.NaN) };
  const good = input(rng);
  const [a, b] = await Promise.allSettled([batcher.score([good], [false]), batcher.score([bad], [false])]);
  assert.equal(a.status, "fulfilled");
  assert.deepEqual((a as PromiseFulfilledResult<unknown>).value, scorer.scoreMany([good]));
  assert.equal(b.status, "rejected");
  assert.match(String((b as PromiseRejectedResult).reason), /must be finite|NON_FINITE|not finite|finite/);
});
