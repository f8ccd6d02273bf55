// Every model adapter reports, per input, how much of the text its tokenizer could not read
// (ForwardResult.unknownTokens / unknownShare): use-lite reads no Japanese, Chinese, emoji, zero-width space or
// NUL; stories260K's llama2.c vocabulary has byte pieces and reads everything; babyllama-105's has none.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { config } from "../../src/config.js";
import { loadModel } from "../../src/models/registry.js";
import { unknownShareOf, visibleLength } from "../../src/models/unknown-share.js";
import { missingSharedFile } from "../helpers/reference-tools.js";

const UNREADABLE = ["日本語のテキストです", "这是一个中文句子", "😀", "\u200b", "\u0000"];
const TEXTS = [...UNREADABLE, "Once upon a time there was a cat.", "hello 😀 world", "   "];

test("the share counts visible characters: whitespace and SentencePiece's ▁ are not characters; nothing visible is share 1", () => {
  assert.equal(visibleLength("▁hello world\t\n"), 10);
  assert.equal(visibleLength("\u200b"), 1, "a zero-width space is a character the model must read");
  assert.equal(visibleLength("\u0000"), 1);
  assert.equal(unknownShareOf(0, 0), 1);
  assert.equal(unknownShareOf(1, 10), 0.1);
});

test("use-lite: unreadable scripts and symbols are one unknown token each, share 1; English 0; mixed in between", async () => {
  const source = await loadModel("use-lite");
  try {
    const r = await source.forward(TEXTS, { hooks: ["hook_sentence_embedding"] });
    assert.deepEqual(r.unknownTokens, [1, 1, 1, 1, 1, 0, 1, 0]);
    assert.deepEqual(r.unknownShare.map((x) => Number(x.toFixed(3))), [1, 1, 1, 1, 1, 0, 0.091, 1]);
    // Why it matters: every unreadable input is the same input to the model.
    const first = r.activations[0]!.get("hook_sentence_embedding")!.data;
    for (let i = 1; i < UNREADABLE.length; i++) assert.deepEqual(r.activations[i]!.get("hook_sentence_embedding")!.data, first);
  } finally {
    await source.dispose();
  }
});

test("llama2.c: stories260K's byte-fallback vocabulary reads everything; babyllama-105's reports what it cannot", async (t) => {
  const stories = path.join(config.sharedDir, "models/stories260K/stories260K.bin");
  const baby = path.join(config.sharedDir, "models/babyllama-tok105/model5000.bin");
  if (!existsSync(stories)) return t.skip(missingSharedFile(stories));
  const s = await loadModel("stories260k");
  const r = await s.forward(TEXTS, { hooks: ["blocks.0.hook_resid_post"] });
  assert.deepEqual(r.unknownTokens, [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(r.unknownShare, [0, 0, 0, 0, 0, 0, 0, 1], "only whitespace: nothing to read");
  if (!existsSync(baby)) return t.skip(missingSharedFile(baby));
  const b = await loadModel("babyllama-105");
  const rb = await b.forward(TEXTS, { hooks: ["blocks.0.hook_resid_post"] });
  assert.deepEqual(rb.unknownShare.map((x) => Number(x.toFixed(3))), [1, 1, 1, 1, 1, 0, 0.091, 1]);
  assert.deepEqual(rb.unknownTokens.slice(0, 3), [Array.from(UNREADABLE[0]!).length, Array.from(UNREADABLE[1]!).length, 1], "one <unk> per code point");
});
