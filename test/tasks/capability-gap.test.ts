// The capability-gap pieces: the constructed set is a deterministic function of the seed and follows its
// rule on a hand-checked paragraph; quantisation stays within half a step of the originals; an early exit
// equals the logit lens computed by hand from the full model's residual stream; word surprise equals the
// whole-string NLL difference, for one word and for three; the last-token features equal a fresh full run's;
// the evaluation's rows and records agree and share one labelled set per weak model.

import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { config } from "../../src/config.js";
import { readLlama2cCheckpoint } from "../../src/models/llama2c/checkpoint.js";
import { earlyExitCheckpoint } from "../../src/models/llama2c/early-exit.js";
import { forwardChunk } from "../../src/models/llama2c/forward.js";
import { quantizeCheckpoint, quantizeRows } from "../../src/models/llama2c/quantize.js";
import { llama2cSourceFromParts } from "../../src/models/llama2c/source.js";
import { encode, readLlama2cTokenizer } from "../../src/models/llama2c/tokenizer.js";
import { constructGapPositions, entityRepeatPositions } from "../../src/tasks/gap/constructed-set.js";
import { nextWordView, PrefixSession } from "../../src/tasks/gap/next-word.js";
import { runCapabilityGap, type GapRow } from "../../src/tasks/gap/run-capability-gap.js";
import { GAP_SCORE_SPECS } from "../../src/tasks/gap/gap-scores.js";
import { scoreKind } from "../../src/tasks/gap/score-kinds.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

const MODEL = path.join(config.sharedDir, "models/stories260K/stories260K.bin");
const tok = readLlama2cTokenizer(path.join(config.sharedDir, "models/stories260K/tok512.bin"));

test("the constructed set is the same for the same seed and differs for another", () => {
  const small = { paragraphs: { calibration: 30, evaluation: 40 } };
  const a = constructGapPositions({ seed: 7, ...small });
  assert.deepEqual(constructGapPositions({ seed: 7, ...small }), a);
  assert.notDeepEqual(constructGapPositions({ seed: 8, ...small }).map((p) => p.id), a.map((p) => p.id));
  assert.ok(a.length > 20);
  const cal = new Set(a.filter((p) => p.part === "calibration").map((p) => p.paragraphId));
  for (const p of a.filter((x) => x.part === "evaluation")) assert.ok(!cal.has(p.paragraphId), "a paragraph is in both parts");
});

test("positions are the repeated names and objects of a hand-checked paragraph, with the prefix before them", () => {
  const text = "Once upon a time, Lily found a red ball. She said the ball was fun. Lily threw the ball to Max. Max laughed.";
  const got = entityRepeatPositions("p", text, 10, 1000);
  // Repeats after the 4th word: ball (2nd), Lily (2nd), ball (3rd), Max (2nd). "said", "was", "the" are not entities.
  assert.deepEqual(got.map((p) => p.target), ["ball", "Lily", "ball", "Max"]);
  assert.equal(got[0]!.prefix, "Once upon a time, Lily found a red ball. She said the");
  assert.equal(got[3]!.prefix, "Once upon a time, Lily found a red ball. She said the ball was fun. Lily threw the ball to Max.");
});

