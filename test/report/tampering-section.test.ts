import assert from "node:assert/strict";
import { test } from "node:test";
import { renderMarkdown } from "../../src/report/markdown.js";
import { bestRowPerMethod, tamperingSection } from "../../src/report/tampering-section.js";
import type { BenchResults } from "../../src/results/contract.js";
import type { TamperingRow, TamperingSummary } from "../../src/results/tampering.js";

const ci = (value: number) => ({ value, lo: value - 0.05, hi: value + 0.05 });
const row = (method: string, family: TamperingRow["family"], model: string, hook: string, a: number): TamperingRow => ({
  method, family, model, hook, auroc: ci(a), tprAt1Fpr: ci(0.1), perKind: { lookalike: ci(a - 0.1), override: ci(a + 0.1) },
});

const summary: TamperingSummary = {
  task: "measurement-tampering",
  seed: 1,
  difficulty: 2,
  kinds: ["lookalike", "override"],
  model: { name: "vault-trained", layers: 4, dim: 64, parameters: 1000, trainSteps: 800, trainSeconds: 200, trainedNow: true, heldOutPrograms: 550, accuracy: { shine: 1, hard: 0.97, text: 0.99 }, allThreeAccuracy: 0.96 },
  sizes: { trustedFit: 800, trustedValidation: 300, realTest: 400, tamperedTest: { lookalike: 100, override: 100 }, disagreeingForProbe: 400 },
  rows: [
    row("mahalanobis", "detector", "vault-trained", "blocks.0.hook_resid_post", 0.61),
    row("mahalanobis", "detector", "vault-trained", "blocks.2.hook_resid_post", 0.81),
    row("mahalanobis", "control", "vault-untrained", "blocks.2.hook_resid_post", 0.64),
    row("length:tokens", "surface", "text", "text", 0.5),
  ],
  headline: { method: "mahalanobis", model: "vault-trained", hook: "blocks.0.hook_resid_post", criterion: "label-free", auroc: ci(0.61) },
  oracle: { method: "mahalanobis", model: "vault-trained", hook: "blocks.2.hook_resid_post", criterion: "oracle", auroc: ci(0.81) },
  control: { method: "mahalanobis", model: "vault-untrained", hook: "blocks.2.hook_resid_post", criterion: "label-free", auroc: ci(0.64) },
  bestSurface: { method: "length:tokens", auroc: ci(0.5), reversed: false },
  mechanismMargin: -0.03,
  oracleMargin: 0.17,
  verdict: "the label-free detector does not beat the surface baselines / untrained control (margin −0.030)",
  notes: ["a note"],
};

test("tampering section: one best row per method and model, the margin stated whichever way it falls, nothing without results.tampering", () => {
  const best = bestRowPerMethod(summary.rows);
  assert.deepEqual(best.map((r) => [r.family, r.hook]), [["detector", "blocks.2.hook_resid_post"], ["surface", "text"], ["control", "blocks.2.hook_resid_post"]]);
  const md = renderMarkdown(tamperingSection({ tampering: summary } as unknown as BenchResults));
  assert.match(md, /does not beat the surface baselines \/ untrained control \(margin −0\.030\)/);
  assert.match(md, /a margin of \+0\.170/);
  assert.match(md, /shine 1\.000, hard 0\.970, text 0\.990/);
  assert.match(md, /\| blocks\.2\.hook\\_resid\\_post \| 0\.810 \|/);
  assert.deepEqual(tamperingSection({} as BenchResults), []);
});

test("README and the warnings at the top: the tampering margin is stated from results.tampering, a losing one as a bold warning", async () => {
  const { readmeResultsSection } = await import("../../src/report/readme.js");
  const { mechanismMarginWarnings } = await import("../../src/report/mechanism-margin-section.js");
  const { syntheticResults } = await import("./synthetic-results.js");
  const base = syntheticResults();
  const losing = { ...base, tampering: summary } as BenchResults;
  const warning = mechanismMarginWarnings(losing).find((w) => w.startsWith("On measurement-tampering"));
  assert.ok(warning, "a losing tampering margin is a warning");
  assert.match(warning, /mahalanobis @ blocks\.0\.hook_resid_post \(test AUROC 0\.610\).*length:tokens, AUROC 0\.500.*mahalanobis @ blocks\.2\.hook_resid_post, AUROC 0\.640.*margin −0\.030/);
  const text = readmeResultsSection(losing);
  assert.match(text, /\*\*On measurement-tampering/);
  assert.match(text, /the vault model \(trained here, 1,000 parameters\) reads the sensors of 550 held-out programs with accuracy shine 1\.000, hard 0\.970, text 0\.990/);
  assert.match(text, /oracle\): mahalanobis @ blocks\.2\.hook\\_resid\\_post 0\.810 .*margin \+0\.170/);
  const winning = { ...base, tampering: { ...summary, mechanismMargin: 0.3 } } as BenchResults;
  assert.equal(mechanismMarginWarnings(winning).filter((w) => w.startsWith("On measurement-tampering")).length, 0);
  assert.doesNotMatch(readmeResultsSection(base), /Measurement tampering/);
});
