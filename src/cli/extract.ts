// `madkit extract`: stream inputs through a model and store pooled hook activations (a thin shell over
// `extractActivations`). With no flags it runs the README's main job: stories260k over the shared
// TinyStories sample, every block's residual stream, last-token pooling, into ./acts.

import path from "node:path";
import cliProgress from "cli-progress";
import { Command, Option } from "commander";
import { extractActivations, EXTRACT_DEFAULTS, type ExtractOptions, type ExtractResult } from "../activations/extract.js";
import { checkInputFile, readInputs, type ReadInputsOptions } from "../activations/input-reader.js";
import { POOLINGS, type Pooling } from "../activations/pooling.js";
import { INDEX_FILE, INPUTS_FILE, type Shard } from "../activations/store-layout.js";
import { config } from "../config.js";
import { loadModel } from "../models/registry.js";
import type { CliIo } from "./cli-io.js";
import { choiceFlag, intFlag, shardFlag } from "./flags.js";

export const EXTRACT_CLI_DEFAULTS = {
  model: "stories260k",
  input: (): string => path.join(config.sharedDir, "data/tinystories/tinystories_sample_niklas6.txt"),
  hooks: "blocks.*.hook_resid_post",
  pool: "last" as Pooling,
  out: "./acts",
};

/** Warnings printed one by one before they are only counted (a long file may truncate thousands). */
const MAX_PRINTED_WARNINGS = 20;

interface ExtractFlags {
  model: string;
  tokenizer?: string;
  input?: string;
  format: "jsonl" | "text" | "auto";
  split: "line" | "paragraph" | "auto";
  hooks: string;
  pool: Pooling;
  out: string;
  shard?: Shard;
  batch: number;
  chunk: number;
  limit?: number;
  overwrite?: boolean;
  json?: boolean;
}

/** Inputs this run will process: the stream's count, cut by --limit, then the shard's share. */
async function countInputs(file: string, options: ReadInputsOptions, limit: number | undefined, shard: Shard): Promise<number> {
  let n = 0;
  for await (const _ of readInputs(file, options)) {
    n++;
    if (limit !== undefined && n >= limit) break;
  }
  return Math.max(0, Math.ceil((n - shard.index) / shard.count));
}

/** Declares the command's flags and their defaults. */
function extractOptions(program: Command): Command {
  return program
    .command("extract")
    .description("run inputs through a model and store hook activations (safetensors parts + index.json)")
    .option("--model <name|path>", "short name (stories260k, babyllama-105, use-lite) or a model path", EXTRACT_CLI_DEFAULTS.model)
    .option("--tokenizer <file>", "llama2.c tokenizer .bin when it is not beside the checkpoint")
    .option("--input <file>", "JSONL ({id, text, label?}) or plain text; default: the shared TinyStories sample")
    .addOption(new Option("--format <format>", "input format").choices(["jsonl", "text", "auto"]).default("auto"))
    .addOption(new Option("--split <split>", "plain text: one input per line or per blank-line paragraph").choices(["line", "paragraph", "auto"]).default("auto"))
    .option("--hooks <patterns>", "comma-separated hook names or globs ('all' for every hook)", EXTRACT_CLI_DEFAULTS.hooks)
    .option("--pool <pooling>", `token pooling: ${POOLINGS.join(" | ")}`, choiceFlag(POOLINGS), EXTRACT_CLI_DEFAULTS.pool)
    .option("--out <dir>", "store folder (resumed when it holds a run with the same arguments)", EXTRACT_CLI_DEFAULTS.out)
    .option("--shard <i/n>", "process only inputs whose index ≡ i (mod n); merge shards with 'madkit combine'", shardFlag)
    .option("--batch <n>", "inputs per forward call", intFlag(1), EXTRACT_DEFAULTS.batchSize)
    .option("--chunk <n>", "inputs per part file", intFlag(1), EXTRACT_DEFAULTS.chunkSize)
    .option("--limit <n>", "use only the first n inputs of the file (before sharding)", intFlag(0))
    .option("--overwrite", "replace an existing store in --out instead of resuming it")
    .option("--json", "print a machine-readable summary on stdout");
}

