// The VAE network against closed forms. For linear-Gaussian data a linear VAE's optimum ELBO is tight (the
// true posterior is Gaussian with constant covariance), so its negative ELBO must equal the exact −log p(x)
// of its own decoder — a 2×2 Gaussian computed here by hand — and, on average, that of the true distribution.

import { test } from "node:test";
import assert from "node:assert/strict";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { scoringNoise, VaeNet } from "../../src/train/vae-net.js";

// x = w·z + σ·ε in 2-D with a 1-D latent: Σ = w wᵀ + σ² I.
const w = [2, 1] as const;
const sigma = 0.4;
function sample(rng: SeededRng, n: number): Matrix<Float32Array> {
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    out[2 * i] = w[0] * z + sigma * rng.normal();
    out[2 * i + 1] = w[1] * z + sigma * rng.normal();
  }
  return matrix(n, 2, out);
}

/** −log N((u, v); 0, [[a, b], [b, c]]) by the explicit 2×2 inverse and determinant. */
function gaussian2Nll(u: number, v: number, a: number, b: number, c: number): number {
  const det = a * c - b * b;
  return 0.5 * ((c * u * u - 2 * b * u * v + a * v * v) / det + Math.log(det) + 2 * Math.log(2 * Math.PI));
}

const rng = new SeededRng(11);
const trusted = sample(rng, 4000);
const held = sample(rng, 300);
const { net } = VaeNet.train(trusted, {
  hidden: [],
  latent: 1,
  scoreSamples: 16,
  train: { epochs: 60, batchSize: 64, adam: { learningRate: 3e-3 }, seed: 3, validationFraction: 0 },
});
const got = net.negativeElbo(held);

test("a linear VAE's negative ELBO equals the exact −log p(x) of its own linear-Gaussian decoder to 0.01 nats", () => {
  // Decoder: x_std ~ N(b, WᵀW + diag(exp(logvar))); raw rows pick up Σ log scale_j from the standardiser.
  const W = net.params["dec.0.w"]!.data;
  const b = net.params["dec.0.b"]!.data;
  const lv = net.params["dec.logvar"]!.data;
  const { mean, scale } = net.standardizer;
  const a = W[0]! * W[0]! + Math.exp(lv[0]!);
  const off = W[0]! * W[1]!;
  const c = W[1]! * W[1]! + Math.exp(lv[1]!);
  let worst = 0;
  for (let i = 0; i < held.rows; i++) {
    const u = (held.data[2 * i]! - mean[0]!) / scale[0]! - b[0]!;
    const v = (held.data[2 * i + 1]! - mean[1]!) / scale[1]! - b[1]!;
    const exact = gaussian2Nll(u, v, a, off, c) + Math.log(scale[0]!) + Math.log(scale[1]!);
    worst = Math.max(worst, Math.abs(got[i]! - exact));
  }
  assert.ok(worst < 0.01, `largest |−ELBO − exact NLL| is ${worst} nats`);
});

test("a linear VAE's mean negative ELBO on held-out rows matches the true distribution's −log p(x) within 0.03 nats", () => {
  const s2 = sigma * sigma;
  let meanGot = 0;
  let meanWant = 0;
  for (let i = 0; i < held.rows; i++) {
    meanGot += got[i]! / held.rows;
    meanWant += gaussian2Nll(held.data[2 * i]!, held.data[2 * i + 1]!, w[0] * w[0] + s2, w[0] * w[1], w[1] * w[1] + s2) / held.rows;
  }
  assert.ok(Math.abs(meanGot - meanWant) < 0.03, `mean −ELBO ${meanGot} vs closed form ${meanWant}`);
});

test("VAE scoring noise is antithetic with unit mean square per latent column", () => {
  const e = scoringNoise(9, 8, 3);
  for (let j = 0; j < 3; j++) {
    let sum = 0;
    let ss = 0;
    for (let s = 0; s < 8; s++) {
      sum += e[s * 3 + j]!;
      ss += e[s * 3 + j]! ** 2;
    }
    assert.ok(Math.abs(sum) < 1e-5, `column ${j} sums to ${sum}`);
    assert.ok(Math.abs(ss / 8 - 1) < 1e-5, `column ${j} mean square ${ss / 8}`);
  }
});

test("VAE negative ELBO is the same for a row scored alone or inside a batch", () => {
  const alone = net.negativeElbo(matrix(1, 2, held.data.slice(10, 12)));
  assert.equal(alone[0], got[5]);
});
