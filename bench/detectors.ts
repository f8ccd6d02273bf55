// Benchmark: fit and score every detector on N = 20,000 trusted rows, d = 512 (synthetic Gaussian, planted
// outliers in 20,000 test rows), against scikit-learn timed in a python subprocess on the same float32
// matrices in the same run. Prints time ratios (ours / scikit-learn; < 1 = faster) and both AUROCs.
// Run: npm run bench:detectors   (env BENCH_N, BENCH_D to shrink it; BENCH_ONLY=regex to pick detectors)

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { DetectorSpec } from "../src/detectors/detector.js";
import { createDetector } from "../src/detectors/registry.js";
import { auroc } from "../src/eval/ranking-metrics.js";
import { gemm } from "../src/linalg/blas.js";
import { matrix } from "../src/linalg/matrix.js";
import { openblas } from "../src/linalg/openblas.js";
import { plantedOutliers } from "../test/conformance/planted-outliers.js";

const N = Number(process.env.BENCH_N ?? 20000);
const D = Number(process.env.BENCH_D ?? 512);
const PCA_K = Math.min(64, Math.floor(D / 4));

interface Case {
  label: string;
  spec: DetectorSpec;
  /** Python expression building the scikit-learn estimator, and how to score with it; null = no counterpart. */
  sklearn: { make: string; score: string } | null;
}

const CASES: Case[] = [
  { label: "mahalanobis empirical", spec: createDetector("mahalanobis", { covariance: "empirical" }), sklearn: { make: "EmpiricalCovariance()", score: "m.mahalanobis(te)" } },
  { label: "mahalanobis ledoit-wolf", spec: createDetector("mahalanobis", { covariance: "ledoit-wolf" }), sklearn: { make: "LedoitWolf()", score: "m.mahalanobis(te)" } },
  { label: "mahalanobis oas", spec: createDetector("mahalanobis", { covariance: "oas" }), sklearn: { make: "OAS()", score: "m.mahalanobis(te)" } },
  {
    label: `pca residual k=${PCA_K}`,
    spec: createDetector("pca", { components: PCA_K }),
    sklearn: { make: `PCA(n_components=${PCA_K})`, score: "((te - m.inverse_transform(m.transform(te))) ** 2).sum(1)" },
  },
  { label: `pca whitened k=${PCA_K}`, spec: createDetector("pca", { components: PCA_K, variant: "whitened" }), sklearn: null },
  {
    label: "knn euclidean k=5",
    spec: createDetector("knn", { k: 5 }),
    sklearn: { make: "NearestNeighbors(n_neighbors=5)", score: "m.kneighbors(te)[0][:, -1]" },
  },
  {
    label: "knn cosine k=5",
    spec: createDetector("knn", { k: 5, metric: "cosine" }),
    sklearn: { make: "NearestNeighbors(n_neighbors=5, metric='cosine')", score: "m.kneighbors(te)[0][:, -1]" },
  },
  {
    label: "isolation-forest 100 trees",
    spec: createDetector("isolation-forest", { trees: 100, seed: 0 }),
    sklearn: { make: "IsolationForest(n_estimators=100, random_state=0)", score: "-m.score_samples(te)" },
  },
  {
    label: "lof k=20",
    spec: createDetector("lof", { k: 20 }),
    sklearn: { make: "LocalOutlierFactor(n_neighbors=20, novelty=True)", score: "-m.score_samples(te)" },
  },
  {
    label: "gaussian-mixture full k=4",
    spec: createDetector("gaussian-mixture", { components: 4, covariance: "full", seed: 0 }),
    sklearn: { make: "GaussianMixture(n_components=4, covariance_type='full', random_state=0)", score: "-m.score_samples(te)" },
  },
  {
    label: "gaussian-mixture diag k=4",
    spec: createDetector("gaussian-mixture", { components: 4, covariance: "diag", seed: 0 }),
    sklearn: { make: "GaussianMixture(n_components=4, covariance_type='diag', random_state=0)", score: "-m.score_samples(te)" },
  },
];

/** BENCH_ONLY (a regular expression over labels) runs a subset. */
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const SELECTED = CASES.filter((c) => !ONLY || ONLY.test(c.label));

