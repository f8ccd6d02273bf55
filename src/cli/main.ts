#!/usr/bin/env node
// The `madkit` command line: one subcommand per file in src/cli, each a thin shell over the library.
// `run(argv, io)` is the whole CLI as a function (tests call it in-process); MadkitErrors print their message
// without a stack and exit 1, anything unexpected prints its stack and exits 2.

import { readFileSync, realpathSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { projectRoot } from "../config.js";
import { isMadkitError } from "../errors.js";
import { processIo, type CliIo } from "./cli-io.js";
import { benchCommand } from "./bench.js";
import { combineCommand } from "./combine.js";
import { exportOnnxCommand } from "./export-onnx.js";
import { extractCommand } from "./extract.js";
import { fitCommand } from "./fit.js";
import { generateCommand } from "./generate.js";
import { hooksCommand } from "./hooks.js";
import { scoreCommand } from "./score.js";
import { serveCommand } from "./serve.js";
import { trainCommand } from "./train.js";

function version(): string {
  try {
    return (JSON.parse(readFileSync(path.join(projectRoot, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export function buildProgram(io: CliIo): Command {
  const program = new Command("madkit")
    .description("mechanistic anomaly detection: activations out of real models, detectors, benchmarks")
    .version(version())
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .exitOverride();
  // Subcommands made with .command() inherit the output and exit settings above.
  extractCommand(program, io);
  combineCommand(program, io);
  hooksCommand(program, io);
  generateCommand(program, io);
  exportOnnxCommand(program, io);
  fitCommand(program, io);
  benchCommand(program, io);
  scoreCommand(program, io);
  serveCommand(program, io);
  trainCommand(program, io);
  return program;
}

/** Run the CLI on `argv` (without node and script) and return the exit code; never calls process.exit. */
export async function run(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const program = buildProgram(io);
  if (argv.length === 0) {
    program.outputHelp();
    return 0;
  }
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // commander already printed help or the error
    if (isMadkitError(e)) {
      io.stderr.write(`madkit: ${e.message}\n`);
      return 1;
    }
    io.stderr.write(`madkit: unexpected error (a bug; please report it)\n${e instanceof Error ? e.stack : String(e)}\n`);
    return 2;
  }
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  process.exitCode = await run(process.argv.slice(2));
}
