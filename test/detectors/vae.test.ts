// The VAE detector: planted outliers (off the trusted curve) get a higher negative ELBO, save/load keeps
// every score bit for bit, and the same seed refits to the same scores.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadDetector } from "../../src/detectors/registry.js";
import { vae } from "../../src/detectors/vae.js";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

const d = 8;
const rng = new SeededRng(5);
/** A noisy 1-D curve through 8-D space; outliers are pushed off it by a random unit-length offset × 1.5. */
function curve(n: number, off: number): Matrix<Float32Array> {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const t = 2 * rng.uniform() - 1;
    const noise = rng.fillNormal(new Float64Array(d));
    let norm = 0;
    for (let j = 0; j < d; j++) norm += noise[j]! ** 2;
    for (let j = 0; j < d; j++) {
      const base = Math.sin((j + 1) * t) + 0.5 * t * t;
      out[i * d + j] = base + (off > 0 ? (off * noise[j]!) / Math.sqrt(norm) : 0.05 * noise[j]!);
    }
  }
  return matrix(n, d, out);
}
const trusted = curve(2000, 0);
const inliers = curve(150, 0);
const outliers = curve(150, 1.5);
const spec = vae({ latent: 2, hidden: [32], epochs: 40, batchSize: 64, learningRate: 3e-3, seed: 2 });
const fitted = spec.fit(trusted);

test("VAE detector gives rows pushed off the trusted curve a higher negative ELBO (AUROC ≥ 0.95)", () => {
  const a = fitted.score(outliers);
  const b = fitted.score(inliers);
  let wins = 0;
  for (const x of a) for (const y of b) wins += x > y ? 1 : 0;
  assert.ok(wins / (a.length * b.length) >= 0.95, `AUROC ${wins / (a.length * b.length)}`);
});

test("VAE detector save → loadDetector gives identical scores", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "madkit-vae-"));
  try {
    fitted.save(dir);
    const back = loadDetector(dir);
    assert.equal(back.kind, "vae");
    assert.deepEqual(back.score(outliers), fitted.score(outliers));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("VAE detector refitted with the same seed gives the same scores bit for bit, another seed different ones", () => {
  assert.deepEqual(spec.fit(trusted).score(inliers), fitted.score(inliers));
  const other = vae({ ...spec.params, seed: 3 }).fit(trusted).score(inliers);
  assert.notDeepEqual(other, fitted.score(inliers));
});
