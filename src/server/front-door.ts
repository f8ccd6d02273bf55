// The monitor's HTTP front door: what every request passes before a route sees it. On every route: a
// request id, security headers, one structured log line (pino) and the request metrics. On /v1, in this
// order, each step before anything reads the body: the bearer token (401), the token's rate (429), the
// content type (415), the review queue's cap for scoring (429), a concurrency slot (503), then the time limit
// (504) and the body size limit (413). A client without a valid token therefore holds no slot and no body
// read, however slowly it sends; an authenticated slow client is bounded by the time limit.

import { randomUUID } from "node:crypto";
import type { HttpBindings } from "@hono/node-server";
import type { Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { matchedRoutes } from "hono/route";
import { timeout } from "hono/timeout";
import pino from "pino";
import { authenticate } from "./auth.js";
import type { MonitorMetrics } from "./metrics.js";
import { TokenBuckets } from "./rate-limit.js";
import type { ServiceLimits } from "./schemas.js";
import type { MonitorStore, TokenRecord } from "./storage.js";

export type Logger = pino.Logger;

/** Context of every route: the node request/response (absent when app.fetch is called directly), the token, the request id. */
export type MonitorEnv = {
  Bindings: Partial<HttpBindings>;
  Variables: { token: TokenRecord; requestId: string; error: unknown };
};

export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/**
 * The request log: one JSON line per request at `level` (pino's levels; "silent" for none), written to
 * `dest` — by default straight to stderr, synchronously, so a crash loses no line.
 */
export function requestLogger(level = "info", dest: { write(line: string): unknown } = pino.destination({ fd: 2, sync: true })): Logger {
  return pino({ level, base: { service: "madkit-monitor" } }, dest);
}

// A request id the client sent is kept when it is short and plain (so it can be traced through a proxy).
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request id (X-Request-Id, also on the response), security headers, and once the response is sent or the
 * client has gone: one log line and the request metrics. A request whose client closed the connection before
 * the answer went out is logged as aborted and counted in madkit_http_requests_aborted_total, not as the
 * 500 its broken body read may have produced.
 */
export function requestLog(app: Hono<MonitorEnv>, metrics: MonitorMetrics, logger: Logger): void {
  app.use("*", async (c, next) => {
    const t0 = performance.now();
    const given = c.req.header("x-request-id");
    const id = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
    c.set("requestId", id);
    c.header("X-Request-Id", id);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    c.header("X-Frame-Options", "DENY");
    const outgoing = c.env?.outgoing;
    let closed = false;
    let onClose: (() => void) | undefined;
    outgoing?.once("close", () => {
      closed = true;
      onClose?.();
    });
    await next();
    const finish = () => {
      const seconds = (performance.now() - t0) / 1000;
      const route = routeOf(c);
      const token = c.get("token") as TokenRecord | undefined;
      const line = { reqId: id, method: c.req.method, path: c.req.path, route, status: c.res.status, ms: Math.round(seconds * 1e5) / 100, tokenId: token?.id ?? null };
      const err = c.get("error");
      if (outgoing !== undefined && !outgoing.writableFinished) {
        metrics.observeAborted(c.req.method, route);
        logger.warn({ ...line, status: null, aborted: true, ...(err !== undefined && { cause: String((err as Error)?.message ?? err) }) }, "request aborted: the client closed the connection before the answer was sent");
        return;
      }
      metrics.observeRequest(c.req.method, route, c.res.status, seconds);
      if (c.res.status >= 500) logger.error({ ...line, err }, "request failed");
      else logger.info(line, "request");
    };
    if (outgoing === undefined || closed) finish();
    else onClose = finish;
  });
}

/** The pattern of the route a request was for (not of the middleware it ended in), so ids do not explode the metric labels. */
function routeOf(c: Context<MonitorEnv>): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i]!.method !== "ALL") return routes[i]!.path;
  return routes.at(-1)?.path ?? c.req.path;
}

/** Whether the request carries a body (declared by Content-Length > 0 or a Transfer-Encoding). */
function hasBody(c: Context<MonitorEnv>): boolean {
  const length = c.req.header("content-length");
  return c.req.header("transfer-encoding") !== undefined || (length !== undefined && length !== "0");
}

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * The review queue's depth as scoring sees it: read from the store at most once a second, plus the inputs
 * flagged since (metrics.flagged), so a burst of flagged inputs cannot overshoot the cap by more than the
 * requests already past the check. A label makes the next check read the store again.
 */
