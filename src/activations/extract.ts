// Streaming extraction: inputs flow in batches through `source.forward`, get pooled, and are written to the
// store one part (`chunkSize` inputs) at a time, so memory holds one part, never the whole input set.
// Resumable: a rerun with the same arguments reuses every finished part whose input hashes still match.

import { existsSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { MadkitError } from "../errors.js";
import { firstNonFinite } from "../linalg/matrix.js";
import { resolveHooks } from "../models/hook-names.js";
import type { ActivationSource, HookPoint } from "../models/source.js";
import type { InputLabel, InputRecord } from "./input-reader.js";
import { pooledRows, poolTokens, type Pooling } from "./pooling.js";
import {
  describeParamsDifference,
  INDEX_FILE,
  indexSchema,
  INPUTS_FILE,
  listPartNumbers,
  partFileName,
  PartBuilder,
  PROGRESS_FILE,
  progressSchema,
  readJsonFile,
  readPartContents,
  removeTempFiles,
  sha256Hex,
  storeParams,
  writeProgress,
  writeStoreIndex,
  type Shard,
  type StoreIndex,
  type StoreParams,
} from "./store-layout.js";

/** An input as a library caller may give it: a bare string, or a record (id defaults to the position). */
export type ExtractInput = string | { readonly id?: string | number; readonly text: string; readonly label?: InputLabel; readonly meta?: Readonly<Record<string, unknown>> };

export interface ExtractProgress {
  /** `batch`: a batch went through the model; `part-written` / `part-reused`: a part is final on disk. */
  readonly event: "batch" | "part-written" | "part-reused";
  readonly part: number;
  /** Inputs of this shard finished so far (reused ones included). */
  readonly inputsDone: number;
  readonly partsDone: number;
  /** Tokens run through the model in this call. */
  readonly tokens: number;
}

export interface ExtractOptions {
  readonly source: ActivationSource;
  readonly inputs: AsyncIterable<InputRecord | ExtractInput> | Iterable<InputRecord | ExtractInput>;
  /** Names or globs (`blocks.*.hook_resid_post`), or a comma-separated string of them. */
  readonly hooks: string | readonly string[];
  readonly pooling: Pooling;
  readonly out: string;
  /** Inputs per part file. Default 1024. */
  readonly chunkSize?: number;
  /** Inputs per `source.forward` call. Default 16. */
  readonly batchSize?: number;
  /** Keep only inputs whose stream position ≡ index (mod count). Default {index: 0, count: 1}. */
  readonly shard?: Shard;
  /** Stop after this many inputs of the stream (counted before sharding, so shards of a limited run combine). */
  readonly limit?: number;
  /** Delete an existing store in `out` instead of resuming it. */
  readonly overwrite?: boolean;
  readonly onProgress?: (p: ExtractProgress) => void;
  readonly onWarning?: (message: string) => void;
}

export interface ExtractResult {
  readonly out: string;
  readonly index: StoreIndex;
  readonly partsWritten: number;
  readonly partsReused: number;
  /** Tokens run through the model in this call (reused parts excluded). */
  readonly tokens: number;
  readonly seconds: number;
  readonly tokensPerSecond: number;
}

export const EXTRACT_DEFAULTS = { chunkSize: 1024, batchSize: 16 } as const;

interface Pending {
  readonly index: number;
  readonly id: string;
  readonly text: string;
  readonly sha256: string;
  readonly label?: InputLabel;
  readonly meta?: Readonly<Record<string, unknown>>;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new MadkitError("BAD_ARGUMENT", `${name} must be a positive integer, got ${v}`);
  return v;
}

export function checkShard(shard: Shard): Shard {
  if (!Number.isInteger(shard.count) || shard.count < 1 || !Number.isInteger(shard.index) || shard.index < 0 || shard.index >= shard.count) {
    throw new MadkitError("BAD_ARGUMENT", `shard must be i/n with 0 <= i < n, got ${shard.index}/${shard.count}`);
  }
  return shard;
}

/** Check (or clear, with `overwrite`) what is already in `out`; returns nothing, throws STORE_MISMATCH. */
function prepareOut(out: string, params: StoreParams, overwrite: boolean): void {
  mkdirSync(path.join(out, "shards"), { recursive: true });
  removeTempFiles(out);
  if (overwrite) {
    for (const f of [INDEX_FILE, PROGRESS_FILE, INPUTS_FILE]) rmSync(path.join(out, f), { force: true });
    for (const p of listPartNumbers(out)) rmSync(path.join(out, partFileName(p)), { force: true });
    return;
  }
  let stored: StoreParams | undefined;
  let from = "";
  if (existsSync(path.join(out, INDEX_FILE))) {
    const idx = readJsonFile(path.join(out, INDEX_FILE), indexSchema, "store index");
    stored = { model: idx.model, hooks: idx.hooks.map(({ name, dim, granularity, layer }) => ({ name, dim, granularity, layer })), pooling: idx.pooling, dtype: idx.dtype, chunkSize: idx.chunkSize, shard: idx.shard };
    from = INDEX_FILE;
  } else if (existsSync(path.join(out, PROGRESS_FILE))) {
    stored = readJsonFile(path.join(out, PROGRESS_FILE), progressSchema, "progress file").params;
    from = PROGRESS_FILE;
  }
  if (stored) {
    const diff = describeParamsDifference(stored, params);
    if (diff) {
      throw new MadkitError(
        "STORE_MISMATCH",
        `${path.join(out, from)}: the store in ${out} was made with ${diff}; use another --out, or --overwrite to replace it`,
      );
    }
  }
}

async function* normalize(inputs: ExtractOptions["inputs"]): AsyncGenerator<{ id: string; text: string; label?: InputLabel; meta?: Readonly<Record<string, unknown>> }> {
  let i = 0;
  for await (const x of inputs as AsyncIterable<InputRecord | ExtractInput>) {
    if (typeof x === "string") yield { id: String(i), text: x };
    else {
      if (typeof x.text !== "string") throw new MadkitError("BAD_INPUT", `input ${i}: expected a string 'text', found ${typeof x.text}`);
      yield { id: x.id === undefined ? String(i) : String(x.id), text: x.text, label: x.label, meta: x.meta };
    }
    i++;
  }
}

export async function extractActivations(options: ExtractOptions): Promise<ExtractResult> {
  const started = performance.now();
  const { source, out, pooling } = options;
  const chunkSize = positiveInt("chunkSize", options.chunkSize ?? EXTRACT_DEFAULTS.chunkSize);
  const batchSize = positiveInt("batchSize", options.batchSize ?? EXTRACT_DEFAULTS.batchSize);
  const shard = checkShard(options.shard ?? { index: 0, count: 1 });
  const limit = options.limit === undefined ? Infinity : options.limit;
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) throw new MadkitError("BAD_ARGUMENT", `limit must be a non-negative integer, got ${limit}`);
  const hookPoints: HookPoint[] = resolveHooks(options.hooks, source.hooks());
  const hookNames = hookPoints.map((h) => h.name);
  const params = storeParams(source.info, hookPoints, pooling, chunkSize, shard);
  prepareOut(out, params, options.overwrite ?? false);

  let part = 0;
  let partsWritten = 0;
  let partsReused = 0;
  let inputsDone = 0;
  let tokens = 0;
  let tokenRows = 0;
  let indexRemoved = false;

  const runPart = async (items: Pending[]): Promise<void> => {
    const file = path.join(out, partFileName(part));
    if (existsSync(file)) {
      const c = readPartContents(file);
      const diff = describeParamsDifference(c.params, params);
      if (diff) throw new MadkitError("STORE_MISMATCH", `${file}: this part was made with ${diff}; use another --out, or --overwrite`);
      const n = Math.min(c.inputs.length, items.length);
      for (let k = 0; k < n; k++) {
        const was = c.inputs[k]!;
        const now = items[k]!;
        if (was.sha256 !== now.sha256 || was.index !== now.index) {
          throw new MadkitError(
            "STORE_MISMATCH",
            `${file}: input #${now.index} ('${now.id}') differs from the one stored there (#${was.index} '${was.id}', text hash ` +
              `${was.sha256.slice(0, 12)} vs ${now.sha256.slice(0, 12)}); the input file changed — use another --out, or --overwrite`,
          );
        }
      }
      if (c.inputs.length === items.length) {
        const tokenHook = pooling === "all" ? hookPoints.find((h) => h.granularity === "token") : undefined;
        if (tokenHook) tokenRows += c.rows.get(tokenHook.name)!;
        inputsDone += items.length;
        partsReused++;
        part++;
        options.onProgress?.({ event: "part-reused", part: part - 1, inputsDone, partsDone: part, tokens });
        return;
      }
      if (c.inputs.length > items.length) {
        throw new MadkitError(
          "STORE_MISMATCH",
          `${file}: holds ${c.inputs.length} inputs but this run has only ${items.length} for it (fewer inputs than before); use another --out, or --overwrite`,
        );
      }
      // The stored part is a strict prefix (an earlier run had fewer inputs): rebuild it below.
    }
    if (!indexRemoved) {
      // The store is about to change: it is no longer the complete store index.json describes.
      rmSync(path.join(out, INDEX_FILE), { force: true });
      indexRemoved = true;
    }
    const builder = new PartBuilder(out, part, params, tokenRows);
    try {
      // Batches run in order of text length so each padded batch wastes little work (ONNX pads to the
      // longest input); results are pooled at once and added to the part in input order afterwards.
      const order = items.map((_, i) => i).sort((a, b) => items[a]!.text.length - items[b]!.text.length || a - b);
      const pooledByItem: Array<{ nTok: number; truncated: boolean; rows: Map<string, Float32Array> }> = new Array(items.length);
      for (let b = 0; b < order.length; b += batchSize) {
        const batchIdx = order.slice(b, b + batchSize);
        const batch = batchIdx.map((i) => items[i]!);
        const res = await source.forward(
          batch.map((x) => x.text),
          { hooks: hookNames },
        );
        if (res.activations.length !== batch.length || res.tokenCounts.length !== batch.length || res.truncated.length !== batch.length) {
          throw new MadkitError(
            "DIMENSION_MISMATCH",
            `model '${source.info.id}' returned ${res.activations.length} results for a batch of ${batch.length} inputs`,
          );
        }
        batch.forEach((x, j) => {
          const acts = res.activations[j]!;
          const nTok = res.tokenCounts[j]!;
          const rows = new Map<string, Float32Array>();
          for (const h of hookPoints) {
            const m = acts.get(h.name);
            if (!m) throw new MadkitError("UNKNOWN_HOOK", `model '${source.info.id}' returned no '${h.name}' activations for input '${x.id}'`);
            if (m.cols !== h.dim) {
              throw new MadkitError("DIMENSION_MISMATCH", `hook '${h.name}' of input '${x.id}' has width ${m.cols}, the model lists ${h.dim}`);
            }
            const bad = firstNonFinite(m.data);
            if (bad >= 0) {
              throw new MadkitError(
                "NON_FINITE",
                `input '${x.id}' (#${x.index}), hook '${h.name}': activation at token ${Math.floor(bad / m.cols)}, unit ${bad % m.cols} is ${m.data[bad]}`,
              );
            }
            const pooled = poolTokens(m, pooling, h.granularity);
            const expect = pooledRows(pooling, h.granularity, m.rows);
            if (pooled.rows !== expect) throw new MadkitError("DIMENSION_MISMATCH", `hook '${h.name}' of input '${x.id}': pooled to ${pooled.rows} rows, expected ${expect}`);
            rows.set(h.name, pooled.data);
          }
          pooledByItem[batchIdx[j]!] = { nTok, truncated: res.truncated[j]!, rows };
          tokens += nTok;
        });
        options.onProgress?.({ event: "batch", part, inputsDone: inputsDone + Math.min(b + batchSize, items.length), partsDone: part, tokens });
      }
      items.forEach((x, i) => {
        const r = pooledByItem[i]!;
        if (r.truncated) {
          options.onWarning?.(`input '${x.id}' (#${x.index}) was truncated to ${r.nTok} tokens (model context ${source.info.contextLength})`);
        }
        builder.add({ index: x.index, id: x.id, sha256: x.sha256, label: x.label, tokens: r.nTok, truncated: r.truncated, meta: x.meta }, (h) => r.rows.get(h.name)!);
      });
      builder.finish();
    } catch (e) {
      builder.abort();
      throw e;
    }
    tokenRows = builder.tokenRows;
    inputsDone += items.length;
    partsWritten++;
    part++;
    writeProgress(out, params, part, inputsDone);
    options.onProgress?.({ event: "part-written", part: part - 1, inputsDone, partsDone: part, tokens });
  };

  let position = 0;
  let pending: Pending[] = [];
  for await (const x of normalize(options.inputs)) {
    if (position >= limit) break;
    const index = position++;
    if (index % shard.count !== shard.index) continue;
    pending.push({ index, id: x.id, text: x.text, sha256: sha256Hex(x.text), label: x.label, meta: x.meta });
    if (pending.length === chunkSize) {
      await runPart(pending);
      pending = [];
    }
  }
  if (pending.length > 0) await runPart(pending);

  // Parts past the end belong to an earlier, longer run of the same arguments.
  for (const p of listPartNumbers(out)) {
    if (p >= part) {
      options.onWarning?.(`${path.join(out, partFileName(p))}: removed, the inputs now end before it`);
      rmSync(path.join(out, partFileName(p)), { force: true });
    }
  }
  writeProgress(out, params, part, inputsDone);
  const index = writeStoreIndex(out, params, part, position);
  const seconds = (performance.now() - started) / 1000;
  return { out, index, partsWritten, partsReused, tokens, seconds, tokensPerSecond: seconds > 0 ? tokens / seconds : 0 };
}
