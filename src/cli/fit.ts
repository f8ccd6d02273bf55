// `madkit fit`: fit a detector bundle (one detector per hook, calibrated on held-out trusted inputs) on an
// activation store and save it to a folder — a thin shell over `fitBundle` and `FittedBundle.save`.

import { Command, InvalidArgumentError } from "commander";
import { openStore } from "../activations/store.js";
import { BUNDLE_DEFAULTS, fitBundle } from "../bundle/bundle.js";
import { COMBINERS, type Combiner } from "../bundle/combine.js";
import { createDetector } from "../detectors/registry.js";
import type { CliIo } from "./cli-io.js";
import { choiceFlag, intFlag } from "./flags.js";

interface FitFlags {
  activations: string;
  hooks: string;
  detector: string;
  param: Record<string, unknown>;
  combiner: Combiner;
  calibration: number;
  seed: number;
  alpha: number;
  out: string;
  json?: boolean;
}

/** `--param key=value`, repeatable: numbers and true/false are parsed, anything else stays a string. */
export function collectParam(value: string, previous: Record<string, unknown>): Record<string, unknown> {
  const m = /^([A-Za-z_][\w.-]*)=(.*)$/.exec(value);
  if (!m) throw new InvalidArgumentError(`expected key=value (e.g. covariance=oas), got '${value}'`);
  const raw = m[2]!;
  const parsed: unknown = raw === "true" ? true : raw === "false" ? false : raw.trim() !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  return { ...previous, [m[1]!]: parsed };
}

/** A number strictly between 0 and 1 (a fraction or a level α). */
export function openUnitFlag(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError(`expected a number in (0, 1), got '${value}'`);
  return n;
}

export function fitCommand(program: Command, io: CliIo): Command {
  return program
    .command("fit")
    .description("fit a detector per hook on trusted activations, calibrate on a held-out split, save the bundle")
    .requiredOption("--activations <dir>", "activation store of trusted inputs (from 'madkit extract', pooling last or mean)")
    .option("--hooks <patterns>", "comma-separated hook names or globs from the store ('all' for every hook)", "all")
    .requiredOption("--detector <name>", "detector kind, e.g. mahalanobis, pca, knn, isolation-forest, perplexity")
    .option("--param <key=value>", "detector hyper-parameter (repeatable), e.g. --param covariance=oas", collectParam, {})
    .option("--combiner <name>", `how hook scores combine: ${COMBINERS.join(" | ")}`, choiceFlag(COMBINERS), BUNDLE_DEFAULTS.combiner)
    .option("--calibration <fraction>", "share of trusted inputs held out for calibration", openUnitFlag, BUNDLE_DEFAULTS.calibrationFraction)
    .option("--seed <n>", "seed of the train / calibration split", intFlag(0), BUNDLE_DEFAULTS.seed)
    .option("--alpha <level>", "default false-positive level stored in the bundle", openUnitFlag, BUNDLE_DEFAULTS.alpha)
    .requiredOption("--out <dir>", "folder to write the bundle into (replaced if it holds a bundle)")
    .option("--json", "print a machine-readable summary on stdout")
    .action((flags: FitFlags) => {
      // Unknown detectors and bad params fail before any activations are read.
      const spec = createDetector(flags.detector, flags.param);
      const store = openStore(flags.activations);
      const started = performance.now();
      const bundle = fitBundle({
        store,
        hooks: flags.hooks,
        detector: spec,
        calibrationFraction: flags.calibration,
        seed: flags.seed,
        combiner: flags.combiner,
        alpha: flags.alpha,
        onHookFitted: (hook, done, total) => {
          if (!flags.json) io.stderr.write(`fitted ${flags.detector} on ${hook} (${done}/${total})\n`);
        },
      });
      bundle.save(flags.out);
      const threshold = bundle.threshold();
      const m = bundle.meta;
      const summary = {
        out: flags.out,
        detector: { kind: spec.kind, params: spec.params },
        hooks: bundle.hooks,
        combiner: m.combiner,
        model: m.model,
        pooling: m.pooling,
        nTrain: m.nTrain,
        nNormalise: m.nNormalise,
        nCalibrate: m.nCalibrate,
        alpha: m.alpha,
        threshold: Number.isFinite(threshold) ? threshold : null,
        seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
      };
      if (flags.json) io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else {
        io.stdout.write(
          `${spec.kind} on ${bundle.hooks.length} hook(s) (${bundle.hooks.map((h) => `${h.name}[${h.dim}]`).join(", ")}), combiner ${m.combiner}; ` +
            `${m.nTrain} inputs fitted, ${m.nCalibrate} calibrate (seed ${m.seed}); threshold at α = ${m.alpha}: ` +
            `${Number.isFinite(threshold) ? threshold.toPrecision(6) : "none (too few calibration inputs)"} -> ${flags.out}\n`,
        );
      }
    });
}
