// `madkit hooks --model X`: list a model's hook points (TransformerLens names) with their widths, so users
// can write `--hooks` patterns without reading the source.

import { Command } from "commander";
import { loadModel } from "../models/registry.js";
import type { CliIo } from "./cli-io.js";

export function hooksCommand(program: Command, io: CliIo): Command {
  return program
    .command("hooks")
    .description("list a model's hook points and their widths")
    .option("--model <name|path>", "short name or model path", "stories260k")
    .option("--tokenizer <file>", "llama2.c tokenizer .bin when it is not beside the checkpoint")
    .option("--json", "print JSON on stdout")
    .action(async (flags: { model: string; tokenizer?: string; json?: boolean }) => {
      const source = await loadModel(flags.model, { tokenizer: flags.tokenizer });
      try {
        const hooks = source.hooks();
        if (flags.json) {
          io.stdout.write(`${JSON.stringify({ model: source.info, hooks }, null, 2)}\n`);
          return;
        }
        const w = Math.max(...hooks.map((h) => h.name.length));
        io.stdout.write(`${source.info.id} (revision ${source.info.revision}, ${source.info.nLayers} layers, context ${source.info.contextLength})\n`);
        for (const h of hooks) io.stdout.write(`${h.name.padEnd(w)}  ${String(h.dim).padStart(6)}  ${h.granularity}\n`);
      } finally {
        await source.dispose();
      }
    });
}
