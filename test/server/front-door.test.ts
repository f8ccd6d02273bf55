// The monitor's front door (issue 21) over loopback: the token is checked before the body is read and only
// authenticated requests take concurrency slots; a slow authenticated client is cut off at its time limit
// without stalling anyone; per-token rate limits and the review-queue cap answer 429 with Retry-After; ids
// and cursors are strict decimal integers; bodies must be declared JSON (415); the reviewer page carries a
// Content-Security-Policy and keeps no token in localStorage; every request gets an id and one structured log
// line (never the token), 500s log their stack, and a client that went away is logged as aborted, not as 500.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { hashToken } from "../../src/server/auth.js";
import { requestLogger } from "../../src/server/front-door.js";
import { SqliteStore } from "../../src/server/sqlite-store.js";
import type { MonitorStore } from "../../src/server/storage.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { activationsBody, startTestMonitor, type TestMonitor } from "./fixture.js";

/** A raw HTTP/1.1 client on one socket: what it has received, and whether the server closed the connection. */
interface RawClient {
  readonly socket: net.Socket;
  received(): string;
  readonly closed: Promise<void>;
  /** Resolves once the status line has arrived, with its code. */
  readonly status: Promise<number>;
}

function rawClient(port: number, head: string): RawClient {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  let got = "";
  let onStatus: (n: number) => void = () => {};
  const status = new Promise<number>((r) => (onStatus = r));
  socket.on("data", (d) => {
    got += d.toString("latin1");
    const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
    if (m) onStatus(Number(m[1]));
  });
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  socket.write(head);
  return { socket, received: () => got, closed, status };
}

const chunkedScoreHead = (token?: string) =>
  `POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n${token ? `Authorization: Bearer ${token}\r\n` : ""}\r\n`;

function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

async function withMonitor(options: Parameters<typeof startTestMonitor>[0], body: (m: TestMonitor) => Promise<void>): Promise<void> {
  const m = await startTestMonitor(options);
  try {
    await body(m);
  } finally {
    await m.close();
  }
}

describe("auth before body", () => {
  test("300 unauthenticated sockets stalling a chunked POST /v1/score are answered 401 and closed at once, hold no slot, and an authenticated client still scores", async () => {
    await withMonitor({ limits: { maxConcurrent: 16 } }, async (m) => {
      const clients: RawClient[] = [];
      try {
        // Each sends the headers and one 5-byte chunk, then stalls: the body never ends.
        for (let i = 0; i < 300; i++) clients.push(rawClient(m.server.port, `${chunkedScoreHead()}5\r\n{"act\r\n`));
        const t0 = performance.now();
        const legit = await m.call("POST", "/v1/score", m.tokens.client, { activations: activationsBody(new SeededRng(1)) });
        assert.equal(legit.status, 200, legit.text);
        assert.ok(performance.now() - t0 < 2_000, `the authenticated request took ${performance.now() - t0} ms`);
        // Every stalled socket got its 401 without sending the rest of its body, and the server hung up.
        const codes = await within(5_000, Promise.all(clients.map((c) => c.status)), "401 on every stalled socket");
        assert.deepEqual([...new Set(codes)], [401]);
        await within(5_000, Promise.all(clients.map((c) => c.closed)), "the server closes every stalled socket");
        assert.match(clients[0]!.received(), /"code":"UNAUTHORIZED"/);
        const metrics = (await m.call("GET", "/metrics")).text;
        assert.match(metrics, /^madkit_overload_rejections_total 0$/m);
      } finally {
        for (const c of clients) c.socket.destroy();
      }
    });
  });

  test("a slow authenticated client gets 504 at its time limit, is disconnected, and never stalls /healthz or other clients", async () => {
    await withMonitor({ limits: { requestTimeoutMs: 800 } }, async (m) => {
      const slow = rawClient(m.server.port, chunkedScoreHead(m.tokens.client));
      const started = performance.now();
      // One byte every 40 ms: the body never completes.
      const drip = setInterval(() => slow.socket.writable && slow.socket.write("1\r\n \r\n"), 40);
      try {
        let answeredAt = 0;
        void slow.status.then(() => (answeredAt = performance.now()));
        // While the slow client is still sending, others are served: a score, and /healthz again and again.
        assert.equal((await m.call("POST", "/v1/score", m.tokens.client, { activations: activationsBody(new SeededRng(1)) })).status, 200);
        const waits: number[] = [];
        while (answeredAt === 0 && waits.length < 200) {
          const t0 = performance.now();
          assert.equal((await m.call("GET", "/healthz")).status, 200);
          if (answeredAt === 0) waits.push(performance.now() - t0);
          await new Promise((r) => setTimeout(r, 20));
        }
        assert.ok(waits.length >= 3, `only ${waits.length} /healthz answers before the slow client's 504`);
        assert.ok(Math.max(...waits) < 1_000, `/healthz took ${waits.map((w) => w.toFixed(1)).join(", ")} ms while a client dripped its body`);
        assert.equal(await within(3_000, slow.status, "the slow client's answer"), 504);
        const answeredAfter = answeredAt - started;
        assert.ok(answeredAfter >= 750 && answeredAfter < 3_000, `504 after ${answeredAfter} ms (limit 800 ms)`);
        assert.match(slow.received(), /longer than 800 ms/);
        await within(5_000, slow.closed, "the server disconnects the slow client");
      } finally {
        clearInterval(drip);
        slow.socket.destroy();
      }
    });
  });
});