export class QueueGate {
  private depth = 0;
  private flaggedThen = 0;
  private readAt = -Infinity;
  private reading: Promise<void> | undefined;

  constructor(private readonly store: MonitorStore, private readonly metrics: MonitorMetrics, readonly cap: number, private readonly maxAgeMs = 1000) {}

  /** The estimated depth when it is at or above the cap, else undefined. */
  async full(): Promise<number | undefined> {
    if (this.cap <= 0) return undefined;
    if (performance.now() - this.readAt > this.maxAgeMs) {
      this.reading ??= (async () => {
        const flagged = this.metrics.flagged;
        const depth = await this.store.queueDepth();
        [this.depth, this.flaggedThen, this.readAt] = [depth, flagged, performance.now()];
      })().finally(() => (this.reading = undefined));
      await this.reading;
    }
    const estimate = this.depth + (this.metrics.flagged - this.flaggedThen);
    return estimate >= this.cap ? estimate : undefined;
  }

  /** The queue shrank (a label): read the store on the next check. */
  invalidate(): void {
    this.readAt = -Infinity;
  }
}

export interface FrontDoorDeps {
  readonly store: MonitorStore;
  readonly metrics: MonitorMetrics;
  readonly limits: ServiceLimits;
  readonly tokenCache: Map<string, TokenRecord>;
  readonly queueGate: QueueGate;
}

/** The /v1 gate: token, rate, content type, queue cap, slot, time limit, body size — in that order. */
export function frontDoor(app: Hono<MonitorEnv>, { store, metrics, limits, tokenCache, queueGate }: FrontDoorDeps): void {
  const buckets = new TokenBuckets(limits.ratePerToken, limits.burstPerToken);
  app.use("/v1/*", async (c, next) => {
    // The token first, from the header alone: nothing below runs, and no body is read, without one.
    const token = await authenticate(store, c.req.header("authorization"), tokenCache);
    if (!token) {
      c.header("WWW-Authenticate", 'Bearer realm="madkit"');
      // Close the connection rather than wait for (and throw away) a body nobody is allowed to send.
      if (hasBody(c)) c.header("Connection", "close");
      return c.json(errorBody("UNAUTHORIZED", "missing, unknown or revoked bearer token (send Authorization: Bearer <token>)"), 401);
    }
    c.set("token", token);

    const wait = buckets.take(token.id, performance.now());
    if (wait > 0) {
      metrics.rejectedRate++;
      const s = Math.max(1, Math.ceil(wait));
      c.header("Retry-After", String(s));
      return c.json(errorBody("RATE_LIMITED", `token '${token.name}' is over its rate limit of ${limits.ratePerToken} requests/s (bursts of ${limits.burstPerToken}); retry after ${s} s`), 429);
    }

    const method = c.req.method;
    if ((method === "POST" || method === "PUT" || method === "PATCH") && hasBody(c)) {
      const type = c.req.header("content-type");
      const media = type?.split(";")[0]!.trim() ?? "";
      if (!JSON_MEDIA_TYPE.test(media)) {
        return c.json(errorBody("UNSUPPORTED_MEDIA_TYPE", `request bodies are JSON: send Content-Type: application/json (got ${type === undefined ? "no Content-Type" : JSON.stringify(type.slice(0, 100))})`), 415);
      }
    }

    if (method === "POST" && c.req.path === "/v1/score") {
      const depth = await queueGate.full();
      if (depth !== undefined) {
        metrics.rejectedQueueFull++;
        c.header("Retry-After", "60");
        return c.json(
          errorBody("QUEUE_FULL", `the review queue holds ${depth} unlabelled items, its cap is ${queueGate.cap}: nothing is scored until reviewers label items (or the cap is raised with --max-queue); retry after 60 s`),
          429,
        );
      }
    }
    return next();
  });

  // Bounded concurrency, for authenticated requests only: shed load early with 503 + Retry-After.
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
  // The time limit covers reading the body too, so a client that trickles it in gets 504 at the limit.
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
