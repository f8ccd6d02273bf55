// The data sets perf/detectors.ts runs every detector on: synthetic Gaussian rows with planted outliers, real
// use-lite token activations (benign instructions trusted; held-out benign vs in-the-wild jailbreak tokens
// tested), and stories260k's behaviour hooks on the same inputs. Extractions are cached under config.cacheDir.

import { existsSync } from "node:fs";
import path from "node:path";
import { extractActivations, type ExtractInput } from "../src/activations/extract.js";
import { openStore, type ActivationStore } from "../src/activations/store.js";
import { config } from "../src/config.js";
import { matrix, type Matrix } from "../src/linalg/matrix.js";
import { OUTPUT_ENTROPY_HOOK, TOKEN_NLL_HOOK } from "../src/models/behaviour-hooks.js";
import { loadModel } from "../src/models/registry.js";
import { loadInTheWildJailbreaks } from "../src/datasets/jailbreak-llms.js";
import { loadRefusalSplit } from "../src/datasets/refusal-direction.js";
import { loadSelfInstruct } from "../src/datasets/self-instruct.js";
import { rngFor, shuffled } from "../src/random/seeded-sampling.js";
import { plantedOutliers } from "../src/datasets/planted-outliers.js";

export interface BenchSet {
  readonly name: string;
  /** One line on what the rows are, printed above the table. */
  readonly description: string;
  readonly train: Matrix<Float32Array>;
  readonly test: Matrix<Float32Array>;
  /** 1 where the test row is anomalous. */
  readonly labels: Uint8Array;
}

export function syntheticSet(n: number, d: number): BenchSet {
  // Outliers shift a tenth of their features by one inlier standard deviation: hard enough that kNN and
  // Isolation Forest AUROCs are informative (larger shifts make every detector perfect).
  const data = plantedOutliers({ nTrain: n, nTest: n, dim: d, seed: 2024, float32: true, shift: 1 });
  return {
    name: "synthetic",
    description: `synthetic Gaussian, ${n} trusted + ${n} test rows (5% planted outliers, 1σ shift on 10% of features), d = ${d}`,
    ...data,
  };
}

/** The inputs both real sets share: a seeded sample of benign instructions, then in-the-wild jailbreak prompts. */
export interface RealInputs {
  readonly benign: readonly string[];
  readonly jailbreak: readonly string[];
}

export function realInputs(benignCount: number, jailbreakCount: number, seed = 2024): RealInputs {
  const pool = [...loadSelfInstruct("seed_tasks"), ...loadSelfInstruct("user_oriented_instructions"), ...loadRefusalSplit("harmless_train")];
  const benign = shuffled(rngFor(seed, "bench-detectors:benign"), pool).slice(0, benignCount).map((r) => r.text);
  const jailbreak = shuffled(rngFor(seed, "bench-detectors:jailbreak"), loadInTheWildJailbreaks()).slice(0, jailbreakCount).map((r) => r.text);
  return { benign, jailbreak };
}

/** Open the cached store for these inputs, extracting it first when it is missing or unfinished. */
async function cachedStore(model: string, hooks: string[], pooling: "all" | "mean", inputs: RealInputs, tag: string): Promise<ActivationStore> {
  const out = path.join(config.cacheDir, "bench-detectors", `${model}-${tag}-${inputs.benign.length}b-${inputs.jailbreak.length}j`);
  const total = inputs.benign.length + inputs.jailbreak.length;
  if (existsSync(path.join(out, "index.json"))) {
    const store = openStore(out);
    if (store.index.inputCount === total) return store;
  }
  const list: ExtractInput[] = [
    ...inputs.benign.map((text, i) => ({ id: `benign:${i}`, text })),
    ...inputs.jailbreak.map((text, i) => ({ id: `jailbreak:${i}`, text })),
  ];
  const t0 = performance.now();
  const source = await loadModel(model);
  try {
    // Truncation of long jailbreak prompts to the model's context is expected; the warnings would only be noise.
    const r = await extractActivations({ source, inputs: list, hooks, pooling, out, onWarning: () => {} });
    console.log(`extracted ${model} ${hooks.join(",")} (${pooling}): ${total} inputs, ${r.tokens} tokens in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${out}`);
  } finally {
    await source.dispose();
  }
  return openStore(out);
}

