// Benchmark: fit and score every registered detector on synthetic Gaussian rows (N = 20,000, d = 512, planted
// outliers) and on real use-lite token activations (benign trusted; held-out benign vs jailbreak tokens), against
// scikit-learn timed in a python subprocess on the same float32 matrices in the same run, detector by detector.
// Prints time ratios (ours / scikit-learn; < 1 = faster), both AUROCs, and whether each goal detector meets
// ratio ≤ 1.0 at equal AUROC. The behavioural detectors run on stories260k's behaviour hooks (1 column).
// Run: npm run bench:detectors
// Env: BENCH_N, BENCH_D (synthetic size), BENCH_REAL_N (real trusted token rows, default 20,000),
//      BENCH_ONLY=regex over case labels, BENCH_SETS=regex over set names (synthetic, use-lite, stories260k),
//      BENCH_EPOCHS (autoencoder and VAE, default 10), BENCH_SAE_EPOCHS (sparse autoencoder, default 3: an epoch
//      costs ~12 s at d = 512 with 1,024 features on this machine, ten times the dense autoencoders'),
//      BENCH_GMM_ITER (EM iteration cap of both Gaussian mixtures, ours and scikit-learn's, default 30).

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { DetectorSpec } from "../src/detectors/detector.js";
import { checkFitInput } from "../src/detectors/input-checks.js";
import { createDetector, detectorNames } from "../src/detectors/registry.js";
import { auroc } from "../src/eval/ranking-metrics.js";
import { gemm } from "../src/linalg/blas.js";
import { matrix, type Matrix } from "../src/linalg/matrix.js";
import { openblas } from "../src/linalg/openblas.js";
import { OUTPUT_ENTROPY_HOOK, TOKEN_NLL_HOOK } from "../src/models/behaviour-hooks.js";
import { behaviourSets, realInputs, syntheticSet, useLiteTokenSet, type BenchSet } from "./detector-datasets.js";

const N = Number(process.env.BENCH_N ?? 20000);
const D = Number(process.env.BENCH_D ?? 512);
const REAL_N = Number(process.env.BENCH_REAL_N ?? 20000);
const EPOCHS = Number(process.env.BENCH_EPOCHS ?? 10);
const SAE_EPOCHS = Number(process.env.BENCH_SAE_EPOCHS ?? 3);
/** EM iterations cap for both mixtures (scikit-learn's default is 100; on the real set full EM used ~100 s). */
const GMM_ITER = Number(process.env.BENCH_GMM_ITER ?? 30);
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const SETS = process.env.BENCH_SETS ? new RegExp(process.env.BENCH_SETS) : undefined;
/** Largest |AUROC − scikit-learn's| still called equal: Isolation Forest's seed-to-seed spread is about this. */
const AUROC_TOLERANCE = 0.02;

interface Sklearn {
  /** Python expression building the estimator. */
  make: string;
  /** Python expression fitting `m` on `tr` (default m.fit(tr)). */
  fit?: string;
  /** Python expression scoring `te` with the fitted `m`, higher = more anomalous. */
  score: string;
  /** Note printed under the table (a rough baseline, not the same method). */
  note?: string;
}

interface Case {
  label: string;
  /** Registry name; every name in detectorNames must appear in some case (checked at start). */
  detector: string;
  spec: DetectorSpec;
  /** Spec used for the warm-up on a slice (default `spec`; the gradient-trained ones warm up with one epoch). */
  warm?: DetectorSpec;
  sklearn: Sklearn | null;
  /** Part of the goal: ratio ≤ 1.0 for fit and score at equal AUROC. */
  goal?: boolean;
  /** Batch-scope: scores depend on the whole test set, scored as one batch. */
  batch?: boolean;
  /**
   * Randomised method: the AUROC columns are means over these seeds on both sides (the timed run is seed 0).
   * `reseed(seed)` builds our spec; scikit-learn's `make` has the seed written as SEED.
   */
  seeds?: { count: number; reseed: (seed: number) => DetectorSpec };
}

