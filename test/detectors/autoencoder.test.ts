// The autoencoder detector: planted off-subspace rows score higher, save/load keeps every score bit for
// bit, the same seed refits to the same scores, and `explain` names the input feature that was corrupted.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { autoencoder } from "../../src/detectors/autoencoder.js";
import { loadDetector } from "../../src/detectors/registry.js";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

const d = 16;
const rng = new SeededRng(3);
const basis = rng.fillNormal(new Float32Array(2 * d)) as Float32Array;
function onPlane(n: number): Matrix<Float32Array> {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const a = rng.normal();
    const b = rng.normal();
    for (let j = 0; j < d; j++) out[i * d + j] = a * basis[j]! + b * basis[d + j]! + 0.05 * rng.normal();
  }
  return matrix(n, d, out);
}
const trusted = onPlane(1500);
const test_ = onPlane(100);
const spec = autoencoder({ latent: 2, hidden: [16], epochs: 40, batchSize: 64, learningRate: 3e-3, seed: 9 });
const fitted = spec.fit(trusted);

test("autoencoder detector scores rows with one corrupted feature above clean rows, and explain names that feature", () => {
  const bad = matrix(test_.rows, d, Float32Array.from(test_.data));
  for (let i = 0; i < bad.rows; i++) bad.data[i * d + 5]! += 3;
  const clean = fitted.score(test_);
  const dirty = fitted.score(bad);
  let wins = 0;
  for (const a of dirty) for (const b of clean) wins += a > b ? 1 : 0;
  assert.ok(wins / (clean.length * dirty.length) >= 0.95, `AUROC ${wins / (clean.length * dirty.length)}`);
  const ex = fitted.explain(bad, 3);
  const named = ex.filter((e) => e.top[0]!.kind === "feature" && e.top[0]!.index === 5).length;
  assert.ok(named >= 90, `feature 5 named first in ${named} of 100 rows`);
  // The parts sum to the score.
  const sum = ex[0]!.score;
  assert.ok(Math.abs(sum - dirty[0]!) < 1e-5 * Math.max(1, sum), `${sum} vs ${dirty[0]}`);
});

test("autoencoder detector save → loadDetector gives identical scores", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "madkit-ae-"));
  try {
    fitted.save(dir);
    const back = loadDetector(dir);
    assert.equal(back.kind, "autoencoder");
    assert.deepEqual(back.score(test_), fitted.score(test_));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("autoencoder detector refitted with the same seed gives the same scores bit for bit", () => {
  assert.deepEqual(spec.fit(trusted).score(test_), fitted.score(test_));
});
