import { test } from "node:test";
import assert from "node:assert/strict";
import { extractPooled } from "../../src/activations/pooled-in-memory.js";
import { poolTokens } from "../../src/activations/pooling.js";
import { FakeSource } from "./fake-source.js";

test("in-memory pooled extraction equals pooling each input's own forward, across batch boundaries", async () => {
  const source = new FakeSource();
  const texts = ["a b c", "dd", "e f g h i", "j", "k l"];
  const hooks = source.hooks().filter((h) => h.granularity === "token").slice(0, 2).map((h) => h.name);
  const pooled = await extractPooled(source, texts, hooks, { pooling: "rootn", batchSize: 2 });
  for (const h of hooks) {
    const m = pooled.get(h)!;
    assert.equal(m.rows, texts.length);
    for (let i = 0; i < texts.length; i++) {
      const alone = (await source.forward([texts[i]!], { hooks: [h] })).activations[0]!.get(h)!;
      assert.deepEqual(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)), Array.from(poolTokens(alone, "rootn", "token").data));
    }
  }
});

test("an unknown hook or an unexpected width is an error naming the hook", async () => {
  const source = new FakeSource();
  const hook = source.hooks()[0]!;
  await assert.rejects(extractPooled(source, ["x"], ["blocks.99.nope"], { pooling: "mean" }), /no hook 'blocks\.99\.nope'/);
  await assert.rejects(
    extractPooled(source, ["x y"], [hook.name], { pooling: "mean", expectDims: new Map([[hook.name, hook.dim + 1]]) }),
    new RegExp(`hook '${hook.name.replace(/\./g, "\\.")}': the model gives width ${hook.dim}, expected ${hook.dim + 1}`),
  );
});
