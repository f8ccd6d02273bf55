// Benchmark: the monitor service over loopback. A real `madkit serve` child process (SQLite store) with a
// bundle shaped like the default use-lite one (3 hooks x 512, Ledoit-Wolf Mahalanobis, max combiner) gets
// BENCH_REQUESTS {activations} requests per row (1% strongly anomalous, so queue writes happen), sent as
// JSON number arrays and as packed float32 (base64), by the lean keep-alive load generator in
// perf/load-generator.ts.
//
// Closed loop (each of c clients sends its next request when the previous answer arrives) at each
// concurrency, next to the framework's floor measured in the same run: perf/serve-floor.ts, the same
// hono/@hono/node-server stack answering a fixed JSON with no work. Then open loop (Poisson arrivals at
// fixed rates over 50 connections), the way a deployment sees traffic. Prints throughput, p50/p99 latency,
// the share of wall time the detector ran and the mean batch size; then checks no errors, no lost writes.
// Run: npm run bench:serve   (env BENCH_REQUESTS, BENCH_CONCURRENCY=1,10,50, BENCH_RATES=1000,2000,4000,
// BENCH_HOOKS=1..3, BENCH_DIM)

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { projectRoot } from "../src/config.js";
import { fitBundle } from "../src/bundle/bundle.js";
import { mahalanobis } from "../src/detectors/mahalanobis.js";
import { matrix, type Matrix } from "../src/linalg/matrix.js";
import { SqliteStore } from "../src/server/sqlite-store.js";
import { SeededRng } from "../src/random/seeded-rng.js";
import { closedLoop, openLoop, type LoadResult, type LoadTarget } from "./load-generator.js";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 10_000);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? "1,10,50").split(",").map(Number);
const RATES = (process.env.BENCH_RATES ?? "1000,2000,4000").split(",").filter(Boolean).map(Number);
const HOOKS = ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post", "hook_sentence_embedding"].slice(0, Number(process.env.BENCH_HOOKS ?? 3));
const DIM = Number(process.env.BENCH_DIM ?? 512);
const ADMIN = "mk_bench_admin_token_0123456789abcdef"; // at least 32 characters: shorter ones are refused

