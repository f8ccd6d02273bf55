// Isolation Forest `explain`: the parts add up to the score, the feature a row is extreme in is credited
// first, and a saved and reloaded forest explains identically.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { isolationForest } from "../../src/detectors/isolation-forest.js";
import { loadDetector } from "../../src/detectors/registry.js";
import { matrix } from "../../src/linalg/matrix.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

const n = 1000;
const d = 12;
const train = matrix(n, d, new SeededRng(11).fillNormal(new Float64Array(n * d), 1) as Float64Array);

test("isolation forest explain: shares sum to 1, parts to the score, and the score equals score()", () => {
  const fitted = isolationForest({ trees: 60, seed: 2 }).fit(train);
  const x = matrix(20, d, new SeededRng(12).fillNormal(new Float64Array(20 * d), 1.5) as Float64Array);
  const scores = fitted.score(x);
  for (const [i, e] of fitted.explain(x, d).entries()) {
    assert.equal(e.score, scores[i]);
    const shares = e.top.reduce((s, c) => s + c.share, 0);
    const parts = e.top.reduce((s, c) => s + c.contribution, 0);
    assert.ok(Math.abs(shares - 1) < 1e-12, `row ${i}: shares sum to ${shares}`);
    assert.ok(Math.abs(parts - e.score) < 1e-12, `row ${i}: parts sum to ${parts}, score ${e.score}`);
  }
});

test("isolation forest explain credits first the one feature a row is extreme in", () => {
  const fitted = isolationForest({ trees: 100, seed: 5 }).fit(train);
  for (const f of [0, 4, 11]) {
    const q = new Float64Array(d);
    q[f] = 6;
    const [e] = fitted.explain(matrix(1, d, q), 3);
    assert.equal(e!.top[0]!.index, f, `extreme in ${f}, top ${JSON.stringify(e!.top)}`);
    assert.ok(e!.top[0]!.share > 2.5 * e!.top[1]!.share, `share ${e!.top[0]!.share} vs ${e!.top[1]!.share}`);
  }
});

test("a saved and reloaded isolation forest explains identically", () => {
  const fitted = isolationForest({ trees: 20, seed: 9 }).fit(train);
  const dir = mkdtempSync(path.join(os.tmpdir(), "madkit-if-"));
  try {
    fitted.save(dir);
    const loaded = loadDetector(dir);
    const x = matrix(5, d, new SeededRng(13).fillNormal(new Float64Array(5 * d), 2) as Float64Array);
    assert.deepEqual(loaded.explain!(x, 4), fitted.explain(x, 4));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
