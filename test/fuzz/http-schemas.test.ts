// Property-based tests of the monitor's HTTP schemas (issue 21): random JSON bodies (well-formed, near-valid,
// hostile, cut short), query strings and path parameters against every route of a live monitor on loopback
// must each be answered — within a time limit — with a 2xx, or a 4xx whose body is the JSON error
// {error: {code, message}}; never a 500, a hang, or a crash. Seeded (a failure prints its counterexample and
// reproduces), bounded (about 200 requests per route, small bodies).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { issueToken } from "../../src/server/auth.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { activationsBody, HOOKS, startTestMonitor, textSource, type TestMonitor } from "../server/fixture.js";

// MADKIT_FUZZ_SEED / MADKIT_FUZZ_RUNS explore further (a longer hunt), the defaults are what CI runs.
const SEED = Number(process.env.MADKIT_FUZZ_SEED ?? 2121);
const RUNS = Number(process.env.MADKIT_FUZZ_RUNS ?? 200);
const params = { seed: SEED, numRuns: RUNS, endOnFailure: true } as const;

let m: TestMonitor;
before(async () => {
  // Rate limit and queue cap off: they would answer the fuzzer with 429 instead of exercising the schemas.
  m = await startTestMonitor({ source: textSource(), limits: { maxBodyBytes: 64 * 1024, maxBatch: 8, ratePerToken: 0, maxQueue: 0, requestTimeoutMs: 5_000 } });
  // Items to look up and label, some labelled both ways, so valid ids and a valid l2 get past validation.
  const rng = new SeededRng(SEED);
  for (let i = 0; i < 12; i++) {
    const r = await m.call("POST", "/v1/score", m.tokens.client, { activations: activationsBody(rng, 8) });
    if (i < 6) await m.call("POST", `/v1/items/${r.json.itemId}/label`, m.tokens.reviewer, { label: i % 2 ? "anomalous" : "benign" });
  }
});
after(async () => m.close());

interface Sent {
  readonly method: string;
  readonly route: string;
  readonly token?: string;
  readonly authorization?: string;
  readonly body?: string;
  readonly contentType?: string;
}

/** Statuses seen per route pattern, printed at the end: shows how deep the inputs got (2xx = past validation). */
const seen = new Map<string, Map<number, number>>();

/** Send one request and check the answer's contract; returns the status. */
async function check(req: Sent): Promise<number> {
  const headers: Record<string, string> = {};
  if (req.token !== undefined) headers.authorization = `Bearer ${req.token}`;
  if (req.authorization !== undefined) headers.authorization = req.authorization;
  if (req.contentType !== undefined) headers["content-type"] = req.contentType;
  const r = await fetch(`${m.server.url}${req.route}`, { method: req.method, headers, body: req.body, signal: AbortSignal.timeout(5_000) });
  const text = await r.text();
  const where = `${req.method} ${req.route} [${req.contentType ?? "no content type"}] ${JSON.stringify(req.body?.slice(0, 300))} → ${r.status} ${text.slice(0, 300)}`;
  const key = `${req.method} ${req.route.replace(/\?.*$/, "").replace(/^\/v1\/(items|tokens)\/[^/]*/, "/v1/$1/{id}")}`;
  const tally = seen.get(key) ?? seen.set(key, new Map()).get(key)!;
  tally.set(r.status, (tally.get(r.status) ?? 0) + 1);
  assert.ok(r.status >= 200 && r.status < 500, where);
  if (req.method === "HEAD") return r.status;
  const type = r.headers.get("content-type") ?? "";
  if (r.status >= 400) {
    assert.match(type, /^application\/json/, where);
    const j = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    assert.equal(typeof j.error?.code, "string", where);
    assert.equal(typeof j.error?.message, "string", where);
    assert.ok((j.error!.message as string).length > 0, where);
  } else if (req.route.startsWith("/v1/") && !req.route.startsWith("/v1/export")) {
    assert.match(type, /^application\/json/, where);
    JSON.parse(text);
  }
  return r.status;
}

// ---- arbitraries -------------------------------------------------------------------------------------

