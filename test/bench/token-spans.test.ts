import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import test from "node:test";
import type { PlannedDetector } from "../../src/bench/plan.js";
import type { FailureExample, ResultRecord } from "../../src/results/contract.js";
import { exampleTokenViews, fitTokenSpanModel, tokenHookFor } from "../../src/bench/token-spans.js";
import { createDetector } from "../../src/detectors/registry.js";
import { conformalThreshold } from "../../src/eval/conformal.js";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import type { ActivationSource, ForwardOptions, ForwardResult, HookPoint, ModelInfo, Tokenization } from "../../src/models/source.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

const TOKEN_HOOK = "blocks.0.hook_resid_post";
const OTHER_TOKEN_HOOK = "blocks.1.hook_resid_post";
const SEQ_HOOK = "hook_sentence_embedding";
const DIM = 3;

/** A word's activation: seeded normals from the word (and position-free), shifted by 8 for words in capitals. */
function wordVector(word: string): Float32Array {
  const rng = new SeededRng(createHash("sha256").update(word.toLowerCase()).digest().readUInt32LE(0));
  const shift = word === word.toUpperCase() && /[A-Z]/.test(word) ? 8 : 0;
  return Float32Array.from({ length: DIM }, () => rng.normal() + shift);
}

/** One token per whitespace word; token hooks give each word's vector, the sequence hook their mean. */
class WordSource implements ActivationSource {
  readonly info: ModelInfo = { id: "words", revision: "r1", format: "llama2c", nLayers: 2, dModel: DIM, vocabSize: 100, contextLength: 64 };
  hooks(): readonly HookPoint[] {
    return [
      { name: TOKEN_HOOK, dim: DIM, granularity: "token", layer: 0 },
      { name: OTHER_TOKEN_HOOK, dim: DIM, granularity: "token", layer: 1 },
      { name: SEQ_HOOK, dim: DIM, granularity: "sequence", layer: 2 },
    ];
  }
  tokenize(text: string): Tokenization {
    const words = text.split(" ");
    return { ids: Int32Array.from(words, (_, i) => i), pieces: words.map((w, i) => (i === 0 ? w : `\u2581${w}`)) };
  }
  async forward(texts: readonly string[], options: ForwardOptions): Promise<ForwardResult> {
    const activations = texts.map((t) => {
      const words = t.split(" ");
      const m: Matrix<Float32Array> = matrix(words.length, DIM, new Float32Array(words.length * DIM));
      words.forEach((w, i) => m.data.set(wordVector(w), i * DIM));
      return new Map(options.hooks.map((h) => [h, m] as const));
    });
    return { activations, tokenCounts: texts.map((t) => t.split(" ").length), truncated: texts.map(() => false), unknownTokens: texts.map(() => 0), unknownShare: texts.map(() => 0) };
  }
  async dispose(): Promise<void> {}
}

const VOCAB = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "to", "park", "big", "red", "ball", "and", "sun"];
function sentences(n: number, seed: number): string[] {
  const rng = new SeededRng(seed);
  return Array.from({ length: n }, () => Array.from({ length: 4 + rng.int(5) }, () => VOCAB[rng.int(VOCAB.length)]!).join(" "));
}

function rec(hook: string, auroc: number, split: "validation" | "test" = "validation"): ResultRecord {
  const ci = { value: auroc, lo: auroc, hi: auroc };
  return {
    task: "t", model: "words", detector: "mahalanobis", family: "gaussian", hook, layer: 0, pooling: "mean", subset: "all", positives: "anomalous",
    split, scope: "input", n: 10, nAnomalous: 5, auroc: ci, auprc: ci, fpr95: 0, tprAt1Fpr: 0, atAlpha: [], fitSeconds: 0, scoreSeconds: 0,
  };
}

test("a token hook is kept; a sequence hook is replaced by the token hook with the best validation AUROC; none gives null", () => {
  const hooks = new WordSource().hooks();
  const sel = { task: "t", model: "words", detector: "mahalanobis" };
  assert.deepEqual(tokenHookFor({ ...sel, hook: TOKEN_HOOK }, [], hooks), { hook: TOKEN_HOOK, substituted: false });
  // Test-split AUROC must not decide: the 0.99 test row of TOKEN_HOOK loses to OTHER_TOKEN_HOOK's validation 0.8.
  const records = [rec(TOKEN_HOOK, 0.7), rec(OTHER_TOKEN_HOOK, 0.8), rec(SEQ_HOOK, 0.95), rec(TOKEN_HOOK, 0.99, "test")];
  assert.deepEqual(tokenHookFor({ ...sel, hook: SEQ_HOOK }, records, hooks), { hook: OTHER_TOKEN_HOOK, substituted: true });
  assert.deepEqual(tokenHookFor({ ...sel, hook: "combined:max" }, records, hooks), { hook: OTHER_TOKEN_HOOK, substituted: true });
  assert.equal(tokenHookFor({ ...sel, hook: SEQ_HOOK }, [rec(SEQ_HOOK, 0.9)], hooks), null);
});

