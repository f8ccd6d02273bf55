// The autoencoder network on planted structure: its training loss falls, and rows off a low-rank subspace
// it was trained on reconstruct worse than rows on it (AUROC against a brute-force pair count).

import { test } from "node:test";
import assert from "node:assert/strict";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import { AutoencoderNet } from "../../src/train/autoencoder-net.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

/** rows = z·B + noise with z ~ N(0, I_k), B a fixed random k×d basis. */
function lowRank(rng: SeededRng, basis: Float32Array, k: number, d: number, n: number, noise: number): Matrix<Float32Array> {
  const out = new Float32Array(n * d);
  const z = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < k; a++) z[a] = rng.normal();
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let a = 0; a < k; a++) s += z[a]! * basis[a * d + j]!;
      out[i * d + j] = s + noise * rng.normal();
    }
  }
  return matrix(n, d, out);
}

/** AUROC by counting pairs: P(score of a positive > score of a negative), ties count half. */
function aurocByPairs(pos: ArrayLike<number>, neg: ArrayLike<number>): number {
  let wins = 0;
  for (let i = 0; i < pos.length; i++) {
    for (let j = 0; j < neg.length; j++) wins += pos[i]! > neg[j]! ? 1 : pos[i]! === neg[j]! ? 0.5 : 0;
  }
  return wins / (pos.length * neg.length);
}

const d = 24;
const k = 3;
const rng = new SeededRng(7);
const basis = rng.fillNormal(new Float32Array(k * d)) as Float32Array;
const trusted = lowRank(rng, basis, k, d, 2000, 0.05);
const inliers = lowRank(rng, basis, k, d, 200, 0.05);
// Anomalies: same marginal scale, but the off-subspace part is full rank.
const off = lowRank(rng, basis, k, d, 200, 0.05);
for (let i = 0; i < off.data.length; i++) off.data[i]! += 0.7 * rng.normal();

for (const activation of ["relu", "gelu"] as const) {
  test(`autoencoder training loss (${activation}) falls by more than half on a low-rank toy problem`, () => {
    const { result } = AutoencoderNet.train(trusted, {
      hidden: [16],
      latent: k,
      activation,
      train: { epochs: 15, batchSize: 64, adam: { learningRate: 3e-3 }, seed: 1, validationFraction: 0 },
    });
    const first = result.trainLoss[0]!;
    const last = result.trainLoss.at(-1)!;
    assert.ok(last < 0.5 * first, `loss went ${first} → ${last}`);
  });
}

test("autoencoder scores rows off the planted subspace higher than rows on it (AUROC ≥ 0.95)", () => {
  const { net } = AutoencoderNet.train(trusted, { hidden: [16], latent: k, train: { epochs: 60, batchSize: 64, adam: { learningRate: 3e-3 }, seed: 2 } });
  const auroc = aurocByPairs(net.reconstructionError(off), net.reconstructionError(inliers));
  assert.ok(auroc >= 0.95, `AUROC ${auroc}`);
});

test("autoencoder training with the same seed gives bit-identical weights and scores", () => {
  const opts = { hidden: [16], latent: k, train: { epochs: 3, seed: 5 } };
  const a = AutoencoderNet.train(trusted, opts).net;
  const b = AutoencoderNet.train(trusted, opts).net;
  for (const name of Object.keys(a.params)) assert.deepEqual(a.params[name]!.data, b.params[name]!.data, name);
  assert.deepEqual(a.reconstructionError(off), b.reconstructionError(off));
  const c = AutoencoderNet.train(trusted, { ...opts, train: { ...opts.train, seed: 6 } }).net;
  assert.notDeepEqual(a.params["enc.0.w"]!.data, c.params["enc.0.w"]!.data);
});