test("int8 and int4 per-row quantisation stay within half a step of every weight and use at most 2^(b-1)-1 levels", () => {
  const rng = new SeededRng(1);
  const w = rng.fillNormal(new Float32Array(40 * 33)) as Float32Array;
  for (const bits of [8, 4]) {
    const out = new Float32Array(w.length);
    const scales = quantizeRows(w, 33, bits, out);
    const qmax = 2 ** (bits - 1) - 1;
    for (let r = 0; r < 40; r++) {
      let amax = 0;
      for (let i = 0; i < 33; i++) amax = Math.max(amax, Math.abs(w[r * 33 + i]!));
      assert.ok(Math.abs(scales[r]! - amax / qmax) <= 1e-7 * amax);
      for (let i = 0; i < 33; i++) {
        const k = r * 33 + i;
        assert.ok(Math.abs(out[k]! - w[k]!) <= scales[r]! / 2 + 1e-7, `bits ${bits}: |${out[k]} - ${w[k]}| > ${scales[r]! / 2}`);
        const level = out[k]! / scales[r]!;
        assert.ok(Math.abs(level - Math.round(level)) < 1e-4 && Math.abs(level) <= qmax + 1e-4);
      }
    }
  }
  const ck = readLlama2cCheckpoint(MODEL);
  const q8 = quantizeCheckpoint(ck, 8);
  assert.deepEqual(q8.weights.rmsAtt, ck.weights.rmsAtt);
  let maxErr = 0;
  for (let i = 0; i < ck.weights.w1.length; i++) maxErr = Math.max(maxErr, Math.abs(q8.weights.w1[i]! - ck.weights.w1[i]!));
  assert.ok(maxErr > 0 && maxErr < 0.02, `int8 max error ${maxErr}`);
});

test("an early exit after layer k gives the logit lens: final RMSNorm and classifier on blocks.k.hook_resid_post", () => {
  const ck = readLlama2cCheckpoint(MODEL);
  const ids = encode(tok, "Tom had a big red ball. He gave the ball to", true, false);
  const c = ck.config;
  for (const k of [1, 3]) {
    const resid = forwardChunk(ck, ids, { hooks: [`blocks.${k}.hook_resid_post`] }).hooks.get(`blocks.${k}.hook_resid_post`)!;
    const exitLogits = forwardChunk(earlyExitCheckpoint(ck, k), ids, { hooks: ["logits"] }).hooks.get("logits")!;
    let maxDiff = 0;
    for (let t = 0; t < ids.length; t++) {
      const x = resid.subarray(t * c.dim, (t + 1) * c.dim);
      let ss = 0;
      for (const v of x) ss += v * v;
      const inv = 1 / Math.sqrt(ss / c.dim + 1e-5);
      for (let j = 0; j < c.vocabSize; j++) {
        let s = 0;
        for (let i = 0; i < c.dim; i++) s += ck.weights.rmsFinal[i]! * x[i]! * inv * ck.weights.wcls[j * c.dim + i]!;
        maxDiff = Math.max(maxDiff, Math.abs(s - exitLogits[t * c.vocabSize + j]!));
      }
    }
    assert.ok(maxDiff < 1e-4, `layer ${k}: ${maxDiff}`);
  }
});

test("a word's surprise from the cached prefix equals the whole-string NLL difference", () => {
  const src = llama2cSourceFromParts(readLlama2cCheckpoint(MODEL), tok, "stories260k");
  const prefix = "Lily had a little dog named Max. Every day, Lily and";
  const v = nextWordView(src, prefix, ["Max", "elephant"]);
  const sum = (a: Float64Array): number => a.reduce((s, x) => s + x, 0);
  for (const [i, w] of ["Max", "elephant"].entries()) {
    const direct = sum(src.tokenLogProbs(`${prefix} ${w}`)) - sum(src.tokenLogProbs(prefix));
    assert.ok(Math.abs(v.surprise[i]! - direct) < 1e-4, `${w}: ${v.surprise[i]} vs ${direct}`);
  }
  assert.ok(v.surprise[0]! < v.surprise[1]!);
  assert.equal(v.greedyWord.length > 0, true);
  assert.ok(Math.abs(v.nextToken.reduce((s, x) => s + x, 0) - 1) < 1e-9);
});

