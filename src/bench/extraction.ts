// Activations for the benchmark: one pooled store per (model, revision, hooks, pooling, ordered texts) under
// `<cacheDir>/bench/<key>`, so a rerun of the same command reads the store instead of running the model.
// The model runs only when the store is missing or unfinished.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { extractActivations, type ExtractProgress } from "../activations/extract.js";
import type { Pooling } from "../activations/pooling.js";
import { openStore } from "../activations/store.js";
import { INDEX_FILE } from "../activations/store-layout.js";
import { MadkitError } from "../errors.js";
import type { Matrix } from "../linalg/matrix.js";
import type { ActivationSource } from "../models/source.js";

export interface BenchText {
  readonly id: string;
  readonly text: string;
}

export interface ExtractedActivations {
  /** One pooled [texts x dim] matrix per hook, rows in the order of the texts given. */
  readonly matrices: ReadonlyMap<string, Matrix<Float32Array>>;
  /** Tokens the model saw per text (after truncation). */
  readonly tokens: Int32Array;
  readonly truncated: Uint8Array;
  readonly dir: string;
  readonly reused: boolean;
  readonly seconds: number;
}

export interface BenchExtractOptions {
  readonly source: ActivationSource;
  readonly texts: readonly BenchText[];
  readonly hooks: readonly string[];
  readonly pooling: Pooling;
  readonly cacheDir: string;
  readonly batchSize?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** The cache folder's key: model identity and revision, hooks, pooling and the ordered text hashes. */
export function benchStoreKey(o: Pick<BenchExtractOptions, "source" | "texts" | "hooks" | "pooling">): string {
  const h = createHash("sha256");
  h.update(["madkit-bench-store/v1", o.source.info.id, o.source.info.revision, o.hooks.join(","), o.pooling].join("\0"));
  for (const t of o.texts) h.update(`\0${createHash("sha256").update(t.text).digest("hex")}`);
  return h.digest("hex").slice(0, 32);
}

export async function extractForBench(o: BenchExtractOptions): Promise<ExtractedActivations> {
  const started = performance.now();
  const source = o.source;
  const dir = path.join(o.cacheDir, "bench", `${source.info.id.replace(/[^\w.-]/g, "_")}-${benchStoreKey(o)}`);
  const reused = existsSync(path.join(dir, INDEX_FILE));
  if (!reused) {
    await extractActivations({
        source,
        inputs: o.texts.map((t, i) => ({ id: `${i}:${t.id}`, text: t.text })),
        hooks: [...o.hooks],
        pooling: o.pooling,
        out: dir,
        chunkSize: 4096,
        batchSize: o.batchSize ?? 16,
        onProgress: (p: ExtractProgress) => o.onProgress?.(p.inputsDone, o.texts.length),
      });
  }
  const store = openStore(dir);
  const rows = store.inputs();
  if (rows.length !== o.texts.length) {
    throw new MadkitError("STORE_CORRUPT", `${dir}: holds ${rows.length} inputs, the benchmark asked for ${o.texts.length}`);
  }
  const matrices = new Map<string, Matrix<Float32Array>>();
  for (const h of o.hooks) matrices.set(h, store.readHook(h));
  const tokens = Int32Array.from(rows, (r) => r.tokens);
  const truncated = Uint8Array.from(rows, (r) => (r.truncated ? 1 : 0));
  o.onProgress?.(o.texts.length, o.texts.length);
  return { matrices, tokens, truncated, dir, reused, seconds: (performance.now() - started) / 1000 };
}
