// SeededRng: reproducible streams, and draws whose moments match their distributions.

import { test } from "node:test";
import assert from "node:assert/strict";
import { SeededRng } from "../../src/random/seeded-rng.js";

test("the same seed gives the same stream and different seeds different ones", () => {
  const a = new SeededRng(42);
  const b = new SeededRng(42);
  const c = new SeededRng(43);
  const xa = Array.from({ length: 100 }, () => a.nextU32());
  assert.deepEqual(xa, Array.from({ length: 100 }, () => b.nextU32()));
  assert.notDeepEqual(xa, Array.from({ length: 100 }, () => c.nextU32()));
});

test("uniform draws lie in (0, 1) with mean 1/2 and variance 1/12", () => {
  const r = new SeededRng(1);
  const n = 200_000;
  let s = 0;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const u = r.uniform();
    assert.ok(u > 0 && u < 1);
    s += u;
    ss += u * u;
  }
  const mean = s / n;
  // 5 standard errors: sd of the mean is √(1/12 / n) ≈ 6.5e-4.
  assert.ok(Math.abs(mean - 0.5) < 5 * Math.sqrt(1 / 12 / n), `mean ${mean}`);
  assert.ok(Math.abs(ss / n - mean * mean - 1 / 12) < 2e-3, `variance ${ss / n - mean * mean}`);
});

test("normal draws have mean 0, variance 1 and zero skew", () => {
  const x = new SeededRng(2).fillNormal(new Float64Array(200_000));
  let m = 0;
  for (const v of x) m += v / x.length;
  let v2 = 0;
  let v3 = 0;
  for (const v of x) {
    v2 += (v - m) ** 2 / x.length;
    v3 += (v - m) ** 3 / x.length;
  }
  assert.ok(Math.abs(m) < 5 / Math.sqrt(x.length), `mean ${m}`);
  assert.ok(Math.abs(v2 - 1) < 0.02, `variance ${v2}`);
  assert.ok(Math.abs(v3) < 0.05, `third moment ${v3}`);
});

test("permutation returns every index exactly once and each position is uniform", () => {
  const r = new SeededRng(3);
  const n = 5;
  const counts = new Float64Array(n * n);
  const trials = 50_000;
  for (let t = 0; t < trials; t++) {
    const p = r.permutation(n);
    assert.deepEqual([...p].sort(), [0, 1, 2, 3, 4]);
    for (let i = 0; i < n; i++) counts[i * n + p[i]!]! += 1;
  }
  // Each (position, value) pair should occur trials/n times; allow 5 binomial standard deviations.
  const expect = trials / n;
  const sd = Math.sqrt(trials * (1 / n) * (1 - 1 / n));
  for (const c of counts) assert.ok(Math.abs(c - expect) < 5 * sd, `count ${c} vs ${expect}`);
});
