// `madkit serve`: the monitor service (score over HTTP, review queue, labels, probe) — a thin shell over
// `startMonitor`. Runs until SIGINT or SIGTERM, then closes the listener, the store and the model.

import { existsSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { MadkitError } from "../errors.js";
import { LOG_LEVELS, requestLogger } from "../server/front-door.js";
import { DEFAULT_MAX_UNKNOWN_SHARE } from "../server/scorer.js";
import { startMonitor } from "../server/service.js";
import { DEFAULT_LIMITS } from "../server/schemas.js";
import type { CliIo } from "./cli-io.js";
import { choiceFlag, intFlag, unitIntervalFlag } from "./flags.js";
import { openUnitFlag } from "./fit.js";

interface ServeFlags {
  model: string;
  detector: string;
  db: string;
  host: string;
  port: number;
  alpha?: number;
  maxConcurrent: number;
  maxBody: number;
  maxText: number;
  timeout: number;
  rateLimit: number;
  burst: number;
  maxQueue: number;
  logLevel: (typeof LOG_LEVELS)[number];
  maxUnknownShare: number;
}

/** A TCP port: an integer in [0, 65535] (0 picks a free one). */
export function portFlag(value: string): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!(Number.isInteger(n) && n >= 0 && n <= 65535)) throw new InvalidArgumentError(`expected a port number in [0, 65535], got '${value}'`);
  return n;
}

/** Start the monitor, turning the failures of binding the listener into one line that names host and port. */
async function listening<T>(flags: ServeFlags, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    const where = `${flags.host}:${flags.port}`;
    const why: Record<string, string> = {
      EADDRINUSE: `port ${flags.port} on ${flags.host} is already in use (another 'madkit serve'?); stop it or pick another --port`,
      EADDRNOTAVAIL: `${flags.host} is not an address of this machine; use --host 127.0.0.1, 0.0.0.0 or one of its own addresses`,
      ENOTFOUND: `host '${flags.host}' does not resolve to an address; use --host 127.0.0.1, 0.0.0.0 or a name this machine has`,
      EAI_AGAIN: `host '${flags.host}' could not be resolved (name lookup failed); use an IP address with --host`,
      EACCES: `no permission to listen on ${where} (ports below 1024 need privileges); pick another --port`,
    };
    if (typeof code === "string" && why[code] !== undefined && !(e instanceof MadkitError)) {
      throw new MadkitError("BAD_ARGUMENT", `cannot listen on ${where}: ${why[code]}`, { cause: e });
    }
    throw e;
  }
}

export function serveCommand(program: Command, io: CliIo): Command {
  return program
    .command("serve")
    .description("run the monitor service: POST /v1/score, review queue, labels, probe training, reviewer page at /")
    .option("--model <name|path>", "model that turns {text} into activations ('none': accept {activations} only)", "use-lite")
    .option("--detector <dir>", "bundle folder from 'madkit fit' (must exist when given); left out: ./det, or a default bundle fitted and cached when there is none", "det")
    .option("--db <file|url>", "SQLite file, or a postgres://user@host/db URL", "./madkit.sqlite")
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--port <n>", "port (0 picks a free one)", portFlag, 8080)
    .option("--alpha <level>", "false-alarm level for flagging (default: the bundle's)", openUnitFlag)
    .option("--max-concurrent <n>", "requests in flight before answering 503", intFlag(1), DEFAULT_LIMITS.maxConcurrent)
    .option("--max-body <bytes>", "largest request body", intFlag(1), DEFAULT_LIMITS.maxBodyBytes)
    .option("--max-text <chars>", "longest text", intFlag(1), DEFAULT_LIMITS.maxTextChars)
    .option("--timeout <ms>", "request timeout", intFlag(1), DEFAULT_LIMITS.requestTimeoutMs)
    .option("--rate-limit <n>", "requests per second per token, sustained, before answering 429 (0: no limit)", intFlag(0), DEFAULT_LIMITS.ratePerToken)
    .option("--burst <n>", "requests a token may send at once before --rate-limit applies", intFlag(1), DEFAULT_LIMITS.burstPerToken)
    .option("--max-queue <n>", "unlabelled items in the review queue at which scoring answers 429 (0: no cap)", intFlag(0), DEFAULT_LIMITS.maxQueue)
    .option("--max-unknown-share <fraction>", "flag (for review) text whose share of tokens the model cannot read exceeds this, in [0, 1]", unitIntervalFlag, DEFAULT_MAX_UNKNOWN_SHARE)
    .option("--log-level <level>", `request log on stderr, one JSON line per request (${LOG_LEVELS.join(", ")})`, choiceFlag(LOG_LEVELS), "info")
    .action(async (flags: ServeFlags, command: Command) => {
      // The fallback to a default bundle is for the default folder only: a --detector the user typed must
      // exist, or a typo would quietly serve a detector they did not choose.
      if (command.getOptionValueSource("detector") !== "default" && !existsSync(flags.detector)) {
        throw new MadkitError(
          "FILE_NOT_FOUND",
          `--detector ${flags.detector}: no such bundle folder; give a folder written by 'madkit fit', or leave --detector out to use the default bundle`,
        );
      }
      const running = await listening(flags, () => startMonitor({
        model: flags.model,
        detector: flags.detector,
        db: flags.db,
        host: flags.host,
        port: flags.port,
        alpha: flags.alpha,
        adminToken: process.env.MADKIT_ADMIN_TOKEN,
        maxUnknownShare: flags.maxUnknownShare,
        limits: {
          maxConcurrent: flags.maxConcurrent,
          maxBodyBytes: flags.maxBody,
          maxTextChars: flags.maxText,
          requestTimeoutMs: flags.timeout,
          ratePerToken: flags.rateLimit,
          burstPerToken: flags.burst,
          maxQueue: flags.maxQueue,
        },
        log: (line) => void io.stderr.write(`madkit serve: ${line}\n`),
        logger: requestLogger(flags.logLevel, { write: (line: string) => io.stderr.write(line) }),
      }));
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          resolve();
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
      io.stderr.write("madkit serve: shutting down\n");
      await running.close();
    });
}
