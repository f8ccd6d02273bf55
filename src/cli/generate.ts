// `madkit generate`: continue a prompt with a llama2.c story model (greedy by default), as a quick check
// that a checkpoint loads and behaves; the library call is `Llama2cSource.generate`.

import { Command } from "commander";
import { MadkitError } from "../errors.js";
import { Llama2cSource } from "../models/llama2c/source.js";
import { loadModel } from "../models/registry.js";
import type { CliIo } from "./cli-io.js";
import { intFlag, numberFlag } from "./flags.js";

export function generateCommand(program: Command, io: CliIo): Command {
  return program
    .command("generate")
    .description("continue a prompt with a llama2.c model (greedy unless --temperature > 0)")
    .option("--model <name|path>", "stories260k, babyllama-105 or a llama2.c .bin", "stories260k")
    .option("--tokenizer <file>", "tokenizer .bin when it is not beside the checkpoint")
    .option("--prompt <text>", "text to continue", "")
    .option("--steps <n>", "new tokens at most", intFlag(0), 256)
    .option("--temperature <t>", "0 = greedy argmax", numberFlag(0), 0)
    .option("--topp <p>", "nucleus sampling cut in (0, 1]", numberFlag(0), 1)
    .option("--seed <n>", "sampler seed", intFlag(0), 42)
    .option("--json", "print JSON (text, token ids) on stdout")
    .action(async (flags: { model: string; tokenizer?: string; prompt: string; steps: number; temperature: number; topp: number; seed: number; json?: boolean }) => {
      const source = await loadModel(flags.model, { tokenizer: flags.tokenizer });
      try {
        if (!(source instanceof Llama2cSource)) {
          throw new MadkitError("NOT_SUPPORTED", `model '${flags.model}' is a ${source.info.format} model; generate works with llama2.c models only`);
        }
        const g = source.generate(flags.prompt, { maxNewTokens: flags.steps, temperature: flags.temperature, topp: flags.topp, seed: flags.seed });
        if (flags.json) io.stdout.write(`${JSON.stringify({ text: g.text, ids: Array.from(g.ids), promptTokens: g.promptTokens })}\n`);
        else io.stdout.write(`${g.text}\n`);
      } finally {
        await source.dispose();
      }
    });
}