/** Copy the given [start, end) row ranges of m into one matrix. */
function gatherRows(m: Matrix<Float32Array>, ranges: readonly (readonly [number, number])[]): Matrix<Float32Array> {
  const rows = ranges.reduce((s, [a, b]) => s + b - a, 0);
  const out = new Float32Array(rows * m.cols);
  let at = 0;
  for (const [a, b] of ranges) {
    out.set(m.data.subarray(a * m.cols, b * m.cols), at * m.cols);
    at += b - a;
  }
  return matrix(rows, m.cols, out);
}

/**
 * use-lite `blocks.1.hook_resid_post` (d = 512), one row per token. Trusted: whole benign inputs, in sampled
 * order, while the rows stay ≤ `trustedRows`; test: the following benign inputs up to `benignTestRows`, then
 * every jailbreak token (the anomalies). Splitting by input keeps an input's tokens on one side.
 * Returns the set and how many benign inputs went to the trusted side (the behaviour set uses the same split).
 */
export async function useLiteTokenSet(inputs: RealInputs, trustedRows: number, benignTestRows: number): Promise<{ set: BenchSet; trustedInputs: number }> {
  const hook = "blocks.1.hook_resid_post";
  const store = await cachedStore("use-lite", [hook], "all", inputs, "resid1-all");
  const all = store.readHook(hook);
  const rowsOf = store.inputs().map((r) => r.rows!);
  const nb = inputs.benign.length;
  let i = 0;
  let trusted = 0;
  while (i < nb && trusted + (rowsOf[i]![1] - rowsOf[i]![0]) <= trustedRows) {
    trusted += rowsOf[i]![1] - rowsOf[i]![0];
    i++;
  }
  const trustedInputs = i;
  const benignTest: [number, number][] = [];
  let testRows = 0;
  while (i < nb && testRows < benignTestRows) {
    benignTest.push(rowsOf[i]!);
    testRows += rowsOf[i]![1] - rowsOf[i]![0];
    i++;
  }
  const jail = rowsOf.slice(nb);
  const train = gatherRows(all, rowsOf.slice(0, trustedInputs));
  const test = gatherRows(all, [...benignTest, ...jail]);
  const labels = new Uint8Array(test.rows);
  labels.fill(1, testRows);
  const description =
    `use-lite blocks.1.hook_resid_post, one row per token: ${train.rows} trusted rows (${trustedInputs} benign instructions), ` +
    `${test.rows} test rows = ${testRows} held-out benign (${benignTest.length} instructions) + ${test.rows - testRows} jailbreak ` +
    `(${jail.length} in-the-wild prompts, ≤ 128 tokens each), d = ${all.cols}`;
  if (trustedInputs === nb || testRows < benignTestRows) {
    console.log(`note: only ${nb} benign inputs were extracted; raise BENCH_REAL_INPUTS for ${trustedRows} + ${benignTestRows} rows`);
  }
  return { set: { name: "use-lite", description, train, test, labels }, trustedInputs };
}

/**
 * stories260k's behaviour hooks, mean-pooled per input (one row per input, one column per hook), on the same
 * inputs and split as the use-lite set: benign inputs [0, trustedInputs) trusted, the rest benign test rows.
 */
export async function behaviourSets(inputs: RealInputs, trustedInputs: number): Promise<Record<string, BenchSet>> {
  const store = await cachedStore("stories260k", [TOKEN_NLL_HOOK, OUTPUT_ENTROPY_HOOK], "mean", inputs, "behaviour-mean");
  const nb = inputs.benign.length;
  const out: Record<string, BenchSet> = {};
  for (const hook of [TOKEN_NLL_HOOK, OUTPUT_ENTROPY_HOOK]) {
    const all = store.readHook(hook);
    const train = gatherRows(all, [[0, trustedInputs]]);
    const test = gatherRows(all, [[trustedInputs, all.rows]]);
    const labels = new Uint8Array(test.rows);
    labels.fill(1, nb - trustedInputs);
    out[hook] = {
      name: `stories260k ${hook}`,
      description:
        `stories260k ${hook}, mean over tokens (1 column): ${train.rows} trusted benign inputs, ` +
        `${test.rows} test = ${nb - trustedInputs} held-out benign + ${test.rows - (nb - trustedInputs)} jailbreak`,
      train,
      test,
      labels,
    };
  }
  return out;
}
