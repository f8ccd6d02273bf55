// The ONNX export of stories260K against the llama2.c adapter as the oracle: every hook activation on a
// right-padded batch of prompts of different lengths, and tokenizer.json's ids against run.c's encoder.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { Tokenizer } from "@huggingface/tokenizers";
import { config } from "../../../src/config.js";
import { loadLlama2cSource } from "../../../src/models/llama2c/source.js";
import { encode, readLlama2cTokenizer } from "../../../src/models/llama2c/tokenizer.js";
import { exportLlama2cToOnnx } from "../../../src/models/onnx/export-llama2c.js";
import { loadOnnxSource } from "../../../src/models/onnx/source.js";

const dir = path.join(config.sharedDir, "models/stories260K");
const checkpoint = path.join(dir, "stories260K.bin");
const tokenizerBin = path.join(dir, "tok512.bin");
const tmp = mkdtempSync(path.join(os.tmpdir(), "madkit-onnx-export-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const result = await exportLlama2cToOnnx(checkpoint, tokenizerBin, tmp);
const onnx = await loadOnnxSource({ dir: tmp, id: "onnx:stories260k" });
const ref = await loadLlama2cSource({ checkpoint, tokenizer: tokenizerBin, id: "stories260k" });
after(async () => {
  await onnx.dispose();
  await ref.dispose();
});

const paragraphs = readFileSync(path.join(config.sharedDir, "data/tinystories/tinystories_sample_niklas6.txt"), "utf8")
  .split(/\n\s*\n/)
  .map((p) => p.trim())
  .filter((p) => p.length > 0);

const ODD_TEXTS = [
  "  leading and trailing spaces  ",
  "tabs\tand\nnew\n\nlines",
  "Émile ate crème brûlée — naïve café ™ …",
  "日本語のテキスト and 中文",
  "emoji 🐱🚀 and 👩‍👩‍👧 families",
  "numbers 1234567890, 3.14159 and 2+2=4!",
  "",
  "a",
  " ",
  "ALL CAPS SHOUTING!!! ??? ...",
  "x".repeat(300),
];

test("the export writes config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx with the Llama config", () => {
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"]) {
    assert.ok(existsSync(path.join(tmp, f)), `${f} missing`);
  }
  assert.equal(result.files.length, 4);
  const cfg = JSON.parse(readFileSync(path.join(tmp, "config.json"), "utf8"));
  assert.deepEqual(
    [cfg.model_type, cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.intermediate_size, cfg.vocab_size, cfg.max_position_embeddings],
    ["llama", 64, 5, 8, 4, 172, 512, 512],
  );
  assert.equal(onnx.info.nLayers, 5);
  assert.equal(onnx.info.dModel, 64);
});

test("the ONNX source exposes exactly the llama2.c adapter's hook points", () => {
  assert.deepEqual(
    onnx.hooks().map((h) => [h.name, h.dim, h.layer]),
    ref.hooks().map((h) => [h.name, h.dim, h.layer]),
  );
});

test("every hook activation equals the llama2.c adapter's within 1e-4 on a right-padded batch of different lengths", async () => {
  const prompts = [
    "Once upon a time, there was a little cat.",
    "Hi",
    paragraphs[0]!,
    paragraphs[3]!.slice(0, 200),
    "Tom and Lily went to the park. 🐶 They saw a big dog!",
  ];
  const hooks = onnx.hooks().map((h) => h.name);
  const got = await onnx.forward(prompts, { hooks });
  const want = await ref.forward(prompts, { hooks });
  assert.deepEqual(got.tokenCounts, want.tokenCounts);
  assert.ok(new Set(got.tokenCounts).size >= 4, "prompts must differ in length so padding is exercised");
  for (let i = 0; i < prompts.length; i++) {
    for (const h of hooks) {
      const a = got.activations[i]!.get(h)!;
      const b = want.activations[i]!.get(h)!;
      assert.equal(a.rows, b.rows, `${h} rows, prompt ${i}`);
      assert.equal(a.cols, b.cols, `${h} cols, prompt ${i}`);
      let max = 0;
      for (let j = 0; j < a.data.length; j++) max = Math.max(max, Math.abs(a.data[j]! - b.data[j]!));
      assert.ok(max <= 1e-4, `${h}, prompt ${i}: max |onnx - llama2c| = ${max}`);
    }
  }
});

test("a prompt's activations do not depend on the other prompts in its batch", async () => {
  const hooks = ["blocks.4.hook_resid_post", "logits"];
  const alone = await onnx.forward(["Hi"], { hooks });
  const batched = await onnx.forward(["Hi", paragraphs[1]!], { hooks });
  for (const h of hooks) {
    const a = alone.activations[0]!.get(h)!.data;
    const b = batched.activations[0]!.get(h)!.data;
    let max = 0;
    for (let j = 0; j < a.length; j++) max = Math.max(max, Math.abs(a[j]! - b[j]!));
    assert.ok(max <= 1e-5, `${h}: padding changed the result by ${max}`);
  }
});

test("inputs longer than max_position_embeddings are cut at 512 tokens and flagged as truncated", async () => {
  const long = paragraphs.slice(0, 12).join(" ");
  assert.ok(onnx.tokenize(long).ids.length > 512);
  const r = await onnx.forward([long, "Hi"], { hooks: ["blocks.0.hook_resid_post"] });
  assert.deepEqual(r.truncated, [true, false]);
  assert.equal(r.tokenCounts[0], 512);
  assert.equal(r.activations[0]!.get("blocks.0.hook_resid_post")!.rows, 512);
  // The last positions use the far end of the RoPE table: still equal to the llama2.c adapter.
  const want = await ref.forward([long], { hooks: ["blocks.0.hook_resid_post"] });
  const a = r.activations[0]!.get("blocks.0.hook_resid_post")!.data;
  const b = want.activations[0]!.get("blocks.0.hook_resid_post")!.data;
  let max = 0;
  for (let j = 0; j < a.length; j++) max = Math.max(max, Math.abs(a[j]! - b[j]!));
  assert.ok(max <= 1e-4, `max |onnx - llama2c| = ${max}`);
});

test("tokenizer.json gives the llama2.c tokenizer's ids on 200 TinyStories paragraphs and on odd text", () => {
  const tok = readLlama2cTokenizer(tokenizerBin);
  for (const text of [...paragraphs.slice(0, 200), ...ODD_TEXTS]) {
    assert.deepEqual(Array.from(onnx.tokenize(text).ids), Array.from(encode(tok, text, true, false)), JSON.stringify(text.slice(0, 60)));
  }
});

test("tokenizer.json decodes ids back to the original text", () => {
  const hf = new Tokenizer(
    JSON.parse(readFileSync(path.join(tmp, "tokenizer.json"), "utf8")),
    JSON.parse(readFileSync(path.join(tmp, "tokenizer_config.json"), "utf8")),
  );
  for (const text of [paragraphs[2]!, "emoji 🐱🚀 and 日本語"]) {
    assert.equal(hf.decode(hf.encode(text).ids, { skip_special_tokens: true }), text);
  }
});