describe("rate limits and the queue cap", () => {
  test("a token past its burst gets 429 with Retry-After; other tokens and unauthenticated requests do not count against it; it refills", async () => {
    await withMonitor({ limits: { ratePerToken: 1, burstPerToken: 3 } }, async (m) => {
      for (let i = 0; i < 10; i++) assert.equal((await m.call("GET", "/v1/probe")).status, 401);
      for (let i = 0; i < 3; i++) assert.equal((await m.call("GET", "/v1/probe", m.tokens.reviewer)).status, 200);
      const limited = await m.call("GET", "/v1/probe", m.tokens.reviewer);
      assert.equal(limited.status, 429);
      assert.equal(limited.json.error.code, "RATE_LIMITED");
      assert.match(limited.json.error.message, /token 'r' is over its rate limit of 1 requests\/s \(bursts of 3\); retry after 1 s/);
      assert.equal(limited.headers.get("retry-after"), "1");
      assert.equal((await m.call("GET", "/v1/probe", m.tokens.admin)).status, 200);
      await new Promise((r) => setTimeout(r, 1_100)); // 1/s: one request's worth after a second
      assert.equal((await m.call("GET", "/v1/probe", m.tokens.reviewer)).status, 200);
      assert.match((await m.call("GET", "/metrics")).text, /^madkit_rate_limited_total 1$/m);
    });
  });

  test("when the review queue is at its cap, scoring answers 429 QUEUE_FULL (fail closed) until a reviewer labels an item", async () => {
    await withMonitor({ limits: { maxQueue: 2 } }, async (m) => {
      const rng = new SeededRng(5);
      const ids: number[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await m.call("POST", "/v1/score", m.tokens.client, { activations: activationsBody(rng, 8) });
        assert.equal(r.json.flagged, true);
        ids.push(r.json.itemId);
      }
      for (const shift of [8, 0]) {
        const full = await m.call("POST", "/v1/score", m.tokens.client, { activations: activationsBody(rng, shift) });
        assert.equal(full.status, 429, full.text);
        assert.equal(full.json.error.code, "QUEUE_FULL");
        assert.match(full.json.error.message, /review queue holds 2 unlabelled items, its cap is 2/);
        assert.equal(full.headers.get("retry-after"), "60");
      }
      assert.equal(await m.store.queueDepth(), 2);
      // Reviewers still work while scoring is refused; a label reopens it.
      assert.equal((await m.call("POST", `/v1/items/${ids[0]}/label`, m.tokens.reviewer, { label: "benign" })).status, 200);
      const again = await m.call("POST", "/v1/score", m.tokens.client, { activations: activationsBody(rng, 8) });
      assert.equal(again.status, 200, again.text);
      assert.equal((await m.call("POST", "/v1/score", m.tokens.client, { activations: activationsBody(rng, 0) })).status, 429);
      assert.match((await m.call("GET", "/metrics")).text, /^madkit_queue_full_rejections_total 3$/m);
    });
  });
});

