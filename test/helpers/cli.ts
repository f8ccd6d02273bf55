// Run the madkit CLI in-process with captured output: what every CLI-level test needs.

import assert from "node:assert/strict";
import { run } from "../../src/cli/main.js";
import type { CliIo } from "../../src/cli/cli-io.js";

export type CapturedIo = CliIo & { out: () => string; err: () => string };

/** A CliIo that keeps stdout and stderr as strings (stderr is not a TTY, so no progress bars). */
export function capture(): CapturedIo {
  let out = "";
  let err = "";
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s), isTTY: false },
    out: () => out,
    err: () => err,
  };
}

/** Run a command that must succeed (exit 0); returns its stdout. */
export async function cli(argv: string[]): Promise<string> {
  const io = capture();
  const code = await run(argv, io);
  assert.equal(code, 0, `madkit ${argv.join(" ")} failed: ${io.err()}`);
  return io.out();
}