/** A progress bar on stderr sized to this run's inputs. */
async function startProgressBar(io: CliIo, input: string, readOptions: ReadInputsOptions, flags: ExtractFlags, shard: Shard): Promise<cliProgress.SingleBar> {
  const total = await countInputs(input, readOptions, flags.limit, shard);
  const bar = new cliProgress.SingleBar(
    { stream: io.stderr as NodeJS.WritableStream, format: "extract [{bar}] {value}/{total} inputs | {eta_formatted} left | {tps} tok/s", hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { tps: 0 });
  return bar;
}

/** The library call, with progress on `bar` and warnings collected into `warnings` (the first few printed). */
function runExtraction(
  io: CliIo,
  flags: ExtractFlags,
  run: { source: ExtractOptions["source"]; input: string; readOptions: ReadInputsOptions; shard: Shard },
  bar: cliProgress.SingleBar | undefined,
  warnings: string[],
): Promise<ExtractResult> {
  const started = performance.now();
  return extractActivations({
    source: run.source,
    inputs: readInputs(run.input, run.readOptions),
    hooks: flags.hooks,
    pooling: flags.pool,
    out: flags.out,
    chunkSize: flags.chunk,
    batchSize: flags.batch,
    shard: run.shard,
    limit: flags.limit,
    overwrite: flags.overwrite,
    onProgress: (p) => bar?.update(p.inputsDone, { tps: Math.round(p.tokens / Math.max(1e-3, (performance.now() - started) / 1000)) }),
    onWarning: (w) => {
      warnings.push(w);
      if (warnings.length <= MAX_PRINTED_WARNINGS && !flags.json) io.stderr.write(`${bar ? "\n" : ""}warning: ${w}\n`);
    },
  });
}

/** The run's summary: JSON on stdout with --json, else the warning overflow on stderr and one line on stdout. */
function printExtractResult(io: CliIo, flags: ExtractFlags, input: string, result: ExtractResult, warnings: string[]): void {
  const { index } = result;
  const files = [INDEX_FILE, INPUTS_FILE, ...index.parts.map((p) => p.file)].map((f) => path.join(flags.out, f));
  if (flags.json) {
    const summary = {
      out: flags.out,
      model: index.model,
      input,
      inputs: index.inputCount,
      totalInputs: index.totalInputs,
      shard: index.shard,
      pooling: index.pooling,
      hooks: index.hooks.map((h) => ({ name: h.name, dim: h.dim, rows: h.rows, cacheKey: h.cacheKey })),
      parts: index.parts.length,
      partsWritten: result.partsWritten,
      partsReused: result.partsReused,
      truncated: warnings.filter((w) => w.includes("was truncated")).length,
      warnings,
      files,
      tokens: result.tokens,
      seconds: Number(result.seconds.toFixed(3)),
      tokensPerSecond: Math.round(result.tokensPerSecond),
    };
    io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    if (warnings.length > MAX_PRINTED_WARNINGS) io.stderr.write(`warning: ${warnings.length - MAX_PRINTED_WARNINGS} more warnings not shown (use --json to see all)\n`);
    io.stdout.write(
      `${index.inputCount} inputs x ${index.hooks.length} hooks (${index.hooks.map((h) => `${h.name}[${h.rows}x${h.dim}]`).join(", ")}), ` +
        `pooling ${index.pooling} -> ${flags.out} (${result.partsWritten} parts written, ${result.partsReused} reused; ` +
        `${result.tokens} tokens in ${result.seconds.toFixed(1)} s, ${Math.round(result.tokensPerSecond)} tok/s)\n`,
    );
  }
}

export function extractCommand(program: Command, io: CliIo): Command {
  return extractOptions(program).action(async (flags: ExtractFlags) => {
    const shard = flags.shard ?? { index: 0, count: 1 };
    const input = flags.input ?? EXTRACT_CLI_DEFAULTS.input();
    const readOptions: ReadInputsOptions = { format: flags.format, split: flags.input === undefined && flags.split === "auto" ? "paragraph" : flags.split };
    // A folder, a missing or an empty input fails here in one line, before the model loads.
    await checkInputFile(input, readOptions);
    const source = await loadModel(flags.model, { tokenizer: flags.tokenizer });
    let bar: cliProgress.SingleBar | undefined;
    const warnings: string[] = [];
    try {
      if (io.stderr.isTTY && !flags.json) bar = await startProgressBar(io, input, readOptions, flags, shard);
      const result = await runExtraction(io, flags, { source, input, readOptions, shard }, bar, warnings);
      bar?.stop();
      bar = undefined;
      printExtractResult(io, flags, input, result, warnings);
    } finally {
      bar?.stop();
      await source.dispose();
    }
  });
}
