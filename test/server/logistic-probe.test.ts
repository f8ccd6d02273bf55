// The logistic probe against scikit-learn's LogisticRegression on the same data, and its closed-form
// optimality conditions (the gradient of the regularised log-loss vanishes at the fitted weights).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { MadkitError } from "../../src/errors.js";
import { matrix } from "../../src/linalg/matrix.js";
import { fitLogisticRegression, LogisticProbe } from "../../src/server/logistic-probe.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { requirePython, runPython } from "../helpers/python.js";

function data(n: number, d: number, seed: number) {
  const rng = new SeededRng(seed);
  const x = new Float64Array(n * d);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.uniform() < 0.4 ? 1 : 0;
    for (let j = 0; j < d; j++) x[i * d + j] = rng.normal() * (1 + j / d) + (y[i] && j < 3 ? 0.8 : 0);
  }
  return { x: matrix(n, d, x), y };
}

test("the gradient of Σ log-loss + (λ/2)‖w‖² vanishes at the fitted weights (intercept unpenalised)", () => {
  const { x, y } = data(120, 6, 1);
  const fit = fitLogisticRegression(x, y, 0.7);
  const g = new Float64Array(7);
  for (let i = 0; i < x.rows; i++) {
    let z = fit.intercept;
    for (let j = 0; j < 6; j++) z += x.data[i * 6 + j]! * fit.weights[j]!;
    const r = 1 / (1 + Math.exp(-z)) - y[i]!;
    for (let j = 0; j < 6; j++) g[j]! += r * x.data[i * 6 + j]!;
    g[6]! += r;
  }
  for (let j = 0; j < 6; j++) g[j]! += 0.7 * fit.weights[j]!;
  for (const v of g) assert.ok(Math.abs(v) < 1e-8, `gradient ${v}`);
});

test("weights and intercept equal scikit-learn's LogisticRegression(C = 1/λ) to 1e-6, also with more features than rows", (t) => {
  const { python, skip } = requirePython(["numpy", "sklearn"]);
  if (!python) return t.skip(skip);
  const dir = mkdtempSync(path.join(tmpdir(), "madkit-probe-"));
  try {
    for (const [n, d, l2] of [[200, 5, 1], [40, 60, 2.5]] as const) {
      const { x, y } = data(n, d, n + d);
      const file = path.join(dir, "d.json");
      writeFileSync(file, JSON.stringify({ x: Array.from(x.data), y: Array.from(y), n, d, C: 1 / l2 }));
      const out = runPython(python, `
import json, sys, numpy as np
from sklearn.linear_model import LogisticRegression
D = json.load(open(sys.argv[1]))
X = np.array(D["x"]).reshape(D["n"], D["d"]); y = np.array(D["y"])
m = LogisticRegression(C=D["C"], solver="newton-cg", tol=1e-12, max_iter=10000).fit(X, y)
print(json.dumps({"w": m.coef_[0].tolist(), "b": float(m.intercept_[0])}))
`, [file]);
      const ref = JSON.parse(out) as { w: number[]; b: number };
      const fit = fitLogisticRegression(x, y, l2);
      for (let j = 0; j < d; j++) assert.ok(Math.abs(fit.weights[j]! - ref.w[j]!) < 1e-6, `n=${n} d=${d} w[${j}] ${fit.weights[j]} vs ${ref.w[j]}`);
      assert.ok(Math.abs(fit.intercept - ref.b) < 1e-6, `intercept ${fit.intercept} vs ${ref.b}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the probe is deterministic, survives a JSON round trip, and ranks the labelled classes apart", () => {
  const { x, y } = data(150, 4, 5);
  const hooks = [{ name: "a", dim: 3 }, { name: "b", dim: 1 }];
  const p1 = LogisticProbe.train(hooks, x, y, 1);
  const p2 = LogisticProbe.train(hooks, x, y, 1);
  assert.equal(p1.toJson(), p2.toJson());
  const p3 = LogisticProbe.fromJson(p1.toJson(), "test");
  let posMean = 0, negMean = 0;
  for (let i = 0; i < x.rows; i++) {
    const row = x.data.subarray(i * 4, i * 4 + 4);
    const s = p3.score((h) => (h === "a" ? row.subarray(0, 3) : row.subarray(3)));
    assert.equal(s, p1.score((h) => (h === "a" ? row.subarray(0, 3) : row.subarray(3))));
    if (y[i]) posMean += s; else negMean += s;
  }
  let nPos = 0;
  for (const v of y) nPos += v;
  assert.ok(posMean / nPos > negMean / (x.rows - nPos) + 0.2);
});

test("training with only one label raises a BAD_INPUT error naming both counts", () => {
  const { x } = data(10, 2, 1);
  assert.throws(() => LogisticProbe.train([{ name: "a", dim: 2 }], x, new Uint8Array(10).fill(1)), (e: unknown) => e instanceof MadkitError && /10 anomalous and 0 benign/.test(e.message));
});
