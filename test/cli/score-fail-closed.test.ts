// `madkit score` fails closed as the monitor does (both go through MonitorScorer): scoring text with --model,
// text the model cannot read is flagged UNREADABLE_TEXT whatever its p-value, the limit is a flag, and every
// other record equals the library scorer's answer on the same inputs.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { extractPooled } from "../../src/activations/pooled-in-memory.js";
import { fitBundle } from "../../src/bundle/bundle.js";
import { mahalanobis } from "../../src/detectors/mahalanobis.js";
import { loadModel } from "../../src/models/registry.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { MonitorMetrics } from "../../src/server/metrics.js";
import { MonitorScorer } from "../../src/server/scorer.js";
import { cli } from "../helpers/cli.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "madkit-score-closed-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("score --model use-lite: unreadable text is flagged UNREADABLE_TEXT, the limit is --max-unknown-share, scores equal the library's", async () => {
  const source = await loadModel("use-lite");
  try {
    const WORDS = ["the", "cat", "sat", "on", "a", "mat", "please", "write", "short", "poem", "about", "rain", "explain", "how", "tides", "work"];
    const rng = new SeededRng(5);
    const texts = Array.from({ length: 150 }, () => Array.from({ length: 4 + rng.int(8) }, () => WORDS[rng.int(WORDS.length)]).join(" "));
    const hook = "hook_sentence_embedding";
    const matrices = await extractPooled(source, texts, [hook], { pooling: "mean" });
    const bundle = fitBundle({ matrices, detector: mahalanobis({ covariance: "ledoit-wolf" }), alpha: 0.05, pooling: "mean", model: { id: source.info.id, revision: source.info.revision, format: source.info.format } });
    const det = path.join(tmp, "det");
    bundle.save(det);
    const inputs = ["日本語のテキストです", "please write a short poem about the rain", "the cat sat on the mat 日"];
    const input = path.join(tmp, "in.jsonl");
    writeFileSync(input, inputs.map((text, i) => JSON.stringify({ id: `x${i}`, text })).join("\n") + "\n");
    const run = async (extra: string[]) => (await cli(["score", "--detector", det, "--model", "use-lite", "--input", input, "--json", ...extra]))
      .split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));

    const records = await run([]);
    assert.equal(records[0].flagged, true);
    assert.equal(records[0].unknownShare, 1);
    assert.equal(records[0].failClosed[0].code, "UNREADABLE_TEXT");
    assert.equal(records[1].unknownShare, 0);
    assert.equal(records[1].failClosed, undefined);
    assert.ok(records[2].unknownShare > 0 && records[2].unknownShare < 0.5, `one unreadable letter of a short text: ${records[2].unknownShare}`);
    assert.equal(records[2].failClosed, undefined);

    const strict = await run(["--max-unknown-share", "0.01"]);
    assert.equal(strict[2].flagged, true);
    assert.equal(strict[2].failClosed[0].code, "UNREADABLE_TEXT");

    const lib = new MonitorScorer(bundle, 0.05, new MonitorMetrics(), source);
    const want = await lib.scoreGroups([inputs.map((text) => ({ text }))]);
    assert.equal(want.outcomes[0]!.ok, true);
    const results = (want.outcomes[0] as { results: { combined: number; pValue: number; perHook: object; flagged: boolean }[] }).results;
    assert.deepEqual(records.map((r) => [r.combined, r.pValue, r.scores, r.flagged]), results.map((r) => [r.combined, r.pValue, r.perHook, r.flagged]));
  } finally {
    await source.dispose();
  }
});