test("capability-gap rows agree with their records, share one labelled set per weak model, and say their kind", () => {
  const r = runCapabilityGap({ seed: 0, quick: true, weakModels: ["stories260k-int4"] });
  assert.ok(r.records.length >= 9);
  const first = r.rows[0]!;
  for (const rec of r.records) {
    assert.equal(rec.task, "capability-gap");
    const row = r.rows.find((x) => x.score === rec.detector)! as GapRow;
    assert.equal(row.kind, scoreKind(GAP_SCORE_SPECS.find((s) => s.name === row.score)!));
    assert.equal(rec.family, row.kind === "behaviour" ? "behavioural" : row.kind);
    // One label set per weak model: every score is evaluated on the same positions.
    assert.deepEqual([rec.n, rec.nAnomalous, row.nBetween], [first.n, first.nGap, (first as GapRow).nBetween]);
    assert.ok(Math.abs(rec.auroc.value - row.auroc) < 1e-12 || (Number.isNaN(rec.auroc.value) && Number.isNaN(row.auroc)));
    for (const a of rec.atAlpha) assert.ok(a.precision.value >= 0 && a.precision.value <= 1 && a.recall.value >= 0 && a.recall.value <= 1);
  }
  assert.ok(first.n + (first as GapRow).nBetween <= r.sizes.evaluationPositions);
  // Disagreement is 0 on every trusted (agreeing) position, so its threshold is 0 wherever one exists.
  const dis = r.records.find((x) => x.detector === "behaviour:disagreement")!;
  for (const a of dis.atAlpha) if (a.threshold !== null && Number.isFinite(a.threshold)) assert.equal(a.threshold, 0);
});

test("three greedy words: the text starts with the greedy word, its surprise is the whole-string NLL difference, and the features are the full run's last row", () => {
  const src = llama2cSourceFromParts(readLlama2cCheckpoint(MODEL), tok, "stories260k");
  const prefix = "Lily had a little dog named Max. Every day, Lily and";
  const hook = "ln_final.hook_normalized";
  const session = new PrefixSession();
  nextWordView(src, "Lily had a little dog named Max.", [], session, { words: 3, hooks: [hook] });
  const v = nextWordView(src, prefix, [], session, { words: 3, hooks: [hook] });
  assert.ok(v.greedyText.startsWith(v.greedyWord) && v.greedyWord.length > 0);
  assert.equal(v.greedyText.match(/[A-Za-z]+/g)!.length, 3, v.greedyText);
  const sum = (a: Float64Array): number => a.reduce((s, x) => s + x, 0);
  const [loss] = nextWordView(src, prefix, [v.greedyText], undefined, { words: 3 }).surprise;
  const direct = sum(src.tokenLogProbs(`${prefix} ${v.greedyText}`)) - sum(src.tokenLogProbs(prefix));
  assert.ok(Math.abs(loss! - direct) < 1e-4, `${loss} vs ${direct}`);
  // The session ran only the new tokens; the feature must still be the last row of a fresh full run.
  const ids = encode(tok, prefix, true, false);
  const full = forwardChunk(readLlama2cCheckpoint(MODEL), ids, { hooks: [hook] }).hooks.get(hook)!;
  const last = full.subarray(full.length - 64);
  const got = v.features.get(hook)!;
  assert.equal(got.length, 64);
  for (let i = 0; i < 64; i++) assert.ok(Math.abs(got[i]! - last[i]!) < 1e-4);
});

test("a prefix session that reuses the previous prefix's cache gives the same words and surprises as fresh runs", () => {
  const src = llama2cSourceFromParts(readLlama2cCheckpoint(MODEL), tok, "stories260k");
  const text = "Tom had a red ball. Tom gave the ball to his friend Sue. Sue kicked the ball over the fence and Tom";
  const cuts = [20, 35, 57, 80, text.length];
  const session = new PrefixSession();
  for (const n of cuts) {
    const prefix = text.slice(0, n).trimEnd();
    const fresh = nextWordView(src, prefix, ["ball", "Sue"]);
    const reused = nextWordView(src, prefix, ["ball", "Sue"], session);
    assert.equal(reused.greedyWord, fresh.greedyWord);
    for (let i = 0; i < 2; i++) assert.ok(Math.abs(reused.surprise[i]! - fresh.surprise[i]!) < 1e-4);
  }
});
