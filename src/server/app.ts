// The monitor's HTTP routes on hono: scoring, the review queue, labels, export, probe training, tokens,
// health, metrics, the OpenAPI document and the reviewer page. Every /v1 route needs a bearer token of a
// sufficient role (401 without a valid token, 403 with too weak a role); errors are JSON {error:{code,message}}.

import { Hono, type Context, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { timeout } from "hono/timeout";
import { zValidator } from "@hono/zod-validator";
import type { z } from "zod";
import { isMadkitError } from "../errors.js";
import { authenticate, issueToken, roleAllows } from "./auth.js";
import type { MonitorMetrics } from "./metrics.js";
import { openApiDocument } from "./openapi.js";
import { reviewPageHtml } from "./review-page.js";
import {
  describeZodError,
  idParamSchema,
  labelRequestSchema,
  queueQuerySchema,
  scoreRequestSchema,
  tokenRequestSchema,
  trainRequestSchema,
  type ServiceLimits,
} from "./schemas.js";
import type { MonitorScorer, ScoreResult } from "./scorer.js";
import type { ItemActivations, MonitorStore, Role, StoredItem, TokenRecord } from "./storage.js";
import { ScoreBatcher } from "./score-batcher.js";
import { trainProbe } from "./train-probe.js";

export interface AppDeps {
  readonly store: MonitorStore;
  readonly scorer: MonitorScorer;
  readonly metrics: MonitorMetrics;
  readonly limits: ServiceLimits;
}

type Env = { Variables: { token: TokenRecord } };

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
  const need = roleCheck(deps.store, tokenCache);
  handleErrors(app);
  guardRequests(app, deps.metrics, deps.limits);
  publicRoutes(app, deps);
  scoreRoute(app, deps, need);
  reviewRoutes(app, deps.store, need);
  probeRoutes(app, deps, need);
  tokenRoutes(app, deps.store, need, tokenCache);
  return app;
}

/** Errors as JSON {error:{code,message}}: hono's HTTP errors keep their status, madkit's are 400, the rest 500. */
function handleErrors(app: Hono<Env>): void {
  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      const status = err.status;
      const msg = status === 400 && /JSON/i.test(err.message) ? `body: malformed JSON (${err.message})` : err.message || "request failed";
      return c.json(errorBody(status === 504 ? "TIMEOUT" : "BAD_REQUEST", msg), status);
    }
    if (isMadkitError(err)) return c.json(errorBody(err.code, err.message), 400);
    return c.json(errorBody("INTERNAL", `unexpected error: ${err instanceof Error ? err.message : String(err)}`), 500);
  });
  app.notFound((c) => c.json(errorBody("NOT_FOUND", `no route ${c.req.method} ${c.req.path}`), 404));
}

/** Request metrics on every route; on /v1: bounded concurrency, a time limit and a body size limit. */
function guardRequests(app: Hono<Env>, metrics: MonitorMetrics, limits: ServiceLimits): void {
  // Latency and request counts per matched route (the pattern, so ids do not explode the label set).
  app.use("*", async (c, next) => {
    const t0 = performance.now();
    await next();
    metrics.observeRequest(c.req.method, c.req.routePath, c.res.status, (performance.now() - t0) / 1000);
  });

  // Bounded concurrency: shed load early with 503 + Retry-After rather than queue without limit.
  let inFlight = 0;
  app.use("/v1/*", async (c, next) => {
    if (inFlight >= limits.maxConcurrent) {
      metrics.rejectedOverload++;
      c.header("Retry-After", "1");
      return c.json(errorBody("OVERLOADED", `server busy: ${limits.maxConcurrent} requests already in flight; retry after 1 s`), 503);
    }
    inFlight++;
    try {
      await next();
    } finally {
      inFlight--;
    }
  });
  app.use("/v1/*", timeout(limits.requestTimeoutMs, () => new HTTPException(504, { message: `request took longer than ${limits.requestTimeoutMs} ms` })));
  // hono's bodyLimit reads c.req.raw.body, which makes @hono/node-server build a full web Request (about a
  // third of a small request's cost); a declared Content-Length is checked here without touching the body.
  const tooLarge = (c: Context) => c.json(errorBody("TOO_LARGE", `request body is larger than ${limits.maxBodyBytes} bytes`), 413);
  const streamedBodyLimit = bodyLimit({ maxSize: limits.maxBodyBytes, onError: tooLarge });
  app.use("/v1/*", async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const length = c.req.header("content-length");
    if (length !== undefined && c.req.header("transfer-encoding") === undefined) return Number(length) > limits.maxBodyBytes ? tooLarge(c) : next();
    return streamedBodyLimit(c, next);
  });
}

