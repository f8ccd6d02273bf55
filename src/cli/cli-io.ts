// The streams a CLI command writes to, passed in so the whole CLI runs in-process under tests: stdout for
// results (`--json` output), stderr for progress, warnings and errors. A progress bar appears only on a TTY.

export interface CliStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

export interface CliIo {
  readonly stdout: CliStream;
  readonly stderr: CliStream;
}

export const processIo: CliIo = { stdout: process.stdout, stderr: process.stderr };