function startChild(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd: projectRoot,
    env: { ...process.env, MADKIT_ADMIN_TOKEN: ADMIN },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  return new Promise((resolve, reject) => {
    child.stderr!.on("data", (b: Buffer) => {
      err += b.toString();
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(err);
      if (m) resolve({ child, url: m[1]! });
    });
    child.once("exit", (code) => reject(new Error(`${args[0]} exited with ${code}: ${err}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"/+]/g, (c) => `\\${c}`)} ([0-9.e+-]+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

async function scrape(url: string) {
  const t = await (await fetch(`${url}/metrics`)).text();
  return {
    detector: metric(t, "madkit_detector_duration_seconds_sum"),
    flagged: metric(t, "madkit_flagged_total"),
    batches: metric(t, "madkit_score_batches_total"),
    batchInputs: metric(t, "madkit_score_batch_inputs_total"),
  };
}

const fmt = (x: number, w: number, digits = 2) => x.toFixed(digits).padStart(w);
function row(label: string, load: string, r: LoadResult, extra = ""): void {
  console.log(`${label.padEnd(28)} ${load.padStart(11)} ${fmt(r.rps, 8, 0)} ${fmt(r.p50, 7)} ${fmt(r.p99, 7)} ${fmt(r.max, 7)} ${String(r.errors).padStart(6)}  ${extra}`);
}

const dir = mkdtempSync(path.join(os.tmpdir(), "madkit-bench-serve-"));
const children: ChildProcess[] = [];
try {
  const rng = new SeededRng(0);
  const gaussian = (n: number, shift = 0): Matrix => matrix(n, DIM, Float32Array.from({ length: n * DIM }, () => rng.normal() + shift));
  const bundle = fitBundle({ matrices: new Map(HOOKS.map((h) => [h, gaussian(2000)])), detector: mahalanobis({ covariance: "ledoit-wolf" }), combiner: "max", alpha: 0.01, pooling: "mean" });
  bundle.save(path.join(dir, "bundle"));
  // 100 inputs, one strongly anomalous: about 1% of requests (plus α of the rest) are flagged and written.
  const inputs = Array.from({ length: 100 }, (_, i) => HOOKS.map((h) => [h, gaussian(1, i === 0 ? 5 : 0).data as Float32Array] as const));
  const asArrays = inputs.map((hooks) => JSON.stringify({ activations: Object.fromEntries(hooks.map(([h, v]) => [h, Array.from(v)])) }));
  const asPacked = inputs.map((hooks) => JSON.stringify({ activations: Object.fromEntries(hooks.map(([h, v]) => [h, Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64")])) }));

  const floor = await startChild([path.join(projectRoot, "perf/serve-floor.ts")]);
  children.push(floor.child);
  const server = await startChild([path.join(projectRoot, "src/cli/main.ts"), "serve", "--model", "none", "--detector", path.join(dir, "bundle"), "--db", path.join(dir, "bench.sqlite"), "--port", "0", "--max-concurrent", "1024", "--rate-limit", "0", "--max-queue", "0"]);
  children.push(server.child);
  const headers = { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" };
  const score = (bodies: string[]): LoadTarget => ({ url: server.url, path: "/v1/score", method: "POST", headers, bodies });
  const floorTarget: LoadTarget = { url: floor.url, path: "/v1/score", method: "POST", headers, bodies: asPacked };
  // Warm-up (JIT) of both servers and both encodings.
  for (const t of [floorTarget, score(asArrays), score(asPacked)]) await closedLoop(t, 8, Math.min(REQUESTS, 3000));

  console.log(`madkit serve over loopback, ${os.cpus().length} cores (server, floor server and load generator share them), ${REQUESTS} requests per row, {activations} of ${HOOKS.length} hooks x ${DIM}`);
  console.log(`${"route".padEnd(28)} ${"load".padStart(11)} ${"req/s".padStart(8)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"max ms".padStart(7)} ${"errors".padStart(6)}  detector busy, mean batch, p99 / floor p99`);
  let errors = 0;
  const measure = async (label: string, load: string, run: () => Promise<LoadResult>, floorP99?: number) => {
    const before = await scrape(server.url);
    const r = await run();
    const after = await scrape(server.url);
    errors += r.errors;
    // With batching one detector call serves many requests: report the share of wall time the detector ran.
    const share = (after.detector - before.detector) / r.seconds;
    const batch = (after.batchInputs - before.batchInputs) / Math.max(1, after.batches - before.batches);
    row(label, load, r, `${fmt(100 * share, 5, 0)}%  ${fmt(batch, 6, 1)}${floorP99 ? `  ${fmt(r.p99 / floorP99, 6)}x` : ""}`);
    return r;
  };
  for (const c of CONCURRENCY) {
    const f = await closedLoop(floorTarget, c, REQUESTS);
    row("floor (hono, no work)", `closed c=${c}`, f);
    await measure("/v1/score number arrays", `closed c=${c}`, () => closedLoop(score(asArrays), c, REQUESTS), f.p99);
    await measure("/v1/score packed float32", `closed c=${c}`, () => closedLoop(score(asPacked), c, REQUESTS), f.p99);
  }
  for (const rate of RATES) {
    const f = await openLoop(floorTarget, 50, REQUESTS, rate);
    row("floor (hono, no work)", `open ${rate}/s`, f);
    await measure("/v1/score number arrays", `open ${rate}/s`, () => openLoop(score(asArrays), 50, REQUESTS, rate), f.p99);
    await measure("/v1/score packed float32", `open ${rate}/s`, () => openLoop(score(asPacked), 50, REQUESTS, rate), f.p99);
  }
  const final = await scrape(server.url);
  for (const c of children) await stop(c);
  const store = new SqliteStore(path.join(dir, "bench.sqlite"));
  const stored = (await store.queueDepth()) + (await store.labelled({ limit: 1 })).length;
  const integrity = store.integrityCheck();
  await store.close();
  const lostWrites = final.flagged - stored;
  console.log(`errors ${errors}; flagged ${final.flagged}, queued in the database ${stored} (lost writes: ${lostWrites}); integrity_check: ${integrity}`);
  console.log("goal (issue 6): p99 <= 5 ms at 50 concurrent clients on 2 cores, no errors, no lost writes");
  if (errors !== 0 || lostWrites !== 0 || integrity !== "ok") process.exitCode = 1;
} finally {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
