// The training loop: Adam on a convex problem reaches the least-squares solution, early stopping keeps the
// epoch with the lowest validation loss, and the constrain hook runs after every update.

import { test } from "node:test";
import assert from "node:assert/strict";
import { numpy as np } from "@jax-js/jax";
import { zerosTensor, type DeviceParams } from "../../src/train/params.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { trainModel, type TrainableModel } from "../../src/train/train-loop.js";

// y = x·w + noise packed as rows [x0, x1, y]; the model learns w by squared error.
const wTrue = [1.5, -2];
const rng = new SeededRng(4);
const n = 2000;
const data = new Float32Array(n * 3);
for (let i = 0; i < n; i++) {
  const x0 = rng.normal();
  const x1 = rng.normal();
  data.set([x0, x1, wTrue[0]! * x0 + wTrue[1]! * x1 + 0.1 * rng.normal()], i * 3);
}

function regression(constrain?: TrainableModel["constrain"]): TrainableModel {
  return {
    name: "regression",
    noiseCols: 0,
    init: () => ({ w: zerosTensor([2, 1]) }),
    loss: (p: DeviceParams, x: np.Array) => {
      const [feats, y] = np.split(x, [2], 1);
      return np.mean(np.square(np.matmul(feats!, p.w!).sub(y!)));
    },
    ...(constrain ? { constrain } : {}),
  };
}

/** Ordinary least squares by the 2×2 normal equations, in float64. */
function ols(): [number, number] {
  let a = 0, b = 0, c = 0, u = 0, v = 0;
  for (let i = 0; i < n; i++) {
    const [x0, x1, y] = [data[3 * i]!, data[3 * i + 1]!, data[3 * i + 2]!];
    a += x0 * x0; b += x0 * x1; c += x1 * x1; u += x0 * y; v += x1 * y;
  }
  const det = a * c - b * b;
  return [(c * u - b * v) / det, (a * v - b * u) / det];
}

test("Adam with a cosine schedule reaches the least-squares weights of a linear regression", () => {
  const r = trainModel(regression(), data, n, 3, { epochs: 60, batchSize: 100, adam: { learningRate: 0.05 }, seed: 1 });
  const [w0, w1] = ols();
  const w = r.params.w!.data;
  assert.ok(Math.abs(w[0]! - w0) < 2e-3 && Math.abs(w[1]! - w1) < 2e-3, `got [${w[0]}, ${w[1]}], OLS [${w0}, ${w1}]`);
  assert.ok(r.trainLoss.at(-1)! < r.trainLoss[0]!);
});

test("early stopping stops once validation stalls and keeps the epoch with the lowest validation loss", () => {
  const r = trainModel(regression(), data, n, 3, {
    epochs: 500,
    batchSize: 100,
    adam: { learningRate: 0.05 },
    schedule: "constant",
    validationFraction: 0.2,
    patience: 3,
    seed: 2,
  });
  assert.ok(r.validationLoss.length < 500, `ran ${r.validationLoss.length} epochs`);
  const best = r.validationLoss.indexOf(Math.min(...r.validationLoss));
  // Ties within the loop's relative tolerance may keep an earlier epoch with an equal loss.
  assert.ok(r.validationLoss[r.bestEpoch]! <= r.validationLoss[best]! * (1 + 1e-4), `kept ${r.bestEpoch}, best ${best}`);
});

test("the constrain hook is applied after every update", () => {
  // Project w onto the unit circle each step: the result must be unit-norm and point along OLS.
  const r = trainModel(
    regression((p) => {
      const w = p.w!;
      return { w: w.ref.div(np.sqrt(np.sum(np.square(w)))) };
    }),
    data,
    n,
    3,
    { epochs: 20, batchSize: 100, adam: { learningRate: 0.05 }, seed: 3 },
  );
  const w = r.params.w!.data;
  assert.ok(Math.abs(Math.hypot(w[0]!, w[1]!) - 1) < 1e-5, `|w| = ${Math.hypot(w[0]!, w[1]!)}`);
  const [w0, w1] = ols();
  const cos = (w[0]! * w0 + w[1]! * w1) / Math.hypot(w0, w1);
  assert.ok(cos > 0.99, `cosine to OLS ${cos}`);
});
