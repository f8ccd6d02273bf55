// Detectors against scikit-learn 1.2 (Debian python3-sklearn) on the same matrices, written as raw float64:
// Mahalanobis ×3 and PCA residuals to 1e-6 relative, kNN distances and neighbours exactly, and Isolation
// Forest AUROC within 0.01 of scikit-learn's, averaged over seeds. Skipped (one line naming
// python3-sklearn) without it, failed under MADKIT_REQUIRE_REFERENCES=1.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { GaussianStats } from "../../src/detectors/gaussian-stats.js";
import { isolationForest } from "../../src/detectors/isolation-forest.js";
import { knn } from "../../src/detectors/knn.js";
import { mahalanobis } from "../../src/detectors/mahalanobis.js";
import { pca } from "../../src/detectors/pca-residual.js";
import { auroc } from "../../src/eval/ranking-metrics.js";
import { rowSlice, type Matrix } from "../../src/linalg/matrix.js";
import { findPython, missingPython, runPython } from "../helpers/python.js";
import { plantedOutliers } from "../../src/datasets/planted-outliers.js";

const MODULES = ["numpy", "sklearn"];
const python = findPython(MODULES);
const dir = mkdtempSync(path.join(os.tmpdir(), "madkit-sklearn-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, m: Matrix<Float64Array> | Uint8Array): string {
  const file = path.join(dir, name);
  writeFileSync(file, m instanceof Uint8Array ? m : new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength));
  return file;
}

const main = plantedOutliers({ nTrain: 400, nTest: 120, dim: 24, seed: 5 });
// Fewer rows than features: only the shrunk estimators are defined.
const wide = plantedOutliers({ nTrain: 15, nTest: 10, dim: 20, seed: 6 });
// One constant feature: shrinkage must cope.
const constant = plantedOutliers({ nTrain: 100, nTest: 20, dim: 12, seed: 7 });
for (let i = 0; i < constant.train.rows; i++) constant.train.data[i * 12 + 4] = 2.5;
const forest = plantedOutliers({ nTrain: 600, nTest: 300, dim: 16, seed: 11, outlierFraction: 0.1, shiftedFeatures: 0.25 });
const SEEDS = 10;

const SCRIPT = `
import json, sys, numpy as np
from sklearn.covariance import EmpiricalCovariance, LedoitWolf, OAS
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
d = sys.argv[1]
def load(name, cols):
    return np.fromfile(f"{d}/{name}", dtype=np.float64).reshape(-1, cols)
out = {}
tr, te = load("main_train", 24), load("main_test", 24)
for name, C in [("empirical", EmpiricalCovariance), ("ledoit-wolf", LedoitWolf), ("oas", OAS)]:
    out["maha_" + name] = C().fit(tr).mahalanobis(te).tolist()
wtr, wte = load("wide_train", 20), load("wide_test", 20)
ctr, cte = load("const_train", 12), load("const_test", 12)
for name, C in [("ledoit-wolf", LedoitWolf), ("oas", OAS)]:
    out["wide_" + name] = C().fit(wtr).mahalanobis(wte).tolist()
    out["const_" + name] = C().fit(ctr).mahalanobis(cte).tolist()
for nc in [5, 0.9]:
    p = PCA(n_components=nc, svd_solver="full").fit(tr)
    out[f"pca_{nc}"] = ((te - p.inverse_transform(p.transform(te))) ** 2).sum(1).tolist()
    out[f"pca_{nc}_k"] = int(p.n_components_)
for metric in ["euclidean", "cosine"]:
    dist, idx = NearestNeighbors(n_neighbors=4, metric=metric, algorithm="brute").fit(tr).kneighbors(te)
    out["knn_" + metric] = dist.tolist()
    out["knn_" + metric + "_idx"] = idx.tolist()
ftr, fte = load("forest_train", 16), load("forest_test", 16)
y = np.fromfile(f"{d}/forest_labels", dtype=np.uint8)
out["forest_auroc"] = [roc_auc_score(y, -IsolationForest(random_state=s).fit(ftr).score_samples(fte)) for s in range(${SEEDS})]
print(json.dumps(out))
`;