/** 401 without a valid token, 403 with too weak a role; otherwise the token is set on the context. */
function roleCheck(store: MonitorStore, tokenCache: Map<string, TokenRecord>): NeedRole {
  return (role) => async (c, next) => {
    const rec = await authenticate(store, c.req.header("authorization"), tokenCache);
    if (!rec) {
      c.header("WWW-Authenticate", 'Bearer realm="madkit"');
      return c.json(errorBody("UNAUTHORIZED", "missing, unknown or revoked bearer token (send Authorization: Bearer <token>)"), 401);
    }
    if (!roleAllows(rec.role, role)) return c.json(errorBody("FORBIDDEN", `this route needs role '${role}'; the token '${rec.name}' has role '${rec.role}'`), 403);
    c.set("token", rec);
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
  app.get("/", (c) => c.html(reviewPageHtml()));
}

/** One input of POST /v1/score: text, activations, or both. */
interface ScoreInput {
  text?: string;
  activations?: Record<string, number[] | string>;
}

/** POST /v1/score: one input or `items`; flagged results are stored for review and get an itemId. */
function scoreRoute(app: Hono<Env>, { store, scorer, metrics, limits }: AppDeps, need: NeedRole): void {
  const batcher = new ScoreBatcher(scorer);
  app.post("/v1/score", need("client"), validate("json", scoreRequestSchema(limits)), async (c) => {
    const body = c.req.valid("json") as ScoreInput & { items?: ScoreInput[] };
    const batch = body.items !== undefined;
    const inputs = body.items ?? [{ text: body.text, activations: body.activations }];
    const { acts, truncated } = await activationsOfInputs(scorer, inputs, batch);
    const scored = await batcher.score(acts, truncated);
    const results = await recordFlagged(store, metrics, inputs, acts, scored);
    return c.json(batch ? { results } : results[0]);
  });
}

/** Each input's activations: the given ones checked, the texts' extracted (with whether they were truncated). */
async function activationsOfInputs(
  scorer: MonitorScorer,
  inputs: readonly ScoreInput[],
  batch: boolean,
): Promise<{ acts: ItemActivations[]; truncated: boolean[] }> {
  // Check every raw input before any model work, so a bad item fails the batch fast and whole.
  const acts: (ItemActivations | undefined)[] = inputs.map((inp, i) =>
    inp.activations ? scorer.checkActivations(inp.activations, batch ? `items[${i}]` : "body") : undefined,
  );
  const textIdx = inputs.flatMap((inp, i) => (inp.text !== undefined ? [i] : []));
  const truncated: boolean[] = new Array(inputs.length).fill(false);
  if (textIdx.length > 0) {
    const r = await scorer.activationsOf(textIdx.map((i) => inputs[i]!.text!));
    textIdx.forEach((i, k) => {
      acts[i] = r.acts[k];
      truncated[i] = r.truncated[k]!;
    });
  }
  return { acts: acts as ItemActivations[], truncated };
}

/** Count every scored input, store the flagged ones for review, and give those results their itemId. */
async function recordFlagged(
  store: MonitorStore,
  metrics: MonitorMetrics,
  inputs: readonly ScoreInput[],
  acts: readonly ItemActivations[],
  scored: readonly ScoreResult[],
): Promise<(ScoreResult & { itemId?: number })[]> {
  const results: (ScoreResult & { itemId?: number })[] = [];
  for (let i = 0; i < inputs.length; i++) {
    const result = scored[i]!;
    metrics.scored++;
    if (result.flagged) {
      metrics.flagged++;
      const itemId = await store.insertItem({
        text: inputs[i]!.text ?? null,
        activations: acts[i]!,
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

/** The review queue, single items, labels, and the export of labelled items (role reviewer). */
function reviewRoutes(app: Hono<Env>, store: MonitorStore, need: NeedRole): void {
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

/** Train a probe on the labelled items (admin) and show the current one (reviewer). */
function probeRoutes(app: Hono<Env>, { store, scorer }: AppDeps, need: NeedRole): void {
  app.post("/v1/probe/train", need("admin"), validate("json", trainRequestSchema), async (c) => {
    const { l2 } = c.req.valid("json");
    const probe = await trainProbe(store, scorer.bundle.hooks, l2);
    const id = await store.saveProbe(probe.toJson(), Date.now());
    scorer.probe = { model: probe, id };
    const s = probe.state;
    return c.json({ id, nAnomalous: s.nAnomalous, nBenign: s.nBenign, l2: s.l2, iterations: s.iterations });
  });

  app.get("/v1/probe", need("reviewer"), (c) => {
    const p = scorer.probe;
    if (!p) return c.json({ probe: null });
    const s = p.model.state;
    return c.json({ probe: { id: p.id, nAnomalous: s.nAnomalous, nBenign: s.nBenign, l2: s.l2 } });
  });
}

/** Issue, list and revoke API tokens (admin); revoking clears the token cache. */
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
    if (!(await store.revokeToken(id, Date.now()))) return c.json(errorBody("NOT_FOUND", `no active token ${id}`), 404);
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
