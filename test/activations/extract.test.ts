import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { activationCacheKey } from "../../src/activations/cache-key.js";
import { extractActivations, type ExtractOptions } from "../../src/activations/extract.js";
import { openStore } from "../../src/activations/store.js";
import { MadkitError } from "../../src/errors.js";
import { readSafetensors } from "../../src/io/safetensors.js";
import { FakeSource, fakeActivation, fakeTokenId } from "./fake-source.js";

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), "madkit-extract-"));
const WORDS = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far", "away", "home"];

/** n inputs of 1..11 words (context 8 with BOS: those over 7 words are truncated). */
function makeInputs(n: number): { id: string; text: string; label: number }[] {
  return Array.from({ length: n }, (_, i) => {
    const len = 1 + ((i * 5) % 11);
    return { id: `in${i}`, text: Array.from({ length: len }, (_, k) => WORDS[(i + k * 3) % WORDS.length]).join(" "), label: i % 2 };
  });
}

/** The closed-form activations of one input at one block hook: [tokens x 4] as nested arrays. */
function expectedTokens(text: string, layer: number, dim: number, context = 8): number[][] {
  const ids = [1, ...text.split(" ").map(fakeTokenId)].slice(0, context);
  return ids.map((id, t) => Array.from({ length: dim }, (_, j) => Math.fround(fakeActivation(id, t, layer, j))));
}

function base(out: string, extra: Partial<ExtractOptions> = {}): ExtractOptions {
  return { source: new FakeSource(), inputs: makeInputs(10), hooks: "hook_embed,blocks.*.hook_resid_post,sentence_embedding", pooling: "last", out, chunkSize: 3, batchSize: 2, ...extra };
}

function filesOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of ["index.json", "inputs.jsonl", ...readdirSync(path.join(dir, "shards")).map((f) => `shards/${f}`)]) out.set(f, readFileSync(path.join(dir, f)));
  return out;
}

test("last pooling stores each input's final-token activations, equal to the closed form", async () => {
  const out = tmp();
  const warnings: string[] = [];
  const res = await extractActivations(base(out, { onWarning: (w) => warnings.push(w) }));
  const store = openStore(out);
  const inputs = makeInputs(10);
  assert.equal(store.index.inputCount, 10);
  assert.deepEqual(store.index.parts.map((p) => p.inputs), [3, 3, 3, 1]);
  const m = store.readHook("blocks.1.hook_resid_post");
  assert.equal(m.rows, 10);
  inputs.forEach((x, i) => {
    const exp = expectedTokens(x.text, 1, 4).at(-1)!;
    assert.deepEqual(Array.from(m.data.subarray(i * 4, i * 4 + 4)), exp);
  });
  const seq = store.readHook("sentence_embedding");
  assert.deepEqual(Array.from(seq.data.subarray(0, 2)), [2, 2.5], "input 0 has 1 word + BOS: sequence hook is (2, 2.5)");
  const rows = store.inputs();
  assert.deepEqual(rows.map((r) => r.id), inputs.map((x) => x.id));
  assert.deepEqual(rows.map((r) => r.sha256), inputs.map((x) => createHash("sha256").update(x.text).digest("hex")));
  assert.deepEqual(rows.map((r) => r.label), inputs.map((x) => x.label));
  const nWords = inputs.map((x) => x.text.split(" ").length);
  assert.deepEqual(rows.map((r) => r.tokens), nWords.map((n) => Math.min(n + 1, 8)));
  assert.deepEqual(rows.map((r) => r.truncated), nWords.map((n) => n + 1 > 8));
  const truncatedIds = inputs.filter((_, i) => nWords[i]! + 1 > 8).map((x) => x.id);
  assert.ok(truncatedIds.length > 0);
  assert.deepEqual(warnings.map((w) => /input '([^']+)'/.exec(w)![1]), truncatedIds);
  assert.equal(res.partsWritten, 4);
  assert.equal(res.tokens, rows.reduce((a, r) => a + r.tokens, 0));
});

