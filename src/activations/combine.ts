// Merge the stores of `--shard i/n` runs into one store ordered by original input index. The stores must
// agree on model, revision, hooks and pooling, and together cover every input exactly once. Parts are built
// with the same PartBuilder as extraction, so the result is byte-identical to an unsharded run.

import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { MadkitError } from "../errors.js";
import { openStore, type ActivationStore } from "./store.js";
import {
  describeParamsDifference,
  INDEX_FILE,
  INPUTS_FILE,
  listPartNumbers,
  partFileName,
  PartBuilder,
  pathInStore,
  PROGRESS_FILE,
  readPartContents,
  removeTempFiles,
  writeProgress,
  writeStoreIndex,
  type InputRow,
  type StoreHook,
  type StoreIndex,
  type StoreParams,
} from "./store-layout.js";

export interface CombineOptions {
  /** Inputs per part of the combined store. Default: the first store's chunk size. */
  readonly chunkSize?: number;
  readonly onProgress?: (p: { inputsDone: number; totalInputs: number }) => void;
}

function paramsOf(s: ActivationStore, chunkSize: number): StoreParams {
  const { index } = s;
  return {
    model: index.model,
    hooks: index.hooks.map(({ name, dim, granularity, layer }) => ({ name, dim, granularity, layer })),
    pooling: index.pooling,
    dtype: index.dtype,
    chunkSize,
    shard: { index: 0, count: 1 },
  };
}

/** Walks one store's inputs in order, holding one part (all hooks) in memory at a time. */
class StoreCursor {
  private part = -1;
  private rows: InputRow[] = [];
  private pos = 0;
  private tensors = new Map<string, Float32Array>();
  /** First token row of the loaded part (pooling `all`). */
  private partTokenRow = 0;

  constructor(
    readonly store: ActivationStore,
    private readonly hooks: readonly StoreHook[],
  ) {
    this.advance();
  }

  get next(): InputRow | undefined {
    return this.rows[this.pos];
  }

  /** Rows of the current input for a hook, as a copy-free view. */
  rowsOf(h: StoreHook): Float32Array {
    const data = this.tensors.get(h.name)!;
    const r = this.rows[this.pos]!;
    if (this.store.index.pooling === "all" && h.granularity === "token") {
      const [a, b] = r.rows!;
      return data.subarray((a - this.partTokenRow) * h.dim, (b - this.partTokenRow) * h.dim);
    }
    return data.subarray(this.pos * h.dim, (this.pos + 1) * h.dim);
  }

  step(): void {
    this.pos++;
    if (this.pos >= this.rows.length) this.advance();
  }

  private advance(): void {
    const parts = this.store.index.parts;
    while (this.pos >= this.rows.length && this.part + 1 < parts.length) {
      this.part++;
      const file = pathInStore(this.store.dir, parts[this.part]!.file, `${path.join(this.store.dir, INDEX_FILE)}: field 'parts.${this.part}.file'`);
      const c = readPartContents(file);
      this.rows = c.inputs;
      this.pos = 0;
      this.partTokenRow = c.inputs[0]?.rows?.[0] ?? 0;
      this.tensors = new Map();
      for (const h of this.hooks) this.tensors.set(h.name, this.store.readHookPart(h.name, this.part).data);
    }
  }
}

/** Combine shard stores into `outDir` (replacing any store there). Returns the new index. */
export function combineStores(dirs: readonly string[], outDir: string, options: CombineOptions = {}): StoreIndex {
  if (dirs.length === 0) throw new MadkitError("BAD_ARGUMENT", "combine needs at least one store folder");
  const resolvedOut = path.resolve(outDir);
  for (const d of dirs) {
    if (path.resolve(d) === resolvedOut) throw new MadkitError("BAD_ARGUMENT", `output folder ${outDir} is one of the stores being combined`);
  }
  const stores = dirs.map((d) => openStore(d));
  const chunkSize = options.chunkSize ?? stores[0]!.index.chunkSize;
  const params = paramsOf(stores[0]!, chunkSize);
  const totalInputs = stores[0]!.index.totalInputs;
  for (const s of stores.slice(1)) {
    const diff = describeParamsDifference({ ...paramsOf(s, chunkSize), shard: params.shard }, params);
    if (diff) throw new MadkitError("STORE_MISMATCH", `${s.dir}: made with ${diff.replace("this run asks for", `${dirs[0]} has`)}`);
    if (s.index.totalInputs !== totalInputs) {
      throw new MadkitError("STORE_MISMATCH", `${s.dir}: cut from ${s.index.totalInputs} inputs, ${dirs[0]} from ${totalInputs}`);
    }
  }

  mkdirSync(path.join(outDir, "shards"), { recursive: true });
  removeTempFiles(outDir);
  for (const f of [INDEX_FILE, PROGRESS_FILE, INPUTS_FILE]) rmSync(path.join(outDir, f), { force: true });
  for (const p of listPartNumbers(outDir)) rmSync(path.join(outDir, partFileName(p)), { force: true });

  const cursors = stores.map((s) => new StoreCursor(s, params.hooks));
  let expected = 0;
  let part = 0;
  let tokenRows = 0;
  let builder: PartBuilder | undefined;
  try {
    for (;;) {
      let best: StoreCursor | undefined;
      for (const c of cursors) if (c.next && (!best || c.next.index < best.next!.index)) best = c;
      if (!best) break;
      const r = best.next!;
      if (r.index !== expected) {
        throw new MadkitError(
          "STORE_MISMATCH",
          r.index < expected
            ? `input #${r.index} ('${r.id}') appears twice (again in ${best.store.dir}); the stores overlap`
            : `input #${expected} is in none of the stores (next is #${r.index} in ${best.store.dir}); a shard is missing`,
        );
      }
      builder ??= new PartBuilder(outDir, part, params, tokenRows);
      const { rows: _rows, ...input } = r;
      const cursor = best;
      builder.add(input, (h) => cursor.rowsOf(h));
      cursor.step();
      expected++;
      if (builder.inputs === chunkSize) {
        builder.finish();
        tokenRows = builder.tokenRows;
        builder = undefined;
        part++;
        writeProgress(outDir, params, part, expected);
        options.onProgress?.({ inputsDone: expected, totalInputs });
      }
    }
    if (builder) {
      builder.finish();
      tokenRows = builder.tokenRows;
      builder = undefined;
      part++;
    }
  } catch (e) {
    builder?.abort();
    throw e;
  }
  if (expected !== totalInputs) {
    throw new MadkitError("STORE_MISMATCH", `inputs #${expected}..#${totalInputs - 1} of ${totalInputs} are in none of the stores; a shard is missing`);
  }
  writeProgress(outDir, params, part, expected);
  return writeStoreIndex(outDir, params, part, totalInputs);
}
