// Benchmark: training throughput (samples/s) of the autoencoder 512→128→512 (ReLU hidden, MSE, Adam,
// batch 256) on madkit's training core (jax-js, jitted step) against TensorFlow.js's wasm backend, measured
// in the same run and printed as a ratio. Run: node --import tsx perf/train.ts [steps]

import { numpy as np, nn } from "@jax-js/jax";
import { initWeight, zerosTensor, type HostParams } from "../src/train/params.js";
import { SeededRng } from "../src/random/seeded-rng.js";
import { trainModel } from "../src/train/train-loop.js";
import { tf, withBackend } from "../src/models/tfjs/tfjs-backend.js";
import { buildSync } from "esbuild";
import { createRequire } from "node:module";

/**
 * tfjs-core ships its gradient definitions only as bundler-style ES modules (extensionless imports that
 * Node can't load); the @tensorflow/tfjs umbrella bundles them. We bundle them here with esbuild (already
 * installed with tsx) and run the bundle once: tfjs keeps its engine and gradient registry on globalThis,
 * so the bundle's registrations reach the tfjs-core instance the backend uses.
 */
function registerTfjsGradients(): void {
  const require = createRequire(import.meta.url);
  const entry = require.resolve("@tensorflow/tfjs-core/dist/register_all_gradients.js");
  const out = buildSync({ entryPoints: [entry], bundle: true, format: "cjs", platform: "node", write: false, logLevel: "silent" });
  new Function("require", "module", "exports", out.outputFiles[0]!.text)(require, { exports: {} }, {});
}

const D = 512;
const H = 128;
const BATCH = 256;
const STEPS = Number(process.argv[2] ?? 40);
const WARMUP = 3;

const rng = new SeededRng(1);
const rows = BATCH * 8;
const data = rng.fillNormal(new Float32Array(rows * D)) as Float32Array;

function initParams(r: SeededRng): HostParams {
  return {
    w1: initWeight(r, D, H, Math.SQRT2),
    b1: zerosTensor([H]),
    w2: initWeight(r, H, D, 1),
    b2: zerosTensor([D]),
  };
}

/** madkit's loop, timed by difference (long run − short run) so jit compilation drops out. */
function jaxSamplesPerSecond(): number {
  const model = {
    name: "bench-ae",
    noiseCols: 0,
    init: (r: SeededRng) => initParams(r),
    loss: (p: Record<string, np.Array>, x: np.Array) => {
      const h = nn.relu(np.matmul(x.ref, p.w1!).add(p.b1!));
      return np.mean(np.square(np.matmul(h, p.w2!).add(p.b2!).sub(x)));
    },
  };
  // Epochs of 8 steps each over `rows` rows.
  const run = (steps: number): number => {
    const t0 = performance.now();
    trainModel(model, data, rows, D, { epochs: Math.max(1, Math.round(steps / 8)), batchSize: BATCH, seed: 1 });
    return performance.now() - t0;
  };
  run(8); // warm the wasm module and allocator
  const short = run(8);
  const long = run(8 + STEPS);
  const steps = 8 * Math.round((8 + STEPS) / 8) - 8;
  return (steps * BATCH) / ((long - short) / 1000);
}

async function tfjsWasmSamplesPerSecond(): Promise<number> {
  return withBackend("wasm", async () => {
    const p = initParams(new SeededRng(1));
    const w1 = tf.variable(tf.tensor2d(p.w1!.data, [D, H]));
    const b1 = tf.variable(tf.zeros([H]));
    const w2 = tf.variable(tf.tensor2d(p.w2!.data, [H, D]));
    const b2 = tf.variable(tf.zeros([D]));
    const opt = tf.train.adam(1e-3);
    const step = async (s: number): Promise<void> => {
      const start = (s % 8) * BATCH;
      const x = tf.tensor2d(data.subarray(start * D, (start + BATCH) * D), [BATCH, D]);
      const loss = opt.minimize(() => {
        const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
        return tf.mean(tf.square(tf.sub(tf.add(tf.matMul(h, w2), b2), x))) as tf.Scalar;
      }, true);
      await loss!.data();
      loss!.dispose();
      x.dispose();
    };
    for (let s = 0; s < WARMUP; s++) await step(s);
    const t0 = performance.now();
    for (let s = 0; s < STEPS; s++) await step(s);
    const ms = performance.now() - t0;
    for (const v of [w1, b1, w2, b2]) v.dispose();
    opt.dispose();
    return (STEPS * BATCH) / (ms / 1000);
  });
}

registerTfjsGradients();
const tfjs = await tfjsWasmSamplesPerSecond();
const jax = jaxSamplesPerSecond();
console.log(`autoencoder ${D}→${H}→${D}, batch ${BATCH}, Adam, ${STEPS} timed steps`);
console.log(`  tfjs-wasm 4.22 (baseline): ${tfjs.toFixed(0)} samples/s`);
console.log(`  madkit train loop on @jax-js/jax 0.1.25 (jit): ${jax.toFixed(0)} samples/s`);
console.log(`  ratio jax-js / tfjs-wasm: ${(jax / tfjs).toFixed(2)}x`);
