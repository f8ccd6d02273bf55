// Streaming extraction: inputs flow in batches through `source.forward`, get pooled, and are written to the
// store one part (`chunkSize` inputs) at a time, so memory holds one part, never the whole input set.
// Resumable: a rerun with the same arguments reuses every finished part whose input hashes still match.

import { existsSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { MadkitError } from "../errors.js";
import { firstNonFinite } from "../linalg/matrix.js";
import { resolveHooks } from "../models/hook-names.js";
import type { ActivationSource, HookPoint, InputActivations } from "../models/source.js";
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
  const plan = planExtraction(options);
  prepareOut(plan.out, plan.params, options.overwrite ?? false);
  const run = new ExtractionRun(plan);
  const position = await streamParts(options.inputs, plan, (items) => run.runPart(items));
  removeStaleParts(plan, run.part);
  writeProgress(plan.out, plan.params, run.part, run.inputsDone);
  const index = writeStoreIndex(plan.out, plan.params, run.part, position);
  const seconds = (performance.now() - started) / 1000;
  const { partsWritten, partsReused, tokens } = run;
  return { out: plan.out, index, partsWritten, partsReused, tokens, seconds, tokensPerSecond: seconds > 0 ? tokens / seconds : 0 };
}

/** The arguments of one run, checked and settled: sizes, shard, limit, the hooks resolved, the store's params. */
interface ExtractionPlan {
  readonly source: ActivationSource;
  readonly out: string;
  readonly pooling: Pooling;
  readonly chunkSize: number;
  readonly batchSize: number;
  readonly shard: Shard;
  readonly limit: number;
  readonly hookPoints: readonly HookPoint[];
  readonly params: StoreParams;
  readonly onProgress?: (p: ExtractProgress) => void;
  readonly onWarning?: (message: string) => void;
}

function planExtraction(options: ExtractOptions): ExtractionPlan {
  const { source, out, pooling } = options;
  const chunkSize = positiveInt("chunkSize", options.chunkSize ?? EXTRACT_DEFAULTS.chunkSize);
  const batchSize = positiveInt("batchSize", options.batchSize ?? EXTRACT_DEFAULTS.batchSize);
  const shard = checkShard(options.shard ?? { index: 0, count: 1 });
  const limit = options.limit === undefined ? Infinity : options.limit;
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) throw new MadkitError("BAD_ARGUMENT", `limit must be a non-negative integer, got ${limit}`);
  const hookPoints: HookPoint[] = resolveHooks(options.hooks, source.hooks());
  const params = storeParams(source.info, hookPoints, pooling, chunkSize, shard);
  return { source, out, pooling, chunkSize, batchSize, shard, limit, hookPoints, params, onProgress: options.onProgress, onWarning: options.onWarning };
}

/**
 * Read the inputs up to the limit, keep this shard's, and hand them on `chunkSize` at a time (the last part
 * may be shorter). Returns the stream position reached, which the store index records.
 */