test("the token threshold is the conformal quantile of calibration token scores under a detector fitted on every fit token", async () => {
  const source = new WordSource();
  const fit = sentences(60, 1);
  const cal = sentences(40, 2);
  const model = await fitTokenSpanModel({ source, kind: "mahalanobis", params: {}, hook: TOKEN_HOOK, fitTexts: fit, calibrationTexts: cal, alpha: 0.05, seed: 0 });
  // Independent computation: all fit tokens (fewer than the caps, so none are dropped), the same detector, the same rule.
  const rows = (texts: string[]) => {
    const words = texts.flatMap((t) => t.split(" "));
    const d = new Float32Array(words.length * DIM);
    words.forEach((w, i) => d.set(wordVector(w), i * DIM));
    return matrix(words.length, DIM, d);
  };
  const det = createDetector("mahalanobis", {}).fit(rows(fit));
  const calScores = det.score(rows(cal));
  assert.equal(model.fitRows, rows(fit).rows);
  assert.equal(model.calibrationTokens, calScores.length);
  assert.equal(model.threshold, conformalThreshold(calScores, 0.05));
});

test("the span of a text with a planted run of unusual tokens is exactly that run, and pieces show ▁ as a space", async () => {
  const source = new WordSource();
  const model = await fitTokenSpanModel({ source, kind: "mahalanobis", params: {}, hook: TOKEN_HOOK, fitTexts: sentences(60, 1), calibrationTexts: sentences(40, 2), alpha: 0.05, seed: 0 });
  const [v, w] = await model.views(["the cat sat BIG RED BALL on the mat", "the dog ran to the park"]);
  assert.deepEqual(v!.span, { start: 3, end: 6 });
  assert.equal(v!.pieces.slice(3, 6).join(""), " BIG RED BALL");
  assert.equal(v!.scores.length, 9);
  // No token above the threshold: the span is the single highest-scoring token.
  const scores = w!.scores;
  assert.ok(scores.every((s) => s <= model.threshold));
  const top = scores.indexOf(Math.max(...scores));
  assert.deepEqual(w!.span, { start: top, end: top + 1 });
});

test("fit rows beyond the cap are a seeded sample: same seed, same threshold; fewer rows than the texts hold", async () => {
  const source = new WordSource();
  const o = { source, kind: "mahalanobis", params: {}, hook: TOKEN_HOOK, fitTexts: sentences(60, 1), calibrationTexts: sentences(40, 2), alpha: 0.05, seed: 4, maxFitRows: 50 };
  const a = await fitTokenSpanModel(o);
  const b = await fitTokenSpanModel(o);
  assert.equal(a.fitRows, 50);
  assert.equal(a.threshold, b.threshold);
});

test("token views attach to the selection's examples only, and name the substituted token hook", async () => {
  const source = new WordSource();
  const planned: PlannedDetector = { name: "mahalanobis", kind: "mahalanobis", params: {}, family: "gaussian", scope: "input", hooks: "all" };
  const base = { task: "t", model: "words", detector: "mahalanobis", hook: SEQ_HOOK, family: "x", score: 1, threshold: 0, tokens: 3 };
  const mine: FailureExample = { ...base, kind: "false-negative", id: "a", text: "the cat SAT" };
  const other: FailureExample = { ...base, task: "u", kind: "false-negative", id: "a", text: "the cat SAT" };
  const view = await exampleTokenViews(
    { source, planned, selection: { task: "t", model: "words", detector: "mahalanobis", hook: SEQ_HOOK }, records: [rec(TOKEN_HOOK, 0.9)], fitTexts: sentences(60, 1), calibrationTexts: sentences(40, 2), alpha: 0.05, seed: 0 },
    [mine, other],
  );
  const v = view(mine);
  assert.equal(v.tokenHook, TOKEN_HOOK);
  assert.deepEqual(v.tokenPieces, ["the", " cat", " SAT"]);
  assert.deepEqual(v.span, { start: 2, end: 3 });
  assert.equal(typeof v.tokenThreshold, "number");
  assert.equal(view(other), other);
  // A baseline (no hooks) gets no token view at all.
  const none = await exampleTokenViews(
    { source, planned: { ...planned, kind: "length", hooks: "none" }, selection: { task: "t", model: "words", detector: "mahalanobis", hook: TOKEN_HOOK }, records: [], fitTexts: [], calibrationTexts: [], alpha: 0.05, seed: 0 },
    [mine],
  );
  assert.equal(none(mine), mine);
});
