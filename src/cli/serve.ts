// `madkit serve`: the monitor service (score over HTTP, review queue, labels, probe) — a thin shell over
// `startMonitor`. Runs until SIGINT or SIGTERM, then closes the listener, the store and the model.

import { Command } from "commander";
import { startMonitor } from "../server/service.js";
import { DEFAULT_LIMITS } from "../server/schemas.js";
import type { CliIo } from "./cli-io.js";
import { intFlag } from "./flags.js";
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
}

export function serveCommand(program: Command, io: CliIo): Command {
  return program
    .command("serve")
    .description("run the monitor service: POST /v1/score, review queue, labels, probe training, reviewer page at /")
    .option("--model <name|path>", "model that turns {text} into activations ('none': accept {activations} only)", "use-lite")
    .option("--detector <dir>", "bundle folder from 'madkit fit'; if it does not exist a default bundle is fitted and cached", "det")
    .option("--db <file|url>", "SQLite file, or a postgres://user@host/db URL", "./madkit.sqlite")
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--port <n>", "port (0 picks a free one)", intFlag(0), 8080)
    .option("--alpha <level>", "false-alarm level for flagging (default: the bundle's)", openUnitFlag)
    .option("--max-concurrent <n>", "requests in flight before answering 503", intFlag(1), DEFAULT_LIMITS.maxConcurrent)
    .option("--max-body <bytes>", "largest request body", intFlag(1), DEFAULT_LIMITS.maxBodyBytes)
    .option("--max-text <chars>", "longest text", intFlag(1), DEFAULT_LIMITS.maxTextChars)
    .option("--timeout <ms>", "request timeout", intFlag(1), DEFAULT_LIMITS.requestTimeoutMs)
    .action(async (flags: ServeFlags) => {
      const running = await startMonitor({
        model: flags.model,
        detector: flags.detector,
        db: flags.db,
        host: flags.host,
        port: flags.port,
        alpha: flags.alpha,
        adminToken: process.env.MADKIT_ADMIN_TOKEN,
        limits: { maxConcurrent: flags.maxConcurrent, maxBodyBytes: flags.maxBody, maxTextChars: flags.maxText, requestTimeoutMs: flags.timeout },
        log: (line) => void io.stderr.write(`madkit serve: ${line}\n`),
      });
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
