// Assemble and run the monitor: open the store, load (or fit) the bundle and the model, restore the last
// probe, check the admin tokens, listen, and only then write an admin token (so an instance that cannot bind
// leaves nothing in a shared database). `startMonitor` is what `madkit serve` calls; `listenMonitor` serves
// an already-built scorer and store (tests and embedding applications).

import { existsSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { loadBundle, type FittedBundle } from "../bundle/bundle.js";
import { MadkitError } from "../errors.js";
import { limitBlasThreads } from "../linalg/openblas.js";
import { loadModel } from "../models/registry.js";
import type { ActivationSource } from "../models/source.js";
import { createMonitorApp } from "./app.js";
import { hashToken, issueToken, tokenStrengthProblem } from "./auth.js";
import { defaultBundle } from "./default-bundle.js";
import { requestLogger, type Logger } from "./front-door.js";
import { LogisticProbe } from "./logistic-probe.js";
import { MonitorMetrics } from "./metrics.js";
import { openStore } from "./open-store.js";
import { DEFAULT_LIMITS, type ServiceLimits } from "./schemas.js";
import { MonitorScorer } from "./scorer.js";
import type { MonitorStore } from "./storage.js";

export interface RunningMonitor {
  readonly url: string;
  readonly port: number;
  readonly store: MonitorStore;
  readonly scorer: MonitorScorer;
  /** Stop listening, then close the store and the model. */
  close(): Promise<void>;
}

export interface ListenOptions {
  readonly store: MonitorStore;
  readonly scorer: MonitorScorer;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly limits?: Partial<ServiceLimits>;
  /** The request log (default: JSON lines on stderr at level info). */
  readonly logger?: Logger;
}

/** Restore the newest saved probe when every hook it reads is one of the bundle's, of the same width. */
export async function restoreProbe(store: MonitorStore, scorer: MonitorScorer): Promise<void> {
  const rec = await store.latestProbe();
  if (!rec) return;
  const probe = LogisticProbe.fromJson(rec.state, `probe ${rec.id}`);
  const same = probe.state.hooks.every((h) => scorer.bundle.hooks.some((b) => b.name === h.name && b.dim === h.dim));
  if (same) scorer.probe = { model: probe, id: rec.id };
}

export async function listenMonitor(options: ListenOptions, onClose: () => Promise<void> = async () => {}): Promise<RunningMonitor> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  // The scorer times the detector and the model; the app times requests: both into one metrics object.
  const metrics = options.scorer.metrics;
  const app = createMonitorApp({ store: options.store, scorer: options.scorer, metrics, limits, logger: options.logger ?? requestLogger() });
  const host = options.host ?? "127.0.0.1";
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port: options.port ?? 0 }, () => resolve(s));
    s.once("error", reject);
  });
  // Node's own limits on receiving a request (headers, then the whole request), a little above the app's
  // time limit, which answers 504 first: a connection that trickles bytes is closed, not kept for minutes.
  const http = server as Server;
  http.requestTimeout = limits.requestTimeoutMs + 5_000;
  http.headersTimeout = Math.min(60_000, http.requestTimeout);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    store: options.store,
    scorer: options.scorer,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await options.store.close();
      await onClose();
    },
  };
}

export interface StartMonitorOptions {
  /** Model short name or path; "none" serves {activations} only. */
  readonly model: string;
  /** Bundle folder written by `madkit fit`; when it does not exist, the default bundle is fitted and cached. */
  readonly detector?: string;
  /** SQLite file or postgres:// URL. */
  readonly db: string;
  readonly host?: string;
  readonly port?: number;
  /** False-alarm level for flagging (default: the bundle's own α). */
  readonly alpha?: number;
  readonly limits?: Partial<ServiceLimits>;
  /**
   * Make sure this admin token exists (e.g. from MADKIT_ADMIN_TOKEN), instead of minting one: at least 32
   * characters (tokenStrengthProblem), and not a revoked token.
   */
  readonly adminToken?: string;
  /** Flag text whose unknown-token share exceeds this (default DEFAULT_MAX_UNKNOWN_SHARE). */
  readonly maxUnknownShare?: number;
  /** Start-up lines for a person. */
  readonly log?: (line: string) => void;
  /** The request log (default: JSON lines on stderr at level info). */
  readonly logger?: Logger;
}

/** What start-up must do about admin tokens once the port is bound. */
type AdminPlan = { kind: "none" } | { kind: "add-env"; hash: string } | { kind: "mint-first" };

/**
 * Decide, before binding, how an admin will be able to manage this database — or refuse to start with one
 * line on how to recover: a revoked MADKIT_ADMIN_TOKEN, or a database whose admin tokens are all revoked.
 */