let ref: Record<string, unknown> = {};
if (python) {
  write("main_train", main.train);
  write("main_test", main.test);
  write("wide_train", wide.train);
  write("wide_test", wide.test);
  write("const_train", constant.train);
  write("const_test", constant.test);
  write("forest_train", forest.train);
  write("forest_test", forest.test);
  write("forest_labels", forest.labels);
  ref = JSON.parse(runPython(python, SCRIPT, [dir])) as Record<string, unknown>;
}

function closeRel(got: ArrayLike<number>, want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!) / Math.max(Math.abs(want[i]!), 1e-12);
    assert.ok(err <= tol, `${what}[${i}]: ${got[i]} vs scikit-learn ${want[i]} (relative error ${err.toExponential(2)})`);
  }
}

for (const covariance of ["empirical", "ledoit-wolf", "oas"] as const) {
  test(`mahalanobis ${covariance} equals scikit-learn's to 1e-6 relative, also when fitted from merged shards`, (t) => {
    if (!python) return t.skip(missingPython(MODULES));
    const want = ref[`maha_${covariance}`] as number[];
    closeRel(mahalanobis({ covariance }).fit(main.train).score(main.test), want, 1e-6, covariance);
    const shards = GaussianStats.of(rowSlice(main.train, 0, 137))
      .merge(GaussianStats.of(rowSlice(main.train, 137, 290)))
      .merge(GaussianStats.of(rowSlice(main.train, 290, 400)));
    closeRel(mahalanobis({ covariance }).fitStats(shards).score(main.test), want, 1e-6, `${covariance} merged`);
  });
}

for (const covariance of ["ledoit-wolf", "oas"] as const) {
  test(`mahalanobis ${covariance} matches scikit-learn with fewer rows than features and with a constant feature`, (t) => {
    if (!python) return t.skip(missingPython(MODULES));
    closeRel(mahalanobis({ covariance }).fit(wide.train).score(wide.test), ref[`wide_${covariance}`] as number[], 1e-6, "N < d");
    closeRel(mahalanobis({ covariance }).fit(constant.train).score(constant.test), ref[`const_${covariance}`] as number[], 1e-6, "constant");
  });
}

test("pca residuals equal scikit-learn's for a fixed count and for a variance fraction (same k chosen)", (t) => {
  if (!python) return t.skip(missingPython(MODULES));
  for (const components of [5, 0.9]) {
    const fitted = pca({ components }).fit(main.train);
    assert.equal(fitted.k, ref[`pca_${components}_k`]);
    closeRel(fitted.score(main.test), ref[`pca_${components}`] as number[], 1e-6, `pca ${components}`);
  }
});

for (const metric of ["euclidean", "cosine"] as const) {
  test(`knn ${metric} distances and neighbour indices equal scikit-learn's brute-force search`, (t) => {
    if (!python) return t.skip(missingPython(MODULES));
    const { indices, distances } = knn({ k: 4, metric }).fit(main.train).neighbors(main.test);
    const want = ref[`knn_${metric}`] as number[][];
    const wantIdx = ref[`knn_${metric}_idx`] as number[][];
    closeRel(distances, want.flat(), 1e-9, metric);
    assert.deepEqual(Array.from(indices), wantIdx.flat());
  });
}

test("isolation forest AUROC averaged over seeds is within 0.01 of scikit-learn's", (t) => {
  if (!python) return t.skip(missingPython(MODULES));
  const ours = Array.from({ length: SEEDS }, (_, s) => auroc(isolationForest({ seed: s }).fit(forest.train).score(forest.test), forest.labels));
  const theirs = ref["forest_auroc"] as number[];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(Math.abs(mean(ours) - mean(theirs)) <= 0.01, `ours ${mean(ours).toFixed(4)} vs scikit-learn ${mean(theirs).toFixed(4)}`);
});