function activationCases(d: number): Case[] {
  const pcaK = Math.min(64, Math.floor(d / 4));
  const trained = (detector: string, epochs = EPOCHS): Pick<Case, "spec" | "warm"> => ({
    spec: createDetector(detector, { epochs, seed: 0 }),
    warm: createDetector(detector, { epochs: 1, seed: 0 }),
  });
  // Our autoencoder at d: standardise per feature, d → 128 → 32 → 128 → d, relu, Adam 1e-3, batch 256, 10%
  // validation with patience 5. scikit-learn's MLPRegressor on the same layers, reconstructing its input.
  const aeLayers = `(${Math.min(128, Math.max(2 * Math.min(32, Math.ceil(d / 4)), d))}, ${Math.min(32, Math.ceil(d / 4))}, ${Math.min(128, Math.max(2 * Math.min(32, Math.ceil(d / 4)), d))})`;
  return [
    { label: "mahalanobis empirical", detector: "mahalanobis", spec: createDetector("mahalanobis", { covariance: "empirical" }), goal: true, sklearn: { make: "EmpiricalCovariance()", score: "m.mahalanobis(te)" } },
    { label: "mahalanobis ledoit-wolf", detector: "mahalanobis", spec: createDetector("mahalanobis", { covariance: "ledoit-wolf" }), goal: true, sklearn: { make: "LedoitWolf()", score: "m.mahalanobis(te)" } },
    { label: "mahalanobis oas", detector: "mahalanobis", spec: createDetector("mahalanobis", { covariance: "oas" }), goal: true, sklearn: { make: "OAS()", score: "m.mahalanobis(te)" } },
    {
      label: `pca residual k=${pcaK}`,
      detector: "pca",
      spec: createDetector("pca", { components: pcaK }),
      goal: true,
      sklearn: { make: `PCA(n_components=${pcaK})`, score: "((te - m.inverse_transform(m.transform(te))) ** 2).sum(1)" },
    },
    { label: `pca whitened k=${pcaK}`, detector: "pca", spec: createDetector("pca", { components: pcaK, variant: "whitened" }), sklearn: null },
    { label: "knn euclidean k=5", detector: "knn", spec: createDetector("knn", { k: 5 }), goal: true, sklearn: { make: "NearestNeighbors(n_neighbors=5)", score: "m.kneighbors(te)[0][:, -1]" } },
    {
      label: "knn cosine k=5",
      detector: "knn",
      spec: createDetector("knn", { k: 5, metric: "cosine" }),
      goal: true,
      sklearn: { make: "NearestNeighbors(n_neighbors=5, metric='cosine')", score: "m.kneighbors(te)[0][:, -1]" },
    },
    {
      label: "isolation-forest 100 trees",
      detector: "isolation-forest",
      spec: createDetector("isolation-forest", { trees: 100, seed: 0 }),
      goal: true,
      // One forest's AUROC moves by a few hundredths from seed to seed: compare means over 5 seeds.
      seeds: { count: 5, reseed: (seed) => createDetector("isolation-forest", { trees: 100, seed }) },
      sklearn: { make: "IsolationForest(n_estimators=100, random_state=SEED)", score: "-m.score_samples(te)" },
    },
    { label: "lof k=20", detector: "lof", spec: createDetector("lof", { k: 20 }), sklearn: { make: "LocalOutlierFactor(n_neighbors=20, novelty=True)", score: "-m.score_samples(te)" } },
    {
      label: "gaussian-mixture full k=4",
      detector: "gaussian-mixture",
      spec: createDetector("gaussian-mixture", { components: 4, covariance: "full", seed: 0, maxIter: GMM_ITER }),
      sklearn: { make: `GaussianMixture(n_components=4, covariance_type='full', random_state=0, max_iter=${GMM_ITER})`, score: "-m.score_samples(te)" },
    },
    {
      label: "gaussian-mixture diag k=4",
      detector: "gaussian-mixture",
      spec: createDetector("gaussian-mixture", { components: 4, covariance: "diag", seed: 0, maxIter: GMM_ITER }),
      sklearn: { make: `GaussianMixture(n_components=4, covariance_type='diag', random_state=0, max_iter=${GMM_ITER})`, score: "-m.score_samples(te)" },
    },
    {
      label: `autoencoder ${EPOCHS} epochs`,
      detector: "autoencoder",
      ...trained("autoencoder"),
      sklearn: {
        make: `MLPRegressor(hidden_layer_sizes=${aeLayers}, batch_size=256, learning_rate_init=1e-3, max_iter=${EPOCHS}, early_stopping=True, validation_fraction=0.1, n_iter_no_change=5, random_state=0)`,
        fit: "fit_ae(m, tr)",
        score: "score_ae(m, te)",
        note: `autoencoder's baseline is scikit-learn's MLPRegressor ${aeLayers} reconstructing standardised rows, ${EPOCHS} epochs (a rough equivalent, not the same training loop)`,
      },
    },
    { label: `vae ${EPOCHS} epochs`, detector: "vae", ...trained("vae"), sklearn: null },
    { label: `sparse-autoencoder ${SAE_EPOCHS} epochs`, detector: "sparse-autoencoder", ...trained("sparse-autoencoder", SAE_EPOCHS), sklearn: null },
    { label: "que (batch)", detector: "que", spec: createDetector("que"), batch: true, sklearn: null },
    { label: "spectral-signature (batch)", detector: "spectral-signature", spec: createDetector("spectral-signature"), batch: true, sklearn: null },
  ];
}

