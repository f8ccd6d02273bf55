// Benchmark: the monitor service over loopback. A real `madkit serve` child process (SQLite store) with a
// bundle shaped like the default use-lite one (3 hooks x 512, Ledoit-Wolf Mahalanobis, max combiner) gets
// BENCH_REQUESTS {activations} requests (1% anomalous, so queue writes happen) at each concurrency, driven
// by a keep-alive HTTP load generator in this process (closed loop: each client sends its next request when
// the previous answer arrives; latencies timed to the microsecond, which autocannon's whole-ms histogram cannot). Prints throughput, p50/p99 latency, the detector's share of server time,
// and the ratio to GET /healthz (the framework's floor) in the same run; then checks no errors, no lost writes.
// Run: npm run bench:serve   (env BENCH_REQUESTS, BENCH_CONCURRENCY=1,10,50, BENCH_HOOKS=1..3, BENCH_DIM)

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import http from "node:http";
import { projectRoot } from "../src/config.js";
import { fitBundle } from "../src/detectors/bundle.js";
import { mahalanobis } from "../src/detectors/mahalanobis.js";
import { matrix, type Matrix } from "../src/linalg/matrix.js";
import { SqliteStore } from "../src/server/sqlite-store.js";
import { SeededRng } from "../src/train/rng.js";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 10_000);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? "1,10,50").split(",").map(Number);
const HOOKS = ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post", "hook_sentence_embedding"].slice(0, Number(process.env.BENCH_HOOKS ?? 3));
const DIM = Number(process.env.BENCH_DIM ?? 512);
const ADMIN = "mk_bench_admin";

function startServer(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(projectRoot, "src/cli/main.ts"), "serve", "--model", "none", "--detector", path.join(dir, "bundle"), "--db", path.join(dir, "bench.sqlite"), "--port", "0", "--max-concurrent", "1024"],
    { cwd: projectRoot, env: { ...process.env, MADKIT_ADMIN_TOKEN: ADMIN }, stdio: ["ignore", "ignore", "pipe"] },
  );
  let err = "";
  return new Promise((resolve, reject) => {
    child.stderr!.on("data", (b: Buffer) => {
      err += b.toString();
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(err);
      if (m) resolve({ child, url: m[1]! });
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"/+]/g, (c) => `\\${c}`)} ([0-9.e+-]+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

async function scrape(url: string) {
  const t = await (await fetch(`${url}/metrics`)).text();
  return {
    detector: metric(t, "madkit_detector_duration_seconds_sum"),
    server: metric(t, 'madkit_http_request_duration_seconds_sum{route="/v1/score"}'),
    flagged: metric(t, "madkit_flagged_total"),
  };
}

async function drive(url: string, route: string, method: "GET" | "POST", bodies: string[] | null, connections: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const target = new URL(`${url}${route}`);
  const latencies = new Float64Array(REQUESTS);
  let issued = 0;
  let errors = 0;
  const one = (body: string | undefined) =>
    new Promise<number>((resolve) => {
      const req = http.request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method, headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json", ...(body ? { "content-length": Buffer.byteLength(body) } : {}) } },
        (res) => {
          res.resume();
          res.once("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.once("error", () => resolve(0));
      req.end(body);
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (issued < REQUESTS) {
        const k = issued++;
        const s = performance.now();
        const status = await one(bodies ? bodies[k % bodies.length] : undefined);
        latencies[k] = performance.now() - s;
        if (status < 200 || status >= 300) errors++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  latencies.sort();
  const q = (p: number) => latencies[Math.min(REQUESTS - 1, Math.floor(p * REQUESTS))]!;
  return { rps: REQUESTS / seconds, p50: q(0.5), p99: q(0.99), errors };
}

const dir = mkdtempSync(path.join(os.tmpdir(), "madkit-bench-serve-"));
let child: ChildProcess | undefined;
try {
  const rng = new SeededRng(0);
  const gaussian = (n: number, shift = 0): Matrix => matrix(n, DIM, Float32Array.from({ length: n * DIM }, () => rng.normal() + shift));
  const bundle = fitBundle({ matrices: new Map(HOOKS.map((h) => [h, gaussian(2000)])), detector: mahalanobis({ covariance: "ledoit-wolf" }), combiner: "max", alpha: 0.01, pooling: "mean" });
  bundle.save(path.join(dir, "bundle"));
  // 100 request bodies, one strongly anomalous: about 1% of requests (plus α of the rest) are flagged and written.
  const bodies = Array.from({ length: 100 }, (_, i) => JSON.stringify({ activations: Object.fromEntries(HOOKS.map((h) => [h, Array.from(gaussian(1, i === 0 ? 5 : 0).data)])) }));
  const started = await startServer(dir);
  child = started.child;
  const url = started.url;
  await drive(url, "/v1/score", "POST", bodies, 4); // warm-up (JIT)

  console.log(`madkit serve over loopback, ${os.cpus().length} cores, ${REQUESTS} requests per row, {activations} of ${HOOKS.length} hooks x ${DIM}`);
  console.log("concurrency  route        req/s    p50 ms  p99 ms  errors  detector share  score/healthz req/s");
  let lostWrites = 0;
  for (const c of CONCURRENCY) {
    const base = await drive(url, "/healthz", "GET", null, c);
    const before = await scrape(url);
    const r = await drive(url, "/v1/score", "POST", bodies, c);
    const after = await scrape(url);
    const share = (after.detector - before.detector) / Math.max(1e-12, after.server - before.server);
    console.log(`${String(c).padStart(11)}  /healthz  ${base.rps.toFixed(0).padStart(9)}  ${base.p50.toFixed(2).padStart(6)}  ${base.p99.toFixed(2).padStart(6)}  ${String(base.errors).padStart(6)}`);
    console.log(`${String(c).padStart(11)}  /v1/score ${r.rps.toFixed(0).padStart(9)}  ${r.p50.toFixed(2).padStart(6)}  ${r.p99.toFixed(2).padStart(6)}  ${String(r.errors).padStart(6)}  ${(100 * share).toFixed(0).padStart(13)}%  ${(r.rps / base.rps).toFixed(2).padStart(19)}`);
  }
  const final = await scrape(url);
  child.kill("SIGTERM");
  await new Promise((r) => child!.once("exit", r));
  child = undefined;
  const store = new SqliteStore(path.join(dir, "bench.sqlite"));
  const stored = (await store.queueDepth()) + (await store.labelled({ limit: 1 })).length;
  const integrity = store.integrityCheck();
  await store.close();
  lostWrites = final.flagged - stored;
  console.log(`flagged ${final.flagged}, queued in the database ${stored} (lost writes: ${lostWrites}); integrity_check: ${integrity}`);
  console.log("goal: p99 <= 5 ms at 50 concurrent clients on 2 cores, no errors, no lost writes");
  if (lostWrites !== 0 || integrity !== "ok") process.exitCode = 1;
} finally {
  child?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
