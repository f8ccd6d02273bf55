// LOF and the Gaussian mixture against scikit-learn 1.2 (Debian python3-sklearn) on the same float64 matrices:
// LOF(novelty=True)'s −score_samples to 1e-6 relative, and GaussianMixture's score_samples when both EMs start
// from the same mixture (ours, handed over as weights/means/precisions_init). Skipped (one line naming
// python3-sklearn) without it, failed under MADKIT_REQUIRE_REFERENCES=1.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { gaussianMixture, gaussianMixtureInit } from "../../src/detectors/gaussian-mixture.js";
import { lof } from "../../src/detectors/lof.js";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { plantedOutliers } from "../../src/datasets/planted-outliers.js";
import { findPython, missingPython, runPython } from "../helpers/python.js";

const MODULES = ["numpy", "sklearn"];
const python = findPython(MODULES);
const dir = mkdtempSync(path.join(os.tmpdir(), "madkit-sklearn2-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, data: Float64Array): void {
  writeFileSync(path.join(dir, name), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

const main = plantedOutliers({ nTrain: 400, nTest: 120, dim: 24, seed: 5 });
/**
 * Rows 0-3 of 100 trusted rows each present 9 times: more duplicates than k = 5 neighbours. Integer-valued
 * (the planted data x 100, rounded) so both sides compute duplicate distances as exactly 0 rather than gemm
 * rounding noise, which would set the duplicates' densities (1 / (0 + 1e-10) vs 1 / (noise + 1e-10)).
 */
const dup = (() => {
  const d = 24;
  const base = main.train.data.subarray(0, 100 * d).map((v) => Math.round(v * 100));
  const data = new Float64Array((100 + 4 * 8) * d);
  data.set(base);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 8; c++) data.set(base.subarray(r * d, (r + 1) * d), (100 + r * 8 + c) * d);
  return matrix(132, d, data);
})();
const dupTest = matrix(120, 24, main.test.data.map((v) => Math.round(v * 100)));

/** Three overlapping Gaussian clusters of different shapes in d = 6: EM needs 10+ iterations to settle. */
function clusters(n: number, seed: number): Matrix<Float64Array> {
  const d = 6;
  const rng = new SeededRng(seed);
  const centres = [0, 1.4, -1.05].map((c, k) => Array.from({ length: d }, (_, j) => c + (j === k ? 1.05 : 0)));
  const scales = [0.5, 1.0, 1.7];
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    const shared = rng.normal();
    for (let j = 0; j < d; j++) x[i * d + j] = centres[k]![j]! + scales[k]! * (rng.normal() + (k === 1 ? 0.8 * shared : 0));
  }
  return matrix(n, d, x);
}
const mixTrain = clusters(600, 21);
const mixTest = clusters(150, 22);
const GMM_K = 3;
const inits = {
  full: gaussianMixtureInit(mixTrain, { components: GMM_K, covariance: "full", seed: 4 }),
  diag: gaussianMixtureInit(mixTrain, { components: GMM_K, covariance: "diag", seed: 4 }),
};

const SCRIPT = `
import json, sys, numpy as np
from sklearn.neighbors import LocalOutlierFactor
from sklearn.mixture import GaussianMixture
d = sys.argv[1]
def load(name, *shape):
    return np.fromfile(f"{d}/{name}", dtype=np.float64).reshape(*shape)
out = {}
tr, te = load("main_train", -1, 24), load("main_test", -1, 24)
for k in [5, 20]:
    m = LocalOutlierFactor(n_neighbors=k, novelty=True, algorithm="brute").fit(tr)
    out[f"lof_{k}"] = (-m.score_samples(te)).tolist()
    out[f"lof_{k}_train"] = (-m.score_samples(tr)).tolist()
dtr = load("dup_train", -1, 24)
m = LocalOutlierFactor(n_neighbors=5, novelty=True, algorithm="brute").fit(dtr)
out["lof_dup"] = (-m.score_samples(load("dup_test", -1, 24))).tolist()
out["lof_dup_train"] = (-m.score_samples(dtr)).tolist()
mtr, mte = load("mix_train", -1, 6), load("mix_test", -1, 6)
for cov in ["full", "diag"]:
    w = load(f"{cov}_weights", ${GMM_K})
    mu = load(f"{cov}_means", ${GMM_K}, 6)
    c = load(f"{cov}_covariances", ${GMM_K}, 6, 6) if cov == "full" else load(f"{cov}_covariances", ${GMM_K}, 6)
    prec = np.linalg.inv(c) if cov == "full" else 1.0 / c
    g = GaussianMixture(n_components=${GMM_K}, covariance_type=cov, reg_covar=1e-6, tol=1e-3, max_iter=100, n_init=1,
                        weights_init=w, means_init=mu, precisions_init=prec, random_state=0).fit(mtr)
    out[f"gmm_{cov}"] = g.score_samples(mte).tolist()
    out[f"gmm_{cov}_train_mean"] = float(g.score(mtr))
    out[f"gmm_{cov}_n_iter"] = int(g.n_iter_)
    out[f"gmm_{cov}_converged"] = bool(g.converged_)
print(json.dumps(out))
`;

let ref: Record<string, unknown> = {};
if (python) {
  write("main_train", main.train.data);
  write("main_test", main.test.data);
  write("dup_train", dup.data);
  write("dup_test", dupTest.data);
  write("mix_train", mixTrain.data);
  write("mix_test", mixTest.data);
  for (const cov of ["full", "diag"] as const) {
    write(`${cov}_weights`, inits[cov].weights);
    write(`${cov}_means`, inits[cov].means);
    write(`${cov}_covariances`, inits[cov].covariances);
  }
  ref = JSON.parse(runPython(python, SCRIPT, [dir])) as Record<string, unknown>;
}

function closeRel(got: ArrayLike<number>, want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!) / Math.max(Math.abs(want[i]!), 1e-12);
    assert.ok(err <= tol, `${what}[${i}]: ${got[i]} vs scikit-learn ${want[i]} (relative error ${err.toExponential(2)})`);
  }
}

