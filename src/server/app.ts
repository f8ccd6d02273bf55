// The monitor's HTTP routes on hono: scoring, the review queue, labels, export, probe training, tokens,
// health, metrics, the OpenAPI document and the reviewer page. Every /v1 route needs a bearer token of a
// sufficient role (401 without a valid token, 403 with too weak a role); errors are JSON {error:{code,message}}.
// What a request passes before its route (token, rate, content type, limits, request log) is front-door.ts.

import { Hono, type Context, type MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { zValidator } from "@hono/zod-validator";
import type { z } from "zod";
import type { BundleHook } from "../bundle/bundle.js";
import { isMadkitError, MadkitError } from "../errors.js";
import { issueToken, roleAllows } from "./auth.js";
import { frontDoor, QueueGate, requestLog, requestLogger, type Logger, type MonitorEnv } from "./front-door.js";
import type { MonitorMetrics } from "./metrics.js";
import { openApiDocument } from "./openapi.js";
import { REVIEW_PAGE_HEADERS, reviewPageHtml } from "./review-page.js";
import {
  describeZodError,
  idParamSchema,
  importRequestSchema,
  labelRequestSchema,
  queueQuerySchema,
  scoreRequestSchema,
  tokenRequestSchema,
  trainRequestSchema,
  type ServiceLimits,
} from "./schemas.js";
import { DEGENERATE_PROBE, type LogisticProbe } from "./logistic-probe.js";
import { requestDeadline } from "./request-deadline.js";
import type { GroupInput, MonitorScorer, ScoreResult } from "./scorer.js";
import type { Label, MonitorStore, Role, StoredItem, TokenRecord } from "./storage.js";
import { ScoreBatcher, type ScoredRequest } from "./score-batcher.js";
import { scoreRunner, trainProbeInWorker } from "./score-workers.js";
import { probeTrainingSet, type ProbeTrainingSet } from "./train-probe.js";

export interface AppDeps {
  readonly store: MonitorStore;
  readonly scorer: MonitorScorer;
  readonly metrics: MonitorMetrics;
  readonly limits: ServiceLimits;
  /** The request log (default: JSON lines on stderr at level info). */
  readonly logger?: Logger;
}

type Env = MonitorEnv;

function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

/** zod failures become 400 with the first issue's path and message. */
function validate<T extends z.ZodTypeAny, Target extends "json" | "query" | "param">(target: Target, schema: T) {
  return zValidator(target, schema, (result, c) => {
    if (!result.success) return c.json(errorBody("BAD_REQUEST", describeZodError(result.error as z.ZodError, target === "json" ? "body" : target)), 400);
  });
}

/** Middleware that lets a request through only with a valid bearer token of at least `role`. */
type NeedRole = (role: Role) => MiddlewareHandler<Env>;

export function createMonitorApp(deps: AppDeps): Hono<Env> {
  const app = new Hono<Env>();
  // Revoking a token clears the cache, so the token routes and the role check share it.
  const tokenCache = new Map<string, TokenRecord>();
  const queueGate = new QueueGate(deps.store, deps.metrics, deps.limits.maxQueue);
  const need = roleCheck();
  handleErrors(app);
  requestLog(app, deps.metrics, deps.logger ?? requestLogger());
  frontDoor(app, { store: deps.store, metrics: deps.metrics, limits: deps.limits, tokenCache, queueGate });
  publicRoutes(app, deps);
  // One batcher for scoring and for importing labelled items, so both share the worker's batches.
  const batcher = new ScoreBatcher(scoreRunner(deps.scorer));
  scoreRoute(app, deps, need, batcher);
  reviewRoutes(app, deps.store, need, queueGate);
  importRoute(app, deps, need, batcher);
  probeRoutes(app, deps, need);
  tokenRoutes(app, deps.store, need, tokenCache);
  return app;
}

/**
 * Errors as JSON {error:{code,message}}: hono's HTTP errors keep their status, madkit's are 400, the rest 500
 * — whose details (message and stack) go to the request log under the request id, not to the client.
 */
function handleErrors(app: Hono<Env>): void {
  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      const status = err.status;
      const msg = status === 400 && /JSON/i.test(err.message) ? `body: malformed JSON (${err.message})` : err.message || "request failed";
      return c.json(errorBody(status === 504 ? "TIMEOUT" : "BAD_REQUEST", msg), status);
    }
    if (isMadkitError(err)) return c.json(errorBody(err.code, err.message), 400);
    c.set("error", err);
    return c.json(errorBody("INTERNAL", `unexpected error (request id ${c.get("requestId")}); the server log has the details`), 500);
  });
  app.notFound((c) => c.json(errorBody("NOT_FOUND", `no route ${c.req.method} ${c.req.path}`), 404));
}

