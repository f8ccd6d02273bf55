// `madkit fit` and `madkit score` end to end through the in-process CLI: on a synthetic store (scores equal the
// library's, the JSONL file equals stdout), on a store extracted from the real stories260K (garbage strings
// score above held-out TinyStories paragraphs, on the fly and from a store alike), and the error cases.

import assert from "node:assert/strict";
import { closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { extractActivations } from "../../src/activations/extract.js";
import { openStore } from "../../src/activations/store.js";
import { partFileName } from "../../src/activations/store-layout.js";
import { capture, cli } from "../helpers/cli.js";
import { run } from "../../src/cli/main.js";
import { config } from "../../src/config.js";
import { loadBundle } from "../../src/bundle/bundle.js";
import { readSafetensorsHeader } from "../../src/io/safetensors.js";
import type { Matrix } from "../../src/linalg/matrix.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { FakeSource } from "../activations/fake-source.js";
import { missingSharedFile } from "../helpers/reference-tools.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "madkit-fit-score-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Run a command expected to fail with exit 1; returns stderr. */
async function fails(argv: string[]): Promise<string> {
  const io = capture();
  assert.equal(await run(argv, io), 1, `madkit ${argv.join(" ")} should fail; stdout: ${io.out()}`);
  assert.doesNotMatch(io.err(), /\n\s+at /, "no stack trace");
  return io.err();
}

const jsonl = (s: string) => s.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));

// A synthetic store: random word sequences through the closed-form fake model, mean-pooled.
const WORDS = ["cat", "dog", "sun", "red", "ran", "big", "the", "a", "tree", "ball", "sky", "happy", "blue", "small"];
const rng = new SeededRng(9);
const synthTexts = Array.from({ length: 80 }, () => Array.from({ length: 3 + rng.int(10) }, () => WORDS[rng.int(WORDS.length)]!).join(" "));
const synth = path.join(tmp, "synth");
await extractActivations({ source: new FakeSource({ contextLength: 64 }), inputs: synthTexts, hooks: "blocks.*.hook_resid_post", pooling: "mean", out: synth });

