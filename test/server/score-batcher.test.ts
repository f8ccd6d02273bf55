// The score batcher: inputs queued in one event-loop turn are scored in one detector call, each caller gets
// its own inputs' results in order, a failing input fails only its own request, and an abandoned request
// is answered at once and leaves its batch.

import assert from "node:assert/strict";
import { test } from "node:test";
import { MonitorMetrics } from "../../src/server/metrics.js";
import { InThreadRunner, ScoreBatcher, type ScoreRunner } from "../../src/server/score-batcher.js";
import { MonitorScorer, type GroupInput } from "../../src/server/scorer.js";
import type { ItemActivations } from "../../src/server/storage.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { HOOKS, standInBundle } from "./fixture.js";

function input(rng: SeededRng, shift = 0): GroupInput {
  const activations: ItemActivations = Object.fromEntries(HOOKS.map((h) => [h.name, Float32Array.from({ length: h.dim }, () => rng.normal() + shift)]));
  return { activations };
}

test("requests queued in the same turn share one detector call and each gets its own results, in order", async () => {
  const bundle = standInBundle();
  const scorer = new MonitorScorer(bundle, 0.05, new MonitorMetrics());
  const batcher = new ScoreBatcher(new InThreadRunner(scorer));
  const rng = new SeededRng(4);
  const requests = [[input(rng)], [input(rng, 6), input(rng)], [input(rng, 0.5)]];
  const answers = await Promise.all(requests.map((inputs) => batcher.score(inputs)));
  assert.equal(scorer.metrics.scoreBatches, 1);
  assert.equal(scorer.metrics.scoreBatchRows, 4);
  requests.forEach((inputs, r) => {
    assert.equal(answers[r]!.results.length, inputs.length);
    inputs.forEach((one, i) => assert.deepEqual(answers[r]!.results[i], scorer.scoreMany([one.activations!])[0], `request ${r} input ${i}`));
  });
  assert.equal(answers[1]!.results[0]!.flagged, true);
});

test("a batch reaching maxRows is sent at once; a later one waits for the next turn", async () => {
  const sent: number[] = [];
  const scorer = new MonitorScorer(standInBundle(), 0.05, new MonitorMetrics());
  const inThread = new InThreadRunner(scorer);
  const runner: ScoreRunner = {
    run(groups, signal) {
      sent.push(groups.reduce((s, g) => s + g.length, 0));
      return inThread.run(groups, signal);
    },
  };
  const batcher = new ScoreBatcher(runner, 3);
  const rng = new SeededRng(5);
  const first = batcher.score([input(rng), input(rng), input(rng)]);
  assert.deepEqual(sent, [3], "a full batch is sent synchronously");
  const second = batcher.score([input(rng)]);
  assert.deepEqual(sent, [3]);
  await Promise.all([first, second]);
  assert.deepEqual(sent, [3, 1]);
});

test("an input the detectors reject fails only its own request", async () => {
  const scorer = new MonitorScorer(standInBundle(), 0.05, new MonitorMetrics());
  const batcher = new ScoreBatcher(new InThreadRunner(scorer));
  const rng = new SeededRng(6);
  const bad: GroupInput = { activations: { ...input(rng).activations!, [HOOKS[0].name]: new Float32Array(HOOKS[0].dim).fill(Number.NaN) } };
  const good = input(rng);
  const [a, b] = await Promise.allSettled([batcher.score([good]), batcher.score([bad])]);
  assert.equal(a.status, "fulfilled");
  assert.deepEqual((a as PromiseFulfilledResult<{ results: unknown }>).value.results, scorer.scoreMany([good.activations!]));
  assert.equal(b.status, "rejected");
  assert.match(String((b as PromiseRejectedResult).reason), /must be finite|NON_FINITE|not finite|finite/);
});

test("an abandoned request is answered at once with its reason; its batch mates still get their results", async () => {
  const scorer = new MonitorScorer(standInBundle(), 0.05, new MonitorMetrics());
  // Each batch waits until released.
  const releases: (() => void)[] = [];
  const release = () => releases.shift()!();
  const seen: AbortSignal[] = [];
  const inThread = new InThreadRunner(scorer);
  const runner: ScoreRunner = {
    async run(groups, signal) {
      seen.push(signal);
      await new Promise<void>((r) => releases.push(r));
      return inThread.run(groups, signal);
    },
  };
  const batcher = new ScoreBatcher(runner);
  const rng = new SeededRng(7);
  const ctl = new AbortController();
  const gone = batcher.score([input(rng)], ctl.signal);
  const kept = batcher.score([input(rng)]);
  await new Promise((r) => setImmediate(r));
  ctl.abort(new Error("timed out"));
  await assert.rejects(gone, /timed out/);
  assert.equal(seen[0]!.aborted, false, "a batch with a request still waiting is not cancelled");
  release();
  assert.equal((await kept).results.length, 1);

  // A batch whose every request is abandoned is cancelled where it runs.
  const ctl2 = new AbortController();
  const lone = batcher.score([input(rng)], ctl2.signal);
  await new Promise((r) => setImmediate(r));
  ctl2.abort(new Error("client left"));
  await assert.rejects(lone, /client left/);
  assert.equal(seen[1]!.aborted, true);
  release();
});
