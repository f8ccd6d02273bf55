// `madkit combine`: merge the stores of `madkit extract --shard i/n` runs into one store in input order
// (a thin shell over `combineStores`).

import path from "node:path";
import { Command } from "commander";
import { combineStores } from "../activations/combine.js";
import type { CliIo } from "./cli-io.js";
import { intFlag } from "./flags.js";

export function combineCommand(program: Command, io: CliIo): Command {
  return program
    .command("combine")
    .description("merge shard stores (from extract --shard i/n) into one store ordered by input index")
    .argument("<stores...>", "shard store folders")
    .requiredOption("--out <dir>", "folder for the combined store (replaced if it holds one)")
    .option("--chunk <n>", "inputs per part file (default: the first store's)", intFlag(1))
    .option("--json", "print a machine-readable summary on stdout")
    .action((stores: string[], flags: { out: string; chunk?: number; json?: boolean }) => {
      const started = performance.now();
      const index = combineStores(stores, flags.out, { chunkSize: flags.chunk });
      const seconds = (performance.now() - started) / 1000;
      if (flags.json) {
        const files = ["index.json", "inputs.jsonl", ...index.parts.map((p) => p.file)].map((f) => path.join(flags.out, f));
        io.stdout.write(`${JSON.stringify({ out: flags.out, stores, inputs: index.inputCount, hooks: index.hooks.map((h) => ({ name: h.name, dim: h.dim, rows: h.rows })), files, seconds }, null, 2)}\n`);
      } else {
        io.stdout.write(`combined ${stores.length} stores: ${index.inputCount} inputs, ${index.parts.length} parts -> ${flags.out}\n`);
      }
    });
}
