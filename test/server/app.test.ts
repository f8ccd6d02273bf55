// The monitor's HTTP API end to end over loopback, against a small real bundle: scores equal the bundle's
// own, flagging follows the conformal threshold, queue/label/export round-trip, roles, limits and errors.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { activationsBody, HOOKS, startTestMonitor, textSource, type TestMonitor } from "./fixture.js";

/** Base64 of little-endian float32 bytes, written value by value through a DataView (independent of the server's decoder). */
function packed(values: readonly number[]): string {
  const view = new DataView(new ArrayBuffer(4 * values.length));
  values.forEach((v, j) => view.setFloat32(4 * j, v, true));
  return Buffer.from(view.buffer).toString("base64");
}

function asMatrices(body: Record<string, number[]>): Map<string, Matrix> {
  return new Map(Object.entries(body).map(([k, v]) => [k, matrix(1, v.length, Float32Array.from(v))]));
}

describe("monitor API", () => {
  let m: TestMonitor;
  before(async () => {
    m = await startTestMonitor({ limits: { maxBodyBytes: 64 * 1024, maxBatch: 8 } });
  });
  after(async () => m.close());

  test("a score equals the bundle's own per-hook and combined scores, and flagged ⇔ p-value ≤ α", async () => {
    const rng = new SeededRng(7);
    const bundle = m.server.scorer.bundle;
    for (const shift of [0, 0, 3, 6]) {
      const body = activationsBody(rng, shift);
      const r = await m.call("POST", "/v1/score", m.tokens.client, { activations: body });
      assert.equal(r.status, 200, r.text);
      const ref = bundle.score(asMatrices(body));
      for (const h of HOOKS) assert.ok(Math.abs(r.json.perHook[h.name] - ref.perHook.get(h.name)![0]!) < 1e-9);
      assert.ok(Math.abs(r.json.combined - ref.combined[0]!) < 1e-9);
      assert.equal(r.json.pValue, ref.pValue[0]);
      assert.equal(r.json.alpha, 0.05);
      assert.equal(r.json.threshold, bundle.threshold(0.05));
      assert.equal(r.json.flagged, ref.pValue[0]! <= 0.05);
      assert.equal(typeof r.json.explanation.topHook, "string");
      assert.equal(r.json.flagged, r.json.itemId !== undefined);
    }
  });

  test("the batch form answers in input order with the same results as single requests", async () => {
    const rng = new SeededRng(8);
    const items = [activationsBody(rng, 0), activationsBody(rng, 8), activationsBody(rng, 0.5)];
    const r = await m.call("POST", "/v1/score", m.tokens.client, { items: items.map((activations) => ({ activations })) });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.results.length, 3);
    for (let i = 0; i < 3; i++) {
      const one = await m.call("POST", "/v1/score", m.tokens.client, { activations: items[i] });
      assert.equal(r.json.results[i].combined, one.json.combined);
    }
    assert.equal(r.json.results[1].flagged, true);
  });

  test("packed activations (base64 of little-endian float32) score exactly like the same values as number arrays", async () => {
    const rng = new SeededRng(17);
    for (const shift of [0, 9]) {
      const body = activationsBody(rng, shift);
      const asArrays = await m.call("POST", "/v1/score", m.tokens.client, { activations: body });
      const asPacked = await m.call("POST", "/v1/score", m.tokens.client, { activations: Object.fromEntries(Object.entries(body).map(([h, v]) => [h, packed(v)])) });
      assert.equal(asPacked.status, 200, asPacked.text);
      assert.equal(asPacked.json.combined, asArrays.json.combined);
      assert.deepEqual(asPacked.json.perHook, asArrays.json.perHook);
      assert.equal(asPacked.json.flagged, shift > 0);
      if (shift > 0) {
        const item = await m.call("GET", `/v1/items/${asPacked.json.itemId}`, m.tokens.reviewer);
        assert.equal(item.json.combined, asArrays.json.combined);
      }
    }
    // One hook packed, the other as numbers, in one batch item.
    const body = activationsBody(rng);
    const mixed = await m.call("POST", "/v1/score", m.tokens.client, { items: [{ activations: { [HOOKS[0].name]: packed(body[HOOKS[0].name]!), [HOOKS[1].name]: body[HOOKS[1].name] } }] });
    const ref = m.server.scorer.bundle.score(asMatrices(body));
    assert.ok(Math.abs(mixed.json.results[0].combined - ref.combined[0]!) < 1e-9);
  });

  test("concurrent requests are scored in shared detector calls, each getting its own input's answer", async () => {
    const rng = new SeededRng(21);
    const bodies = Array.from({ length: 24 }, (_, i) => activationsBody(rng, i % 6 === 0 ? 7 : 0));
    const before = await m.call("GET", "/metrics");
    const rs = await Promise.all(bodies.map((activations) => m.call("POST", "/v1/score", m.tokens.client, { activations })));
    const ref = m.server.scorer.bundle.score(new Map(HOOKS.map((h) => [h.name, matrix(bodies.length, h.dim, Float32Array.from(bodies.flatMap((b) => b[h.name]!)))])));
    rs.forEach((r, i) => {
      assert.equal(r.status, 200, r.text);
      assert.ok(Math.abs(r.json.combined - ref.combined[i]!) < 1e-9, `request ${i} got another input's score`);
      assert.equal(r.json.flagged, ref.pValue[i]! <= 0.05);
    });
    const after = await m.call("GET", "/metrics");
    const counter = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)![1]);
    assert.equal(counter(after.text, "madkit_score_batch_inputs_total") - counter(before.text, "madkit_score_batch_inputs_total"), bodies.length);
    assert.ok(counter(after.text, "madkit_score_batches_total") - counter(before.text, "madkit_score_batches_total") <= bodies.length);
  });

  test("flagged inputs queue oldest first with keyset paging; labelled ones leave the queue and appear in the export", async () => {
    const rng = new SeededRng(9);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await m.call("POST", "/v1/score", m.tokens.client, { activations: activationsBody(rng, 10 + i) });
      assert.equal(r.json.flagged, true);
      ids.push(r.json.itemId);
    }
    const all: number[] = [];
    let next: string | null = "/v1/queue?limit=2";
    for (let guard = 0; next && guard < 50; guard++) {
      const page: { status: number; json: any } = await m.call("GET", next, m.tokens.reviewer);
      assert.equal(page.status, 200);
      all.push(...page.json.items.map((it: { id: number }) => it.id));
      next = page.json.next;
    }
    assert.deepEqual(all, [...all].sort((a, b) => a - b));
    for (const id of ids) assert.ok(all.includes(id));
    const depth = (await m.call("GET", "/v1/queue", m.tokens.reviewer)).json.depth;
    assert.equal(depth, all.length);

    const lab = await m.call("POST", `/v1/items/${ids[0]}/label`, m.tokens.reviewer, { label: "anomalous", note: "jailbreak" });
    assert.equal(lab.status, 200, lab.text);
    const q = await m.call("GET", "/v1/queue?limit=500", m.tokens.reviewer);
    assert.ok(!q.json.items.some((it: { id: number }) => it.id === ids[0]));
    assert.equal(q.json.depth, depth - 1);

    const exp = await m.call("GET", "/v1/export", m.tokens.reviewer);
    assert.equal(exp.status, 200);
    assert.match(exp.headers.get("content-type") ?? "", /ndjson/);
    const rec = exp.text.trim().split("\n").map((l) => JSON.parse(l)).find((x) => x.id === ids[0]);
    assert.equal(rec.label, "anomalous");
    assert.equal(rec.note, "jailbreak");
    assert.equal(rec.labelledBy, "r");
    const stored = await m.store.getItem(ids[0]!);
    assert.deepEqual(rec.activations[HOOKS[0].name], Array.from(stored!.activations[HOOKS[0].name]!));

    assert.equal((await m.call("POST", "/v1/items/999999/label", m.tokens.reviewer, { label: "benign" })).status, 404);
    const bad = await m.call("POST", `/v1/items/${ids[1]}/label`, m.tokens.reviewer, { label: "evil" });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /label/);
  });

  test("a missing or wrong token gets 401, a weaker role 403, and roles nest client < reviewer < admin", async () => {
    assert.equal((await m.call("POST", "/v1/score", undefined, { activations: activationsBody(new SeededRng(1)) })).status, 401);
    assert.equal((await m.call("POST", "/v1/score", "mk_wrong", { activations: activationsBody(new SeededRng(1)) })).status, 401);
    const forbidden = await m.call("GET", "/v1/queue", m.tokens.client);
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.json.error.message, /reviewer/);
    assert.equal((await m.call("POST", "/v1/probe/train", m.tokens.reviewer, {})).status, 403);
    assert.equal((await m.call("GET", "/v1/tokens", m.tokens.reviewer)).status, 403);
    assert.equal((await m.call("POST", "/v1/score", m.tokens.reviewer, { activations: activationsBody(new SeededRng(1)) })).status, 200);
    assert.equal((await m.call("GET", "/v1/queue", m.tokens.admin)).status, 200);
  });

  test("an admin mints and revokes tokens; tokens are stored only as hashes", async () => {
    const made = await m.call("POST", "/v1/tokens", m.tokens.admin, { name: "alice", role: "reviewer" });
    assert.equal(made.status, 201);
    assert.equal((await m.call("GET", "/v1/queue", made.json.token)).status, 200);
    const list = await m.call("GET", "/v1/tokens", m.tokens.admin);
    assert.ok(!list.text.includes(made.json.token));
    for (const t of await m.store.listTokens()) assert.match(t.hash, /^[0-9a-f]{64}$/);
    assert.ok(!(await m.store.listTokens()).some((t) => t.hash.includes(made.json.token)));
    assert.equal((await m.call("DELETE", `/v1/tokens/${made.json.id}`, m.tokens.admin)).status, 200);
    assert.equal((await m.call("GET", "/v1/queue", made.json.token)).status, 401);
  });

  test("malformed JSON, wrong widths, missing or unknown hooks, non-finite values and over-long texts get 400 naming the problem", async () => {
    const rng = new SeededRng(3);
    const cases: [unknown, RegExp][] = [
      ['{"activations": {', /malformed JSON/],
      [{ activations: { ...activationsBody(rng), [HOOKS[1].name]: [1, 2, 3] } }, /blocks\.1\.hook_resid_post.*expected 4 numbers, got 3/],
      [{ activations: { [HOOKS[0].name]: activationsBody(rng)[HOOKS[0].name] } }, /missing hook 'blocks\.1\.hook_resid_post'/],
      [{ activations: { ...activationsBody(rng), "blocks.9.hook_x": [1] } }, /unknown hook 'blocks\.9\.hook_x'/],
      [`{"activations": {"${HOOKS[0].name}": [1e999, 0, 0, 0, 0, 0, 0, 0], "${HOOKS[1].name}": [0, 0, 0, 0]}}`, /finite/],
      [{ activations: { ...activationsBody(rng), [HOOKS[1].name]: [0, null, 0, 0] } }, /activations\.blocks\.1\.hook_resid_post\[1\]/],
      [{ activations: { ...activationsBody(rng), [HOOKS[1].name]: [0, "NaN", 0, 0] } }, /number/],
      [{ activations: { ...activationsBody(rng), [HOOKS[1].name]: packed([1, 2, 3]) } }, /blocks\.1\.hook_resid_post.*expected 4 float32 values \(16 bytes, 24 base64 characters\), got 12 bytes/],
      [{ activations: { ...activationsBody(rng), [HOOKS[1].name]: "AAAA*AAAAAAAAAAAAAAAAAAA" } }, /activations\.blocks\.1\.hook_resid_post: expected base64/],
      [{ activations: { ...activationsBody(rng), [HOOKS[1].name]: packed([0, Number.NaN, 0, 0]) } }, /blocks\.1\.hook_resid_post'\]\[1\]: is NaN; values must be finite/],
      [{ activations: { ...activationsBody(rng), [HOOKS[1].name]: 42 } }, /array of numbers or a base64 string/],
      [{ text: "x".repeat(9000) }, /longer than 8000/],
      [{}, /exactly one of/],
      [{ text: "a", activations: activationsBody(rng) }, /exactly one of/],
      [{ items: [] }, /items/],
      [{ items: Array.from({ length: 9 }, () => ({ activations: activationsBody(rng) })) }, /at most 8/],
      [{ items: [{ activations: activationsBody(rng) }, { activations: { ...activationsBody(rng), [HOOKS[0].name]: [1] } }] }, /items\[1\]/],
    ];
    for (const [body, re] of cases) {
      const r = await m.call("POST", "/v1/score", m.tokens.client, body);
      assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)} → ${r.status} ${r.text}`);
      assert.match(r.json.error.message, re, r.json.error.message);
    }
    const big = await m.call("POST", "/v1/score", m.tokens.client, { text: "y".repeat(70 * 1024) });
    assert.equal(big.status, 413);
  });

  test("text input without a model answers 400 that says to send activations", async () => {
    const r = await m.call("POST", "/v1/score", m.tokens.client, { text: "hello" });
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /no model/);
  });

  test("/metrics is Prometheus text with request counts, a latency histogram, flagged count and queue depth", async () => {
    const r = await m.call("GET", "/metrics");
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /text\/plain/);
    const depth = (await m.call("GET", "/v1/queue", m.tokens.reviewer)).json.depth;
    const r2 = await m.call("GET", "/metrics");
    assert.match(r2.text, new RegExp(`^madkit_queue_depth ${depth}$`, "m"));
    assert.match(r2.text, /^madkit_http_requests_total\{method="POST",route="\/v1\/score",status="200"\} \d+$/m);
    assert.match(r2.text, /^madkit_http_request_duration_seconds_bucket\{route="\/v1\/score",le="\+Inf"\} \d+$/m);
    const flagged = Number(/^madkit_flagged_total (\d+)$/m.exec(r2.text)![1]);
    const queued = (await m.store.queueDepth()) + (await m.store.labelled({ limit: 1000 })).length;
    assert.equal(flagged, queued);
    // Every sample line is `name{labels} value` or `name value` (the exposition grammar, roughly).
    for (const line of r2.text.trim().split("\n")) assert.match(line, /^(# (HELP|TYPE) .+|[a-z_]+(\{[^}]*\})? [0-9.e+-]+)$/);
  });

  test("/healthz reports ok with the bundle's hooks", async () => {
    const r = await m.call("GET", "/healthz");
    assert.equal(r.status, 200);
    assert.equal(r.json.status, "ok");
    assert.deepEqual(r.json.hooks, HOOKS.map((h) => ({ ...h })));
    assert.equal(r.json.schemaVersion, 1);
  });
});

describe("monitor limits", () => {
  test("past the concurrency limit a request gets 503 with Retry-After, and the others still succeed", async () => {
    const m = await startTestMonitor({ source: textSource(300), limits: { maxConcurrent: 2 } });
    try {
      const rs = await Promise.all([0, 1, 2].map(() => m.call("POST", "/v1/score", m.tokens.client, { text: "hello" })));
      const codes = rs.map((r) => r.status).sort();
      assert.deepEqual(codes, [200, 200, 503]);
      const busy = rs.find((r) => r.status === 503)!;
      assert.equal(busy.headers.get("retry-after"), "1");
      assert.match(busy.json.error.message, /busy/);
    } finally {
      await m.close();
    }
  });

  test("a request that runs past the timeout gets 504", async () => {
    const m = await startTestMonitor({ source: textSource(400), limits: { requestTimeoutMs: 100 } });
    try {
      const r = await m.call("POST", "/v1/score", m.tokens.client, { text: "hello" });
      assert.equal(r.status, 504);
      assert.match(r.json.error.message, /longer than 100 ms/);
    } finally {
      await m.close();
    }
  });
});
