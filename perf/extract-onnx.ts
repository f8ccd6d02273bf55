// Benchmark: activation extraction through the ONNX export of stories260K under onnxruntime-node, batch 1
// against batch 16, with the llama2.c adapter on the same paragraphs as the in-run baseline.
// Run: node --import tsx perf/extract-onnx.ts [paragraphs=50]

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { config } from "../src/config.js";
import { loadLlama2cSource } from "../src/models/llama2c/source.js";
import { exportLlama2cToOnnx } from "../src/models/onnx/export-llama2c.js";
import { loadOnnxSource } from "../src/models/onnx/source.js";
import type { ActivationSource } from "../src/models/source.js";

const MODEL_DIR = path.join(config.sharedDir, "models/stories260K");

export interface OnnxBenchResult {
  /** Tokens per second at batch 16 (the extraction default). */
  readonly tokensPerSecond: number;
  /** Tokens per second by batch size, ONNX. */
  readonly onnx: Readonly<Record<number, number>>;
  /** Batch 16 with the texts sorted by length first (little padding). */
  readonly onnxSorted16: number;
  /** Tokens per second of the llama2.c adapter on the same texts (batching does not change its work). */
  readonly llama2cBaseline: number;
  readonly tokens: number;
}

/** Median over `repeats` timed passes (after one warm-up batch): this machine is shared and noisy. */
async function tokensPerSecond(source: ActivationSource, texts: readonly string[], batch: number, repeats = 5): Promise<{ tps: number; tokens: number }> {
  const hooks = source.hooks().filter((h) => /^blocks\.\d+\.hook_resid_post$/.test(h.name)).map((h) => h.name);
  await source.forward(texts.slice(0, Math.min(batch, texts.length)), { hooks });
  const rates: number[] = [];
  let tokens = 0;
  for (let rep = 0; rep < repeats; rep++) {
    tokens = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < texts.length; i += batch) {
      const r = await source.forward(texts.slice(i, i + batch), { hooks });
      tokens += r.tokenCounts.reduce((a, b) => a + b, 0);
    }
    rates.push(tokens / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  rates.sort((a, b) => a - b);
  return { tps: rates[Math.floor(rates.length / 2)]!, tokens };
}

export async function benchOnnx(paragraphs: string[]): Promise<OnnxBenchResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "madkit-bench-onnx-"));
  try {
    const checkpoint = path.join(MODEL_DIR, "stories260K.bin");
    const tokenizer = path.join(MODEL_DIR, "tok512.bin");
    await exportLlama2cToOnnx(checkpoint, tokenizer, dir);
    const onnx = await loadOnnxSource({ dir, id: "onnx:stories260k" });
    const ref = await loadLlama2cSource({ checkpoint, tokenizer, id: "stories260k" });
    try {
      const b1 = await tokensPerSecond(onnx, paragraphs, 1);
      const b16 = await tokensPerSecond(onnx, paragraphs, 16);
      // The same batches with texts sorted by token count: how much of batch 16's cost is padding.
      const sorted = [...paragraphs].sort((a, b) => onnx.tokenize(a).ids.length - onnx.tokenize(b).ids.length);
      const b16sorted = await tokensPerSecond(onnx, sorted, 16);
      const base = await tokensPerSecond(ref, paragraphs, 16);
      return { tokensPerSecond: b16.tps, onnx: { 1: b1.tps, 16: b16.tps }, onnxSorted16: b16sorted.tps, llama2cBaseline: base.tps, tokens: b16.tokens };
    } finally {
      await onnx.dispose();
      await ref.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2] ?? 50);
  const paragraphs = readFileSync(path.join(config.sharedDir, "data/tinystories/tinystories_sample_niklas6.txt"), "utf8")
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .slice(0, n);
  const r = await benchOnnx(paragraphs);
  const f = (x: number): string => x.toFixed(0).padStart(8);
  console.log(`stories260K, ${paragraphs.length} TinyStories paragraphs, ${r.tokens} tokens, hooks blocks.*.hook_resid_post`);
  console.log(`llama2.c adapter (baseline)  ${f(r.llama2cBaseline)} tok/s  1.00x`);
  for (const [b, tps] of Object.entries(r.onnx)) {
    console.log(`onnxruntime batch ${b.padEnd(2)}        ${f(tps)} tok/s  ${(tps / r.llama2cBaseline).toFixed(2)}x`);
  }
  console.log(`onnxruntime batch 16, sorted ${f(r.onnxSorted16)} tok/s  ${(r.onnxSorted16 / r.llama2cBaseline).toFixed(2)}x`);
}
