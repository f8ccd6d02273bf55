// End to end on the real stories260k checkpoint through the CLI's in-process `run`: extract, shard + combine,
// hooks, generate. Skipped when the shared models folder is absent (a failure under MADKIT_REQUIRE_REFERENCES=1);
// see config.sharedDir.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { openStore } from "../../src/activations/store.js";
import { capture, cli } from "../helpers/cli.js";
import { config } from "../../src/config.js";
import { loadModel } from "../../src/models/registry.js";
import { missingSharedFile } from "../helpers/reference-tools.js";

const ckpt = path.join(config.sharedDir, "models/stories260K/stories260K.bin");
const present = existsSync(ckpt);

const TEXTS = [
  "Once upon a time, there was a little girl named Lily.",
  "The dog ran to the park and played with a red ball.",
  "Tom was sad because his toy was broken.",
  "She smiled.",
  "One day, a big bird flew over the tall tree and sang a happy song for everyone.",
  "Mom said, \"Let's bake a cake!\"",
  "The sun was warm.",
];

function inputFile(dir: string): string {
  const f = path.join(dir, "prompts.jsonl");
  writeFileSync(f, TEXTS.map((text, i) => JSON.stringify({ id: `p${i}`, text, label: i % 2 === 0 ? "even" : "odd" })).join("\n") + "\n");
  return f;
}

test("madkit extract on stories260k stores exactly the model's last-token and mean residuals", async (t) => {
  if (!present) return t.skip(missingSharedFile(ckpt));
  const dir = mkdtempSync(path.join(os.tmpdir(), "madkit-e2e-"));
  const input = inputFile(dir);
  const summary = JSON.parse(await cli(["extract", "--model", "stories260k", "--input", input, "--hooks", "blocks.*.hook_resid_post", "--pool", "last", "--out", path.join(dir, "last"), "--chunk", "3", "--batch", "2", "--json"]));
  assert.equal(summary.inputs, 7);
  assert.deepEqual(summary.hooks.map((h: { name: string; dim: number }) => [h.name, h.dim]), [0, 1, 2, 3, 4].map((l) => [`blocks.${l}.hook_resid_post`, 64]));
  assert.equal(summary.files.length, 2 + 3);
  await cli(["extract", "--input", input, "--hooks", "blocks.2.hook_resid_post", "--pool", "mean", "--out", path.join(dir, "mean"), "--json"]);

  const source = await loadModel("stories260k");
  const direct = await source.forward(TEXTS, { hooks: ["blocks.4.hook_resid_post", "blocks.2.hook_resid_post"] });
  const last = openStore(path.join(dir, "last"));
  assert.equal(last.index.model.revision, source.info.revision);
  const m4 = last.readHook("blocks.4.hook_resid_post");
  const mean = openStore(path.join(dir, "mean")).readHook("blocks.2.hook_resid_post");
  TEXTS.forEach((_, i) => {
    const a = direct.activations[i]!.get("blocks.4.hook_resid_post")!;
    assert.deepEqual(m4.data.subarray(i * 64, (i + 1) * 64), a.data.subarray((a.rows - 1) * 64, a.rows * 64));
    const b = direct.activations[i]!.get("blocks.2.hook_resid_post")!;
    for (let j = 0; j < 64; j++) {
      let s = 0;
      for (let t = 0; t < b.rows; t++) s += b.data[t * 64 + j]!;
      assert.ok(Math.abs(mean.data[i * 64 + j]! - s / b.rows) <= 1e-5 * (1 + Math.abs(s / b.rows)));
    }
  });
  assert.deepEqual(last.inputs().map((r) => r.tokens), direct.tokenCounts);
  assert.deepEqual(last.inputs().map((r) => r.label), TEXTS.map((_, i) => (i % 2 === 0 ? "even" : "odd")));
  await source.dispose();
});

test("madkit extract --shard 0/2 and 1/2, then madkit combine, equal the unsharded stories260k run byte for byte", async (t) => {
  if (!present) return t.skip(missingSharedFile(ckpt));
  const dir = mkdtempSync(path.join(os.tmpdir(), "madkit-e2e-"));
  const input = inputFile(dir);
  const common = ["--input", input, "--pool", "all", "--hooks", "blocks.1.*,ln_final.hook_normalized", "--chunk", "2"];
  await cli(["extract", ...common, "--out", path.join(dir, "full")]);
  await cli(["extract", ...common, "--shard", "0/2", "--out", path.join(dir, "s0")]);
  await cli(["extract", ...common, "--shard", "1/2", "--out", path.join(dir, "s1")]);
  await cli(["combine", path.join(dir, "s0"), path.join(dir, "s1"), "--out", path.join(dir, "combined")]);
  const files = (d: string) => ["index.json", "inputs.jsonl", ...readdirSync(path.join(d, "shards")).map((f) => `shards/${f}`)].map((f) => [f, readFileSync(path.join(d, f))] as const);
  assert.deepEqual(files(path.join(dir, "combined")), files(path.join(dir, "full")));
  assert.equal(openStore(path.join(dir, "full")).index.hooks.length, 5);
});

test("madkit hooks lists stories260k's 24 hook points with width 64 (logits 512, the two behaviour hooks 1)", async (t) => {
  if (!present) return t.skip(missingSharedFile(ckpt));
  const out = JSON.parse(await cli(["hooks", "--model", "stories260k", "--json"]));
  assert.equal(out.hooks.length, 24);
  assert.deepEqual(out.hooks.at(-3), { name: "logits", dim: 512, granularity: "token", layer: 5 });
  assert.deepEqual(out.hooks.at(-1), { name: "hook_output_entropy", dim: 1, granularity: "token", layer: 5 });
});

test("madkit generate continues 'Once upon a time' greedily like the reference llama2.c run", async (t) => {
  if (!present) return t.skip(missingSharedFile(ckpt));
  const reference = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.";
  const text = (await cli(["generate", "--model", "stories260k", "--prompt", "Once upon a time", "--steps", "30"])).trim();
  assert.ok(text.length > 40 && reference.startsWith(text), text);
});
