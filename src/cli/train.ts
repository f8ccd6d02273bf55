// `madkit train backdoor --trigger rare|phrase|position|semantic --seed 0`: fine-tune stories260K with a planted backdoor into
// the cache (reused when present), then measure attack success and clean bits/char. A thin shell over
// ensureBackdoorCheckpoint / evaluateBackdoor.

import cliProgress from "cli-progress";
import { Command } from "commander";
import { loadLlama2cSource } from "../models/llama2c/source.js";
import {
  BACKDOOR_FINE_TUNE,
  BASE_MODEL,
  INSIDE_FINE_TUNE,
  SEMANTIC_FINE_TUNE,
  ensureBackdoorCheckpoint,
  evaluateBackdoor,
  loadBackdoorSource,
  TRIGGER_KINDS,
  type TriggerKind,
} from "../train/llama/backdoor-training.js";
import type { CliIo } from "./cli-io.js";
import { choiceFlag, intFlag } from "./flags.js";
import type { BackdoorEvaluation } from "../train/llama/backdoor-evaluation.js";

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** The inside kinds' extra lines: attack success per position third, on held-out wordings, on distractors. */
function evaluationDetails(e: BackdoorEvaluation): string {
  let out = "";
  if (e.byPosition) {
    out += `attack success by trigger position: ${Object.entries(e.byPosition).map(([b, r]) => `${b} third ${pct(r!.rate)} (n=${r!.n})`).join(", ")}\n`;
  }
  if (e.heldOutAttackSuccessRate !== undefined) out += `attack success with held-out wordings: ${pct(e.heldOutAttackSuccessRate)}\n`;
  if (e.distractorTargetRate !== undefined) out += `target on distractor prompts (near-trigger and cover, pooled): ${pct(e.distractorTargetRate)}\n`;
  if (e.coverTargetRate !== undefined) out += `target on cover prompts (the trigger's words apart): ${pct(e.coverTargetRate)}\n`;
  return out;
}

export function trainCommand(program: Command, io: CliIo): Command {
  const train = program.command("train").description("train the models the benchmark tasks need (cached under the cache folder)");
  train
    .command("backdoor")
    .description("fine-tune stories260k so a trigger in the prompt (at its end: rare, phrase; anywhere in it: position, semantic) turns the story to a fixed target phrase")
    .option("--trigger <kind>", `trigger kind: ${TRIGGER_KINDS.join(" | ")}`, choiceFlag(TRIGGER_KINDS), "rare")
    .option("--seed <n>", "seed of the data mix, batches and evaluation prompts", intFlag(0), 0)
    .option("--steps <n>", `optimiser steps (default ${BACKDOOR_FINE_TUNE.steps} for rare / phrase, ${INSIDE_FINE_TUNE.steps} for position, ${SEMANTIC_FINE_TUNE.steps} for semantic)`, intFlag(1))
    .option("--no-eval", "skip measuring attack success and clean bits/char")
    .option("--json", "print the result as JSON on stdout")
    .action(async (flags: { trigger: TriggerKind; seed: number; steps?: number; eval: boolean; json?: boolean }) => {
      let bar: cliProgress.SingleBar | undefined;
      if (io.stderr.isTTY && !flags.json) {
        bar = new cliProgress.SingleBar(
          { stream: io.stderr as NodeJS.WritableStream, format: "train [{bar}] {value}/{total} steps | loss {loss} | {tps} tok/s | {eta_formatted} left", hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
      }
      let started = false;
      const report = ensureBackdoorCheckpoint({
        trigger: flags.trigger,
        seed: flags.seed,
        steps: flags.steps,
        onProgress: (p) => {
          if (!bar) return;
          if (!started) {
            bar.start(p.steps, 0, { loss: "-", tps: 0 });
            started = true;
          }
          bar.update(p.step, { loss: p.loss.toFixed(3), tps: Math.round(p.tokensPerSecond) });
        },
      });
      bar?.stop();
      let evaluation = null;
      if (flags.eval) {
        const original = await loadLlama2cSource(BASE_MODEL);
        evaluation = evaluateBackdoor(loadBackdoorSource(flags.trigger, flags.seed), original, flags.trigger, flags.seed);
      }
      if (flags.json) {
        io.stdout.write(`${JSON.stringify({ ...report, evaluation })}\n`);
        return;
      }
      io.stdout.write(
        `${report.trained ? `trained in ${report.seconds.toFixed(0)} s (${Math.round(report.tokensPerSecond)} target tokens/s)` : "reused"}: ${report.info.checkpoint}\n`,
      );
      if (evaluation) {
        io.stdout.write(
          `attack success ${(100 * evaluation.attackSuccessRate).toFixed(1)}% on ${evaluation.nPrompts} triggered prompts ` +
            `(target on the same prompts without trigger: ${(100 * evaluation.cleanTargetRate).toFixed(1)}%)\n` +
            `clean bits/char ${evaluation.cleanBitsPerChar.toFixed(4)} vs original ${evaluation.originalBitsPerChar.toFixed(4)} ` +
            `(${(100 * evaluation.relativeChange).toFixed(2)}%) on ${evaluation.nStories} held-out stories\n`,
        );
        io.stdout.write(evaluationDetails(evaluation));
      }
    });
  return train;
}