function behaviourCase(detector: "perplexity" | "output-entropy"): Case {
  return { label: detector, detector, spec: createDetector(detector), sklearn: null };
}

function pythonScript(dir: string, set: BenchSet, c: Case): string {
  const s = c.sklearn!;
  return `
import json, time, warnings, numpy as np
from sklearn.covariance import EmpiricalCovariance, LedoitWolf, OAS
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors, LocalOutlierFactor
from sklearn.ensemble import IsolationForest
from sklearn.mixture import GaussianMixture
from sklearn.neural_network import MLPRegressor
from sklearn.metrics import roc_auc_score
warnings.filterwarnings("ignore")
def fit_ae(m, tr):
    m.mu_, m.sd_ = tr.mean(0), tr.std(0) + 1e-6
    z = (tr - m.mu_) / m.sd_
    return m.fit(z, z)
def score_ae(m, te):
    z = (te - m.mu_) / m.sd_
    return ((m.predict(z) - z) ** 2).mean(1)
tr = np.fromfile("${dir}/train", dtype=np.float32).reshape(${set.train.rows}, ${set.train.cols})
te = np.fromfile("${dir}/test", dtype=np.float32).reshape(${set.test.rows}, ${set.test.cols})
y = np.fromfile("${dir}/labels", dtype=np.uint8)
make = lambda seed=0: ${s.make.replaceAll("SEED", "seed")}
fit = lambda m, tr: ${s.fit ?? "m.fit(tr)"}
score = lambda m, te: ${s.score}
# Warm-up on a slice, as the TypeScript side does (first-call costs: imports, BLAS threads, caches).
try:
    m = make(); fit(m, tr[:1000]); score(m, te[:1000])
except Exception:
    pass
try:
    m = make()
    t0 = time.perf_counter(); fit(m, tr); t1 = time.perf_counter()
    s = score(m, te); t2 = time.perf_counter()
    aurocs = [roc_auc_score(y, s)]
    for seed in range(1, ${c.seeds?.count ?? 1}):
        m = make(seed); fit(m, tr); aurocs.append(roc_auc_score(y, score(m, te)))
    out = {"fit": t1 - t0, "score": t2 - t1, "auroc": float(np.mean(aurocs))}
except Exception as e:
    out = {"error": f"{type(e).__name__}: {e}"[:300]}
print(json.dumps(out))
`;
}

interface Timing {
  fit: number;
  score: number;
  auroc: number;
}

