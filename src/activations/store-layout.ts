// The on-disk layout of an activation store, shared by extraction, combining and reading:
//   out/index.json            written last: its presence means the store is complete (schema below)
//   out/progress.json         run parameters + parts done, rewritten atomically after each part
//   out/inputs.jsonl          one row per input, in store order (id, text hash, label, tokens, truncated, rows)
//   out/shards/part-NNNNN.safetensors  one float32 [rows x dim] tensor per hook, plus the part's input rows
// A part is one atomic file that describes itself (parameters and input hashes in its metadata), so a resumed
// run can trust any part file it finds — there is no second file that could disagree with it.

import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { MadkitError } from "../errors.js";
import { AtomicFileWriter, writeFileAtomic } from "../io/atomic-write.js";
import { readSafetensorsHeader, SafetensorsWriter } from "../io/safetensors.js";
import type { HookPoint, ModelInfo } from "../models/source.js";
import { activationCacheKey, InputsDigest } from "./cache-key.js";
import { POOLINGS, type Pooling } from "./pooling.js";

export const STORE_FORMAT = "madkit-activations";
export const PART_FORMAT = "madkit-activations-part";
export const PROGRESS_FORMAT = "madkit-activations-progress";
export const STORE_SCHEMA_VERSION = 1;

export const INDEX_FILE = "index.json";
export const PROGRESS_FILE = "progress.json";
export const INPUTS_FILE = "inputs.jsonl";
export const SHARDS_DIR = "shards";

export function partFileName(part: number): string {
  return `${SHARDS_DIR}/part-${String(part).padStart(5, "0")}.safetensors`;
}

const hookSchema = z.object({
  name: z.string(),
  dim: z.number().int().positive(),
  granularity: z.enum(["token", "sequence"]),
  layer: z.number().int(),
});

const shardSchema = z.object({ index: z.number().int().nonnegative(), count: z.number().int().positive() });

/** Everything that determines the numbers in a store; a resumed run must match it exactly. */
export const paramsSchema = z.object({
  model: z.object({ id: z.string(), revision: z.string(), format: z.string() }),
  hooks: z.array(hookSchema),
  pooling: z.enum(POOLINGS),
  dtype: z.literal("float32"),
  chunkSize: z.number().int().positive(),
  shard: shardSchema,
});
export type StoreParams = z.infer<typeof paramsSchema>;
export type StoreHook = z.infer<typeof hookSchema>;
export type Shard = z.infer<typeof shardSchema>;

export const inputRowSchema = z.object({
  /** Position in the original input stream (before sharding). */
  index: z.number().int().nonnegative(),
  id: z.string(),
  /** sha256 hex of the input text (UTF-8). */
  sha256: z.string(),
  label: z.union([z.string(), z.number(), z.boolean()]).optional(),
  /** Tokens the model ran (after truncation). */
  tokens: z.number().int().nonnegative(),
  truncated: z.boolean(),
  /** Pooling `all` only: this input's rows [start, end) in every token-granularity hook's tensor. */
  rows: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]).optional(),
  meta: z.record(z.unknown()).optional(),
});
export type InputRow = z.infer<typeof inputRowSchema>;

export const indexSchema = z.object({
  format: z.literal(STORE_FORMAT),
  schemaVersion: z.number().int(),
  model: paramsSchema.shape.model,
  hooks: z.array(hookSchema.extend({ rows: z.number().int().nonnegative(), cacheKey: z.string() })),
  pooling: z.enum(POOLINGS),
  dtype: z.literal("float32"),
  chunkSize: z.number().int().positive(),
  shard: shardSchema,
  /** Inputs held by this store. */
  inputCount: z.number().int().nonnegative(),
  /** Inputs in the stream the store was cut from (all shards together). */
  totalInputs: z.number().int().nonnegative(),
  /** sha256 over the inputs' text hashes in store order (see cache-key.ts). */
  inputsDigest: z.string(),
  parts: z.array(z.object({ file: z.string(), inputs: z.number().int().nonnegative(), firstInput: z.number().int().nonnegative() })),
});
export type StoreIndex = z.infer<typeof indexSchema>;

