// `madkit bench`: run the benchmark grid (tasks × models × detectors × hooks) and write results.json plus the
// report (report.md, report.html) — a thin shell over `runBench`, `writeResults` and `renderReport`.

import { readFileSync } from "node:fs";
import path from "node:path";
import cliProgress from "cli-progress";
import type { Command } from "commander";
import { BACKDOOR_TRAIN_MINUTES } from "../bench/backdoor-run.js";
import { CAPABILITY_GAP_MINUTES } from "../bench/capability-gap-run.js";
import { runBench } from "../bench/runner.js";
import { writeResults } from "../bench/write-results.js";
import { config, projectRoot } from "../config.js";
import { runMonitorLoop } from "../loop/run-monitor-loop.js";
import { renderReport } from "../report/index.js";
import { MONITOR_LOOP_TASK } from "../tasks/monitor-loop-task.js";
import type { CliIo } from "./cli-io.js";
import { intFlag } from "./flags.js";

interface BenchFlags {
  out: string;
  quick?: boolean;
  seed: number;
  tasks?: string;
  models?: string;
  detectors?: string;
  cache?: string;
  json?: boolean;
}

const list = (v: string | undefined): string[] | undefined => (v ? v.split(",").map((s) => s.trim()).filter((s) => s.length > 0) : undefined);

function version(): string {
  try {
    return (JSON.parse(readFileSync(path.join(projectRoot, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export function benchCommand(program: Command, io: CliIo): Command {
  return program
    .command("bench")
    .description(
      "benchmark every detector x hook x task on the shared models; writes results.json, report.md and report.html. " +
        `The backdoor tasks need a backdoored stories260K per trigger and seed: a full run trains what is missing (${BACKDOOR_TRAIN_MINUTES} each on 2 cores, ` +
        "once; reused from the cache after), a --quick run never trains and skips a backdoor task whose checkpoint is not cached (the report says so). " +
        `The capability-gap evaluation adds ${CAPABILITY_GAP_MINUTES.full} (${CAPABILITY_GAP_MINUTES.quick} quick).`,
    )
    .option("--out <dir>", "folder for results.json and the report", "report")
    .option("--quick", "CI subset: the tasks' quick sizes, fewer hooks and detectors, 30 bootstrap replicates")
    .option("--seed <n>", "seed of the tasks' splits, the detectors and the bootstrap", intFlag(0), 1)
    .option("--tasks <names>", "comma-separated tasks (jailbreak-ood, benign-shift, story-ood, backdoor-rare, backdoor-phrase, capability-gap, monitor-loop, measurement-tampering); default all")
    .option("--models <names>", "comma-separated models (use-lite, stories260k); default all")
    .option("--detectors <names>", "comma-separated detector names or kinds from the plan; default all")
    .option("--cache <dir>", "activation cache folder (default: MADKIT_CACHE or .madkit-cache; backdoored checkpoints always live in MADKIT_CACHE)")
    .option("--json", "print a machine-readable summary on stdout (no progress bar)")
    .action(async (flags: BenchFlags) => {
      let bar: cliProgress.SingleBar | undefined;
      let lastLine = "";
      const stageResults = await runBench({
        quick: flags.quick ?? false,
        seed: flags.seed,
        tasks: list(flags.tasks),
        models: list(flags.models),
        detectors: list(flags.detectors),
        cacheDir: flags.cache,
        madkitVersion: version(),
        onProgress: (p) => {
          if (flags.json) return;
          if (io.stderr.isTTY) {
            if (!bar) {
              bar = new cliProgress.SingleBar(
                { stream: io.stderr as NodeJS.WritableStream, format: "bench [{bar}] {percentage}% | {eta_formatted} left | {what}", hideCursor: true, etaBuffer: 50 },
                cliProgress.Presets.shades_classic,
              );
              bar.start(p.total, p.done, { what: p.label });
            }
            bar.setTotal(p.total);
            bar.update(p.done, { what: p.label });
          } else if (p.stage !== "extract" || p.done === p.total) {
            // Without a TTY, one line per fit (not per extraction batch) keeps logs readable.
            const line = `[${p.done}/${p.total}] ${p.label}`;
            if (line !== lastLine) io.stderr.write(`${line}\n`);
            lastLine = line;
          }
        },
      }).finally(() => bar?.stop());
      // The monitor loop runs through the monitor service on loopback (src/loop/), after the stages.
      const tasks = list(flags.tasks);
      const models = list(flags.models);
      const loopWanted = (!tasks || tasks.length === 0 || tasks.includes(MONITOR_LOOP_TASK)) && (!models || models.length === 0 || models.includes("use-lite"));
      const monitorLoop = loopWanted
        ? await runMonitorLoop({
            seed: flags.seed,
            quick: flags.quick ?? false,
            cacheDir: path.join(flags.cache ?? config.cacheDir, "monitor-loop"),
            log: flags.json ? undefined : (line) => io.stderr.write(`${line}\n`),
          })
        : undefined;
      const results = monitorLoop ? { ...stageResults, monitorLoop, durationSeconds: Math.round((stageResults.durationSeconds + monitorLoop.durationSeconds) * 10) / 10 } : stageResults;
      const file = writeResults(results, flags.out);
      const report = renderReport(results, flags.out);
      const files = [file, ...report.files];
      if (flags.json) {
        io.stdout.write(
          JSON.stringify({ files, durationSeconds: results.durationSeconds, records: results.records.length, selections: results.selections.map((s) => ({ task: s.task, model: s.model, detector: s.detector, hook: s.hook, test: s.test.atAlpha })) }) + "\n",
        );
        return;
      }
      io.stderr.write(`bench: ${results.records.length} records in ${results.durationSeconds} s\n`);
      for (const sk of results.skipped ?? []) io.stderr.write(`bench: not run: ${sk.task} — ${sk.reason}\n`);
      for (const s of results.selections) {
        const a = s.test.atAlpha.find((x) => x.alpha === 0.05) ?? s.test.atAlpha[s.test.atAlpha.length - 1]!;
        io.stdout.write(
          `${s.task} × ${s.model}: ${s.detector} @ ${s.hook} — test AUROC ${s.test.auroc.value.toFixed(3)}, at α = ${a.alpha}: ` +
            `precision ${a.precision.value.toFixed(3)}, recall ${a.recall.value.toFixed(3)}\n`,
        );
      }
      for (const c of results.monitorLoop?.curves ?? []) {
        const last = c.points[c.points.length - 1];
        io.stdout.write(
          `monitor loop ${c.family} × ${c.policy}: recall ${c.points.map((p) => p.recall.toFixed(2)).join(" → ")} over ${last?.labels ?? 0} labels; ` +
            `labels to ${results.monitorLoop!.targetRecall}: ${c.labelsToTarget ?? `> ${last?.labels ?? 0}`}\n`,
        );
      }
      for (const f of files) io.stdout.write(`wrote ${f}\n`);
    });
}
