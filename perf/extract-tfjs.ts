// Throughput of USE-lite activation extraction on the two TensorFlow.js backends, printed as a ratio
// (wasm over pure-JS cpu) measured in the same run. Run: node --import tsx perf/extract-tfjs.ts [count]

import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { config } from "../src/config.js";
import { loadUseLiteSource } from "../src/models/tfjs/use-lite.js";

const BATCH = 32;

/** Extract every hook for `texts` in batches of 32 (after one warm-up batch); loading is not timed. */
export async function benchUseLite(
  texts: string[],
  backend: "wasm" | "cpu",
): Promise<{ tokensPerSecond: number; inputsPerSecond: number }> {
  const source = await loadUseLiteSource({ backend });
  try {
    const hooks = source.hooks().map((h) => h.name);
    await source.forward(texts.slice(0, 4), { hooks });
    let tokens = 0;
    const start = performance.now();
    for (let i = 0; i < texts.length; i += BATCH) {
      const r = await source.forward(texts.slice(i, i + BATCH), { hooks });
      for (const n of r.tokenCounts) tokens += n;
    }
    const seconds = (performance.now() - start) / 1000;
    return { tokensPerSecond: tokens / seconds, inputsPerSecond: texts.length / seconds };
  } finally {
    await source.dispose();
  }
}

function selfInstructInstructions(count: number): string[] {
  const out: string[] = [];
  for (const file of ["seed_tasks.jsonl", "user_oriented_instructions.jsonl"]) {
    const text = readFileSync(path.join(config.sharedDir, "data", "self_instruct", file), "utf8");
    for (const line of text.split("\n")) if (line.trim()) out.push((JSON.parse(line) as { instruction: string }).instruction);
  }
  return out.slice(0, count);
}

async function main(): Promise<void> {
  const texts = selfInstructInstructions(Number(process.argv[2] ?? 200));
  console.log(`USE-lite, all ${13} hooks, ${texts.length} self-instruct instructions, batches of ${BATCH}`);
  const results: Record<string, { tokensPerSecond: number; inputsPerSecond: number }> = {};
  for (const backend of ["wasm", "cpu"] as const) {
    const r = await benchUseLite(texts, backend);
    results[backend] = r;
    console.log(`${backend.padEnd(4)}  ${r.tokensPerSecond.toFixed(0).padStart(7)} tokens/s  ${r.inputsPerSecond.toFixed(1).padStart(7)} inputs/s`);
  }
  console.log(`wasm / cpu: ${(results.wasm!.tokensPerSecond / results.cpu!.tokensPerSecond).toFixed(1)}x`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await main();
}