describe("strict parsing", () => {
  test("ids and cursors are decimal integers: ?after=0x10, /v1/items/%201 and their kin are 400, not numbers", async () => {
    await withMonitor({}, async (m) => {
      const flagged = await m.call("POST", "/v1/score", m.tokens.client, { activations: activationsBody(new SeededRng(2), 9) });
      const id: number = flagged.json.itemId;
      assert.equal((await m.call("GET", `/v1/items/${id}`, m.tokens.reviewer)).status, 200);
      assert.equal((await m.call("GET", "/v1/queue?after=16&limit=5", m.tokens.reviewer)).status, 200);
      for (const q of ["after=0x10", "after=%201", "after=1e2", "after=", "after=-0", "after=1.0", "after=Infinity", "after=1&after=2", "limit=0x1", "limit=501", "limit=99999999999999999999"]) {
        const r = await m.call("GET", `/v1/queue?${q}`, m.tokens.reviewer);
        assert.equal(r.status, 400, `?${q} → ${r.status} ${r.text}`);
        assert.match(r.json.error.message, /^query\.(after|limit): /, q);
      }
      for (const p of [`%20${id}`, `${id}%20`, `0x${id.toString(16)}`, `${id}e0`, `+${id}`, `${id}.0`, "0", "-1", "99999999999999999999", "%F0%9F%98%80", "%zz"]) {
        for (const [method, route, token, body] of [
          ["GET", `/v1/items/${p}`, m.tokens.reviewer, undefined],
          ["POST", `/v1/items/${p}/label`, m.tokens.reviewer, { label: "benign" }],
          ["DELETE", `/v1/tokens/${p}`, m.tokens.admin, undefined],
        ] as const) {
          const r = await m.call(method, route, token, body);
          assert.equal(r.status, 400, `${method} ${route} → ${r.status} ${r.text}`);
          assert.match(r.json.error.message, /^param\.id: /);
        }
      }
      assert.equal((await m.store.getItem(id))!.label, null);
    });
  });

  test("a body that is valid JSON but not declared as JSON is 415, before it is read; JSON media types with parameters or +json pass", async () => {
    await withMonitor({}, async (m) => {
      const body = JSON.stringify({ activations: activationsBody(new SeededRng(3)) });
      const post = (route: string, token: string, type: string | undefined, payload = body) =>
        fetch(`${m.server.url}${route}`, { method: "POST", headers: { authorization: `Bearer ${token}`, ...(type === undefined ? {} : { "content-type": type }) }, body: payload });
      for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", "json"]) {
        const r = await post("/v1/score", m.tokens.client, type);
        assert.equal(r.status, 415, type);
        const j = (await r.json()) as { error: { code: string; message: string } };
        assert.equal(j.error.code, "UNSUPPORTED_MEDIA_TYPE");
        assert.match(j.error.message, /send Content-Type: application\/json/);
      }
      // fetch sends a string body as text/plain unless told otherwise: no header given → text/plain → 415.
      assert.equal((await post("/v1/score", m.tokens.client, undefined)).status, 415);
      assert.equal((await post("/v1/tokens", m.tokens.admin, "text/plain", JSON.stringify({ name: "x", role: "client" }))).status, 415);
      assert.equal((await post("/v1/items/1/label", m.tokens.reviewer, "text/plain", JSON.stringify({ label: "benign" }))).status, 415);
      for (const type of ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/vnd.madkit+json"]) assert.equal((await post("/v1/score", m.tokens.client, type)).status, 200, type);
      // Without a token the answer is 401 whatever the body's type.
      assert.equal((await post("/v1/score", "", "text/plain")).status, 401);
      // A POST without a body needs no content type (the probe's l2 has a default).
      const noBody = await fetch(`${m.server.url}/v1/probe/train`, { method: "POST", headers: { authorization: `Bearer ${m.tokens.admin}` } });
      assert.notEqual(noBody.status, 415);
    });
  });
});

