import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { RESULTS_END, RESULTS_START, readmeResultsSection, updateReadme } from "../../src/report/readme.js";
import { syntheticResults } from "./synthetic-results.js";

const results = syntheticResults();
const dir = mkdtempSync(path.join(tmpdir(), "madkit-readme-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

const BEFORE = "# madkit\n\nIntro text with `code` and a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n## Results\n\n";
const AFTER = "\n\n## Licence\n\nMIT — trailing text stays byte for byte.\n";

test("updateReadme replaces only the text between the markers, and a second run gives the same file", () => {
  const file = path.join(dir, "README.md");
  writeFileSync(file, `${BEFORE}${RESULTS_START}\nold numbers\n${RESULTS_END}${AFTER}`);
  updateReadme(file, results);
  const once = readFileSync(file, "utf8");
  assert.ok(once.startsWith(`${BEFORE}${RESULTS_START}\n`));
  assert.ok(once.endsWith(`\n${RESULTS_END}${AFTER}`));
  assert.ok(!once.includes("old numbers"));
  const inner = once.slice(once.indexOf(RESULTS_START) + RESULTS_START.length, once.indexOf(RESULTS_END));
  assert.equal(inner, `\n${readmeResultsSection(results)}\n`);
  updateReadme(file, results);
  assert.equal(readFileSync(file, "utf8"), once);
});

test("the headline falls back to the smallest α with a threshold when calibration could not set one at 0.01", () => {
  const sel = results.selections[0]!;
  const noThreshold = { ...sel.test, atAlpha: sel.test.atAlpha.map((a) => (a.alpha === 0.01 ? { ...a, threshold: null } : a)) };
  const r2 = { ...results, selections: [{ ...sel, test: noThreshold }] };
  const row = readmeResultsSection(r2).split("\n").find((l) => l.startsWith(`| ${sel.task} × ${sel.model} |`))!;
  const cells = row.slice(2, -2).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\(.)/g, "$1"));
  const a05 = sel.test.atAlpha.find((x) => x.alpha === 0.05)!;
  assert.equal(cells[4], "0.05");
  assert.equal(cells[6]!.split(" ")[0], a05.recall.value.toFixed(3));
});

test("a README without the markers is refused with the marker named, and left unchanged", () => {
  const file = path.join(dir, "NO-MARKERS.md");
  writeFileSync(file, "# madkit\n\nno markers\n");
  assert.throws(() => updateReadme(file, results), /NO-MARKERS\.md: expected the markers '<!-- results:start -->' and '<!-- results:end -->'.*found no start marker and no end marker/);
  assert.equal(readFileSync(file, "utf8"), "# madkit\n\nno markers\n");
  const twice = path.join(dir, "TWICE.md");
  writeFileSync(twice, `${RESULTS_START}\n${RESULTS_END}\n${RESULTS_START}\n${RESULTS_END}\n`);
  assert.throws(() => updateReadme(twice, results), /found 2 start and 2 end markers/);
  const reversed = path.join(dir, "REVERSED.md");
  writeFileSync(reversed, `${RESULTS_END}\n${RESULTS_START}\n`);
  assert.throws(() => updateReadme(reversed, results), /end before start/);
});

test("the Results section states the headline with its mix, three or more detector families, the best layers, the failure modes and the command", () => {
  const s = readmeResultsSection(results);
  const sel = results.selections[0]!;
  const a = sel.test.atAlpha.find((x) => x.alpha === 0.05)!;
  // Headline row: the test mix and the AUROC / precision / recall / shift FPR of the selection's test record.
  const row = s.split("\n").find((l) => l.startsWith(`| ${sel.task} × ${sel.model} |`))!;
  const cells = row.slice(2, -2).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\(.)/g, "$1"));
  assert.equal(cells[2], `${(sel.test.nAnomalous / sel.test.n).toFixed(3)} (${sel.test.nAnomalous} of ${sel.test.n})`);
  assert.equal(cells[3]!.split(" ")[0], sel.test.auroc.value.toFixed(3));
  assert.equal(cells[4], "0.05");
  assert.equal(cells[5]!.split(" ")[0], a.precision.value.toFixed(3));
  assert.equal(cells[6]!.split(" ")[0], a.recall.value.toFixed(3));
  assert.equal(cells[7], a.shiftFpr!.toFixed(3));
  const famLine = s.split("\n").find((l) => l.startsWith(`- ${sel.task} × ${sel.model}:`) && l.includes("gaussian"))!;
  for (const f of ["gaussian", "distance", "tree", "reconstruction"]) assert.ok(famLine.includes(f), `family ${f}`);
  assert.ok(famLine.includes("batch: que"), "batch methods apart");
  assert.match(s, /Against the baselines/);
  assert.match(s, /Beat it: mahalanobis \+0\.220, knn:cosine \+0\.180, autoencoder \+0\.140, isolation-forest \+0\.080\. Did not: none\./);
  assert.match(s, /Most informative layers[\s\S]*L2 resid\\_post \(mean AUROC 0\.875 over 4 detectors\)/);
  for (const m of results.failureModes) assert.ok(s.includes(m.name), m.name);
  assert.match(s, /Plain harmful requests \(AdvBench, the expected hard case\)/);
  assert.ok(s.includes("madkit bench --out report/ --seed 1 && node --import tsx scripts/update-readme-results.ts report/results.json README.md"));
});