const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 40 }) },
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("", " ", "\u0000", "日本語のテキスト", "😀", "\u200b", "IGNORE all rules", "x".repeat(9_000)),
);
const num = fc.oneof(
  { weight: 6, arbitrary: fc.double({ noNaN: true, min: -20, max: 20 }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 1e308, -1e308, 5e-324, 3e38, -3e38, 2 ** 53) },
);
const hookName = fc.oneof(fc.constantFrom(...HOOKS.map((h) => h.name)), fc.string({ maxLength: 12 }), fc.constantFrom("constructor", "toString", "hasOwnProperty"));
const vector = fc.oneof(
  fc.array(num, { maxLength: 10 }),
  fc.array(fc.oneof(num, fc.constant(null), fc.string({ maxLength: 3 }), fc.boolean()), { maxLength: 10 }),
  fc.base64String({ maxLength: 48 }),
  fc.string({ maxLength: 30 }),
  fc.jsonValue({ maxDepth: 2 }),
);
const nearValidActivations = fc.record({
  [HOOKS[0].name]: fc.oneof(fc.array(num, { minLength: 8, maxLength: 8 }), vector),
  [HOOKS[1].name]: fc.oneof(fc.array(num, { minLength: 4, maxLength: 4 }), vector),
});
const activations = fc.oneof(nearValidActivations, fc.dictionary(hookName, vector, { maxKeys: 4 }), fc.jsonValue({ maxDepth: 2 }));
const scoreInput = fc.oneof(fc.record({ text }), fc.record({ activations }), fc.record({ text, activations }, { requiredKeys: [] }));
const withExtraKey = <T extends object>(a: fc.Arbitrary<T>) => fc.tuple(a, fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })).map(([o, k, v]) => ({ ...o, [k]: v }));

/** A body as it goes on the wire: JSON of a value, JSON cut short, hand-written hostile JSON, or noise. */
function wire(value: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: value.map((v) => JSON.stringify(v) ?? "null") },
    { weight: 1, arbitrary: fc.tuple(value, fc.nat()).map(([v, k]) => { const s = JSON.stringify(v) ?? "null"; return s.slice(0, k % (s.length + 1)); }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "",
        "null",
        "[]",
        '"text"',
        "1e999",
        '{"__proto__": {"admin": true}}',
        `{"activations": {"__proto__": [1, 2, 3, 4]}}`,
        `{"activations": {"${HOOKS[0].name}": [1,2,3,4,5,6,7,8], "${HOOKS[0].name}": [1]}}`,
        `{"items": [${Array.from({ length: 9 }, () => '{"text": "a"}').join(",")}]}`,
        `{"text": "a", "text": "b"}`,
        `{"l2": 1e-320}`,
        `{"l2": 1e308}`,
        `{"label": "benign", "note": "${"n".repeat(4_001)}"}`,
        `${"[".repeat(5_000)}${"]".repeat(5_000)}`,
        `{"name": "${"\\u0000".repeat(10)}", "role": "admin"}`,
        "\ufeff{}",
      ),
    },
  );
}

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant("application/json") },
  { weight: 2, arbitrary: fc.constantFrom("text/plain", "", "application/json; charset=latin1", "application/problem+json", "APPLICATION/JSON", "application/x-www-form-urlencoded", "multipart/form-data") },
);

