// Reading a finished activation store: the index, the per-input rows, and each hook's activations either
// whole (`readHook`) or streamed part by part (`iterateHook`) so a detector can fit on more rows than memory.
// Layout and format: see store-layout.ts.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { MadkitError } from "../errors.js";
import { readSafetensorsHeader, SafetensorsReader } from "../io/safetensors.js";
import { matrix, type Matrix } from "../linalg/matrix.js";
import {
  checkStoreIndex,
  INDEX_FILE,
  INPUTS_FILE,
  indexSchema,
  inputRowSchema,
  pathInStore,
  PROGRESS_FILE,
  readJsonFile,
  STORE_FORMAT,
  STORE_SCHEMA_VERSION,
  type InputRow,
  type StoreIndex,
} from "./store-layout.js";

export type { InputRow, StoreIndex } from "./store-layout.js";

export type StoreHookInfo = StoreIndex["hooks"][number];

/** One part's rows of a hook. */
export interface HookBlock {
  readonly part: number;
  /** Row of the hook's full tensor where this block starts. */
  readonly rowStart: number;
  /** Store position of the part's first input. */
  readonly inputStart: number;
  readonly matrix: Matrix<Float32Array>;
}

export interface ActivationStore {
  readonly dir: string;
  readonly index: StoreIndex;
  hook(name: string): StoreHookInfo;
  /** Per-input rows (id, text hash, label, tokens, truncated, row range for pooling `all`), in store order. */
  inputs(): InputRow[];
  /** The hook's whole [rows x dim] matrix. */
  readHook(name: string): Matrix<Float32Array>;
  /** The hook's rows one part at a time. */
  iterateHook(name: string): Generator<HookBlock>;
  /** One part's [rows x dim] block of a hook. */
  readHookPart(name: string, part: number): Matrix<Float32Array>;
}

/** The parsed object in a JSON file, or undefined when it cannot be read or is not an object. */
function peekJson(file: string): { format?: unknown; schemaVersion?: unknown } | undefined {
  try {
    const v: unknown = JSON.parse(readFileSync(file, "utf8"));
    return typeof v === "object" && v !== null ? (v as { format?: unknown; schemaVersion?: unknown }) : undefined;
  } catch {
    return undefined;
  }
}

/** The opened store's directory, index file and checked index, which every read below works from. */
interface StoreContext {
  readonly dir: string;
  readonly indexFile: string;
  readonly index: StoreIndex;
}

/** Reads and checks `dir`'s index: missing or unfinished store, newer schema, then the schema and cross checks. */
function readStoreIndex(dir: string): StoreContext {
  const indexFile = path.join(dir, INDEX_FILE);
  if (!existsSync(indexFile)) {
    const partial = existsSync(path.join(dir, PROGRESS_FILE));
    throw new MadkitError(
      "FILE_NOT_FOUND",
      partial
        ? `${dir}: the store is unfinished (progress.json but no index.json); rerun the same 'madkit extract' to complete it`
        : `${dir}: not an activation store (no ${INDEX_FILE})`,
    );
  }
  // A newer schema is named as such before the schema check would call its new fields corrupt; anything
  // unreadable here is left for readJsonFile to report.
  const peek = peekJson(indexFile);
  if (peek && peek.format === STORE_FORMAT && typeof peek.schemaVersion === "number" && peek.schemaVersion > STORE_SCHEMA_VERSION) {
    throw new MadkitError(
      "VERSION_MISMATCH",
      `${indexFile}: store schemaVersion ${peek.schemaVersion} is newer than this madkit reads (${STORE_SCHEMA_VERSION}); upgrade madkit`,
    );
  }
  const index = readJsonFile(indexFile, indexSchema, "store index");
  checkStoreIndex(dir, indexFile, index);
  return { dir, indexFile, index };
}

function findHook({ dir, index }: StoreContext, name: string): StoreHookInfo {
  const h = index.hooks.find((x) => x.name === name);
  if (!h) {
    throw new MadkitError("UNKNOWN_HOOK", `${dir}: the store has no hook '${name}'; it holds ${index.hooks.map((x) => x.name).join(", ")}`);
  }
  return h;
}

