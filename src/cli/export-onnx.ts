// `madkit export-onnx`: write a llama2.c checkpoint as a Hugging Face-style ONNX folder (a thin shell over
// `exportLlama2cToOnnx`), which `--model <folder>` then loads through the ONNX adapter.

import { Command } from "commander";
import { MadkitError } from "../errors.js";
import { exportLlama2cToOnnx } from "../models/onnx/export-llama2c.js";
import { resolveModel } from "../models/registry.js";
import type { CliIo } from "./cli-io.js";

export function exportOnnxCommand(program: Command, io: CliIo): Command {
  return program
    .command("export-onnx")
    .description("export a llama2.c checkpoint to an ONNX folder (config.json, tokenizer.json, onnx/model.onnx)")
    .option("--model <name|path>", "stories260k, babyllama-105 or a llama2.c .bin", "stories260k")
    .option("--tokenizer <file>", "tokenizer .bin when it is not beside the checkpoint")
    .requiredOption("--out <dir>", "output folder")
    .option("--json", "print JSON on stdout")
    .action(async (flags: { model: string; tokenizer?: string; out: string; json?: boolean }) => {
      const spec = resolveModel(flags.model, { tokenizer: flags.tokenizer });
      if (spec.format !== "llama2c") {
        throw new MadkitError("NOT_SUPPORTED", `model '${flags.model}' is a ${spec.format} model; export-onnx takes llama2.c checkpoints`);
      }
      const r = await exportLlama2cToOnnx(spec.checkpoint!, spec.tokenizer!, flags.out);
      if (flags.json) io.stdout.write(`${JSON.stringify({ out: flags.out, revision: r.revision, files: r.files }, null, 2)}\n`);
      else io.stdout.write(`exported ${spec.id} (revision ${r.revision}) -> ${flags.out}\n${r.files.map((f) => `  ${f}\n`).join("")}`);
    });
}