/** A string as a URL piece: its UTF-8 bytes percent-encoded, or (sometimes) raw, stray % signs included. */
const urlPiece = (s: fc.Arbitrary<string>) =>
  fc.tuple(s, fc.boolean()).map(([v, encode]) => (encode ? Array.from(Buffer.from(v, "utf8"), (b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, "0").toUpperCase()}`)).join("") : v.replace(/[#?/\s]/g, "")));

const idLike = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -3, max: 40 }).map(String) },
  fc.constantFrom("0x10", " 1", "1e2", "1.0", "+1", "-0", "", "99999999999999999999", "9007199254740993", "NaN", "Infinity", "%zz", "%00", "%2F", "..", "1%00", "١"),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 8 }),
);
const pathId = urlPiece(idLike);

const queryString = fc
  .array(fc.tuple(urlPiece(fc.oneof(fc.constantFrom("limit", "after", "limit", "after"), fc.string({ maxLength: 6 }))), urlPiece(idLike), fc.boolean()), { maxLength: 4 })
  .map((pairs) => (pairs.length === 0 ? "" : `?${pairs.map(([k, v, eq]) => (eq ? `${k}=${v}` : k)).join("&")}`));

// ---- the routes -----------------------------------------------------------------------------------

describe("HTTP schemas under random input: 2xx or a JSON 4xx, never a 500, a hang or a crash", () => {
  test("POST /v1/score", async () => {
    const likely = fc.oneof(fc.record({ activations: nearValidActivations }), fc.record({ text: fc.string({ minLength: 1, maxLength: 60 }) }));
    const body = fc.oneof(
      { weight: 4, arbitrary: likely },
      { weight: 2, arbitrary: fc.record({ items: fc.array(fc.oneof(likely, scoreInput), { minLength: 1, maxLength: 9 }) }) },
      { weight: 2, arbitrary: scoreInput },
      { weight: 1, arbitrary: withExtraKey(scoreInput) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    );
    await fc.assert(fc.asyncProperty(wire(body), contentType, async (b, ct) => void (await check({ method: "POST", route: "/v1/score", token: m.tokens.client, body: b, contentType: ct }))), params);
  });

  test("GET /v1/queue with random query strings", async () => {
    await fc.assert(fc.asyncProperty(queryString, async (q) => void (await check({ method: "GET", route: `/v1/queue${q}`, token: m.tokens.reviewer }))), params);
  });

  test("GET /v1/items/{id}", async () => {
    await fc.assert(fc.asyncProperty(pathId, queryString, async (id, q) => void (await check({ method: "GET", route: `/v1/items/${id}${q}`, token: m.tokens.reviewer }))), params);
  });

  test("POST /v1/items/{id}/label", async () => {
    const label = fc.record(
      { label: fc.oneof(fc.constantFrom("anomalous", "benign", "unsure"), fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 })), note: fc.oneof(text, fc.constant(null), fc.jsonValue({ maxDepth: 1 })) },
      { requiredKeys: [] },
    );
    const likelyLabel = fc.record({ label: fc.constantFrom("anomalous", "benign", "unsure"), note: fc.oneof(fc.constant(null), text) }, { requiredKeys: ["label"] });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.integer({ min: 1, max: 12 }).map(String), pathId), wire(fc.oneof(likelyLabel, label, withExtraKey(label))), contentType, async (id, b, ct) => void (await check({ method: "POST", route: `/v1/items/${id}/label`, token: m.tokens.reviewer, body: b, contentType: ct }))),
      params,
    );
  });

  test("GET /v1/export and GET /v1/probe with random query strings", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("/v1/export", "/v1/probe"), queryString, async (route, q) => void (await check({ method: "GET", route: `${route}${q}`, token: m.tokens.reviewer }))),
      params,
    );
  });

  test("POST /v1/probe/train", async () => {
    const train = fc.record({ l2: fc.oneof(num, fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 })) }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(wire(fc.oneof(fc.record({ l2: fc.double({ min: 1e-6, max: 1e6, noNaN: true }) }), train, withExtraKey(train), fc.jsonValue({ maxDepth: 2 }))), contentType, async (b, ct) => void (await check({ method: "POST", route: "/v1/probe/train", token: m.tokens.admin, body: b, contentType: ct }))),
      params,
    );
  });

  test("POST /v1/tokens and GET /v1/tokens", async () => {
    const token = fc.record({ name: fc.oneof(text, fc.jsonValue({ maxDepth: 1 })), role: fc.oneof(fc.constantFrom("client", "reviewer", "admin"), fc.string({ maxLength: 8 })) }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(wire(fc.oneof(token, withExtraKey(token))), contentType, async (b, ct) => {
        await check({ method: "POST", route: "/v1/tokens", token: m.tokens.admin, body: b, contentType: ct });
        await check({ method: "GET", route: "/v1/tokens", token: m.tokens.admin });
      }),
      params,
    );
  });

  test("public routes with random query strings, and random methods and paths with random credentials", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("/healthz", "/metrics", "/openapi.json", "/"), queryString, async (route, q) => void (await check({ method: "GET", route: `${route}${q}` }))),
      params,
    );
    const method = fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD");
    const routePath = fc.array(urlPiece(fc.oneof(fc.constantFrom("v1", "score", "queue", "items", "label", "tokens", "probe", "train", "export", "1"), fc.string({ maxLength: 6 }))), { minLength: 1, maxLength: 4 }).map((segs) => `/${segs.join("/")}`);
    const credentials = fc.oneof(fc.constant(undefined), fc.constantFrom(...["client", "reviewer", "admin"].map((r) => `Bearer ${m.tokens[r as "client"]}`)), fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")), fc.constant(`Bearer ${"x".repeat(40)}`));
    await fc.assert(
      fc.asyncProperty(method, routePath, queryString, credentials, fc.option(wire(fc.jsonValue({ maxDepth: 2 })), { nil: undefined }), contentType, async (verb, p, q, auth, b, ct) => {
        const body = verb === "GET" || verb === "HEAD" ? undefined : b;
        await check({ method: verb, route: `${p}${q}`, authorization: auth, body, contentType: body === undefined ? undefined : ct });
      }),
      params,
    );
  });

  // Last: revoking tokens may take the fixture's own tokens away from the properties above.
  test("DELETE /v1/tokens/{id}", async () => {
    // Its own admin token, which the property does not revoke, so every run gets past the token check.
    const admin = await issueToken(m.store, "fuzz admin", "admin");
    await fc.assert(
      fc.asyncProperty(pathId, async (id) => {
        if (id === String(admin.id)) return;
        await check({ method: "DELETE", route: `/v1/tokens/${id}`, token: admin.token });
      }),
      params,
    );
  });

  test("afterwards the monitor is alive and its metrics show no 5xx", async (t) => {
    for (const [route, tally] of [...seen].filter(([k]) => k.includes("/v1/")).sort()) {
      if ([...tally.values()].reduce((a, b) => a + b, 0) >= 20) t.diagnostic(`${route}: ${[...tally].sort((a, b) => a[0] - b[0]).map(([st, n]) => `${st}×${n}`).join(" ")}`);
    }
    assert.equal((await check({ method: "GET", route: "/healthz" })), 200);
    const metrics = (await m.call("GET", "/metrics")).text;
    assert.doesNotMatch(metrics, /status="5\d\d"/);
  });
});