test("fit then score on a synthetic store prints per-hook, combined, p-value and flag records equal to the library's", async () => {
  const det = path.join(tmp, "synth-det");
  const summary = JSON.parse(
    await cli(["fit", "--activations", synth, "--hooks", "blocks.*.hook_resid_post", "--detector", "mahalanobis", "--param", "covariance=oas", "--combiner", "max", "--calibration", "0.25", "--seed", "3", "--alpha", "0.1", "--out", det, "--json"]),
  );
  assert.deepEqual(summary.hooks, [{ name: "blocks.0.hook_resid_post", dim: 4 }, { name: "blocks.1.hook_resid_post", dim: 4 }]);
  assert.deepEqual([summary.nTrain, summary.nNormalise, summary.nCalibrate], [60, 10, 10]);
  assert.deepEqual(summary.detector, { kind: "mahalanobis", params: { covariance: "oas" } });
  assert.deepEqual(summary.model, { id: "fake", revision: "rev0", format: "llama2c" });

  const outFile = path.join(tmp, "scores.jsonl");
  const stdout = await cli(["score", "--detector", det, "--activations", synth, "--alpha", "0.1", "--json", "--out", outFile]);
  assert.equal(readFileSync(outFile, "utf8"), stdout);
  const records = jsonl(stdout);
  assert.equal(records.length, 80);
  const store = openStore(synth);
  const bundle = loadBundle(det);
  const lib = bundle.score(new Map<string, Matrix>(bundle.hooks.map((h) => [h.name, store.readHook(h.name)])));
  records.forEach((r, i) => {
    assert.equal(r.id, String(i));
    assert.equal(r.combined, lib.combined[i]);
    assert.equal(r.pValue, lib.pValue[i]);
    assert.equal(r.scores["blocks.1.hook_resid_post"], lib.perHook.get("blocks.1.hook_resid_post")![i]);
    assert.equal(r.threshold, bundle.threshold(0.1));
    assert.equal(r.flagged, r.pValue <= 0.1);
    assert.equal(r.alpha, 0.1);
  });

  const table = await cli(["score", "--detector", det, "--activations", synth]);
  assert.match(table, /^h0 = blocks\.0\.hook_resid_post, h1 = blocks\.1\.hook_resid_post\nid\s+h0\s+h1\s+combined\s+p-value\s+flagged\n/);
  assert.match(table, /\d+ of 80 inputs flagged at α = 0\.1 \(combined max score > \d/);
  // 10 combined calibration scores cannot flag at α = 0.01: refused (it used to print a table flagging nothing).
  assert.match(await fails(["score", "--detector", det, "--activations", synth, "--alpha", "0.01"]), /α = 0\.01 can never flag anything .* of 10 calibration scores: .*smallest α it supports is 0\.091;/);
});

const ckpt = path.join(config.sharedDir, "models/stories260K/stories260K.bin");
const present = existsSync(ckpt);

const GARBAGE = [
  "zxq vbn 8812 @@## kkkk ppp qqq",
  "asdfgh jkl qwerty uiop zxcvbnm",
  "%%%% $$$$ #### !!!! &&&& ****",
  "1234567890 0987654321 5647382910",
  "Xyzzy plugh frobozz quux wibble",
  "ΑΒΓΔ ЖЗИЙ 漢字かな ★☆♥",
];

test("on stories260K, garbage strings score above held-out TinyStories paragraphs, on the fly and from a store identically", async (t) => {
  if (!present) return t.skip(missingSharedFile(ckpt));
  const story = path.join(config.sharedDir, "data/tinystories/tinystories_sample_niklas6.txt");
  const paragraphs = readFileSync(story, "utf8").split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p.length > 0);
  const trustedFile = path.join(tmp, "trusted.jsonl");
  writeFileSync(trustedFile, paragraphs.slice(0, 60).map((text, i) => JSON.stringify({ id: `t${i}`, text: text.slice(0, 400) })).join("\n") + "\n");
  const acts = path.join(tmp, "story-acts");
  await cli(["extract", "--model", "stories260k", "--input", trustedFile, "--hooks", "blocks.*.hook_resid_post,hook_token_nll", "--pool", "mean", "--out", acts, "--json"]);

  const mixed = [
    ...paragraphs.slice(200, 212).map((text, i) => ({ id: `story${i}`, text: text.slice(0, 400), label: 0 })),
    ...GARBAGE.map((text, i) => ({ id: `garbage${i}`, text, label: 1 })),
  ];
  const mixedFile = path.join(tmp, "mixed.jsonl");
  writeFileSync(mixedFile, mixed.map((r) => JSON.stringify(r)).join("\n") + "\n");

  const mean = (rs: { combined: number }[]) => rs.reduce((a, r) => a + r.combined, 0) / rs.length;
  for (const [detector, hooks] of [["mahalanobis", "blocks.*.hook_resid_post"], ["perplexity", "hook_token_nll"]] as const) {
    const det = path.join(tmp, `story-${detector}`);
    await cli(["fit", "--activations", acts, "--hooks", hooks, "--detector", detector, "--calibration", "0.4", "--alpha", "0.1", "--out", det, "--json"]);
    const onTheFly = jsonl(await cli(["score", "--detector", det, "--model", "stories260k", "--input", mixedFile, "--alpha", "0.1", "--json", "--batch", "5"]));
    assert.equal(onTheFly.length, mixed.length);
    const stories = onTheFly.filter((r) => r.label === 0);
    const garbage = onTheFly.filter((r) => r.label === 1);
    assert.ok(mean(garbage) > mean(stories), `${detector}: garbage mean ${mean(garbage)} vs stories ${mean(stories)}`);
    // The same inputs extracted to a store score identically.
    const mixedActs = path.join(tmp, `mixed-acts-${detector}`);
    await cli(["extract", "--model", "stories260k", "--input", mixedFile, "--hooks", hooks, "--pool", "mean", "--out", mixedActs, "--json"]);
    const fromStore = jsonl(await cli(["score", "--detector", det, "--activations", mixedActs, "--alpha", "0.1", "--json"]));
    assert.deepEqual(fromStore.map((r) => [r.id, r.combined, r.pValue, r.flagged]), onTheFly.map((r) => [r.id, r.combined, r.pValue, r.flagged]));
  }
});

