// `npm run bench:extract`: tokens/s of every model adapter on the shared models, with ratios against a
// baseline measured in the same run — the llama2.c adapter for its ONNX export under onnxruntime-node, the
// pure-JS cpu backend for USE-lite on TensorFlow.js wasm. Times are medians; this machine is noisy.

import { readFileSync } from "node:fs";
import path from "node:path";
import { config } from "../src/config.js";
import { loadModel } from "../src/models/registry.js";
import type { ActivationSource } from "../src/models/source.js";
import { benchOnnx } from "./extract-onnx.js";
import { benchUseLite } from "./extract-tfjs.js";

function paragraphs(n: number): string[] {
  return readFileSync(path.join(config.sharedDir, "data/tinystories/tinystories_sample_niklas6.txt"), "utf8")
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .slice(0, n);
}

function instructions(n: number): string[] {
  const out: string[] = [];
  for (const file of ["seed_tasks.jsonl", "user_oriented_instructions.jsonl"]) {
    const text = readFileSync(path.join(config.sharedDir, "data/self_instruct", file), "utf8");
    for (const line of text.split("\n")) if (line.trim()) out.push((JSON.parse(line) as { instruction: string }).instruction);
  }
  return out.slice(0, n);
}

/** Median tokens/s over `repeats` passes of the residual-stream hooks, batch 16, after a warm-up. */
async function residTokensPerSecond(source: ActivationSource, texts: readonly string[], repeats = 3): Promise<number> {
  const hooks = source.hooks().filter((h) => h.name.endsWith("hook_resid_post")).map((h) => h.name);
  await source.forward(texts.slice(0, 2), { hooks });
  const rates: number[] = [];
  for (let r = 0; r < repeats; r++) {
    let tokens = 0;
    const t0 = performance.now();
    for (let i = 0; i < texts.length; i += 16) {
      const out = await source.forward(texts.slice(i, i + 16), { hooks });
      for (const n of out.tokenCounts) tokens += n;
    }
    rates.push(tokens / ((performance.now() - t0) / 1000));
  }
  return rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)]!;
}

const fmt = (x: number): string => x.toFixed(0).padStart(8);

const stories = paragraphs(Number(process.env.BENCH_PARAGRAPHS ?? 50));
const prompts = instructions(Number(process.env.BENCH_INSTRUCTIONS ?? 200));
console.log(`madkit bench:extract — ${stories.length} TinyStories paragraphs, ${prompts.length} self-instruct instructions\n`);

console.log("llama2.c adapter (pure TS), hooks blocks.*.hook_resid_post, batch 16");
for (const name of ["stories260k", "babyllama-105"]) {
  const source = await loadModel(name);
  try {
    console.log(`  ${name.padEnd(28)} ${fmt(await residTokensPerSecond(source, stories))} tok/s`);
  } finally {
    await source.dispose();
  }
}

console.log("\nstories260k exported to ONNX (HF layout) under onnxruntime-node vs the llama2.c adapter, same run");
const onnx = await benchOnnx(stories);
console.log(`  llama2.c adapter (baseline)  ${fmt(onnx.llama2cBaseline)} tok/s   1.00x`);
for (const [batch, tps] of Object.entries(onnx.onnx)) {
  console.log(`  onnxruntime, batch ${batch.padEnd(9)} ${fmt(tps)} tok/s  ${(tps / onnx.llama2cBaseline).toFixed(2).padStart(5)}x`);
}
console.log(`  onnxruntime, batch 16 sorted  ${fmt(onnx.onnxSorted16)} tok/s  ${(onnx.onnxSorted16 / onnx.llama2cBaseline).toFixed(2).padStart(5)}x`);

console.log("\nuse-lite (TensorFlow.js graph model), all hooks, batches of 32: wasm vs the pure-JS cpu backend, same run");
const wasm = await benchUseLite(prompts, "wasm");
const cpu = await benchUseLite(prompts.slice(0, Math.min(prompts.length, 40)), "cpu");
console.log(`  cpu (baseline)               ${fmt(cpu.tokensPerSecond)} tok/s   1.00x`);
console.log(`  wasm                         ${fmt(wasm.tokensPerSecond)} tok/s  ${(wasm.tokensPerSecond / cpu.tokensPerSecond).toFixed(1).padStart(5)}x`);