export const progressSchema = z.object({
  format: z.literal(PROGRESS_FORMAT),
  schemaVersion: z.number().int(),
  params: paramsSchema,
  partsDone: z.number().int().nonnegative(),
  inputsDone: z.number().int().nonnegative(),
});

export function sha256Hex(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

export function storeParams(info: ModelInfo, hooks: readonly HookPoint[], pooling: Pooling, chunkSize: number, shard: Shard): StoreParams {
  return {
    model: { id: info.id, revision: info.revision, format: info.format },
    hooks: hooks.map((h) => ({ name: h.name, dim: h.dim, granularity: h.granularity, layer: h.layer })),
    pooling,
    dtype: "float32",
    chunkSize,
    shard: { index: shard.index, count: shard.count },
  };
}

/** The first difference between two parameter sets, in words, or undefined when they agree. */
export function describeParamsDifference(stored: StoreParams, wanted: StoreParams): string | undefined {
  if (stored.model.id !== wanted.model.id) return `model '${stored.model.id}', this run asks for '${wanted.model.id}'`;
  if (stored.model.revision !== wanted.model.revision) {
    return `model revision ${stored.model.revision}, this run's weights are revision ${wanted.model.revision}`;
  }
  const sh = stored.hooks.map((h) => `${h.name}(${h.dim})`).join(", ");
  const wh = wanted.hooks.map((h) => `${h.name}(${h.dim})`).join(", ");
  if (sh !== wh) return `hooks [${sh}], this run asks for [${wh}]`;
  if (stored.pooling !== wanted.pooling) return `pooling '${stored.pooling}', this run asks for '${wanted.pooling}'`;
  if (stored.chunkSize !== wanted.chunkSize) return `chunk size ${stored.chunkSize}, this run asks for ${wanted.chunkSize}`;
  if (stored.shard.index !== wanted.shard.index || stored.shard.count !== wanted.shard.count) {
    return `shard ${stored.shard.index}/${stored.shard.count}, this run asks for ${wanted.shard.index}/${wanted.shard.count}`;
  }
  return undefined;
}

export interface PartContents {
  readonly file: string;
  readonly params: StoreParams;
  readonly part: number;
  readonly inputs: InputRow[];
  /** Rows per hook, from the tensor shapes. */
  readonly rows: ReadonlyMap<string, number>;
}

/** Read a part's header and self-description, checking it against the tensors it holds. */
export function readPartContents(file: string): PartContents {
  const header = readSafetensorsHeader(file);
  const meta = header.metadata;
  const bad = (what: string): MadkitError => new MadkitError("STORE_CORRUPT", `${file}: ${what}`);
  if (meta.format !== PART_FORMAT) throw bad(`metadata format is ${JSON.stringify(meta.format)}, expected '${PART_FORMAT}'`);
  let params: StoreParams;
  let inputs: InputRow[];
  try {
    params = paramsSchema.parse(JSON.parse(meta.params ?? "null"));
    inputs = (meta.inputs ?? "")
      .split("\n")
      .filter((l) => l.length > 0)
      .map((l) => inputRowSchema.parse(JSON.parse(l)));
  } catch (e) {
    throw bad(`metadata does not describe a madkit part (${(e as Error).message.slice(0, 300)})`);
  }
  const rows = new Map<string, number>();
  for (const h of params.hooks) {
    const t = header.tensors.find((x) => x.name === h.name);
    if (!t) throw bad(`missing tensor for hook '${h.name}'`);
    if (t.dtype !== "F32" || t.shape.length !== 2 || t.shape[1] !== h.dim) {
      throw bad(`tensor '${h.name}' is ${t.dtype} [${t.shape.join(", ")}], expected F32 [rows, ${h.dim}]`);
    }
    const expected = params.pooling === "all" && h.granularity === "token" ? tokenRowsOf(inputs, bad) : inputs.length;
    if (t.shape[0] !== expected) throw bad(`tensor '${h.name}' has ${t.shape[0]} rows, its ${inputs.length} inputs need ${expected}`);
    rows.set(h.name, t.shape[0]!);
  }
  return { file, params, part: Number(meta.part), inputs, rows };
}

/** Token rows of a part's inputs (pooling `all`): each input's [start, end) must follow the previous one's. */
function tokenRowsOf(inputs: readonly InputRow[], bad: (what: string) => MadkitError): number {
  let n = 0;
  let prevEnd: number | undefined;
  for (const r of inputs) {
    if (!r.rows) throw bad(`input '${r.id}' has no token row range (pooling 'all' needs one per input)`);
    const [a, b] = r.rows;
    if (b < a || (prevEnd !== undefined && a !== prevEnd)) {
      throw bad(`input '${r.id}' has token rows [${a}, ${b}), expected [${prevEnd ?? a}, end >= start) following the previous input`);
    }
    n += b - a;
    prevEnd = b;
  }
  return n;
}

/** What a part builder needs to know about one input besides its activations. */
export type PartInput = Omit<InputRow, "rows">;

/**
 * Builds one part file: rows are streamed into the safetensors writer input by input; the input rows go into
 * the header metadata at `finish()`. Extraction and combining both build parts through this class, so a
 * combined store is byte-identical to an unsharded one.
 */
export class PartBuilder {
  private readonly writer: SafetensorsWriter;
  private readonly rows: InputRow[] = [];
  private tokenRowEnd: number;
  private readonly tokenHook: StoreHook | undefined;

  constructor(
    readonly outDir: string,
    readonly part: number,
    private readonly params: StoreParams,
    /** Rows already in the token hooks' tensors of earlier parts (pooling `all`). */
    tokenRowStart: number,
  ) {
    this.writer = new SafetensorsWriter(path.join(outDir, partFileName(part)));
    for (const h of params.hooks) this.writer.addTensor(h.name, "F32", [h.dim]);
    this.tokenRowEnd = tokenRowStart;
    this.tokenHook = params.pooling === "all" ? params.hooks.find((h) => h.granularity === "token") : undefined;
  }

  get inputs(): number {
    return this.rows.length;
  }

  get tokenRows(): number {
    return this.tokenRowEnd;
  }

  /** Append one input; `rowsOf(hook)` gives its pooled rows for every hook (flat float32, a multiple of dim). */
  add(input: PartInput, rowsOf: (hook: StoreHook) => Float32Array): void {
    let nTokenRows = -1;
    for (const h of this.params.hooks) {
      const data = rowsOf(h);
      const n = data.length / h.dim;
      if (h === this.tokenHook) nTokenRows = n;
      else if (this.tokenHook && h.granularity === "token" && n !== nTokenRows) {
        throw new MadkitError(
          "DIMENSION_MISMATCH",
          `input '${input.id}': hook '${h.name}' has ${n} token rows, '${this.tokenHook.name}' has ${nTokenRows}`,
        );
      }
      this.writer.append(h.name, data);
    }
    let rows: [number, number] | undefined;
    if (this.tokenHook) {
      rows = [this.tokenRowEnd, this.tokenRowEnd + nTokenRows];
      this.tokenRowEnd += nTokenRows;
    }
    // Key order is fixed here so that every writer of a part produces the same bytes.
    const row: InputRow = {
      index: input.index,
      id: input.id,
      sha256: input.sha256,
      ...(input.label !== undefined ? { label: input.label } : {}),
      tokens: input.tokens,
      truncated: input.truncated,
      ...(rows ? { rows } : {}),
      ...(input.meta !== undefined ? { meta: input.meta } : {}),
    };
    this.rows.push(row);
  }

  finish(): { file: string; inputs: InputRow[] } {
    const meta = {
      format: PART_FORMAT,
      schemaVersion: String(STORE_SCHEMA_VERSION),
      part: String(this.part),
      params: JSON.stringify(this.params),
      inputs: this.rows.map((r) => JSON.stringify(r)).join("\n"),
    };
    this.writer.finish(meta);
    return { file: partFileName(this.part), inputs: this.rows };
  }

  abort(): void {
    this.writer.abort();
  }
}

/** Delete temp files a killed run left behind (`*.tmp` in the store folder and its shards folder). */
export function removeTempFiles(outDir: string): number {
  let n = 0;
  for (const dir of [outDir, path.join(outDir, SHARDS_DIR)]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      if (f.endsWith(".tmp")) {
        rmSync(path.join(dir, f), { force: true });
        n++;
      }
    }
  }
  return n;
}

