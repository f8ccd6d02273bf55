// What the monitor loop added to the service, over HTTP: POST /v1/items/import stores labelled items without
// the review queue; POST /v1/probe/train {hooks} fits a probe on a subset of the bundle's hooks, equal to one
// refitted here on the same rows; /v1/score {record: false} scores without storing (role reviewer); every
// score carries the probe version it was scored with.

import assert from "node:assert/strict";
import { test } from "node:test";
import { LogisticProbe } from "../../src/server/logistic-probe.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { activationsBody, HOOKS, startTestMonitor } from "./fixture.js";

test("imported labelled items skip the queue, train a probe on the hooks asked for, and record: false stores nothing", async () => {
  const m = await startTestMonitor();
  const rng = new SeededRng(31);
  try {
    // Anomalous items shifted up on hook 1 only, benign shifted down: both far from the trusted data.
    const items = Array.from({ length: 20 }, (_, i) => {
      const a = activationsBody(rng, 0);
      const hook1 = HOOKS[1].name;
      a[hook1] = a[hook1]!.map((v) => v + (i % 2 === 0 ? 3 : -3));
      return { activations: a, label: i % 2 === 0 ? "anomalous" : "benign", note: `row ${i}` };
    });
    const imp = await m.call("POST", "/v1/items/import", m.tokens.reviewer, { items });
    assert.equal(imp.status, 200, imp.text);
    assert.equal(imp.json.items.length, 20);
    assert.deepEqual(imp.json.items.map((x: { label: string }) => x.label), items.map((x) => x.label));
    const queue = await m.call("GET", "/v1/queue", m.tokens.reviewer);
    assert.equal(queue.json.depth, 0);
    const one = await m.call("GET", `/v1/items/${imp.json.items[3].id}`, m.tokens.reviewer);
    assert.equal(one.json.label, "benign");
    assert.equal(one.json.note, "row 3");

    // Bad input: no text nor activations, a client token, an unknown probe hook.
    assert.equal((await m.call("POST", "/v1/items/import", m.tokens.reviewer, { items: [{ label: "benign" }] })).status, 400);
    assert.equal((await m.call("POST", "/v1/items/import", m.tokens.client, { items })).status, 403);
    const unknown = await m.call("POST", "/v1/probe/train", m.tokens.admin, { hooks: ["nope"] });
    assert.equal(unknown.status, 400);
    assert.match(unknown.json.error.message, /unknown hook 'nope'/);

    const train = await m.call("POST", "/v1/probe/train", m.tokens.admin, { l2: 0.7, hooks: [HOOKS[1].name] });
    assert.equal(train.status, 200, train.text);
    assert.deepEqual(train.json.hooks, [HOOKS[1].name]);
    assert.deepEqual([train.json.nAnomalous, train.json.nBenign], [10, 10]);

    // The same probe refitted here on the imported rows of hook 1 only.
    const d = HOOKS[1].dim;
    const x = new Float64Array(items.length * d);
    // The service holds activations as float32.
    items.forEach((it, i) => x.set(Float32Array.from(it.activations[HOOKS[1].name]!), i * d));
    const ref = LogisticProbe.train([HOOKS[1]], { rows: items.length, cols: d, data: x }, Uint8Array.from(items.map((it) => (it.label === "anomalous" ? 1 : 0))), 0.7);
    const input = activationsBody(rng, 0);
    const expected = ref.score((h) => Float32Array.from(input[h]!));

    const depthBefore = (await m.call("GET", "/v1/queue", m.tokens.reviewer)).json.depth;
    const far = activationsBody(rng, 9); // flagged by the detector
    const dry = await m.call("POST", "/v1/score", m.tokens.reviewer, { items: [{ activations: input }, { activations: far }], record: false });
    assert.equal(dry.status, 200, dry.text);
    assert.ok(Math.abs(dry.json.results[0].probe.score - expected) < 1e-9, `${dry.json.results[0].probe.score} vs ${expected}`);
    assert.equal(dry.json.results[0].probe.id, train.json.id);
    assert.equal(dry.json.results[1].flagged, true);
    assert.equal(dry.json.results[1].itemId, undefined);
    assert.equal((await m.call("GET", "/v1/queue", m.tokens.reviewer)).json.depth, depthBefore);
    assert.equal((await m.call("POST", "/v1/score", m.tokens.client, { activations: input, record: false })).status, 403);

    // Recorded: the flagged item is queued and its stored scores name the probe version.
    const rec = await m.call("POST", "/v1/score", m.tokens.client, { activations: far });
    assert.equal(rec.json.flagged, true);
    const stored = await m.call("GET", `/v1/items/${rec.json.itemId}`, m.tokens.reviewer);
    assert.equal(stored.json.scores.probe.id, train.json.id);
  } finally {
    await m.close();
  }
});
