// The llama2.c ActivationSource end to end on the shared checkpoints: greedy generation reproduces the
// reference llama2.c run, hooks come back with the right shapes, and bad files fail with named errors.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { config } from "../../../src/config.js";
import { MadkitError } from "../../../src/errors.js";
import { writeFileAtomic } from "../../../src/io/atomic-write.js";
import { loadLlama2cSource } from "../../../src/models/llama2c/source.js";
import { encode } from "../../../src/models/llama2c/tokenizer.js";

const models = path.join(config.sharedDir, "models");
const stories = { checkpoint: path.join(models, "stories260K/stories260K.bin"), tokenizer: path.join(models, "stories260K/tok512.bin") };
const baby = { checkpoint: path.join(models, "babyllama-tok105/model5000.bin"), tokenizer: path.join(models, "babyllama-tok105/tok105.bin") };
const source = await loadLlama2cSource(stories);
const tmp = mkdtempSync(path.join(os.tmpdir(), "madkit-llama2c-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The greedy sample printed under `./run stories260K/stories260K.bin -z stories260K/tok512.bin -t 0.0` in stories260K.md. */
function referenceStory(): string {
  const md = readFileSync(path.join(models, "stories260K/stories260K.md"), "utf8");
  const m = /\$ \.\/run stories260K\/stories260K\.bin -z stories260K\/tok512\.bin -t 0\.0\n([\s\S]*?)\n```/.exec(md);
  assert.ok(m, "reference block not found in stories260K.md");
  return m[1]!;
}

test("greedy continuation of 'Once upon a time' equals llama2.c's reference story token for token", () => {
  const ref = referenceStory();
  const refIds = encode(source.tokenizer, ref);
  assert.ok(refIds.length > 200, `reference story is only ${refIds.length} tokens`);
  const prompt = "Once upon a time";
  const promptLen = encode(source.tokenizer, prompt).length;
  const g = source.generate(prompt, { maxNewTokens: refIds.length - promptLen });
  assert.equal(g.promptTokens, promptLen);
  assert.deepEqual(g.ids, refIds);
  assert.equal(g.text, ref);
});

test("the source lists every hook point with its width and layer, in forward order", () => {
  const hooks = source.hooks();
  assert.equal(hooks.length, 5 * 4 + 2 + 2);
  assert.deepEqual(hooks[0], { name: "blocks.0.hook_resid_pre", dim: 64, granularity: "token", layer: 0 });
  assert.deepEqual(hooks[19], { name: "blocks.4.hook_resid_post", dim: 64, granularity: "token", layer: 4 });
  assert.deepEqual(hooks[20], { name: "ln_final.hook_normalized", dim: 64, granularity: "token", layer: 5 });
  assert.deepEqual(hooks[21], { name: "logits", dim: 512, granularity: "token", layer: 5 });
  assert.deepEqual(hooks.slice(22).map((h) => h.name), ["hook_token_nll", "hook_output_entropy"]);
  assert.equal(source.info.id, "llama2c:stories260K.bin");
  assert.match(source.info.revision, /^[0-9a-f]{16}$/);
  assert.equal(source.info.contextLength, 512);
});

test("forward returns [tokens x dim] matrices per input and flags inputs cut at the context length", async () => {
  const long = "The cat sat on the mat and looked at the big red ball. ".repeat(60);
  const texts = ["Tom had a red ball.", long];
  const r = await source.forward(texts, { hooks: ["blocks.*.hook_resid_post", "logits"] });
  const n0 = source.tokenize(texts[0]!).ids.length;
  assert.deepEqual(r.tokenCounts, [n0, 512]);
  assert.deepEqual(r.truncated, [false, true]);
  assert.deepEqual([...r.activations[0]!.keys()], [0, 1, 2, 3, 4].map((l) => `blocks.${l}.hook_resid_post`).concat("logits"));
  const m = r.activations[1]!.get("blocks.3.hook_resid_post")!;
  assert.equal(m.rows, 512);
  assert.equal(m.cols, 64);
  assert.equal(r.activations[0]!.get("logits")!.cols, 512);
  // A truncated input's activations are those of its first 512 tokens run alone (causality).
  const first = source.tokenize(long).ids.slice(0, 512);
  assert.deepEqual(r.activations[1]!.get("logits")!.data, source.logits(first).data);
});

test("an empty text runs as the single BOS token", async () => {
  const r = await source.forward([""], { hooks: ["ln_final.hook_normalized"] });
  assert.deepEqual(r.tokenCounts, [1]);
  assert.equal(r.activations[0]!.get("ln_final.hook_normalized")!.rows, 1);
});

test("tokenize returns BOS first and pieces that concatenate to the text", () => {
  const t = source.tokenize("Lily saw a big dog.");
  assert.equal(t.ids[0], 1);
  assert.equal(t.pieces.length, t.ids.length);
  assert.equal(t.pieces.slice(1).join(""), "Lily saw a big dog.");
});

test("tokenLogProbs is the negative log softmax of the logits at the next token, recomputed in float64", () => {
  const text = "One day, a little girl named Lily found a needle in her room.";
  const ids = source.tokenize(text).ids;
  const nll = source.tokenLogProbs(text);
  assert.equal(nll.length, ids.length - 1);
  const logits = source.logits(ids);
  for (let t = 0; t + 1 < ids.length; t++) {
    const row = logits.data.subarray(t * logits.cols, (t + 1) * logits.cols);
    let z = 0;
    for (const v of row) z += Math.exp(v);
    assert.ok(Math.abs(nll[t]! - (Math.log(z) - row[ids[t + 1]!]!)) < 1e-9);
  }
  // An in-distribution sentence is far likelier than uniform over 512 tokens (ln 512 = 6.24 nats).
  assert.ok(nll.reduce((a, b) => a + b, 0) / nll.length < 3);
});

test("nextTokenDistribution sums to one and its mode is the first greedy token", () => {
  const p = source.nextTokenDistribution("Once upon a time");
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  const g = source.generate("Once upon a time", { maxNewTokens: 1 });
  const mode = p.indexOf(Math.max(...p));
  assert.equal(g.ids[g.ids.length - 1], mode);
});

test("sampling with the same seed gives the same text, and a different seed a different one", () => {
  const opts = { maxNewTokens: 60, temperature: 1, topp: 0.9 };
  const a = source.generate("Once upon a time", { ...opts, seed: 42 });
  const b = source.generate("Once upon a time", { ...opts, seed: 42 });
  const c = source.generate("Once upon a time", { ...opts, seed: 7 });
  assert.deepEqual(a.ids, b.ids);
  assert.notDeepEqual(a.ids, c.ids);
});

test("BabyLlama-tok105 loads, gives finite logits and greedy text made of letters and spaces", async () => {
  const s = await loadLlama2cSource({ ...baby, id: "babyllama-105" });
  assert.equal(s.info.id, "babyllama-105");
  assert.equal(s.info.vocabSize, 105);
  const logits = s.nextTokenLogits("Once upon a time");
  assert.equal(logits.length, 105);
  assert.ok(logits.every(Number.isFinite));
  const g = s.generate("Once upon a time", { maxNewTokens: 150 });
  const letters = g.text.replace(/[^A-Za-z ]/g, "").length;
  assert.ok(g.text.length > 100 && letters / g.text.length > 0.9, g.text);
});

async function rejects(fn: () => Promise<unknown>, code: string, ...mustMention: string[]): Promise<void> {
  await assert.rejects(fn, (e: unknown) => {
    assert.ok(e instanceof MadkitError, `expected MadkitError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const s of mustMention) assert.ok(e.message.includes(s), `message '${e.message}' should mention '${s}'`);
    return true;
  });
}

