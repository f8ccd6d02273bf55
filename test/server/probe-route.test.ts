// POST /v1/probe/train over the HTTP API: the probe is fitted on exactly the labelled items' stored
// activations, /v1/score then reports it beside the unsupervised score, and a restart restores it.

import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { LogisticProbe } from "../../src/server/logistic-probe.js";
import { MonitorMetrics } from "../../src/server/metrics.js";
import { MonitorScorer } from "../../src/server/scorer.js";
import { restoreProbe } from "../../src/server/service.js";
import { SqliteStore } from "../../src/server/sqlite-store.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { activationsBody, HOOKS, standInBundle, startTestMonitor } from "./fixture.js";

test("a trained probe scores new inputs like a probe refitted on the exported labels, and comes back after a restart", async () => {
  const m = await startTestMonitor();
  const rng = new SeededRng(21);
  try {
    assert.equal((await m.call("POST", "/v1/probe/train", m.tokens.admin, {})).status, 400); // no labels yet
    // Two kinds of flagged input: shifted up (labelled anomalous) and shifted down (labelled benign).
    for (let i = 0; i < 24; i++) {
      const up = i % 2 === 0;
      const r = await m.call("POST", "/v1/score", m.tokens.client, { activations: activationsBody(rng, up ? 6 : -6) });
      assert.equal(r.json.flagged, true);
      assert.equal(r.json.probe, undefined);
      await m.call("POST", `/v1/items/${r.json.itemId}/label`, m.tokens.reviewer, { label: up ? "anomalous" : "benign" });
    }
    const train = await m.call("POST", "/v1/probe/train", m.tokens.admin, { l2: 0.5 });
    assert.equal(train.status, 200, train.text);
    assert.deepEqual([train.json.nAnomalous, train.json.nBenign], [12, 12]);

    // Independent refit from the export.
    const recs = (await m.call("GET", "/v1/export", m.tokens.reviewer)).text.trim().split("\n").map((l) => JSON.parse(l));
    const width = HOOKS.reduce((s, h) => s + h.dim, 0);
    const x = new Float64Array(recs.length * width);
    recs.forEach((r, i) => x.set(HOOKS.flatMap((h) => r.activations[h.name]), i * width));
    const ref = LogisticProbe.train(HOOKS, { rows: recs.length, cols: width, data: x }, Uint8Array.from(recs.map((r) => (r.label === "anomalous" ? 1 : 0))), 0.5);

    const probeInput = activationsBody(rng, 5);
    const s = await m.call("POST", "/v1/score", m.tokens.client, { activations: probeInput });
    const f32 = Object.fromEntries(Object.entries(probeInput).map(([k, v]) => [k, Float32Array.from(v)]));
    assert.ok(Math.abs(s.json.probe.score - ref.score((h) => f32[h]!)) < 1e-9);
    assert.ok(s.json.probe.score > 0.9, `up-shifted input should look anomalous to the probe: ${s.json.probe.score}`);
    assert.equal(typeof s.json.combined, "number");

    // A fresh scorer over the same database restores the newest probe.
    const store2 = new SqliteStore(path.join(m.dir, "monitor.sqlite"));
    const scorer2 = new MonitorScorer(standInBundle(), 0.05, new MonitorMetrics());
    await restoreProbe(store2, scorer2);
    assert.equal(scorer2.probe?.id, train.json.id);
    await store2.close();
  } finally {
    await m.close();
  }
});