for (const k of [5, 20]) {
  test(`lof k=${k} equals scikit-learn's LocalOutlierFactor(novelty=True) −score_samples to 1e-6 relative, on new rows and on the trusted rows`, (t) => {
    if (!python) return t.skip(missingPython(MODULES));
    const fitted = lof({ k }).fit(main.train);
    closeRel(fitted.score(main.test), ref[`lof_${k}`] as number[], 1e-6, `lof ${k} test`);
    closeRel(fitted.score(main.train), ref[`lof_${k}_train`] as number[], 1e-6, `lof ${k} train`);
  });
}

test("lof matches scikit-learn when a trusted row has more duplicates than k (its own copy may not be among its neighbours)", (t) => {
  if (!python) return t.skip(missingPython(MODULES));
  const fitted = lof({ k: 5 }).fit(dup);
  closeRel(fitted.score(dupTest), ref["lof_dup"] as number[], 1e-6, "lof dup test");
  closeRel(fitted.score(dup), ref["lof_dup_train"] as number[], 1e-6, "lof dup train");
});

for (const covariance of ["full", "diag"] as const) {
  test(`gaussian mixture (${covariance}) started from the same mixture matches scikit-learn's log-likelihoods within 1e-3 relative on average and stops at the same iteration`, (t) => {
    if (!python) return t.skip(missingPython(MODULES));
    const spec = gaussianMixture({ components: GMM_K, covariance, seed: 4 });
    const fitted = spec.fit(mixTrain);
    // fit() starts from gaussianMixtureInit with the same params: the mixture sklearn was handed.
    const want = ref[`gmm_${covariance}`] as number[];
    const got = fitted.logLikelihood(mixTest);
    let rel = 0;
    for (let i = 0; i < want.length; i++) rel += Math.abs(got[i]! - want[i]!) / Math.abs(want[i]!);
    rel /= want.length;
    assert.ok(rel <= 1e-3, `mean relative difference ${rel.toExponential(2)}`);
    const train = fitted.logLikelihood(mixTrain);
    const meanTrain = train.reduce((a, b) => a + b, 0) / train.length;
    const wantTrain = ref[`gmm_${covariance}_train_mean`] as number;
    assert.ok(Math.abs(meanTrain - wantTrain) <= 1e-3 * Math.abs(wantTrain), `train mean ${meanTrain} vs ${wantTrain}`);
    assert.equal(fitted.state.iterations, ref[`gmm_${covariance}_n_iter`]);
    assert.equal(fitted.state.converged, ref[`gmm_${covariance}_converged`]);
  });
}
