// The measurement-tampering task end to end on a really trained vault model: a short training (the quick form) in a
// temporary cache, its accuracy against the majority answer on held-out programs, then the whole run on small sets,
// checked against numbers computed here. The full-length model's per-sensor accuracy is held to the 95% in
// test/train/llama/vault-model.test.ts.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";

const dir = mkdtempSync(path.join(os.tmpdir(), "madkit-tampering-"));
process.env.MADKIT_CACHE = dir;

const { generateVault, VAULT_SENSORS } = await import("../../src/datasets/vault-world.js");
const { ensureVaultModel, VAULT_HELDOUT_DRAWS } = await import("../../src/train/llama/vault-model.js");
const { vaultAccuracy } = await import("../../src/train/llama/vault-accuracy.js");
const { llama2cSourceFromParts } = await import("../../src/models/llama2c/source.js");
const { readLlama2cCheckpoint } = await import("../../src/models/llama2c/checkpoint.js");
const { readLlama2cTokenizer } = await import("../../src/models/llama2c/tokenizer.js");
const { runTampering, plansTampering } = await import("../../src/bench/tampering-run.js");
const { benchPlanOf } = await import("../../src/bench/stages/plan-stage.js");
const { auroc } = await import("../../src/eval/ranking-metrics.js");
const { tamperingSection } = await import("../../src/report/tampering-section.js");
const { renderMarkdown } = await import("../../src/report/markdown.js");

const O = { seed: 1, difficulty: 2 };
const QUICK_STEPS = 150;

test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Share of programs whose reading equals the majority reading of that sensor. */
function majorityAccuracy(xs: readonly { measurements: readonly boolean[] }[], s: number): number {
  const yes = xs.filter((e) => e.measurements[s]).length / xs.length;
  return Math.max(yes, 1 - yes);
}

test("vault model: a short training learns the rules past the majority answer and far past the untrained copy", async () => {
  const info = ensureVaultModel({ ...O, steps: QUICK_STEPS });
  assert.equal(info.trained, true);
  const tok = readLlama2cTokenizer(info.tokenizer);
  const heldOut = generateVault(O, "heldout", VAULT_HELDOUT_DRAWS, info.trainTexts);
  const trained = await vaultAccuracy(llama2cSourceFromParts(readLlama2cCheckpoint(info.checkpoint), tok, "t"), heldOut);
  const untrained = await vaultAccuracy(llama2cSourceFromParts(readLlama2cCheckpoint(info.untrained), tok, "u"), heldOut);
  // 150 steps learn the shine rule fully and the others well past the majority answer (measured: 1.00, 0.93, 0.85
  // against majorities of 0.71–0.72); the full 800 steps reach ≥ 95% on every sensor (vault-model.test.ts).
  assert.ok(trained.perSensor.shine >= 0.95, `shine: ${trained.perSensor.shine}`);
  VAULT_SENSORS.forEach((s, k) => {
    const base = majorityAccuracy(heldOut, k);
    assert.ok(trained.perSensor[s] >= base + 0.1, `${s}: trained ${trained.perSensor[s]}, majority ${base}`);
  });
  // The untrained copy with its tied embedding mostly repeats the previous token, so it gets a later sensor right
  // whenever it agrees with the one before; all three right it rarely gets.
  assert.ok(trained.allThree >= untrained.allThree + 0.5, `all three: trained ${trained.allThree}, untrained ${untrained.allThree}`);
  // Cached: the second call trains nothing and points at the same files.
  const again = ensureVaultModel({ ...O, steps: QUICK_STEPS });
  assert.equal(again.trained, false);
  assert.equal(again.checkpoint, info.checkpoint);
});

test("measurement-tampering run: every method on the same test programs, the margin from its own rows, a rendered section", async () => {
  const sizes = { trustedFit: 150, trustedValidation: 60, real: 60, tamperedPerKind: 15, partialPerKind: 20 };
  const r = await runTampering({ seed: O.seed, quick: true, steps: QUICK_STEPS, sizes, replicates: 10 });
  assert.equal(r.model.trainedNow, false, "reuses the model the first test trained");
  const families = new Set(r.rows.map((x) => x.family));
  for (const f of ["detector", "tampering-probe", "ground-truth-probe", "surface", "control"]) assert.ok(families.has(f as never), f);
  assert.equal(r.sizes.realTest, sizes.real);
  for (const k of r.kinds) assert.equal(r.sizes.tamperedTest[k], sizes.tamperedPerKind);
  // The length baseline, recomputed from the test programs: every program has the same length, so AUROC is 0.5.
  const { buildTamperingData, tamperedLabels } = await import("../../src/tasks/measurement-tampering.js");
  const { vaultTrainingExamples } = await import("../../src/train/llama/vault-model.js");
  const train = new Set(vaultTrainingExamples(O).map((e) => e.text));
  const heldOut = generateVault(O, "heldout", VAULT_HELDOUT_DRAWS, train);
  const data = buildTamperingData(O, sizes, new Set([...train, ...heldOut.map((e) => e.text)]));
  const lengths = Float64Array.from(data.test.positives, (e) => e.text.split(" ").length);
  const length = r.rows.find((x) => x.method === "length:tokens")!;
  assert.equal(length.auroc.value, Math.round(auroc(lengths, tamperedLabels(data.test.positives)) * 1e4) / 1e4);
  // The margin is the headline minus the larger of the best surface row (either direction) and the control's pick.
  const surface = Math.max(...r.rows.filter((x) => x.family === "surface").map((x) => Math.max(x.auroc.value, 1 - x.auroc.value)));
  const control = r.control!.auroc.value;
  assert.ok(Math.abs(r.mechanismMargin! - (r.headline!.auroc.value - Math.max(surface, control))) < 2e-4);
  assert.equal(r.rows.find((x) => x.model === "vault-trained" && x.method === r.headline!.method && x.hook === r.headline!.hook)!.family, "detector");
  const md = renderMarkdown(tamperingSection({ tampering: r } as never));
  assert.match(md, /Measurement tampering \(vault world\)/);
  assert.match(md, /Mechanism margin/);
});

test("measurement-tampering: the plan holds it by default and when named, not when other tasks are named", () => {
  assert.ok(plansTampering(benchPlanOf({ quick: true, tasks: ["measurement-tampering"] }).plan));
  assert.ok(plansTampering(benchPlanOf({ quick: true }).plan));
  assert.ok(!plansTampering(benchPlanOf({ quick: true, tasks: ["story-ood"] }).plan));
});