async function planAdmin(store: MonitorStore, db: string, adminToken: string | undefined): Promise<AdminPlan> {
  const recover = "start with MADKIT_ADMIN_TOKEN set to a new secret of at least 32 characters (e.g. MADKIT_ADMIN_TOKEN=$(openssl rand -hex 32) madkit serve ...), which becomes an admin token";
  if (adminToken !== undefined) {
    const hash = hashToken(adminToken);
    const rec = await store.tokenByHash(hash);
    if (!rec) return { kind: "add-env", hash };
    if (rec.revokedAt !== null) {
      throw new MadkitError("BAD_ARGUMENT", `MADKIT_ADMIN_TOKEN is token ${rec.id} ('${rec.name}') of ${db}, revoked on ${new Date(rec.revokedAt).toISOString()}; a revoked token stays revoked: ${recover}`);
    }
    if (rec.role !== "admin") throw new MadkitError("BAD_ARGUMENT", `MADKIT_ADMIN_TOKEN is token ${rec.id} ('${rec.name}') of ${db}, whose role is '${rec.role}', not admin; ${recover}`);
    return { kind: "none" };
  }
  const tokens = await store.listTokens();
  const admins = tokens.filter((t) => t.role === "admin");
  if (admins.some((t) => t.revokedAt === null)) return { kind: "none" };
  if (admins.length === 0) return { kind: "mint-first" };
  throw new MadkitError("BAD_ARGUMENT", `${db} has no usable admin token (all ${admins.length} admin tokens are revoked), so no one could manage tokens; to recover, ${recover}`);
}

export async function startMonitor(options: StartMonitorOptions): Promise<RunningMonitor> {
  const log = options.log ?? (() => {});
  const weak = options.adminToken === undefined ? undefined : tokenStrengthProblem(options.adminToken);
  if (weak !== undefined) throw new MadkitError("BAD_ARGUMENT", `MADKIT_ADMIN_TOKEN ${weak}`);
  let source: ActivationSource | undefined;
  let bundle: FittedBundle;
  if (options.model !== "none") source = await loadModel(options.model);
  try {
    if (options.detector && existsSync(options.detector)) {
      bundle = loadBundle(options.detector);
      log(`bundle: ${options.detector} (${bundle.hooks.map((h) => h.name).join(", ")}; combiner ${bundle.meta.combiner})`);
    } else {
      if (!source) throw new MadkitError("BAD_ARGUMENT", `--detector ${options.detector ?? "(none)"} does not exist, and without a model (--model none) no default bundle can be fitted`);
      if (options.detector) log(`--detector ${options.detector} does not exist`);
      const d = await defaultBundle(source, log);
      bundle = d.bundle;
      log(`bundle: default, ${d.dir}`);
    }
  } catch (e) {
    await source?.dispose();
    throw e;
  }
  // Requests are scored in small batches (on worker threads where the model can be rebuilt there, else on the
  // event loop): OpenBLAS's helper threads would compete for the cores the HTTP work and the clients need
  // (measured before the workers: p99 at 1,000 req/s open loop 28 ms with 2 BLAS threads, 12 ms with 1).
  limitBlasThreads(1);
  const store = await openStore(options.db);
  let running: RunningMonitor | undefined;
  try {
    const scorer = new MonitorScorer(bundle, options.alpha ?? bundle.meta.alpha, new MonitorMetrics(), source, { maxUnknownShare: options.maxUnknownShare });
    await restoreProbe(store, scorer);
    const plan = await planAdmin(store, options.db, options.adminToken);
    running = await listenMonitor({ store, scorer, host: options.host, port: options.port, limits: options.limits, logger: options.logger }, async () => {
      await scorer.close();
      await source?.dispose();
    });
    // Bound: now the admin token may be written (a second instance that failed to bind wrote nothing).
    if (plan.kind === "add-env") await store.addToken("admin (from environment)", "admin", plan.hash, Date.now());
    if (plan.kind === "mint-first") {
      const { token } = await issueToken(store, "first admin", "admin");
      log(`created the first admin token (shown once, keep it): ${token}`);
    }
    log(`listening on ${running.url} (storage ${store.kind}, α = ${scorer.alpha}, threshold ${scorer.threshold.toPrecision(6)}${scorer.probe ? `, probe ${scorer.probe.id}` : ""}); reviewer page at ${running.url}/`);
    return running;
  } catch (e) {
    // The running monitor closes the store and the model with it.
    if (running) await running.close().catch(() => {});
    else {
      await store.close();
      await source?.dispose();
    }
    throw e;
  }
}