describe("reviewer page", () => {
  test("the page is served with a hash-based CSP, no framing, nosniff and no referrer; its script keeps the token in sessionStorage only", async () => {
    await withMonitor({}, async (m) => {
      const r = await m.call("GET", "/");
      assert.equal(r.status, 200);
      const csp = r.headers.get("content-security-policy") ?? "";
      const directives = new Map(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]));
      const sha = (s: string) => `'sha256-${createHash("sha256").update(s, "utf8").digest("base64")}'`;
      const script = /<script>([\s\S]*?)<\/script>/.exec(r.text)![1]!;
      const style = /<style>([\s\S]*?)<\/style>/.exec(r.text)![1]!;
      assert.deepEqual(directives.get("default-src"), ["'none'"]);
      assert.deepEqual(directives.get("script-src"), [sha(script)]);
      assert.deepEqual(directives.get("style-src"), [sha(style)]);
      assert.deepEqual(directives.get("connect-src"), ["'self'"]);
      assert.deepEqual(directives.get("frame-ancestors"), ["'none'"]);
      assert.deepEqual(directives.get("base-uri"), ["'none'"]);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
      assert.equal(r.headers.get("x-frame-options"), "DENY");
      assert.equal(r.headers.get("x-content-type-options"), "nosniff");
      assert.equal(r.headers.get("referrer-policy"), "no-referrer");
      // One inline script and one inline style, nothing the policy would block: no inline style attributes
      // or event-handler attributes, in the page or in the HTML its script writes.
      assert.equal(r.text.match(/<script/g)!.length, 1);
      assert.equal(r.text.match(/<style/g)!.length, 1);
      assert.doesNotMatch(r.text, /\sstyle=|\son[a-z]+=/i);
      // The script parses (it runs in the browser test where Chromium is installed).
      assert.doesNotThrow(() => new Function(script));
      // The token: sessionStorage only; the old localStorage copy is removed, never read or written.
      assert.match(script, /sessionStorage\.getItem\("madkit-token"\)/);
      assert.match(script, /sessionStorage\.setItem\("madkit-token", token\)/);
      assert.deepEqual(script.match(/localStorage\.\w+/g), ["localStorage.removeItem"]);
      // JSON answers carry the generic headers too.
      const api = await m.call("GET", "/v1/queue", m.tokens.reviewer);
      assert.equal(api.headers.get("x-content-type-options"), "nosniff");
      assert.equal(api.headers.get("x-frame-options"), "DENY");
    });
  });
});

