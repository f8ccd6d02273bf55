// A running monitor for tests: a small real bundle (Ledoit-Wolf Mahalanobis on two Gaussian "hooks", 8 and
// 4 wide, 400 trusted rows), a temp SQLite store, tokens for every role, and a fetch helper.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fitBundle, type FittedBundle } from "../../src/bundle/bundle.js";
import { mahalanobis } from "../../src/detectors/mahalanobis.js";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import { issueToken } from "../../src/server/auth.js";
import { requestLogger, type Logger } from "../../src/server/front-door.js";
import { MonitorMetrics } from "../../src/server/metrics.js";
import type { ServiceLimits } from "../../src/server/schemas.js";
import { MonitorScorer, type ScorerOptions } from "../../src/server/scorer.js";
import { listenMonitor, type RunningMonitor } from "../../src/server/service.js";
import { SqliteStore } from "../../src/server/sqlite-store.js";
import type { MonitorStore } from "../../src/server/storage.js";
import { withRecipe } from "../../src/models/registry.js";
import type { ActivationSource } from "../../src/models/source.js";
import { unknownShareOf, visibleLength } from "../../src/models/unknown-share.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

export const HOOKS = [
  { name: "blocks.0.hook_resid_post", dim: 8 },
  { name: "blocks.1.hook_resid_post", dim: 4 },
] as const;

export function gaussianRows(n: number, d: number, rng: SeededRng, shift = 0): Matrix<Float32Array> {
  const data = new Float32Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() + shift;
  return matrix(n, d, data);
}

export function standInBundle(seed = 1, model?: { id: string; revision: string; format: string }): FittedBundle {
  const rng = new SeededRng(seed);
  const matrices = new Map<string, Matrix>(HOOKS.map((h) => [h.name, gaussianRows(400, h.dim, rng)]));
  return fitBundle({ matrices, detector: mahalanobis({ covariance: "ledoit-wolf" }), combiner: "max", alpha: 0.05, seed: 0, model, pooling: "mean" });
}

/** One input's activations as the JSON body wants them; `shift` moves every value (large = anomalous). */
export function activationsBody(rng: SeededRng, shift = 0): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const h of HOOKS) out[h.name] = Array.from({ length: h.dim }, () => rng.normal() + shift);
  return out;
}

/**
 * A model stand-in: each text maps to fixed activations (value = shift + length mod 5 / 10, where shift is 8
 * for texts containing "IGNORE", else 0), after `delayMs` (waiting) and `busyMsPerText` (a busy CPU, like a
 * real model, on whatever thread runs it). Characters outside printable ASCII are "unknown" to it (its
 * unknownShare). It carries a recipe, so the service's worker threads build the same stand-in.
 */
export function textSource(delayMs = 0, busyMsPerText = 0): ActivationSource {
  const source: ActivationSource = {
    info: { id: "stand-in", revision: "0", format: "onnx", nLayers: 2, dModel: 8, vocabSize: 1, contextLength: 16 },
    hooks: () => HOOKS.map((h, i) => ({ name: h.name, dim: h.dim, granularity: "sequence" as const, layer: i })),
    tokenize: () => ({ ids: new Int32Array(0), pieces: [] }),
    forward: async (texts, opts) => {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      const unknown = texts.map((t) => Array.from(t).filter((ch) => visibleLength(ch) > 0 && !/^[\x21-\x7e]$/.test(ch)).length);
      if (busyMsPerText > 0) {
        const until = performance.now() + busyMsPerText * texts.length;
        while (performance.now() < until);
      }
      return {
        activations: texts.map((t) =>
          new Map(opts.hooks.map((h) => {
            const dim = HOOKS.find((x) => x.name === h)!.dim;
            const v = (t.includes("IGNORE") ? 8 : 0) + (t.length % 5) / 10;
            return [h, matrix(1, dim, Float32Array.from({ length: dim }, (_, j) => v + (j % 2) * 0.3))];
          })),
        ),
        tokenCounts: texts.map(() => 1),
        truncated: texts.map(() => false),
        unknownTokens: unknown.map((n) => (n > 0 ? 1 : 0)),
        unknownShare: texts.map((t, k) => unknownShareOf(unknown[k]!, visibleLength(t))),
      };
    },
    dispose: async () => {},
  };
  return withRecipe(source, { kind: "module", module: import.meta.url, export: "textSource", args: [delayMs, busyMsPerText] });
}

export interface TestMonitor {
  readonly server: RunningMonitor;
  readonly store: MonitorStore;
  readonly dir: string;
  readonly tokens: { client: string; reviewer: string; admin: string };
  call(method: string, route: string, token?: string, body?: unknown): Promise<{ status: number; json: any; text: string; headers: Headers }>;
  close(): Promise<void>;
}

/** The request log, quiet unless MADKIT_TEST_LOG is set (a test that checks the log passes its own). */
const quiet = requestLogger(process.env.MADKIT_TEST_LOG ? "info" : "silent");

export async function startTestMonitor(
  options: { limits?: Partial<ServiceLimits>; source?: ActivationSource; bundle?: FittedBundle; store?: MonitorStore; logger?: Logger; scorer?: ScorerOptions } = {},
): Promise<TestMonitor> {
  const dir = mkdtempSync(path.join(tmpdir(), "madkit-serve-"));
  const store = options.store ?? new SqliteStore(path.join(dir, "monitor.sqlite"));
  const bundle = options.bundle ?? standInBundle();
  const scorer = new MonitorScorer(bundle, bundle.meta.alpha, new MonitorMetrics(), options.source, options.scorer);
  const tokens = {
    client: (await issueToken(store, "c", "client")).token,
    reviewer: (await issueToken(store, "r", "reviewer")).token,
    admin: (await issueToken(store, "a", "admin")).token,
  };
  const server = await listenMonitor({ store, scorer, limits: options.limits, logger: options.logger ?? quiet });
  return {
    server,
    store,
    dir,
    tokens,
    async call(method, route, token, body) {
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      let payload: string | undefined;
      if (body !== undefined) {
        headers["content-type"] = "application/json";
        payload = typeof body === "string" ? body : JSON.stringify(body);
      }
      const r = await fetch(`${server.url}${route}`, { method, headers, body: payload });
      const text = await r.text();
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: r.status, json, text, headers: r.headers };
    },
    async close() {
      await server.close();
      await scorer.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