/** 403 when the request's token (checked by the front door, which answered 401 without one) has too weak a role. */
function roleCheck(): NeedRole {
  return (role) => async (c, next) => {
    const rec = c.get("token") as TokenRecord | undefined;
    if (!rec) return c.json(errorBody("UNAUTHORIZED", "missing, unknown or revoked bearer token (send Authorization: Bearer <token>)"), 401);
    if (!roleAllows(rec.role, role)) return c.json(errorBody("FORBIDDEN", `this route needs role '${role}'; the token '${rec.name}' has role '${rec.role}'`), 403);
    await next();
  };
}

/** Health, metrics, the OpenAPI document and the reviewer page: no token needed. */
function publicRoutes(app: Hono<Env>, { store, scorer, metrics, limits }: AppDeps): void {
  app.get("/healthz", async (c) =>
    c.json({
      status: "ok",
      model: scorer.bundle.meta.model ?? null,
      pooling: scorer.bundle.meta.pooling ?? null,
      combiner: scorer.bundle.meta.combiner,
      hooks: scorer.bundle.hooks,
      alpha: scorer.alpha,
      threshold: scorer.threshold,
      probe: scorer.probe ? { id: scorer.probe.id } : null,
      storage: store.kind,
      schemaVersion: await store.schemaVersion(),
    }),
  );
  app.get("/metrics", async (c) => c.text(metrics.render(await store.queueDepth()), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }));
  app.get("/openapi.json", (c) => c.json(openApiDocument(limits, scorer.bundle.hooks)));
  app.get("/", (c) => c.html(reviewPageHtml(), 200, REVIEW_PAGE_HEADERS));
}

/** One input of POST /v1/score: text, activations, or both. */
interface ScoreInput {
  text?: string;
  activations?: Record<string, number[] | string>;
}

/**
 * POST /v1/score: one input or `items`; flagged results are stored for review and get an itemId — unless
 * `record: false` (role reviewer): then nothing is stored or counted (calibration sets, offline evaluation). The model
 * and the detectors run in worker threads (score-workers.ts); a request past its time limit is answered 504
 * by the front door, its work is cancelled and nothing of it is stored.
 */
function scoreRoute(app: Hono<Env>, { store, scorer, metrics, limits }: AppDeps, need: NeedRole, batcher: ScoreBatcher): void {
  app.post("/v1/score", need("client"), validate("json", scoreRequestSchema(limits)), async (c) => {
    const body = c.req.valid("json") as ScoreInput & { items?: ScoreInput[]; record?: boolean };
    const record = body.record ?? true;
    if (!record && !roleAllows(c.get("token").role, "reviewer")) {
      return c.json(errorBody("FORBIDDEN", `body.record: false (score without storing) needs role 'reviewer'; the token '${c.get("token").name}' has role '${c.get("token").role}'`), 403);
    }
    const batch = body.items !== undefined;
    const inputs = body.items ?? [{ text: body.text, activations: body.activations }];
    const groupInputs = activationsOfInputs(scorer, inputs, batch);
    const deadline = requestDeadline(c, limits.requestTimeoutMs);
    try {
      const scored = await batcher.score(groupInputs, deadline.signal);
      const results = record ? await recordFlagged(store, metrics, inputs, scored, deadline.live) : scored.results;
      return c.json(batch ? { results } : results[0]);
    } finally {
      deadline.dispose();
    }
  });
}

/**
 * Each input as the scorer takes it: given activations checked here (every raw input before any model work,
 * so a bad item fails the batch fast and whole), texts as they are (the worker runs the model on them).
 */
function activationsOfInputs(scorer: MonitorScorer, inputs: readonly ScoreInput[], batch: boolean): GroupInput[] {
  return inputs.map((inp, i): GroupInput => (inp.activations ? { activations: scorer.checkActivations(inp.activations, batch ? `items[${i}]` : "body") } : { text: inp.text! }));
}

/**
 * Count every scored input, store the flagged ones for review, and give those results their itemId — while
 * the request is `live`: once it has been answered (504) or abandoned, nothing more is written.
 */
async function recordFlagged(
  store: MonitorStore,
  metrics: MonitorMetrics,
  inputs: readonly ScoreInput[],
  scored: ScoredRequest,
  live: () => boolean,
): Promise<(ScoreResult & { itemId?: number })[]> {
  const results: (ScoreResult & { itemId?: number })[] = [];
  for (let i = 0; i < inputs.length; i++) {
    if (!live()) break;
    const result = scored.results[i]!;
    metrics.scored++;
    if (result.flagged) {
      metrics.flagged++;
      const itemId = await store.insertItem({
        text: inputs[i]!.text ?? null,
        activations: scored.activations[i]!,
        scores: result,
        combined: result.combined,
        pValue: result.pValue,
        createdAt: Date.now(),
      });
      results.push({ ...result, itemId });
    } else results.push(result);
  }
  return results;
}