describe("request log", () => {
  /** A logger whose lines land in an array. */
  function capturedLog() {
    const lines: Record<string, any>[] = [];
    let raw = "";
    const logger = requestLogger("info", {
      write: (s: string) => {
        raw += s;
        lines.push(JSON.parse(s));
      },
    });
    return { logger, lines, raw: () => raw };
  }

  /** A store whose getItem fails like a broken disk would. */
  function brokenStore(dir: string): MonitorStore {
    const real = new SqliteStore(path.join(dir, "broken.sqlite"));
    return new Proxy(real, {
      get(target, prop) {
        if (prop === "getItem") return async () => Promise.reject(new Error("disk on fire"));
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  }

  test("one line per request with its id (also the X-Request-Id header), method, path, status, duration and token id — never the token; a 500 logs its stack", async () => {
    const log = capturedLog();
    const dir = mkdtempSync(path.join(tmpdir(), "madkit-log-"));
    try {
      await withMonitor({ logger: log.logger, store: brokenStore(dir) }, async (m) => {
        const tokens = await m.store.listTokens();
        const scored = await m.call("POST", "/v1/score", m.tokens.client, { activations: activationsBody(new SeededRng(4)) });
        const id = scored.headers.get("x-request-id")!;
        assert.match(id, /^[0-9a-f-]{36}$/);
        const traced = await fetch(`${m.server.url}/healthz`, { headers: { "x-request-id": "trace-abc.123" } });
        assert.equal(traced.headers.get("x-request-id"), "trace-abc.123");
        await fetch(`${m.server.url}/healthz`, { headers: { "x-request-id": "bad id <script>" } });
        const failed = await m.call("GET", "/v1/items/1", m.tokens.reviewer);
        assert.equal(failed.status, 500);
        const failedId = failed.headers.get("x-request-id")!;
        assert.doesNotMatch(failed.text, /disk on fire/);
        assert.match(failed.json.error.message, new RegExp(`request id ${failedId}`));
        await new Promise((r) => setTimeout(r, 50));

        const line = log.lines.find((l) => l.reqId === id)!;
        assert.deepEqual(
          { level: line.level, msg: line.msg, method: line.method, path: line.path, route: line.route, status: line.status, tokenId: line.tokenId },
          { level: 30, msg: "request", method: "POST", path: "/v1/score", route: "/v1/score", status: 200, tokenId: tokens.find((t) => t.name === "c")!.id },
        );
        assert.equal(typeof line.ms, "number");
        assert.ok(log.lines.some((l) => l.reqId === "trace-abc.123" && l.path === "/healthz"));
        assert.ok(!log.lines.some((l) => String(l.reqId).includes("bad id")));
        const err = log.lines.find((l) => l.reqId === failedId)!;
        assert.equal(err.level, 50);
        assert.equal(err.status, 500);
        assert.match(err.err.stack, /Error: disk on fire\n\s+at /);
        for (const t of Object.values(m.tokens)) assert.ok(!log.raw().includes(t), "a token appears in the log");
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a client that goes away mid-body is logged as aborted and counted apart, not as a server 500", async () => {
    const log = capturedLog();
    await withMonitor({ logger: log.logger, limits: { requestTimeoutMs: 3_000 } }, async (m) => {
      const c = rawClient(m.server.port, `${chunkedScoreHead(m.tokens.client)}5\r\n{"act\r\n`);
      await new Promise((r) => setTimeout(r, 150));
      c.socket.destroy();
      let metrics = "";
      for (let i = 0; i < 60 && !/madkit_http_requests_aborted_total\{method="POST",route="\/v1\/score"\} 1/.test(metrics); i++) {
        await new Promise((r) => setTimeout(r, 100));
        metrics = (await m.call("GET", "/metrics")).text;
      }
      assert.match(metrics, /^madkit_http_requests_aborted_total\{method="POST",route="\/v1\/score"\} 1$/m);
      assert.doesNotMatch(metrics, /status="5\d\d"/);
      const aborted = log.lines.filter((l) => l.aborted === true);
      assert.equal(aborted.length, 1);
      assert.equal(aborted[0]!.level, 40);
      assert.equal(aborted[0]!.path, "/v1/score");
      assert.ok(!log.lines.some((l) => l.level >= 50), "no error line");
    });
  });
});

describe("tokens", () => {
  test("the last active admin token cannot be revoked (409 saying what to do); with a second admin it can", async () => {
    await withMonitor({}, async (m) => {
      const list = async () => (await m.call("GET", "/v1/tokens", m.tokens.admin)).json.tokens as { id: number; name: string; role: string; revokedAt: number | null }[];
      const first = (await list()).find((t) => t.name === "a")!;
      const refused = await m.call("DELETE", `/v1/tokens/${first.id}`, m.tokens.admin);
      assert.equal(refused.status, 409);
      assert.equal(refused.json.error.code, "CONFLICT");
      assert.match(refused.json.error.message, /last active admin token.*Mint another admin token first/);
      assert.equal((await m.call("GET", "/v1/tokens", m.tokens.admin)).status, 200);
      const second = await m.call("POST", "/v1/tokens", m.tokens.admin, { name: "a2", role: "admin" });
      assert.equal((await m.call("DELETE", `/v1/tokens/${first.id}`, second.json.token)).status, 200);
      assert.equal((await m.call("GET", "/v1/tokens", m.tokens.admin)).status, 401);
      assert.equal((await m.call("DELETE", `/v1/tokens/${second.json.id}`, second.json.token)).status, 409);
      // Other roles are revoked as before (listed with the second admin: the first is revoked).
      const tokens = (await m.call("GET", "/v1/tokens", second.json.token)).json.tokens as { id: number; name: string }[];
      assert.equal((await m.call("DELETE", `/v1/tokens/${tokens.find((t) => t.name === "c")!.id}`, second.json.token)).status, 200);
    });
  });

  test("bearer values shorter than 32 characters are refused without a lookup, even if such a token is stored", async () => {
    await withMonitor({}, async (m) => {
      await m.store.addToken("weak, from an older version", "admin", hashToken("a"), Date.now());
      assert.equal((await m.call("GET", "/v1/tokens", "a")).status, 401);
    });
  });
});
