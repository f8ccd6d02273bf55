import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { BenchResults } from "../../src/results/contract.js";
import { capture } from "../helpers/cli.js";
import { run } from "../../src/cli/main.js";

const TIMING = ["createdAt", "durationSeconds", "fitSeconds", "scoreSeconds", "extractSeconds"];
const withoutTiming = (file: string): unknown => JSON.parse(readFileSync(file, "utf8"), (k, v: unknown) => (TIMING.includes(k) ? undefined : v));

test("madkit bench --quick on the real story-ood task writes results and a report, and a second run gives the same numbers", async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), "madkit-bench-e2e-"));
  try {
    const argv = (out: string): string[] => ["bench", "--quick", "--tasks", "story-ood", "--detectors", "mahalanobis,perplexity", "--seed", "2", "--cache", path.join(root, "cache"), "--out", out];
    const io = capture();
    assert.equal(await run(argv(path.join(root, "a")), io), 0, io.err());
    for (const f of ["results.json", "report.md", "report.html"]) assert.ok(existsSync(path.join(root, "a", f)), f);
    assert.match(io.out(), /story-ood × stories260k: /);
    const r = JSON.parse(readFileSync(path.join(root, "a", "results.json"), "utf8")) as BenchResults;
    assert.equal(r.format, "madkit-bench-results");
    assert.deepEqual([...new Set(r.records.map((x) => x.detector))].sort(), ["mahalanobis", "perplexity"]);
    // The quick plan's three residual hooks plus the two combiners, and perplexity on the NLL hook.
    assert.deepEqual(
      [...new Set(r.records.filter((x) => x.detector === "mahalanobis").map((x) => x.hook))].sort(),
      ["blocks.0.hook_resid_pre", "blocks.2.hook_resid_post", "blocks.4.hook_resid_post", "combined:max", "combined:mean"],
    );
    // Shuffled words, injected instructions and non-stories are surprising to a TinyStories model.
    const ppl = r.records.find((x) => x.detector === "perplexity" && x.split === "test" && x.subset === "all")!;
    assert.ok(ppl.auroc.value > 0.8, `perplexity AUROC ${ppl.auroc.value}`);
    assert.ok(ppl.auroc.lo <= ppl.auroc.value && ppl.auroc.value <= ppl.auroc.hi);
    assert.equal(r.tasks[0]!.task, "story-ood");
    assert.ok(r.roc.length > 0 && r.histograms.length > 0);

    const io2 = capture();
    assert.equal(await run(argv(path.join(root, "b")), io2), 0, io2.err());
    assert.deepEqual(withoutTiming(path.join(root, "b", "results.json")), withoutTiming(path.join(root, "a", "results.json")));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("an unknown task or detector exits 1 naming it and what is known", async () => {
  const io = capture();
  assert.equal(await run(["bench", "--tasks", "nope", "--out", os.tmpdir()], io), 1);
  assert.match(io.err(), /unknown task 'nope'; expected one of jailbreak-ood, benign-shift, story-ood/);
  const io2 = capture();
  assert.equal(await run(["bench", "--detectors", "magic", "--out", os.tmpdir()], io2), 1);
  assert.match(io2.err(), /unknown detector 'magic'/);
});