function runSklearn(dir: string, set: BenchSet, c: Case): Timing | undefined {
  const r = spawnSync("/usr/bin/python3", ["-c", pythonScript(dir, set, c)], { encoding: "utf8", env: { ...process.env }, maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    console.log(`scikit-learn run failed on ${c.label} (is python3-sklearn installed?): ${r.stderr.slice(-500)}`);
    return undefined;
  }
  const entry = JSON.parse(r.stdout.trim().split("\n").pop()!) as Timing | { error: string };
  if ("error" in entry) {
    console.log(`scikit-learn failed on ${c.label}: ${entry.error}`);
    return undefined;
  }
  return entry;
}

function runOurs(set: BenchSet, c: Case): Timing {
  const warm = (m: Matrix, rows: number): Matrix => matrix(Math.min(rows, m.rows), m.cols, m.data.subarray(0, Math.min(rows, m.rows) * m.cols));
  // Warm-up on a slice so the timings measure steady-state code, not JIT compilation.
  try {
    (c.warm ?? c.spec).fit(warm(set.train, 1000)).score(warm(set.test, 1000));
  } catch {
    // the timed run below reports it
  }
  const t0 = performance.now();
  const fitted = c.spec.fit(set.train);
  const t1 = performance.now();
  const scores = fitted.score(set.test);
  const t2 = performance.now();
  let sum = auroc(scores, set.labels);
  for (let seed = 1; seed < (c.seeds?.count ?? 1); seed++) sum += auroc(c.seeds!.reseed(seed).fit(set.train).score(set.test), set.labels);
  return { fit: (t1 - t0) / 1000, score: (t2 - t1) / 1000, auroc: sum / (c.seeds?.count ?? 1) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * kNN fit before/after the one-pass change, same run. "before" is the old fit body (NaN scan by gemv column
 * sums, then a private copy); the old first `score` then built the search layout [t, −‖t‖²/2] from that copy,
 * which "before + layout" adds. "after" is the current fit, which builds the layout itself.
 */
function knnFitBeforeAfter(set: BenchSet, sklearnFit: number | undefined): string {
  const before: number[] = [];
  const beforeLayout: number[] = [];
  const after: number[] = [];
  const spec = createDetector("knn", { k: 5 });
  const { rows, cols: d } = set.train;
  for (let r = 0; r < 5; r++) {
    let t0 = performance.now();
    checkFitInput(set.train, "knn", 5);
    const copy = set.train.data.slice();
    before.push(performance.now() - t0);
    const layout = new Float32Array(rows * (d + 1));
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let j = 0, o = i * d, a = i * (d + 1); j < d; j++) {
        const v = copy[o + j]!;
        layout[a + j] = v;
        s += v * v;
      }
      layout[i * (d + 1) + d] = -0.5 * s;
    }
    beforeLayout.push(performance.now() - t0);
    t0 = performance.now();
    spec.fit(set.train);
    after.push(performance.now() - t0);
  }
  const sk = sklearnFit === undefined ? "" : `; scikit-learn ${(sklearnFit * 1000).toFixed(1)} ms (keeps a reference after a finiteness sum)`;
  return (
    `knn fit, median of 5: before ${median(before).toFixed(1)} ms (NaN scan + copy; ${median(beforeLayout).toFixed(1)} ms with the layout ` +
    `its first score built), after ${median(after).toFixed(1)} ms (one pass: copy into the layout + squared norms)${sk}`
  );
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  for (const [i, r] of rows.entries()) {
    console.log("| " + r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!))).join(" | ") + " |");
    if (i === 0) console.log("|" + widths.map((w, j) => (j === 0 ? "-".repeat(w + 1) + "-" : "-".repeat(w + 1) + ":")).join("|") + "|");
  }
}

