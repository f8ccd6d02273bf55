import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { combineStores } from "../../src/activations/combine.js";
import { extractActivations, type ExtractOptions } from "../../src/activations/extract.js";
import type { Pooling } from "../../src/activations/pooling.js";
import { openStore } from "../../src/activations/store.js";
import { MadkitError } from "../../src/errors.js";
import { FakeSource } from "./fake-source.js";

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), "madkit-combine-"));
const texts = Array.from({ length: 11 }, (_, i) => ({ id: `t${i}`, text: Array.from({ length: 1 + ((i * 7) % 9) }, (_, k) => `w${(i + k) % 5}`).join(" ") }));

function opts(out: string, pooling: Pooling, shard?: { index: number; count: number }): ExtractOptions {
  return { source: new FakeSource(), inputs: texts, hooks: "all", pooling, out, chunkSize: 4, batchSize: 3, shard };
}

function filesOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of ["index.json", "inputs.jsonl", ...readdirSync(path.join(dir, "shards")).map((f) => `shards/${f}`)]) out.set(f, readFileSync(path.join(dir, f)));
  return out;
}

for (const pooling of ["last", "all"] as const) {
  test(`shards 0/2 + 1/2 (${pooling} pooling), combined, equal the unsharded run byte for byte`, async () => {
    const full = tmp();
    await extractActivations(opts(full, pooling));
    const s0 = tmp();
    const s1 = tmp();
    await extractActivations(opts(s0, pooling, { index: 0, count: 2 }));
    await extractActivations(opts(s1, pooling, { index: 1, count: 2 }));
    assert.deepEqual(openStore(s0).inputs().map((r) => r.index), [0, 2, 4, 6, 8, 10], "shard i keeps inputs with index ≡ i (mod n)");
    assert.equal(openStore(s1).index.totalInputs, 11);
    const combined = tmp();
    const index = combineStores([s1, s0], combined);
    assert.equal(index.inputCount, 11);
    for (const h of index.hooks) {
      assert.deepEqual(openStore(combined).readHook(h.name), openStore(full).readHook(h.name));
    }
    assert.deepEqual(filesOf(combined), filesOf(full));
  });
}

test("combining stores that miss or repeat inputs, or disagree on pooling, is STORE_MISMATCH", async () => {
  const s0 = tmp();
  const s1 = tmp();
  const s1mean = tmp();
  await extractActivations(opts(s0, "last", { index: 0, count: 2 }));
  await extractActivations(opts(s1, "last", { index: 1, count: 2 }));
  await extractActivations(opts(s1mean, "mean", { index: 1, count: 2 }));
  const mismatch = (re: RegExp) => (e: unknown) => e instanceof MadkitError && e.code === "STORE_MISMATCH" && re.test(e.message);
  assert.throws(() => combineStores([s0], tmp()), mismatch(/input #1 is in none of the stores/));
  assert.throws(() => combineStores([s0, s1, s1], tmp()), mismatch(/input #1 \('t1'\) appears twice/));
  assert.throws(() => combineStores([s0, s1mean], tmp()), mismatch(/pooling 'mean'/));
  assert.throws(() => combineStores([s0, s1], s0), /one of the stores being combined/);
});