test("mean pooling stores the token mean; all pooling stores every token with each input's row range", async () => {
  const inputs = makeInputs(7);
  const outMean = tmp();
  await extractActivations(base(outMean, { pooling: "mean", inputs }));
  const mean = openStore(outMean).readHook("blocks.0.hook_resid_post");
  inputs.forEach((x, i) => {
    const toks = expectedTokens(x.text, 0, 4);
    for (let j = 0; j < 4; j++) {
      const mu = toks.reduce((a, r) => a + r[j]!, 0) / toks.length;
      assert.ok(Math.abs(mean.data[i * 4 + j]! - mu) < 1e-6);
    }
  });
  const outAll = tmp();
  await extractActivations(base(outAll, { pooling: "all", inputs }));
  const store = openStore(outAll);
  const all = store.readHook("blocks.0.hook_resid_post");
  const rows = store.inputs();
  let at = 0;
  inputs.forEach((x, i) => {
    const toks = expectedTokens(x.text, 0, 4);
    assert.deepEqual(rows[i]!.rows, [at, at + toks.length]);
    assert.deepEqual(Array.from(all.data.subarray(at * 4, (at + toks.length) * 4)), toks.flat());
    at += toks.length;
  });
  assert.equal(all.rows, at);
  assert.equal(store.readHook("sentence_embedding").rows, 7, "sequence hooks keep one row per input under all pooling");
  assert.equal(store.hook("hook_embed").rows, at);
});

test("the index's cache key is sha256 over model, revision, hook, pooling and the inputs digest", async () => {
  const out = tmp();
  await extractActivations(base(out));
  const store = openStore(out);
  const digest = createHash("sha256").update(makeInputs(10).map((x) => `${createHash("sha256").update(x.text).digest("hex")}\n`).join("")).digest("hex");
  assert.equal(store.index.inputsDigest, digest);
  const h = store.hook("blocks.0.hook_resid_post");
  assert.equal(h.cacheKey, createHash("sha256").update(["madkit-activations/v1", "fake", "rev0", h.name, "last", digest].join("\0")).digest("hex"));
  assert.equal(h.cacheKey, activationCacheKey({ modelId: "fake", revision: "rev0", hook: h.name, pooling: "last", inputHash: digest }));
  assert.notEqual(store.hook("blocks.1.hook_resid_post").cacheKey, h.cacheKey);
});

test("a run killed after part 2 resumes: finished parts are untouched and the store equals an uninterrupted run", async () => {
  const ref = tmp();
  await extractActivations(base(ref));
  const out = tmp();
  await assert.rejects(
    extractActivations(base(out, { onProgress: (p) => { if (p.event === "part-written" && p.partsDone === 2) throw new Error("killed"); } })),
    /killed/,
  );
  assert.equal(existsSync(path.join(out, "index.json")), false, "an unfinished store has no index");
  assert.throws(() => openStore(out), /unfinished/);
  // a kill in the middle of writing part 3 leaves temp files behind
  writeFileSync(path.join(out, "shards", "part-00002.safetensors.123.456.0.0.spool.tmp"), "half");
  writeFileSync(path.join(out, "shards", "part-00002.safetensors.123.456.0.tmp"), "half");
  const before = ["part-00000", "part-00001"].map((p) => {
    const f = path.join(out, "shards", `${p}.safetensors`);
    return { f, mtime: statSync(f).mtimeMs, bytes: readFileSync(f) };
  });
  const source = new FakeSource();
  const res = await extractActivations(base(out, { source }));
  assert.equal(res.partsReused, 2);
  assert.equal(res.partsWritten, 2);
  assert.equal(source.inputsRun, 4, "only the 4 inputs of parts 3 and 4 go through the model again");
  for (const b of before) {
    assert.equal(statSync(b.f).mtimeMs, b.mtime);
    assert.deepEqual(readFileSync(b.f), b.bytes);
  }
  assert.equal(readdirSync(path.join(out, "shards")).filter((f) => f.endsWith(".tmp")).length, 0, "temp files are deleted");
  assert.deepEqual(filesOf(out), filesOf(ref));
});

test("a part file renamed into place before progress.json was updated is reused, not recomputed", async () => {
  const out = tmp();
  await assert.rejects(extractActivations(base(out, { onProgress: (p) => { if (p.event === "part-written") throw new Error("killed"); } })), /killed/);
  writeFileSync(path.join(out, "progress.json"), readFileSync(path.join(out, "progress.json"), "utf8").replace('"partsDone": 1', '"partsDone": 0'));
  const source = new FakeSource();
  const res = await extractActivations(base(out, { source }));
  assert.equal(res.partsReused, 1);
  assert.equal(source.inputsRun, 7);
});