async function streamParts(inputs: ExtractOptions["inputs"], plan: ExtractionPlan, runPart: (items: Pending[]) => Promise<void>): Promise<number> {
  const { limit, shard, chunkSize } = plan;
  let position = 0;
  let pending: Pending[] = [];
  for await (const x of normalize(inputs)) {
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
  return position;
}

/** Parts past the end belong to an earlier, longer run of the same arguments. */
function removeStaleParts(plan: ExtractionPlan, parts: number): void {
  for (const p of listPartNumbers(plan.out)) {
    if (p >= parts) {
      plan.onWarning?.(`${path.join(plan.out, partFileName(p))}: removed, the inputs now end before it`);
      rmSync(path.join(plan.out, partFileName(p)), { force: true });
    }
  }
}

/** One input's model output, pooled per hook. */
interface PooledInput {
  readonly nTok: number;
  readonly truncated: boolean;
  readonly rows: Map<string, Float32Array>;
}

/** The parts of one run in order, each reused from disk when it holds the same inputs, else (re)built. */
class ExtractionRun {
  part = 0;
  partsWritten = 0;
  partsReused = 0;
  inputsDone = 0;
  /** Tokens run through the model in this run. */
  tokens = 0;
  /** Token rows stored so far (pooling "all"): where the next part's rows start. */
  private tokenRows = 0;
  private indexRemoved = false;

  constructor(private readonly plan: ExtractionPlan) {}

  async runPart(items: Pending[]): Promise<void> {
    if (this.reuseStoredPart(items)) return;
    await this.writePart(items);
  }

  /**
   * True when the part on disk holds exactly these inputs (then it counts as done). False when there is none or
   * it holds a strict prefix of them (an earlier run had fewer inputs: rebuild it). STORE_MISMATCH otherwise.
   */
  private reuseStoredPart(items: readonly Pending[]): boolean {
    const { out, params, pooling, hookPoints } = this.plan;
    const file = path.join(out, partFileName(this.part));
    if (!existsSync(file)) return false;
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
      if (tokenHook) this.tokenRows += c.rows.get(tokenHook.name)!;
      this.inputsDone += items.length;
      this.partsReused++;
      this.part++;
      this.plan.onProgress?.({ event: "part-reused", part: this.part - 1, inputsDone: this.inputsDone, partsDone: this.part, tokens: this.tokens });
      return true;
    }
    if (c.inputs.length > items.length) {
      throw new MadkitError(
        "STORE_MISMATCH",
        `${file}: holds ${c.inputs.length} inputs but this run has only ${items.length} for it (fewer inputs than before); use another --out, or --overwrite`,
      );
    }
    return false;
  }

  /** Run the items through the model and write them as this part (atomically: an error leaves no part file). */
  private async writePart(items: readonly Pending[]): Promise<void> {
    const { out, params, source } = this.plan;
    if (!this.indexRemoved) {
      // The store is about to change: it is no longer the complete store index.json describes.
      rmSync(path.join(out, INDEX_FILE), { force: true });
      this.indexRemoved = true;
    }
    const builder = new PartBuilder(out, this.part, params, this.tokenRows);
    try {
      const pooled = await this.poolItems(items);
      items.forEach((x, i) => {
        const r = pooled[i]!;
        if (r.truncated) {
          this.plan.onWarning?.(`input '${x.id}' (#${x.index}) was truncated to ${r.nTok} tokens (model context ${source.info.contextLength})`);
        }
        builder.add({ index: x.index, id: x.id, sha256: x.sha256, label: x.label, tokens: r.nTok, truncated: r.truncated, meta: x.meta }, (h) => r.rows.get(h.name)!);
      });
      builder.finish();
    } catch (e) {
      builder.abort();
      throw e;
    }
    this.tokenRows = builder.tokenRows;
    this.inputsDone += items.length;
    this.partsWritten++;
    this.part++;
    writeProgress(out, params, this.part, this.inputsDone);
    this.plan.onProgress?.({ event: "part-written", part: this.part - 1, inputsDone: this.inputsDone, partsDone: this.part, tokens: this.tokens });
  }

  /**
   * Every item through the model, pooled, in input order. Batches run in order of text length so each padded
   * batch wastes little work (ONNX pads to the longest input).
   */
  private async poolItems(items: readonly Pending[]): Promise<PooledInput[]> {
    const { source, batchSize, hookPoints } = this.plan;
    const order = items.map((_, i) => i).sort((a, b) => items[a]!.text.length - items[b]!.text.length || a - b);
    const pooledByItem: PooledInput[] = new Array(items.length);
    for (let b = 0; b < order.length; b += batchSize) {
      const batchIdx = order.slice(b, b + batchSize);
      const batch = batchIdx.map((i) => items[i]!);
      const res = await source.forward(
        batch.map((x) => x.text),
        { hooks: hookPoints.map((h) => h.name) },
      );
      if (res.activations.length !== batch.length || res.tokenCounts.length !== batch.length || res.truncated.length !== batch.length) {
        throw new MadkitError(
          "DIMENSION_MISMATCH",
          `model '${source.info.id}' returned ${res.activations.length} results for a batch of ${batch.length} inputs`,
        );
      }
      batch.forEach((x, j) => {
        const nTok = res.tokenCounts[j]!;
        pooledByItem[batchIdx[j]!] = { nTok, truncated: res.truncated[j]!, rows: poolInput(this.plan, x, res.activations[j]!) };
        this.tokens += nTok;
      });
      this.plan.onProgress?.({ event: "batch", part: this.part, inputsDone: this.inputsDone + Math.min(b + batchSize, items.length), partsDone: this.part, tokens: this.tokens });
    }
    return pooledByItem;
  }
}

/** One input's activations checked (every hook present, its width, all finite) and pooled per hook. */
function poolInput(plan: ExtractionPlan, x: Pending, acts: InputActivations): Map<string, Float32Array> {
  const { source, pooling, hookPoints } = plan;
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
  return rows;
}
