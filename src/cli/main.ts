#!/usr/bin/env node
// The `madkit` command line: one subcommand per file in src/cli, each a thin shell over the library.
// `run(argv, io)` is the whole CLI as a function (tests call it in-process); MadkitErrors and failed system
// calls (EACCES, EISDIR…) print one line without a stack and exit 1, anything unexpected prints its stack and
// exits 2.

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
import { paperCommand } from "./paper.js";
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
  paperCommand(program, io);
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
      io.stderr.write(`madkit: ${oneLine(e.message)}\n`);
      return 1;
    }
    // A failed system call (a file that cannot be written, a port in use) is about the user's machine, not
    // a bug: one line naming the call and the path, exit 1.
    if (isSystemError(e)) {
      io.stderr.write(`madkit: ${oneLine(e.message)}\n`);
      return 1;
    }
    io.stderr.write(`madkit: unexpected error (a bug; please report it)\n${e instanceof Error ? e.stack : String(e)}\n`);
    return 2;
  }
}

/**
 * An error message as one printable line: messages quote names out of the user's files (tensor names, ids,
 * paths), and a crafted file must not break the line or send terminal escape sequences, so control characters
 * are shown escaped (`\n`, `\u001b`).
 */
export function oneLine(message: string): string {
  return message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) =>
    c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\t" ? "\\t" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Node's SystemError (ENOENT, EACCES, EISDIR, EADDRINUSE…): an Error with a string `code` and `syscall`. */
function isSystemError(e: unknown): e is Error & { code: string; syscall: string } {
  if (!(e instanceof Error)) return false;
  const { code, syscall } = e as { code?: unknown; syscall?: unknown };
  return typeof code === "string" && /^E[A-Z0-9_]+$/.test(code) && typeof syscall === "string";
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