test("a missing checkpoint or tokenizer file is FILE_NOT_FOUND naming the path", async () => {
  const missing = path.join(tmp, "nope.bin");
  await rejects(() => loadLlama2cSource({ ...stories, checkpoint: missing }), "FILE_NOT_FOUND", missing);
  await rejects(() => loadLlama2cSource({ ...stories, tokenizer: missing }), "FILE_NOT_FOUND", missing);
});

test("a truncated checkpoint is MALFORMED_MODEL naming the file, its size and the size the header needs", async () => {
  const file = path.join(tmp, "truncated.bin");
  writeFileAtomic(file, readFileSync(stories.checkpoint).subarray(0, 300000));
  await rejects(() => loadLlama2cSource({ ...stories, checkpoint: file }), "MALFORMED_MODEL", file, "300000", "1056540");
});

test("a checkpoint with a garbage header is MALFORMED_MODEL quoting the header", async () => {
  const file = path.join(tmp, "garbage.bin");
  const bytes = new Uint8Array(readFileSync(stories.checkpoint));
  bytes.set(Buffer.from("this is not a model"), 0);
  writeFileAtomic(file, bytes);
  await rejects(() => loadLlama2cSource({ ...stories, checkpoint: file }), "MALFORMED_MODEL", file, "header");
});

test("a truncated tokenizer is MALFORMED_MODEL naming the file", async () => {
  const file = path.join(tmp, "tok-truncated.bin");
  writeFileAtomic(file, readFileSync(stories.tokenizer).subarray(0, 3001));
  await rejects(() => loadLlama2cSource({ ...stories, tokenizer: file }), "MALFORMED_MODEL", file, "truncated");
});

test("a tokenizer of the wrong vocabulary size is TOKENIZER_MISMATCH naming both sizes", async () => {
  await rejects(() => loadLlama2cSource({ ...stories, tokenizer: baby.tokenizer }), "TOKENIZER_MISMATCH", "105", "512", baby.tokenizer);
});

test("an unknown hook name is UNKNOWN_HOOK listing the valid names", async () => {
  await rejects(() => source.forward(["hi"], { hooks: ["blocks.0.hook_resid_mid"] }), "UNKNOWN_HOOK", "blocks.0.hook_resid_mid", "blocks.4.hook_mlp_out", "logits");
});