function pythonScript(dir: string, selected: readonly Case[]): string {
  const cases = selected.filter((c) => c.sklearn)
    .map((c) => `    (${JSON.stringify(c.label)}, lambda: ${c.sklearn!.make}, lambda m, te: ${c.sklearn!.score}),`)
    .join("\n");
  return `
import json, time, numpy as np
from sklearn.covariance import EmpiricalCovariance, LedoitWolf, OAS
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors, LocalOutlierFactor
from sklearn.ensemble import IsolationForest
from sklearn.mixture import GaussianMixture
from sklearn.metrics import roc_auc_score
tr = np.fromfile("${dir}/train", dtype=np.float32).reshape(${N}, ${D})
te = np.fromfile("${dir}/test", dtype=np.float32).reshape(${N}, ${D})
y = np.fromfile("${dir}/labels", dtype=np.uint8)
out = {}
cases = [
${cases}
]
# Warm-up on a slice, as the TypeScript side does (first-call costs: imports, BLAS threads, caches).
# A case that fails (here or below) is reported as such; the others still run.
for label, make, score in cases:
    try:
        m = make().fit(tr[:2000]); score(m, te[:1000])
    except Exception:
        pass
for label, make, score in cases:
    try:
        t0 = time.perf_counter(); m = make().fit(tr); t1 = time.perf_counter()
        s = score(m, te); t2 = time.perf_counter()
        out[label] = {"fit": t1 - t0, "score": t2 - t1, "auroc": roc_auc_score(y, s)}
    except Exception as e:
        out[label] = {"error": f"{type(e).__name__}: {e}"[:300]}
print(json.dumps(out))
`;
}

function main(): void {
  const lib = openblas();
  gemm(matrix(2, 2, new Float32Array(4)), matrix(2, 2, new Float32Array(4))); // load and warm the library
  console.log(`madkit detectors vs scikit-learn — N = ${N} trusted + ${N} test rows (5% planted outliers, 1σ shift on 10% of features), d = ${D}, float32`);
  console.log(`backend: ${lib.config}; OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? "(unset)"} (also given to python)`);
  // Outliers shift a tenth of their features by one inlier standard deviation: hard enough that kNN and
  // Isolation Forest AUROCs are informative (larger shifts make every detector perfect).
  const data = plantedOutliers({ nTrain: N, nTest: N, dim: D, seed: 2024, float32: true, shift: 1 });
  const dir = mkdtempSync(path.join(os.tmpdir(), "madkit-bench-"));
  const rows: string[][] = [["detector", "fit s", "sk fit s", "fit ratio", "score s", "sk score s", "score ratio", "AUROC", "sk AUROC"]];
  try {
    writeFileSync(path.join(dir, "train"), new Uint8Array(data.train.data.buffer));
    writeFileSync(path.join(dir, "test"), new Uint8Array(data.test.data.buffer));
    writeFileSync(path.join(dir, "labels"), data.labels);
    const warm = { rows: 1000, cols: D, data: data.train.data.subarray(0, 1000 * D) };
    // One detector at a time, scikit-learn then ours back to back, so both see the same machine load.
    for (const c of SELECTED) {
      let ref: { fit: number; score: number; auroc: number } | undefined;
      if (c.sklearn) {
        const r = spawnSync("/usr/bin/python3", ["-c", pythonScript(dir, [c])], { encoding: "utf8", env: { ...process.env }, maxBuffer: 1 << 24 });
        if (r.status !== 0) console.log(`scikit-learn run failed on ${c.label} (is python3-sklearn installed?): ${r.stderr.slice(-500)}`);
        else {
          const entry = (JSON.parse(r.stdout) as Record<string, { fit: number; score: number; auroc: number } | { error: string }>)[c.label];
          if (entry && "error" in entry) console.log(`scikit-learn failed on ${c.label}: ${entry.error}`);
          else ref = entry;
        }
      }
      // Warm-up on a slice so the timings measure steady-state code, not JIT compilation.
      try {
        c.spec.fit(warm).score(warm);
      } catch {
        // the timed run below reports it
      }
      const t0 = performance.now();
      const fitted = c.spec.fit(data.train);
      const t1 = performance.now();
      const scores = fitted.score(data.test);
      const t2 = performance.now();
      const fit = (t1 - t0) / 1000;
      const score = (t2 - t1) / 1000;
      rows.push([
        c.label,
        fit.toFixed(3),
        ref ? ref.fit.toFixed(3) : "-",
        ref ? (fit / ref.fit).toFixed(2) : "-",
        score.toFixed(3),
        ref ? ref.score.toFixed(3) : "-",
        ref ? (score / ref.score).toFixed(2) : "-",
        auroc(scores, data.labels).toFixed(4),
        ref ? ref.auroc.toFixed(4) : "-",
      ]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  for (const [i, r] of rows.entries()) {
    console.log("| " + r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!))).join(" | ") + " |");
    if (i === 0) console.log("|" + widths.map((w, j) => (j === 0 ? "-".repeat(w + 1) + "-" : "-".repeat(w + 1) + ":")).join("|") + "|");
  }
}

main();
