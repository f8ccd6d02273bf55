import { test } from "node:test";
import assert from "node:assert/strict";
import { anomalousSpan, scoreTokens } from "../../src/bench/token-scores.js";
import { createDetector } from "../../src/detectors/registry.js";
import { vstack32 } from "../../src/linalg/matrix.js";
import { loadModel } from "../../src/models/registry.js";
import { config } from "../../src/config.js";
import { readFileSync } from "node:fs";
import path from "node:path";

function bruteForceSpan(scores: number[], threshold: number): number {
  let best = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    let s = 0;
    for (let j = i; j < scores.length; j++) {
      s += scores[j]! - threshold;
      best = Math.max(best, s);
    }
  }
  return best;
}

test("the anomalous span has the largest excess over the threshold of any contiguous run", () => {
  let seed = 7;
  const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let trial = 0; trial < 200; trial++) {
    const scores = Array.from({ length: 1 + Math.floor(rand() * 30) }, () => rand() * 4);
    const span = anomalousSpan(scores, 2);
    const sum = scores.slice(span.start, span.end).reduce((a, b) => a + b - 2, 0);
    assert.ok(Math.abs(sum - span.excess) < 1e-9, "excess equals the span's own sum");
    assert.ok(Math.abs(span.excess - bruteForceSpan(scores, 2)) < 1e-9, "no other run beats it");
  }
});

test("the span covers exactly a planted block of high scores", () => {
  const scores = [0.1, 0.3, 0.2, 5, 6, 4.5, 0.2, 0.1];
  assert.deepEqual(anomalousSpan(scores, 1), { start: 3, end: 6, excess: 12.5 });
  const none = anomalousSpan([0.1, 0.7, 0.2], 1);
  assert.equal(none.start, 1, "with nothing above the threshold the top token is the span");
  assert.ok(none.excess < 0);
});

test("per-token scores on stories260k rise on an injected non-story span", async () => {
  const source = await loadModel("stories260k");
  try {
    // Early layers of this tiny story model separate non-story tokens best (later ones barely do).
    const hook = "blocks.1.hook_resid_post";
    const trustedTexts = readFileSync(path.join(config.sharedDir, "data/tinystories/tinystories_sample_niklas6.txt"), "utf8")
      .split(/\n\s*\n/)
      .map((p) => p.trim())
      .filter((p) => p.length > 0)
      .slice(0, 40);
    const res = await source.forward(trustedTexts, { hooks: [hook] });
    const trusted = vstack32(res.activations.map((a) => a.get(hook)!));
    const detector = createDetector("mahalanobis", { covariance: "ledoit-wolf" }).fit(trusted);
    const story = "Once upon a time, there was a little boy named Tim. He liked to play with his toys.";
    const injected = `${story} qzx7 vkq9 zzxq ##$$ %%^^ 0x4f3a 9918273 `;
    const [plain, odd] = await scoreTokens(source, detector, hook, [story, injected]);
    assert.equal(odd!.pieces.length, odd!.scores.length);
    const storyLen = plain!.scores.length;
    const mean = (a: Float64Array): number => a.reduce((s, v) => s + v, 0) / a.length;
    const tail = odd!.scores.subarray(storyLen);
    assert.ok(mean(tail) > 2 * mean(plain!.scores), `injected tokens score ${mean(tail)} vs story ${mean(plain!.scores)}`);
    const span = anomalousSpan(odd!.scores, mean(plain!.scores) * 2);
    assert.ok(span.start >= storyLen - 2, `span starts at ${span.start}, injection at ${storyLen}`);
  } finally {
    await source.dispose();
  }
});