test("an unknown detector is refused listing the known ones, and hooks missing from the store list what is there", async () => {
  const out = path.join(tmp, "never");
  assert.match(await fails(["fit", "--activations", synth, "--detector", "magic", "--out", out]), /unknown detector 'magic'; known: mahalanobis, .*perplexity, output-entropy/);
  assert.match(
    await fails(["fit", "--activations", synth, "--hooks", "blocks.*.hook_mlp_out", "--detector", "mahalanobis", "--out", out]),
    /unknown hook 'blocks\.\*\.hook_mlp_out'; store .* holds: blocks\.0\.hook_resid_post\[4\], blocks\.1\.hook_resid_post\[4\]/,
  );
  assert.match(await fails(["fit", "--activations", synth, "--detector", "mahalanobis", "--param", "covariance", "--out", out]), /expected key=value/);
  assert.match(await fails(["fit", "--activations", synth, "--detector", "mahalanobis", "--param", "shrinkage=oas", "--out", out]), /mahalanobis: .*shrinkage/i);
  assert.equal(existsSync(out), false);
});

test("a behavioural detector on a wide hook, a store from another model revision, and NaN activations fail clearly", async () => {
  assert.match(await fails(["fit", "--activations", synth, "--hooks", "blocks.0.hook_resid_post", "--detector", "perplexity", "--out", path.join(tmp, "x")]), /perplexity: expects one column .* got 4; extract it with 'madkit extract --hooks hook_token_nll/);

  const det = path.join(tmp, "synth-det2");
  await cli(["fit", "--activations", synth, "--detector", "pca", "--param", "components=2", "--alpha", "0.2", "--out", det]);
  const other = path.join(tmp, "synth-rev1");
  await extractActivations({ source: new FakeSource({ contextLength: 64, revision: "rev1" }), inputs: synthTexts.slice(0, 5), hooks: "blocks.*.hook_resid_post", pooling: "mean", out: other });
  assert.match(await fails(["score", "--detector", det, "--activations", other]), /model 'fake' revision rev1, the bundle was fitted on 'fake' revision rev0/);
  const lastPooled = path.join(tmp, "synth-last");
  await extractActivations({ source: new FakeSource({ contextLength: 64 }), inputs: synthTexts.slice(0, 5), hooks: "blocks.*.hook_resid_post", pooling: "last", out: lastPooled });
  assert.match(await fails(["score", "--detector", det, "--activations", lastPooled]), /pooled 'last', the bundle was fitted on 'mean' pooling/);

  // Poison one activation in a copy of the store: input 5, hook blocks.1, unit 2.
  const poisoned = path.join(tmp, "synth-nan");
  cpSync(synth, poisoned, { recursive: true });
  const part = path.join(poisoned, partFileName(0));
  const header = readSafetensorsHeader(part);
  const t = header.tensors.find((x) => x.name === "blocks.1.hook_resid_post")!;
  const fd = openSync(part, "r+");
  writeSync(fd, new Uint8Array(Float32Array.of(NaN).buffer), 0, 4, header.dataStart + t.begin + (5 * 4 + 2) * 4);
  closeSync(fd);
  assert.match(await fails(["score", "--detector", det, "--activations", poisoned]), /input '5': hook 'blocks\.1\.hook_resid_post': input row 5, unit 2 is NaN/);
  assert.match(await fails(["fit", "--activations", poisoned, "--detector", "mahalanobis", "--out", path.join(tmp, "y")]), /hook 'blocks\.1\.hook_resid_post', input row 5, unit 2 is NaN/);

  assert.match(await fails(["score", "--detector", det]), /exactly one of --activations/);
  assert.match(await fails(["score", "--detector", det, "--model", "stories260k"]), /--model needs --input/);
  assert.match(await fails(["score", "--detector", path.join(tmp, "nothing"), "--activations", synth]), /no detector bundle here/);
});

test("fit --help and score --help print their usage and exit 0", async () => {
  for (const cmd of ["fit", "score"]) {
    const out = await cli([cmd, "--help"]);
    assert.match(out, new RegExp(`Usage: madkit ${cmd}`));
  }
});