test("rerunning a finished store with the same arguments recomputes nothing", async () => {
  const out = tmp();
  await extractActivations(base(out));
  const before = filesOf(out);
  const source = new FakeSource();
  const res = await extractActivations(base(out, { source }));
  assert.equal(source.forwardCalls, 0);
  assert.equal(res.partsReused, 4);
  assert.deepEqual(filesOf(out), before);
});

test("resuming with another revision, pooling or hook set is STORE_MISMATCH naming the difference", async () => {
  const out = tmp();
  await extractActivations(base(out));
  const mismatch = (re: RegExp) => (e: unknown) => e instanceof MadkitError && e.code === "STORE_MISMATCH" && re.test(e.message);
  await assert.rejects(extractActivations(base(out, { source: new FakeSource({ revision: "rev1" }) })), mismatch(/revision rev0, this run's weights are revision rev1/));
  await assert.rejects(extractActivations(base(out, { pooling: "mean" })), mismatch(/pooling 'last', this run asks for 'mean'/));
  await assert.rejects(extractActivations(base(out, { hooks: "blocks.0.hook_resid_post" })), mismatch(/hooks \[hook_embed\(3\), .*this run asks for \[blocks\.0\.hook_resid_post\(4\)\]/));
  await assert.rejects(extractActivations(base(out, { chunkSize: 4 })), mismatch(/chunk size 3, this run asks for 4/));
  // --overwrite replaces it
  await extractActivations(base(out, { pooling: "mean", overwrite: true }));
  assert.equal(openStore(out).index.pooling, "mean");
});

test("resuming over changed inputs is STORE_MISMATCH naming the input", async () => {
  const out = tmp();
  await assert.rejects(extractActivations(base(out, { onProgress: (p) => { if (p.event === "part-written" && p.partsDone === 2) throw new Error("killed"); } })), /killed/);
  const changed = makeInputs(10);
  changed[4] = { ...changed[4]!, text: "something else entirely" };
  await assert.rejects(extractActivations(base(out, { inputs: changed })), /input #4 \('in4'\) differs from the one stored/);
});

test("a NaN activation is NON_FINITE naming the input id and hook, and leaves no partial part", async () => {
  const out = tmp();
  const inputs = makeInputs(6);
  inputs[4] = { id: "poisoned", text: "the BOOM cat", label: 0 };
  await assert.rejects(
    extractActivations(base(out, { inputs, source: new FakeSource({ poisonWord: "BOOM" }) })),
    (e: unknown) => e instanceof MadkitError && e.code === "NON_FINITE" && /input 'poisoned'.*hook 'blocks\.1\.hook_resid_post'.*NaN/.test(e.message),
  );
  assert.deepEqual(readdirSync(path.join(out, "shards")), ["part-00000.safetensors"]);
});

test("an unknown hook lists the valid hooks", async () => {
  await assert.rejects(extractActivations(base(tmp(), { hooks: "blocks.*.hook_nope" })), /unknown hook 'blocks\.\*\.hook_nope'; this model's hook points are: hook_embed, blocks\.0/);
});

test("limit keeps the first N inputs; a later run without it extends the store and rebuilds only the short last part", async () => {
  const out = tmp();
  await extractActivations(base(out, { limit: 4 }));
  assert.deepEqual(openStore(out).inputs().map((r) => r.id), ["in0", "in1", "in2", "in3"]);
  const source = new FakeSource();
  const res = await extractActivations(base(out, { source }));
  assert.equal(res.partsReused, 1);
  assert.equal(source.inputsRun, 7);
  const ref = tmp();
  await extractActivations(base(ref));
  assert.deepEqual(filesOf(out), filesOf(ref));
});

test("part files are plain safetensors: one float32 [rows x dim] tensor per hook", async () => {
  const out = tmp();
  await extractActivations(base(out));
  const p = readSafetensors(path.join(out, "shards", "part-00000.safetensors"));
  assert.deepEqual([...p.tensors.keys()], ["hook_embed", "blocks.0.hook_resid_post", "blocks.1.hook_resid_post", "sentence_embedding"]);
  assert.deepEqual(p.tensors.get("hook_embed")!.shape, [3, 3]);
  assert.ok(p.tensors.get("hook_embed")!.data instanceof Float32Array);
  assert.equal(p.metadata.format, "madkit-activations-part");
});
