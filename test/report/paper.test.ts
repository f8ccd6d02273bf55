// PAPER.md from results.json: the sections come in order with the hand-written prose of docs/paper/ between them;
// every decimal number printed in a results section is, independently checked, some value of results.json rounded
// to the printed precision; a number typed into a results section is refused naming it; `madkit paper` writes the
// paper and its SVG figures, and writes nothing when a prose section is missing.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { readPaperProse } from "../../src/cli/paper.js";
import { projectRoot } from "../../src/config.js";
import { isMadkitError } from "../../src/errors.js";
import { buildPaper, checkPaperNumbers, PAPER_RESULTS_END, PAPER_RESULTS_START, paperResultsText } from "../../src/report/paper.js";
import { cli } from "../helpers/cli.js";
import { syntheticResults } from "./synthetic-results.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "madkit-paper-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const results = syntheticResults();
const prose = readPaperProse(path.join(projectRoot, "docs", "paper"));

test("the paper has its sections in order, the prose between them, and figures as SVG files", () => {
  const paper = buildPaper(results, prose);
  const order = ["# Mechanistic anomaly detection", "## Abstract", "## 1 Introduction", "## 2 Method", "## 3 Results", "### 3.1 The mechanism margin", "### 3.2 Choosing without labels", "## 4 Failure modes", "## 5 Limitations", "## 6 Related work"];
  let at = -1;
  for (const heading of order) {
    const i = paper.markdown.indexOf(heading);
    assert.ok(i > at, `${heading} missing or out of order`);
    at = i;
  }
  assert.ok(paper.figures.length > 0);
  for (const f of paper.figures) {
    assert.match(f.svg, /^<svg/);
    assert.ok(paper.markdown.includes(`(paper-figures/${f.file})`), f.file);
  }
});

test("every decimal in the results sections is a value of results.json at the printed precision (checked without the paper's own checker)", () => {
  // Figure links and section numbers ("### 3.2 …") are not findings.
  const text = paperResultsText(buildPaper(results, prose).markdown).replace(/\]\([^)]*\)/g, "]()").replace(/^#+ [\d.]+ /gm, "# ");
  const values: number[] = [];
  const inStrings = new Set<string>();
  JSON.stringify(results, (_k, v: unknown) => {
    if (typeof v === "number") values.push(v);
    // Numbers inside results.json's own sentences (a failure mode's evidence line) are printed as they are.
    if (typeof v === "string") for (const m of v.match(/\d+\.\d+/g) ?? []) inStrings.add(m);
    return v;
  });
  const decimals = [...text.matchAll(/(?<![\w.])\d+\.\d+(?![\w])/g)].map((m) => m[0]);
  assert.ok(decimals.length > 50, `only ${decimals.length} decimals found`);
  for (const d of new Set(decimals)) {
    const places = d.split(".")[1]!.length;
    const ok = inStrings.has(d) || values.some((v) => v.toFixed(places) === d || Math.abs(v).toFixed(places) === d || (100 * v).toFixed(places) === d);
    assert.ok(ok, `${d} is no value of results.json`);
  }
});

test("a number typed into a results section is refused, naming it; prose outside the markers may cite published numbers", () => {
  const md = buildPaper(results, prose).markdown;
  const typed = md.replace(PAPER_RESULTS_END, `The detector reached an AUROC of 0.8123.\n${PAPER_RESULTS_END}`);
  assert.throws(() => checkPaperNumbers(typed, results), (e: unknown) => isMadkitError(e) && /the number 0\.8123 in a results section appears nowhere in results\.json/.test(e.message));
  assert.ok(!paperResultsText(md).includes("0.87"), "the related work's published numbers are outside the results sections");
  assert.ok(md.includes("0.87") && md.includes(PAPER_RESULTS_START));
});

test("madkit paper writes PAPER.md and its figures; a missing prose section writes nothing", async () => {
  const resultsFile = path.join(tmp, "results.json");
  writeFileSync(resultsFile, JSON.stringify(results));
  const out = path.join(tmp, "PAPER.md");
  await cli(["paper", "--results", resultsFile, "--out", out]);
  assert.equal(readFileSync(out, "utf8"), buildPaper(results, prose).markdown);
  assert.ok(readdirSync(path.join(tmp, "paper-figures")).length > 0);

  const partial = path.join(tmp, "partial-prose");
  const out2 = path.join(tmp, "other", "PAPER.md");
  rmSync(partial, { recursive: true, force: true });
  const { mkdirSync } = await import("node:fs");
  mkdirSync(partial);
  writeFileSync(path.join(partial, "introduction.md"), "## 1 Introduction\n");
  const { capture } = await import("../helpers/cli.js");
  const { run } = await import("../../src/cli/main.js");
  const io = capture();
  assert.equal(await run(["paper", "--results", resultsFile, "--prose", partial, "--out", out2], io), 1);
  assert.match(io.err(), /prose section 'method' not found/);
  assert.equal(existsSync(out2), false);
});
