import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import test from "node:test";
import { BAG_OF_WORDS_DETECTORS, bagOfWordsScores, fitBagOfWords, tokenIdsOf, withBagOfWordsBaselines } from "../../src/bench/bag-of-words-baseline.js";
import type { PlannedDetector } from "../../src/bench/plan.js";
import { runBench } from "../../src/bench/runner.js";
import { PlantedSource, plantedPlan, plantedTask } from "./planted-source.js";

// Toy corpus over a vocabulary of 4 ids: counts c = [3, 1, 1, 0], N = 5.
const FIT = [Int32Array.of(0, 1), Int32Array.of(0, 0, 2)];
const V = 4;

test("unigram surprisal is the mean −ln((c_t + k) / (N + kV)), computed by hand", () => {
  const bow = fitBagOfWords(FIT, V, { smoothing: 1 });
  // p = (c + 1) / (5 + 4): 4/9, 2/9, 2/9, 1/9.
  const expected = (-Math.log(4 / 9) - Math.log(1 / 9) - Math.log(2 / 9)) / 3;
  assert.ok(Math.abs(bow.unigramScore([0, 3, 2]) - expected) < 1e-12);
  // k = 0.5: p = (c + 0.5) / (5 + 2).
  const half = fitBagOfWords(FIT, V, { smoothing: 0.5 });
  assert.ok(Math.abs(half.unigramScore([3]) + Math.log(0.5 / 7)) < 1e-12);
});

test("an input of unseen tokens scores above one of common tokens, in both variants", () => {
  const bow = fitBagOfWords(FIT, V);
  assert.ok(bow.unigramScore([3, 3, 3]) > bow.unigramScore([0, 0, 0]));
  assert.ok(bow.cosineScore([3, 3, 3]) > bow.cosineScore([0, 0, 0]));
  // Unseen tokens are orthogonal to the centroid: cosine distance exactly 1.
  assert.equal(bow.cosineScore([3, 3]), 1);
});

test("cosine score is 1 − cos(counts, mean of normalised fit count vectors), computed by hand", () => {
  const bow = fitBagOfWords(FIT, V);
  // Fit vectors: (1,1,0,0)/√2 and (2,0,1,0)/√5; centroid = their mean.
  const c = [1 / Math.SQRT2 / 2 + 2 / Math.sqrt(5) / 2, 1 / Math.SQRT2 / 2, 1 / Math.sqrt(5) / 2, 0];
  const x = [1, 0, 2, 1]; // input [0, 2, 2, 3]
  const dot = x.reduce((a, v, i) => a + v * c[i]!, 0);
  const norm = (v: number[]) => Math.sqrt(v.reduce((a, y) => a + y * y, 0));
  assert.ok(Math.abs(bow.cosineScore([0, 2, 2, 3]) - (1 - dot / (norm(x) * norm(c)))) < 1e-12);
  // Scale-free: repeating the whole input leaves the score unchanged.
  assert.ok(Math.abs(bow.cosineScore([0, 2, 2, 3, 0, 2, 2, 3]) - bow.cosineScore([0, 2, 2, 3])) < 1e-12);
});

test("scores are finite for an empty input and out-of-vocabulary ids are rejected", () => {
  const bow = fitBagOfWords(FIT, V);
  assert.equal(bow.unigramScore([]), -Math.log(1 / 9));
  assert.equal(bow.cosineScore([]), 1);
  assert.throws(() => bow.unigramScore([4]), /token 0 is 4/);
  assert.throws(() => fitBagOfWords([Int32Array.of(-1)], V), /fit text 0 token 0 is -1/);
  assert.throws(() => fitBagOfWords(FIT, V, { smoothing: 0 }), /smoothing/);
});

test("bagOfWordsScores scores the texts at the given rows in order", () => {
  const bow = fitBagOfWords(FIT, V);
  const ids = [Int32Array.of(0), Int32Array.of(3), Int32Array.of(1, 2)];
  const s = bagOfWordsScores("unigram", bow, Uint32Array.of(2, 0), ids);
  assert.deepEqual([...s], [bow.unigramScore([1, 2]), bow.unigramScore([0])]);
});

test("the bag-of-words baselines join a plan right after its length baseline, once, and never a plan without one", () => {
  const length: PlannedDetector = { name: "length:tokens", kind: "length", params: { unit: "tokens" }, family: "baseline", scope: "input", hooks: "none" };
  const maha: PlannedDetector = { name: "mahalanobis", kind: "mahalanobis", params: {}, family: "gaussian", scope: "input", hooks: "all" };
  const plan = withBagOfWordsBaselines(plantedPlan([maha, length]));
  assert.deepEqual(plan.detectors.map((d) => d.name), ["mahalanobis", "length:tokens", ...BAG_OF_WORDS_DETECTORS.map((d) => d.name)]);
  assert.ok(plan.detectors.every((d) => d.kind !== "bag-of-words" || d.family === "baseline"));
  assert.equal(withBagOfWordsBaselines(plan), plan);
  const none = plantedPlan([maha]);
  assert.equal(withBagOfWordsBaselines(none), none);
});

test("token ids are cut at the context length and the vocabulary grows to cover any id beyond the model's", () => {
  const source = { info: { ...new PlantedSource().info, contextLength: 3, vocabSize: 2 }, tokenize: new PlantedSource().tokenize };
  const { ids, vocabSize } = tokenIdsOf(source, ["a b c d e", "a"]);
  assert.deepEqual(ids.map((x) => [...x]), [[0, 1, 2], [0]]);
  assert.equal(vocabSize, 3);
});

test("the runner scores both bag-of-words baselines in every subset, as baselines, never selected; equal bags give AUROC 0.5", async () => {
  // The planted source's token ids are word positions, and every planted text has four words: the bags are equal.
  const length: PlannedDetector = { name: "length:tokens", kind: "length", params: { unit: "tokens" }, family: "baseline", scope: "input", hooks: "none" };
  const maha: PlannedDetector = { name: "mahalanobis", kind: "mahalanobis", params: {}, family: "gaussian", scope: "input", hooks: "all" };
  const dir = mkdtempSync(path.join(tmpdir(), "madkit-bow-"));
  try {
    const source = new PlantedSource();
    const r = await runBench({ plan: plantedPlan([maha, length]), cacheDir: dir, loadModel: async () => source, buildTask: () => plantedTask() });
    for (const name of ["bow:unigram-surprisal", "bow:cosine"]) {
      const rows = r.records.filter((x) => x.detector === name);
      assert.deepEqual([...new Set(rows.map((x) => `${x.split}/${x.subset}`))].sort(), ["test/all", "test/length-matched", "test/planted-a", "test/planted-b", "validation/all", "validation/length-matched", "validation/planted-a", "validation/planted-b"]);
      for (const x of rows) {
        assert.equal(x.family, "baseline");
        assert.equal(x.hook, name);
        assert.equal(x.layer, null);
        assert.equal(x.pooling, "none");
        assert.equal(x.auroc.value, 0.5);
      }
    }
    assert.ok(r.plan.detectors.some((d) => d.name === "bow:cosine"));
    assert.ok(r.selections.every((s) => !s.detector.startsWith("bow:")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