function readHookPart(ctx: StoreContext, name: string, p: number): Matrix<Float32Array> {
  const { dir, indexFile, index } = ctx;
  const h = findHook(ctx, name);
  const part = index.parts[p];
  if (!part) throw new MadkitError("BAD_ARGUMENT", `${dir}: no part ${p}; the store has ${index.parts.length}`);
  const file = pathInStore(dir, part.file, `${indexFile}: field 'parts.${p}.file'`);
  const r = new SafetensorsReader(file);
  try {
    const t = r.info(name);
    if (t.dtype !== "F32" || t.shape.length !== 2 || t.shape[1] !== h.dim) {
      throw new MadkitError("STORE_CORRUPT", `${file}: tensor '${name}' is ${t.dtype} [${t.shape.join(", ")}], the index says F32 [rows, ${h.dim}]`);
    }
    return matrix(t.shape[0]!, h.dim, r.read(name) as Float32Array);
  } finally {
    r.close();
  }
}

/** Rows of a hook over all parts, from the part headers alone (shape and width checked against the index). */
function rowsInParts(ctx: StoreContext, name: string): number {
  const { dir, indexFile, index } = ctx;
  const h = findHook(ctx, name);
  let rows = 0;
  index.parts.forEach((part, p) => {
    const file = pathInStore(dir, part.file, `${indexFile}: field 'parts.${p}.file'`);
    const t = readSafetensorsHeader(file).tensors.find((x) => x.name === name);
    if (!t) throw new MadkitError("STORE_CORRUPT", `${file}: no tensor '${name}', which the index lists`);
    if (t.dtype !== "F32" || t.shape.length !== 2 || t.shape[1] !== h.dim) {
      throw new MadkitError("STORE_CORRUPT", `${file}: tensor '${name}' is ${t.dtype} [${t.shape.join(", ")}], the index says F32 [rows, ${h.dim}]`);
    }
    rows += t.shape[0]!;
  });
  return rows;
}

function* iterateHook(ctx: StoreContext, name: string): Generator<HookBlock> {
  const { dir, index } = ctx;
  const h = findHook(ctx, name);
  let rowStart = 0;
  for (let p = 0; p < index.parts.length; p++) {
    const m = readHookPart(ctx, name, p);
    yield { part: p, rowStart, inputStart: index.parts[p]!.firstInput, matrix: m };
    rowStart += m.rows;
  }
  if (rowStart !== h.rows) {
    throw new MadkitError("STORE_CORRUPT", `${dir}: parts hold ${rowStart} rows of '${name}', the index says ${h.rows}`);
  }
}

function readHook(ctx: StoreContext, name: string): Matrix<Float32Array> {
  const { dir, indexFile, index } = ctx;
  const h = findHook(ctx, name);
  // The parts' headers must agree with the index before the whole matrix is allocated from its numbers.
  const held = rowsInParts(ctx, name);
  if (held !== h.rows) {
    throw new MadkitError("STORE_CORRUPT", `${indexFile}: field 'hooks.${index.hooks.indexOf(h)}.rows' is ${h.rows}, but the parts hold ${held} rows of '${name}'`);
  }
  const out = new Float32Array(h.rows * h.dim);
  for (const block of iterateHook(ctx, name)) {
    if ((block.rowStart + block.matrix.rows) * h.dim > out.length) {
      throw new MadkitError("STORE_CORRUPT", `${dir}: parts hold more rows of '${name}' than the index's ${h.rows}`);
    }
    out.set(block.matrix.data, block.rowStart * h.dim);
  }
  return matrix(h.rows, h.dim, out);
}

function readInputs({ dir, index }: StoreContext): InputRow[] {
  const file = path.join(dir, INPUTS_FILE);
  if (!existsSync(file)) throw new MadkitError("STORE_CORRUPT", `${file}: missing (the index lists ${index.inputCount} inputs)`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new MadkitError("STORE_CORRUPT", `${file}: cannot read the store's input rows (${(e as Error).message})`);
  }
  const rows = text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l, i) => {
      let value: unknown;
      try {
        value = JSON.parse(l);
      } catch (e) {
        throw new MadkitError("STORE_CORRUPT", `${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
      }
      const r = inputRowSchema.safeParse(value);
      if (!r.success) throw new MadkitError("STORE_CORRUPT", `${file}:${i + 1}: ${r.error.issues[0]!.path.join(".")}: ${r.error.issues[0]!.message}`);
      return r.data;
    });
  if (rows.length !== index.inputCount) {
    throw new MadkitError("STORE_CORRUPT", `${file}: holds ${rows.length} rows, the index says ${index.inputCount} inputs`);
  }
  return rows;
}

export function openStore(dir: string): ActivationStore {
  const ctx = readStoreIndex(dir);
  return {
    dir,
    index: ctx.index,
    hook: (name) => findHook(ctx, name),
    inputs: () => readInputs(ctx),
    readHook: (name) => readHook(ctx, name),
    iterateHook: (name) => iterateHook(ctx, name),
    readHookPart: (name, part) => readHookPart(ctx, name, part),
  };
}
