import assert from "node:assert/strict";
import { test } from "node:test";
import { fitLogisticProbe, scoreLogisticProbe } from "../../src/bench/logistic-probe.js";
import { isMadkitError } from "../../src/errors.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

function data(n: number, d: number, seed: number): { x: Float64Array; y: Uint8Array } {
  const rng = new SeededRng(seed);
  const x = new Float64Array(n * d);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) x[i * d + j] = rng.normal() * (1 + j) + 3;
    const z = 0.8 * (x[i * d]! - 3) - 0.3 * (x[i * d + 1]! - 3) / 2;
    y[i] = rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { x, y };
}

test("logistic probe: the fitted weights are the regularised optimum (its gradient, computed here on raw features, vanishes)", () => {
  const n = 400;
  const d = 5;
  const l2 = 0.01;
  const { x, y } = data(n, d, 7);
  const p = fitLogisticProbe(x, y, d, { l2, iterations: 2000 });
  // The loss in raw units: logit = b + Σ w_j (x_j − μ_j)/s_j; gradient in w (standardised) and b, written out here.
  const g = new Float64Array(d + 1);
  const logits = scoreLogisticProbe(p, x, n);
  for (let i = 0; i < n; i++) {
    const e = (1 / (1 + Math.exp(-logits[i]!)) - y[i]!) / n;
    for (let j = 0; j < d; j++) g[j]! += (e * (x[i * d + j]! - p.mean[j]!)) / p.scale[j]!;
    g[d]! += e;
  }
  for (let j = 0; j < d; j++) g[j]! += l2 * p.w[j]!;
  assert.ok(Math.hypot(...g) < 1e-6, `gradient norm ${Math.hypot(...g)}`);
  // The planted direction: feature 0 up, feature 1 down, the others near zero.
  assert.ok(p.w[0]! > 0.5 && p.w[1]! < -0.1, `weights ${[...p.w].map((v) => v.toFixed(3)).join(", ")}`);
});

test("logistic probe: bad input is named", () => {
  assert.throws(() => fitLogisticProbe(new Float64Array(6), new Uint8Array([0, 0, 0]), 2), (e) => isMadkitError(e) && /both classes/.test(e.message));
  assert.throws(() => fitLogisticProbe(new Float64Array(5), new Uint8Array([0, 1, 0]), 2), (e) => isMadkitError(e) && /5 values for 3 rows × 2 columns/.test(e.message));
  assert.throws(() => fitLogisticProbe(new Float64Array(4), new Uint8Array([0, 2]), 2), (e) => isMadkitError(e) && /label 1 is 2/.test(e.message));
});
