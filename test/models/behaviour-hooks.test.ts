// The derived behaviour hooks on the real stories260K against the llama2.c source's own language-model views:
// hook_token_nll against tokenLogProbs, hook_output_entropy against a float64 entropy of
// nextTokenDistribution (last position) and of a float64 softmax of the logits (every position).

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { poolTokens } from "../../src/activations/pooling.js";
import { config } from "../../src/config.js";
import { behaviourFromLogits, OUTPUT_ENTROPY_HOOK, TOKEN_NLL_HOOK } from "../../src/models/behaviour-hooks.js";
import { loadLlama2cSource } from "../../src/models/llama2c/source.js";
import { missingSharedFile } from "../helpers/reference-tools.js";

const dir = path.join(config.sharedDir, "models/stories260K");
const ckpt = path.join(dir, "stories260K.bin");
const present = existsSync(ckpt);

const TEXTS = [
  "Once upon a time, there was a little girl named Lily. She loved to play outside.",
  "Hi",
  "qzx vbn 1234 %%% the the the",
];

function entropy64(p: Float64Array): number {
  let h = 0;
  for (const v of p) if (v > 0) h -= v * Math.log(v);
  return h;
}

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-5 * (1 + Math.abs(b)), `${what}: ${a} vs ${b}`);

test("hook_token_nll row t equals tokenLogProbs entry t−1, row 0 is 0, and mean pooling is the mean NLL over all rows", async (t) => {
  if (!present) return t.skip(missingSharedFile(ckpt));
  const src = await loadLlama2cSource({ checkpoint: path.join(dir, "stories260K.bin"), tokenizer: path.join(dir, "tok512.bin") });
  const r = await src.forward(TEXTS, { hooks: [TOKEN_NLL_HOOK] });
  TEXTS.forEach((text, i) => {
    const m = r.activations[i]!.get(TOKEN_NLL_HOOK)!;
    const ref = src.tokenLogProbs(text);
    assert.equal(m.cols, 1);
    assert.equal(m.rows, ref.length + 1);
    assert.equal(m.data[0], 0);
    for (let t = 1; t < m.rows; t++) close(m.data[t]!, ref[t - 1]!, `text ${i} token ${t}`);
    const mean = ref.reduce((a, b) => a + b, 0) / m.rows;
    close(poolTokens(m, "mean").data[0]!, mean, `text ${i} mean`);
    close(poolTokens(m, "last").data[0]!, ref[ref.length - 1] ?? 0, `text ${i} last`);
  });
  assert.equal(r.activations[0]!.has("logits"), false, "logits are used internally, not returned unasked");
});

test("hook_output_entropy equals the float64 entropy of the next-token distribution at every position", async (t) => {
  if (!present) return t.skip(missingSharedFile(ckpt));
  const src = await loadLlama2cSource({ checkpoint: path.join(dir, "stories260K.bin"), tokenizer: path.join(dir, "tok512.bin") });
  const r = await src.forward(TEXTS, { hooks: [OUTPUT_ENTROPY_HOOK, "logits", TOKEN_NLL_HOOK] });
  const V = src.info.vocabSize;
  TEXTS.forEach((text, i) => {
    const m = r.activations[i]!.get(OUTPUT_ENTROPY_HOOK)!;
    close(m.data[m.rows - 1]!, entropy64(src.nextTokenDistribution(text)), `text ${i} last position`);
    const logits = r.activations[i]!.get("logits")!;
    for (let t = 0; t < m.rows; t++) {
      const row = logits.data.subarray(t * V, (t + 1) * V);
      const max = Math.max(...row);
      const p = Float64Array.from(row, (v) => Math.exp(v - max));
      const z = p.reduce((a, b) => a + b, 0);
      for (let j = 0; j < V; j++) p[j] = p[j]! / z;
      close(m.data[t]!, entropy64(p), `text ${i} position ${t}`);
      assert.ok(m.data[t]! >= 0 && m.data[t]! <= Math.log(V) + 1e-6);
    }
  });
});

test("behaviourFromLogits gives log V entropy and NLL for flat logits and the closed forms of a two-way softmax", () => {
  const V = 4;
  const logits = new Float32Array([0, 0, 0, 0, Math.log(3), 0, -Infinity, -Infinity, 5, 1, 2, 3]);
  const r = behaviourFromLogits(logits, [1, 0, 0], V, { nll: true, entropy: true });
  assert.equal(r.nll![0], 0);
  close(r.entropy![0]!, Math.log(4), "flat entropy");
  close(r.nll![1]!, Math.log(4), "flat nll");
  // Row 1: p = (3/4, 1/4, 0, 0); the next token is 0.
  close(r.entropy![1]!, -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25)), "two-way entropy");
  close(r.nll![2]!, -Math.log(0.75), "two-way nll");
  assert.equal(behaviourFromLogits(logits, [1, 0, 0], V, { nll: false, entropy: true }).nll, undefined);
});
