// `madkit score`: score inputs with a saved detector bundle — from an activation store, or straight from a
// model and an input file (activations extracted in memory with the bundle's pooling) — and print per-hook
// scores, the combined score, its conformal p-value, the threshold at α and the flag, as a table or JSONL.

import { Command, Option } from "commander";
import { checkInputFile, readInputs, type InputLabel } from "../activations/input-reader.js";
import { extractPooled } from "../activations/pooled-in-memory.js";
import type { Pooling } from "../activations/pooling.js";
import { openStore } from "../activations/store.js";
import { loadBundle, type BundleScores, type FittedBundle } from "../bundle/bundle.js";
import { isMadkitError, MadkitError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import type { Matrix } from "../linalg/matrix.js";
import { loadModel } from "../models/registry.js";
import type { ActivationSource } from "../models/source.js";
import type { CliIo } from "./cli-io.js";
import { openUnitFlag } from "./fit.js";
import { intFlag } from "./flags.js";

interface ScoreFlags {
  detector: string;
  activations?: string;
  model?: string;
  tokenizer?: string;
  input?: string;
  format: "jsonl" | "text" | "auto";
  split: "line" | "paragraph" | "auto";
  alpha?: number;
  batch: number;
  json?: boolean;
  out?: string;
}

/** One scored input, as written to JSONL. */
export interface ScoreRecord {
  readonly id: string;
  readonly label?: InputLabel;
  readonly scores: Record<string, number>;
  readonly combined: number;
  readonly pValue: number;
  readonly alpha: number;
  /** null when the calibration set is too small to flag anything at α. */
  readonly threshold: number | null;
  readonly flagged: boolean;
}

interface Scored {
  readonly id: string;
  readonly label?: InputLabel;
}

/** Score one block of inputs; a NaN activation is reported with the input's id. */
function scoreBlock(bundle: FittedBundle, acts: ReadonlyMap<string, Matrix>, inputs: readonly Scored[], alpha: number): ScoreRecord[] {
  let s: BundleScores;
  try {
    s = bundle.score(acts);
  } catch (e) {
    const m = isMadkitError(e) && e.code === "NON_FINITE" ? /input row (\d+)/.exec(e.message) : null;
    if (m) throw new MadkitError("NON_FINITE", `input '${inputs[Number(m[1])]?.id}': ${e instanceof Error ? e.message : String(e)}`);
    throw e;
  }
  const t = bundle.threshold(alpha);
  return inputs.map((x, i) => ({
    id: x.id,
    ...(x.label !== undefined ? { label: x.label } : {}),
    scores: Object.fromEntries(bundle.hooks.map((h) => [h.name, s.perHook.get(h.name)![i]!])),
    combined: s.combined[i]!,
    pValue: s.pValue[i]!,
    alpha,
    threshold: Number.isFinite(t) ? t : null,
    flagged: bundle.flag(s.pValue[i]!, alpha),
  }));
}

/** Run `texts` through the model and pool each bundle hook to one row per input. */
function checkModelHooks(source: ActivationSource, bundle: FittedBundle): void {
  const have = new Set(source.hooks().map((h) => h.name));
  const missing = bundle.hooks.filter((h) => !have.has(h.name)).map((h) => h.name);
  if (missing.length > 0) {
    throw new MadkitError("UNKNOWN_HOOK", `model '${source.info.id}' has no hook(s) ${missing.join(", ")}; its hook points are: ${[...have].join(", ")}`);
  }
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(3) : v.toFixed(4);
}

/** The human-readable table: a legend of hook columns, then one line per input. */
function table(bundle: FittedBundle, records: readonly ScoreRecord[]): string {
  const hookCols = bundle.hooks.map((_, k) => `h${k}`);
  const header = ["id", ...hookCols, "combined", "p-value", "flagged"];
  const rows = records.map((r) => [r.id, ...bundle.hooks.map((h) => fmt(r.scores[h.name]!)), fmt(r.combined), r.pValue.toFixed(4), r.flagged ? "FLAG" : "-"]);
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
  const line = (cells: string[]) => cells.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join("  ");
  const legend = bundle.hooks.map((h, k) => `h${k} = ${h.name}`).join(", ");
  return [legend, line(header), ...rows.map(line)].join("\n") + "\n";
}

export function scoreCommand(program: Command, io: CliIo): Command {
  return program
    .command("score")
    .description("score inputs with a fitted bundle: per-hook and combined scores, conformal p-values, flags at α")
    .requiredOption("--detector <dir>", "bundle folder written by 'madkit fit'")
    .option("--activations <dir>", "activation store to score (same model, revision and pooling as the bundle)")
    .option("--model <name|path>", "extract on the fly from this model (must be the bundle's model and revision)")
    .option("--tokenizer <file>", "llama2.c tokenizer .bin when it is not beside the checkpoint")
    .option("--input <file>", "inputs for --model: JSONL ({id, text, label?}) or plain text")
    .addOption(new Option("--format <format>", "input format").choices(["jsonl", "text", "auto"]).default("auto"))
    .addOption(new Option("--split <split>", "plain text: one input per line or per paragraph").choices(["line", "paragraph", "auto"]).default("auto"))
    .option("--alpha <level>", "false-positive level (default: the bundle's)", openUnitFlag)
    .option("--batch <n>", "inputs per forward call with --model", intFlag(1), 16)
    .option("--json", "print JSONL records on stdout instead of a table")
    .option("--out <file>", "also write the JSONL records to this file")
    .action(async (flags: ScoreFlags) => {
      if ((flags.activations === undefined) === (flags.model === undefined)) {
        throw new MadkitError("BAD_ARGUMENT", "give exactly one of --activations <dir> or --model <name> with --input <file>");
      }
      if (flags.model !== undefined && flags.input === undefined) {
        throw new MadkitError("BAD_ARGUMENT", "--model needs --input <file> with the texts to score");
      }
      const bundle = loadBundle(flags.detector);
      const alpha = flags.alpha ?? bundle.meta.alpha;
      const records: ScoreRecord[] = [];
      if (flags.activations !== undefined) {
        const store = openStore(flags.activations);
        bundle.checkSource(store.index.model, store.index.pooling, flags.activations);
        const acts = new Map<string, Matrix>(bundle.hooks.map((h) => [h.name, store.readHook(h.name)]));
        records.push(...scoreBlock(bundle, acts, store.inputs(), alpha));
      } else {
        await checkInputFile(flags.input!, { format: flags.format, split: flags.split });
        const source = await loadModel(flags.model!, { tokenizer: flags.tokenizer });
        try {
          bundle.checkSource(source.info, bundle.meta.pooling ?? "last", `model '${flags.model}'`);
          checkModelHooks(source, bundle);
          const pooling = bundle.meta.pooling ?? "last";
          let batch: { id: string; text: string; label?: InputLabel }[] = [];
          const flush = async () => {
            if (batch.length === 0) return;
            const acts = await extractPooled(source, batch.map((x) => x.text), bundle.hooks.map((h) => h.name), {
              pooling,
              batchSize: batch.length,
              expectDims: new Map(bundle.hooks.map((h) => [h.name, h.dim])),
            });
            records.push(...scoreBlock(bundle, acts, batch, alpha));
            batch = [];
          };
          for await (const x of readInputs(flags.input!, { format: flags.format, split: flags.split })) {
            batch.push(x);
            if (batch.length >= flags.batch) await flush();
          }
          await flush();
        } finally {
          await source.dispose();
        }
      }
      const jsonl = records.map((r) => JSON.stringify(r)).join("\n") + (records.length > 0 ? "\n" : "");
      if (flags.out !== undefined) writeFileAtomic(flags.out, jsonl);
      if (flags.json) io.stdout.write(jsonl);
      else {
        io.stdout.write(table(bundle, records));
        const t = bundle.threshold(alpha);
        io.stdout.write(
          `${records.filter((r) => r.flagged).length} of ${records.length} inputs flagged at α = ${alpha} ` +
            `(combined ${bundle.combiner} score > ${Number.isFinite(t) ? fmt(t) : "∞: too few calibration inputs to flag at this α"})\n`,
        );
      }
    });
}
