// The jax-js Llama-2 model against the independent TS forward (src/models/llama2c/forward.ts) on the real
// stories260K weights; fine-tuning lowers the loss on a fixed set; a saved checkpoint reads back bit for bit.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { numpy as np } from "@jax-js/jax";
import { config } from "../../../src/config.js";
import { readLlama2cCheckpoint, writeLlama2cCheckpoint } from "../../../src/models/llama2c/checkpoint.js";
import { forwardChunk } from "../../../src/models/llama2c/forward.js";
import { encode, readLlama2cTokenizer } from "../../../src/models/llama2c/tokenizer.js";
import { fineTuneLlama } from "../../../src/train/llama/fine-tune.js";
import { llamaConstants, llamaLogits } from "../../../src/train/llama/llama-forward.js";
import { paramsFromCheckpoint } from "../../../src/train/llama/llama-params.js";
import { toDevice } from "../../../src/train/params.js";

const MODEL = path.join(config.sharedDir, "models/stories260K/stories260K.bin");
const TOKENIZER = path.join(config.sharedDir, "models/stories260K/tok512.bin");

test("jax-js logits equal the TS forward's within 1e-4 on stories260K for a batch of two sequences", () => {
  const ck = readLlama2cCheckpoint(MODEL);
  const tok = readLlama2cTokenizer(TOKENIZER);
  const T = 48;
  const texts = ["Once upon a time, there was a little girl named Lily. She loved to play outside.", "The big dog ran to the park and found a red ball under a tree."];
  const ids = new Int32Array(2 * T);
  texts.forEach((s, b) => ids.set(encode(tok, s, true, false).subarray(0, T), b * T));
  const got = llamaLogits(ck.config, toDevice(paramsFromCheckpoint(ck)), llamaConstants(ck.config, T), np.array(ids, { dtype: np.int32 }).reshape([2, T]))
    .dataSync() as Float32Array;
  const V = ck.config.vocabSize;
  let maxDiff = 0;
  for (let b = 0; b < 2; b++) {
    const ref = forwardChunk(ck, ids.subarray(b * T, (b + 1) * T), { hooks: ["logits"] }).hooks.get("logits")!;
    for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i]! - got[b * T * V + i]!));
  }
  assert.ok(maxDiff < 1e-4, `max |Δlogit| = ${maxDiff}`);
});

test("fine-tuning on a small fixed set lowers its training loss and changes the weights deterministically", () => {
  const ck = readLlama2cCheckpoint(MODEL);
  const tok = readLlama2cTokenizer(TOKENIZER);
  // A sequence the model cannot predict well at first (a fixed odd phrase), repeated: the loss must fall.
  const seqs = ["The zebra sang blue numbers to the quiet moon.", "Tom ate a purple cloud and the cloud ate Tom."].map((s) => ({
    ids: encode(tok, s, true, false),
  }));
  const opts = { seed: 3, steps: 25, batchSize: 4, windowLength: 24, learningRate: 3e-3, weightDecay: 0 };
  const a = fineTuneLlama(ck, seqs, opts);
  const first = a.losses.slice(0, 3).reduce((s, x) => s + x, 0) / 3;
  const last = a.losses.slice(-3).reduce((s, x) => s + x, 0) / 3;
  assert.ok(last < 0.7 * first, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
  const b = fineTuneLlama(ck, seqs, opts);
  assert.deepEqual(b.losses, a.losses);
  assert.deepEqual(b.checkpoint.weights.wq, a.checkpoint.weights.wq);
  assert.notDeepEqual(a.checkpoint.weights.wq, ck.weights.wq);
});

test("a fine-tuned checkpoint saved in the llama2.c layout reads back with bit-identical weights", () => {
  const ck = readLlama2cCheckpoint(MODEL);
  const tok = readLlama2cTokenizer(TOKENIZER);
  const { checkpoint } = fineTuneLlama(ck, [{ ids: encode(tok, "Lily saw a bird. The bird sang.", true, false) }], {
    seed: 1, steps: 2, batchSize: 2, windowLength: 16,
  });
  const dir = mkdtempSync(path.join(tmpdir(), "madkit-llama-"));
  try {
    const file = path.join(dir, "model.bin");
    writeLlama2cCheckpoint(file, checkpoint.config, checkpoint.weights);
    const back = readLlama2cCheckpoint(file);
    assert.deepEqual(back.config, checkpoint.config);
    for (const key of Object.keys(checkpoint.weights) as (keyof typeof checkpoint.weights)[]) {
      const x = checkpoint.weights[key], y = back.weights[key];
      assert.equal(y.length, x.length, key);
      assert.ok(Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength)), `${key} differs`);
    }
    assert.equal(back.revision, checkpoint.revision);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