function benchSet(set: BenchSet, cases: readonly Case[]): void {
  const selected = cases.filter((c) => !ONLY || ONLY.test(c.label));
  if (selected.length === 0) return;
  console.log(`\n## ${set.name}: ${set.description}, float32`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "madkit-bench-"));
  const rows: string[][] = [["detector", "fit s", "sk fit s", "fit ratio", "score s", "sk score s", "score ratio", "AUROC", "sk AUROC"]];
  const goals: string[] = [];
  const notes: string[] = [];
  const dash = "—";
  try {
    writeFileSync(path.join(dir, "train"), new Uint8Array(set.train.data.buffer, set.train.data.byteOffset, set.train.data.byteLength));
    writeFileSync(path.join(dir, "test"), new Uint8Array(set.test.data.buffer, set.test.data.byteOffset, set.test.data.byteLength));
    writeFileSync(path.join(dir, "labels"), set.labels);
    // One detector at a time, scikit-learn then ours back to back, so both see the same machine load.
    for (const c of selected) {
      const ref = c.sklearn ? runSklearn(dir, set, c) : undefined;
      if (c.sklearn?.note) notes.push(c.sklearn.note);
      if (c.seeds) notes.push(`${c.label}: AUROC columns are means over seeds 0-${c.seeds.count - 1} on both sides; times are seed 0's`);
      let ours: Timing;
      try {
        ours = runOurs(set, c);
      } catch (e) {
        console.log(`${c.label} failed: ${(e as Error).message}`);
        continue;
      }
      process.stderr.write(`  ${set.name} / ${c.label}: ours ${(ours.fit + ours.score).toFixed(2)} s` + (ref ? `, scikit-learn ${(ref.fit + ref.score).toFixed(2)} s\n` : "\n"));
      const fitRatio = ref ? ours.fit / ref.fit : undefined;
      const scoreRatio = ref ? ours.score / ref.score : undefined;
      rows.push([
        c.label + (c.batch ? " *" : ""),
        ours.fit.toFixed(3),
        ref ? ref.fit.toFixed(3) : dash,
        fitRatio !== undefined ? fitRatio.toFixed(2) : dash,
        ours.score.toFixed(3),
        ref ? ref.score.toFixed(3) : dash,
        scoreRatio !== undefined ? scoreRatio.toFixed(2) : dash,
        ours.auroc.toFixed(4),
        ref ? ref.auroc.toFixed(4) : dash,
      ]);
      if (c.goal) {
        if (!ref) goals.push(`${c.label}: goal ratio ≤ 1.0: not measured (no scikit-learn result)`);
        else {
          const dAuroc = ours.auroc - ref.auroc;
          const met = fitRatio! <= 1 && scoreRatio! <= 1 && Math.abs(dAuroc) <= AUROC_TOLERANCE;
          goals.push(
            `${c.label}: goal ratio ≤ 1.0: ${met ? "met" : "not met"} (fit ${fitRatio!.toFixed(2)}, score ${scoreRatio!.toFixed(2)}, ` +
              `ΔAUROC ${dAuroc >= 0 ? "+" : ""}${dAuroc.toFixed(4)})`,
          );
        }
      }
      if (c.label === "knn euclidean k=5") notes.push(knnFitBeforeAfter(set, ref?.fit));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(rows);
  if (rows.some((r) => r[0]!.endsWith(" *"))) notes.push("* batch scope: the whole test set scored as one batch (no scikit-learn counterpart)");
  for (const n of notes) console.log(`- ${n}`);
  for (const g of goals) console.log(`- ${g}`);
}

async function main(): Promise<void> {
  const lib = openblas();
  gemm(matrix(2, 2, new Float32Array(4)), matrix(2, 2, new Float32Array(4))); // load and warm the library
  const activation = activationCases(D);
  const covered = new Set([...activation.map((c) => c.detector), "perplexity", "output-entropy"]);
  const missing = detectorNames.filter((n) => !covered.has(n));
  if (missing.length > 0) throw new Error(`perf/detectors.ts has no case for: ${missing.join(", ")}`);
  console.log(`madkit detectors vs scikit-learn (same run, detector by detector); autoencoder/vae ${EPOCHS} epochs (BENCH_EPOCHS), sparse-autoencoder ${SAE_EPOCHS} (BENCH_SAE_EPOCHS)`);
  console.log(`backend: ${lib.config}; OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? "(unset)"} (also given to python)`);
  const start = performance.now();
  if (!SETS || SETS.test("synthetic")) benchSet(syntheticSet(N, D), activation);
  if (!SETS || SETS.test("use-lite") || SETS.test("stories260k")) {
    const inputs = realInputs(2400, 40);
    const { set, trustedInputs } = await useLiteTokenSet(inputs, REAL_N, Math.round(REAL_N * 0.375));
    if (!SETS || SETS.test("use-lite")) benchSet(set, activationCases(set.train.cols));
    if (!SETS || SETS.test("stories260k")) {
      // perplexity / output-entropy score a model's own output behaviour: use-lite (an encoder) has none, so they
      // run on stories260k's behaviour hooks for the same inputs. Their score is the value itself: no baseline.
      const b = await behaviourSets(inputs, trustedInputs);
      benchSet(b[TOKEN_NLL_HOOK]!, [behaviourCase("perplexity")]);
      benchSet(b[OUTPUT_ENTROPY_HOOK]!, [behaviourCase("output-entropy")]);
    }
  }
  console.log(`\ntotal ${((performance.now() - start) / 1000).toFixed(0)} s`);
}

await main();
