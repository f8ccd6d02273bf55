// `madkit score`: score inputs with a saved detector bundle — from an activation store, or straight from a
// model and an input file (activations extracted in memory with the bundle's pooling) — and print per-hook
// scores, the combined score, its conformal p-value, the threshold at α and the flag, as a table or JSONL.
// Scoring goes through the monitor's scorer, so the command fails closed exactly as `madkit serve` does: a
// non-finite hook score is flagged (NON_FINITE_SCORE), and so is text the model cannot read (UNREADABLE_TEXT,
// --max-unknown-share); each record says which rule flagged it.

import { Command, Option } from "commander";
import { checkInputFile, readInputs, type InputLabel } from "../activations/input-reader.js";
import { openStore } from "../activations/store.js";
import { loadBundle, type FittedBundle } from "../bundle/bundle.js";
import { isMadkitError, MadkitError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import type { Matrix } from "../linalg/matrix.js";
import { loadModel } from "../models/registry.js";
import { MonitorMetrics } from "../server/metrics.js";
import { DEFAULT_MAX_UNKNOWN_SHARE, MonitorScorer, type FailClosedReason, type ScoreResult } from "../server/scorer.js";
import type { CliIo } from "./cli-io.js";
import { openUnitFlag } from "./fit.js";
import { intFlag, unitIntervalFlag } from "./flags.js";

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
  maxUnknownShare: number;
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
  readonly threshold: number;
  /** p ≤ α, or a fail-closed rule applied (`failClosed`). */
  readonly flagged: boolean;
  /** --model: tokens of the text the tokenizer could not read, and their share of the text; absent for a store. */
  readonly unknownTokens?: number;
  readonly unknownShare?: number;
  /** The fail-closed rules that flagged this input; absent when none applied. */
  readonly failClosed?: readonly FailClosedReason[];
}

interface Scored {
  readonly id: string;
  readonly label?: InputLabel;
}

/** Score one block of inputs in input order (`score` runs the scorer); a NaN activation is reported with the input's id. */
function scoreBlock(score: () => ScoreResult[], inputs: readonly Scored[]): ScoreRecord[] {
  let results: ScoreResult[];
  try {
    results = score();
  } catch (e) {
    const m = isMadkitError(e) && e.code === "NON_FINITE" ? /input row (\d+)/.exec(e.message) : null;
    if (m) throw new MadkitError("NON_FINITE", `input '${inputs[Number(m[1])]?.id}': ${e instanceof Error ? e.message : String(e)}`);
    throw e;
  }
  return inputs.map((x, i) => {
    const r = results[i]!;
    return {
      id: x.id,
      ...(x.label !== undefined ? { label: x.label } : {}),
      scores: r.perHook,
      combined: r.combined,
      pValue: r.pValue,
      alpha: r.alpha,
      threshold: r.threshold,
      flagged: r.flagged,
      ...(r.unknownShare !== null ? { unknownTokens: r.unknownTokens!, unknownShare: r.unknownShare } : {}),
      ...(r.failClosed ? { failClosed: r.failClosed } : {}),
    };
  });
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
  const rows = records.map((r) => [r.id, ...bundle.hooks.map((h) => fmt(r.scores[h.name]!)), fmt(r.combined), r.pValue.toFixed(4), r.failClosed ? `FLAG (${r.failClosed.map((f) => f.code).join(", ")})` : r.flagged ? "FLAG" : "-"]);
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
    .option("--max-unknown-share <fraction>", "with --model: flag (fail closed) text whose share the model cannot read exceeds this, in [0, 1]", unitIntervalFlag, DEFAULT_MAX_UNKNOWN_SHARE)
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
        const scorer = new MonitorScorer(bundle, alpha, new MonitorMetrics());
        const store = openStore(flags.activations);
        bundle.checkSource(store.index.model, store.index.pooling, flags.activations);
        const acts = new Map<string, Matrix>(bundle.hooks.map((h) => [h.name, store.readHook(h.name)]));
        records.push(...scoreBlock(() => scorer.scoreMatrices(acts), store.inputs()));
      } else {
        await checkInputFile(flags.input!, { format: flags.format, split: flags.split });
        const source = await loadModel(flags.model!, { tokenizer: flags.tokenizer });
        try {
          const scorer = new MonitorScorer(bundle, alpha, new MonitorMetrics(), source, { maxUnknownShare: flags.maxUnknownShare });
          let batch: { id: string; text: string; label?: InputLabel }[] = [];
          const flush = async () => {
            if (batch.length === 0) return;
            const { acts, coverage } = await scorer.activationsOf(batch.map((x) => x.text));
            records.push(...scoreBlock(() => scorer.scoreMany(acts, [], coverage), batch));
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
        const closed = records.filter((r) => r.failClosed).length;
        io.stdout.write(
          `${records.filter((r) => r.flagged).length} of ${records.length} inputs flagged at α = ${alpha} ` +
            `(combined ${bundle.combiner} score > ${fmt(bundle.threshold(alpha))}` +
            `${closed > 0 ? `; ${closed} of them failed closed: a non-finite score or text the model cannot read, see --json` : ""})\n`,
        );
      }
    });
}