/**
 * POST /v1/items/import (reviewer): store items labelled elsewhere — an initial labelled set, audits, user
 * reports — with their label, without passing through the review queue. Each is scored like /v1/score (its
 * stored scores carry the probe version that was current), but counts in neither `madkit_scored_total` nor the
 * queue: it is stored labelled. Activations are used when given; a text alone goes through the model.
 */
function importRoute(app: Hono<Env>, { store, scorer, limits }: AppDeps, need: NeedRole, batcher: ScoreBatcher): void {
  app.post("/v1/items/import", need("reviewer"), validate("json", importRequestSchema(limits)), async (c) => {
    const { items } = c.req.valid("json") as { items: (ScoreInput & { label: Label; note?: string | null })[] };
    const groupInputs = items.map((inp, i): GroupInput => (inp.activations ? { activations: scorer.checkActivations(inp.activations, `items[${i}]`) } : { text: inp.text! }));
    const deadline = requestDeadline(c, limits.requestTimeoutMs);
    try {
      const scored = await batcher.score(groupInputs, deadline.signal);
      const by = c.get("token").name;
      const out: { id: number; label: Label }[] = [];
      for (let i = 0; i < items.length; i++) {
        if (!deadline.live()) break;
        const result = scored.results[i]!;
        const now = Date.now();
        const id = await store.insertItem({ text: items[i]!.text ?? null, activations: scored.activations[i]!, scores: result, combined: result.combined, pValue: result.pValue, createdAt: now });
        await store.setLabel(id, items[i]!.label, items[i]!.note ?? null, by, now);
        out.push({ id, label: items[i]!.label });
      }
      return c.json({ items: out });
    } finally {
      deadline.dispose();
    }
  });
}

/** The review queue, single items, labels, and the export of labelled items (role reviewer). */
function reviewRoutes(app: Hono<Env>, store: MonitorStore, need: NeedRole, queueGate: QueueGate): void {
  app.get("/v1/queue", need("reviewer"), validate("query", queueQuerySchema), async (c) => {
    const { limit, after } = c.req.valid("query");
    const items = await store.queue({ after, limit });
    const last = items[items.length - 1];
    return c.json({
      items: items.map(itemView),
      depth: await store.queueDepth(),
      next: items.length === limit && last ? `/v1/queue?after=${last.id}&limit=${limit}` : null,
    });
  });

  app.get("/v1/items/:id", need("reviewer"), validate("param", idParamSchema), async (c) => {
    const { id } = c.req.valid("param");
    const item = await store.getItem(id);
    if (!item) return c.json(errorBody("NOT_FOUND", `no item ${id}`), 404);
    return c.json(itemView(item));
  });

  app.post("/v1/items/:id/label", need("reviewer"), validate("param", idParamSchema), validate("json", labelRequestSchema), async (c) => {
    const { id } = c.req.valid("param");
    const { label, note } = c.req.valid("json");
    const ok = await store.setLabel(id, label, note ?? null, c.get("token").name, Date.now());
    if (!ok) return c.json(errorBody("NOT_FOUND", `no item ${id}`), 404);
    queueGate.invalidate();
    return c.json({ id, label, note: note ?? null });
  });

  app.get("/v1/export", need("reviewer"), async (c) => {
    const lines: string[] = [];
    for (let after = 0; ; ) {
      const page = await store.labelled({ after, limit: 500 });
      for (const it of page) lines.push(JSON.stringify(exportRecord(it)));
      if (page.length < 500) break;
      after = page[page.length - 1]!.id;
    }
    return c.body(lines.length ? `${lines.join("\n")}\n` : "", 200, { "Content-Type": "application/x-ndjson; charset=utf-8" });
  });
}

/**
 * Train a probe on the labelled items (admin) and show the current one (reviewer). The fit runs in a worker
 * thread of its own; one at a time (409 while one runs). Items the probe cannot learn from (activations not
 * finite, or flagged because a detector could not measure them) are refused by id with 409, and so is a
 * degenerate fit (the same score for everything): neither replaces the current probe.
 */
