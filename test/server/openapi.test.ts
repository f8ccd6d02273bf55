// /openapi.json matches the app: the same (method, path) pairs as the router, every $ref resolves, every
// /v1 operation declares bearer security and its role, and the documented example body is accepted.

import assert from "node:assert/strict";
import { test } from "node:test";
import { createMonitorApp } from "../../src/server/app.js";
import { MonitorMetrics } from "../../src/server/metrics.js";
import { DEFAULT_LIMITS } from "../../src/server/schemas.js";
import { MonitorScorer } from "../../src/server/scorer.js";
import { standInBundle, startTestMonitor } from "./fixture.js";

test("the OpenAPI document lists exactly the app's routes and methods", async () => {
  const bundle = standInBundle();
  const app = createMonitorApp({ store: {} as never, scorer: new MonitorScorer(bundle, 0.05, new MonitorMetrics()), metrics: new MonitorMetrics(), limits: DEFAULT_LIMITS });
  const routes = new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`));
  const m = await startTestMonitor({ bundle });
  try {
    const doc = (await m.call("GET", "/openapi.json")).json;
    assert.match(doc.openapi, /^3\.\d+\.\d+$/);
    const documented = new Set<string>();
    for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) for (const method of Object.keys(ops)) documented.add(`${method} ${p}`);
    assert.deepEqual([...documented].sort(), [...routes].sort());

    for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        assert.ok(op.responses && Object.keys(op.responses).length > 0, `${method} ${p} has responses`);
        if (p.startsWith("/v1/")) {
          assert.deepEqual(op.security, [{ bearer: [] }], `${method} ${p} security`);
          assert.ok(["client", "reviewer", "admin"].includes(op["x-required-role"]));
          assert.ok(op.responses["401"] && op.responses["403"]);
        }
        for (const param of op.parameters ?? []) if (param.in === "path") assert.ok(p.includes(`{${param.name}}`));
      }
    }
    // Every $ref points at something that exists.
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    assert.ok(refs.length > 5);
    for (const r of refs) {
      const ptr = r.slice(8, -1).replace(/^#\//, "").split("/");
      let node: any = doc;
      for (const k of ptr) node = node?.[k];
      assert.ok(node !== undefined, `dangling ${r}`);
    }
    // The documented example is a valid request.
    const example = doc.components.schemas.ScoreInput.properties.activations.example;
    const r = await m.call("POST", "/v1/score", m.tokens.client, { activations: example });
    assert.equal(r.status, 200, r.text);
    for (const key of doc.components.schemas.ScoreResult.required) assert.ok(key in r.json, `response lacks ${key}`);
  } finally {
    await m.close();
  }
});