/** Part numbers of the part files present in a store folder. */
export function listPartNumbers(outDir: string): number[] {
  const dir = path.join(outDir, SHARDS_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => /^part-(\d+)\.safetensors$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/**
 * Seal a store: re-read parts 0..partCount-1 (validating each), write `inputs.jsonl` and then `index.json`,
 * both atomically. index.json goes last, so its presence means every file it lists is complete.
 */
export function writeStoreIndex(outDir: string, params: StoreParams, partCount: number, totalInputs: number): StoreIndex {
  const inputsOut = new AtomicFileWriter(path.join(outDir, INPUTS_FILE));
  const digest = new InputsDigest();
  const rows = new Map<string, number>(params.hooks.map((h) => [h.name, 0]));
  const parts: StoreIndex["parts"] = [];
  let inputCount = 0;
  try {
    for (let p = 0; p < partCount; p++) {
      const c = readPartContents(path.join(outDir, partFileName(p)));
      const diff = describeParamsDifference(c.params, params);
      if (diff) throw new MadkitError("STORE_MISMATCH", `${c.file}: this part was made with ${diff}`);
      parts.push({ file: partFileName(p), inputs: c.inputs.length, firstInput: inputCount });
      for (const r of c.inputs) {
        inputsOut.write(`${JSON.stringify(r)}\n`);
        digest.add(r.sha256);
      }
      inputCount += c.inputs.length;
      for (const [h, n] of c.rows) rows.set(h, rows.get(h)! + n);
    }
    inputsOut.commit();
  } catch (e) {
    inputsOut.abort();
    throw e;
  }
  const inputsDigest = digest.digest();
  const index: StoreIndex = {
    format: STORE_FORMAT,
    schemaVersion: STORE_SCHEMA_VERSION,
    model: params.model,
    hooks: params.hooks.map((h) => ({
      ...h,
      rows: rows.get(h.name)!,
      cacheKey: activationCacheKey({ modelId: params.model.id, revision: params.model.revision, hook: h.name, pooling: params.pooling, inputHash: inputsDigest }),
    })),
    pooling: params.pooling,
    dtype: "float32",
    chunkSize: params.chunkSize,
    shard: params.shard,
    inputCount,
    totalInputs,
    inputsDigest,
    parts,
  };
  writeFileAtomic(path.join(outDir, INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
  return index;
}

/** Rewrite progress.json (atomically) after a part is done. */
export function writeProgress(outDir: string, params: StoreParams, partsDone: number, inputsDone: number): void {
  const progress: z.infer<typeof progressSchema> = { format: PROGRESS_FORMAT, schemaVersion: STORE_SCHEMA_VERSION, params, partsDone, inputsDone };
  writeFileAtomic(path.join(outDir, PROGRESS_FILE), `${JSON.stringify(progress, null, 2)}\n`);
}

/** Parse a JSON file with a schema; a missing file is FILE_NOT_FOUND, anything else wrong is STORE_CORRUPT. */
export function readJsonFile<T>(file: string, schema: z.ZodType<T>, what: string): T {
  if (!existsSync(file)) throw new MadkitError("FILE_NOT_FOUND", `${file}: no ${what} here`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new MadkitError("STORE_CORRUPT", `${file}: cannot read the ${what} (${(e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new MadkitError("STORE_CORRUPT", `${file}: ${what} is not valid JSON (${(e as Error).message})`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.length > 0 ? `field '${issue.path.join(".")}'` : "(the whole file)";
    throw new MadkitError("STORE_CORRUPT", `${file}: ${what} ${where}: ${issue.message}`);
  }
  return r.data;
}

/**
 * The one check on every path a store's own files name (index.json's `parts[].file`): a relative path of
 * plain segments that stays inside the store folder. An absolute path, a `..` or `.` segment, an empty
 * segment, a backslash or a NUL is STORE_CORRUPT, so a crafted index cannot make madkit open a file
 * outside the store.
 */
export function pathInStore(dir: string, rel: string, where: string): string {
  const refuse = (why: string): MadkitError =>
    new MadkitError(
      "STORE_CORRUPT",
      `${where} is ${JSON.stringify(rel)}: ${why}; expected a path inside the store folder like '${partFileName(0)}'`,
    );
  if (rel.length === 0) throw refuse("empty");
  if (path.posix.isAbsolute(rel) || path.win32.isAbsolute(rel)) throw refuse("an absolute path");
  if (rel.includes("\\") || rel.includes("\0")) throw refuse("a backslash or NUL in a store path");
  if (rel.split("/").some((seg) => seg === ".." || seg === "." || seg === "")) throw refuse("it steps outside the store or has empty segments");
  const root = path.resolve(dir);
  const full = path.resolve(root, rel);
  if (!full.startsWith(root + path.sep)) throw refuse("it resolves outside the store folder");
  return path.join(dir, rel);
}

/** Largest number of float32 values one hook's matrix may hold (the largest typed array Node allocates). */
export const MAX_HOOK_ELEMENTS = 2 ** 32 - 1;

/**
 * Cross-field checks of a parsed index that the schema cannot express, each naming the field and the range it
 * must lie in: unique hook names, part paths inside the store, `firstInput` running totals, part inputs
 * adding up to `inputCount`, and every hook's `rows` (one per input, or for pooling `all` token rows within
 * what one matrix can hold). Called before anything is allocated from it.
 */
export function checkStoreIndex(dir: string, indexFile: string, index: StoreIndex): void {
  const bad = (field: string, found: unknown, expected: string): MadkitError =>
    new MadkitError("STORE_CORRUPT", `${indexFile}: field '${field}' is ${JSON.stringify(found)}, expected ${expected}`);
  if (index.shard.index >= index.shard.count) throw bad("shard.index", index.shard.index, `an integer in [0, ${index.shard.count - 1}] (shard.count is ${index.shard.count})`);
  if (index.inputCount > index.totalInputs) throw bad("inputCount", index.inputCount, `at most totalInputs (${index.totalInputs})`);
  const seen = new Map<string, number>();
  index.hooks.forEach((h, k) => {
    const prev = seen.get(h.name);
    if (prev !== undefined) throw bad(`hooks.${k}.name`, h.name, `a name not already used by hooks.${prev} (hook names must be unique)`);
    seen.set(h.name, k);
  });
  let first = 0;
  index.parts.forEach((p, k) => {
    pathInStore(dir, p.file, `${indexFile}: field 'parts.${k}.file'`);
    if (p.firstInput !== first) throw bad(`parts.${k}.firstInput`, p.firstInput, `${first} (the inputs of the parts before it)`);
    first += p.inputs;
  });
  if (first !== index.inputCount) throw bad("inputCount", index.inputCount, `${first}, the sum of parts[].inputs`);
  index.hooks.forEach((h, k) => {
    const maxRows = Math.floor(MAX_HOOK_ELEMENTS / h.dim);
    if (index.pooling === "all" && h.granularity === "token") {
      if (h.rows > maxRows) {
        throw bad(`hooks.${k}.rows`, h.rows, `an integer in [0, ${maxRows}] (token rows of all inputs, at most one ${h.dim}-wide float32 matrix)`);
      }
    } else if (h.rows !== index.inputCount) {
      throw bad(`hooks.${k}.rows`, h.rows, `${index.inputCount} (one row per input: inputCount)`);
    } else if (h.rows > maxRows) {
      throw bad(`hooks.${k}.dim`, h.dim, `at most ${Math.floor(MAX_HOOK_ELEMENTS / Math.max(1, h.rows))} for ${h.rows} rows (one float32 matrix)`);
    }
  });
}