function probeRoutes(app: Hono<Env>, { store, scorer, limits }: AppDeps, need: NeedRole): void {
  let training = false;
  app.post("/v1/probe/train", need("admin"), validate("json", trainRequestSchema), async (c) => {
    const { l2, hooks: hookNames } = c.req.valid("json");
    const hooks = probeHooks(scorer, hookNames);
    if (training) return c.json(errorBody("CONFLICT", "a probe is being trained already; wait for it to finish (GET /v1/probe shows the current one)"), 409);
    training = true;
    const deadline = requestDeadline(c, limits.requestTimeoutMs);
    try {
      let set: ProbeTrainingSet;
      try {
        set = await probeTrainingSet(store, hooks);
      } catch (e) {
        if (isMadkitError(e) && e.code === "NON_FINITE") return c.json(errorBody("UNTRAINABLE_ITEMS", e.message), 409);
        throw e;
      }
      let probe: LogisticProbe;
      try {
        probe = await trainProbeInWorker(hooks, set, l2, deadline.signal);
      } catch (e) {
        if (isMadkitError(e) && e.name === DEGENERATE_PROBE) return c.json(errorBody("DEGENERATE_PROBE", e.message), 409);
        throw e;
      }
      // Answered 504 already (or the client left): the probe is not saved or installed.
      if (!deadline.live()) throw deadline.signal.reason ?? new Error("request abandoned");
      const id = await store.saveProbe(probe.toJson(), Date.now());
      scorer.probe = { model: probe, id };
      const s = probe.state;
      return c.json({ id, nAnomalous: s.nAnomalous, nBenign: s.nBenign, l2: s.l2, iterations: s.iterations, hooks: s.hooks.map((h) => h.name) });
    } finally {
      training = false;
      deadline.dispose();
    }
  });

  app.get("/v1/probe", need("reviewer"), (c) => {
    const p = scorer.probe;
    if (!p) return c.json({ probe: null });
    const s = p.model.state;
    return c.json({ probe: { id: p.id, nAnomalous: s.nAnomalous, nBenign: s.nBenign, l2: s.l2, hooks: s.hooks.map((h) => h.name) } });
  });
}

/** The bundle hooks a probe is asked to read (all of them by default), in the bundle's order; an unknown name is a 400. */
function probeHooks(scorer: MonitorScorer, names: readonly string[] | undefined): readonly BundleHook[] {
  const all = scorer.bundle.hooks;
  if (names === undefined) return all;
  for (const n of names) {
    if (!all.some((h) => h.name === n)) throw new MadkitError("UNKNOWN_HOOK", `body.hooks: unknown hook '${n}'; the bundle reads ${all.map((h) => `'${h.name}'`).join(", ")}`);
  }
  return all.filter((h) => names.includes(h.name));
}

/** Issue, list and revoke API tokens (admin); revoking clears the token cache; the last admin token stays. */
function tokenRoutes(app: Hono<Env>, store: MonitorStore, need: NeedRole, tokenCache: Map<string, TokenRecord>): void {
  app.post("/v1/tokens", need("admin"), validate("json", tokenRequestSchema), async (c) => {
    const { name, role } = c.req.valid("json");
    const { id, token } = await issueToken(store, name, role);
    return c.json({ id, name, role, token }, 201);
  });

  app.get("/v1/tokens", need("admin"), async (c) => {
    const tokens = await store.listTokens();
    return c.json({ tokens: tokens.map(({ hash: _hash, ...t }) => t) });
  });

  app.delete("/v1/tokens/:id", need("admin"), validate("param", idParamSchema), async (c) => {
    const { id } = c.req.valid("param");
    const outcome = await store.revokeToken(id, Date.now());
    if (outcome === "not-found") return c.json(errorBody("NOT_FOUND", `no active token ${id}`), 404);
    if (outcome === "last-admin") {
      return c.json(
        errorBody("CONFLICT", `token ${id} is the last active admin token; revoking it would leave no one able to manage tokens. Mint another admin token first (POST /v1/tokens with role 'admin'), then revoke this one`),
        409,
      );
    }
    tokenCache.clear();
    return c.json({ id, revoked: true });
  });
}

function itemView(it: StoredItem) {
  return {
    id: it.id,
    createdAt: new Date(it.createdAt).toISOString(),
    text: it.text,
    scores: it.scores,
    combined: it.combined,
    pValue: it.pValue,
    label: it.label,
    note: it.note,
  };
}

/** One JSONL record for supervised training: the input, its label and its pooled activations. */
function exportRecord(it: StoredItem) {
  const activations: Record<string, number[]> = {};
  for (const [h, v] of Object.entries(it.activations)) activations[h] = Array.from(v);
  return {
    id: it.id,
    createdAt: new Date(it.createdAt).toISOString(),
    text: it.text,
    label: it.label,
    note: it.note,
    labelledBy: it.labelledBy,
    labelledAt: it.labelledAt === null ? null : new Date(it.labelledAt).toISOString(),
    combined: it.combined,
    pValue: it.pValue,
    activations,
  };
}

export type { Context };
