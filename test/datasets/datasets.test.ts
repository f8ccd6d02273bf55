// Every loader reads its real file under the shared folder: row counts match what the files hold (README
// figures, exact after removing duplicates and empties), ids are unique, and errors name the missing file/column.

import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { isMadkitError } from "../../src/errors.js";
import { loadAdvBenchBehaviors, loadAdvBenchStrings } from "../../src/datasets/advbench.js";
import { gcgTargetModels, loadGcgSuffixes } from "../../src/datasets/gcg-suffixes.js";
import { loadGsm8k } from "../../src/datasets/gsm8k.js";
import { loadHarmBench } from "../../src/datasets/harmbench.js";
import { loadForbiddenQuestions, loadInTheWildJailbreaks } from "../../src/datasets/jailbreak-llms.js";
import { loadJailbreakBench } from "../../src/datasets/jailbreakbench.js";
import { loadMaliciousInstruct, loadStrongReject, loadTdc2023 } from "../../src/datasets/misc-harmful.js";
import { loadAlpaca, loadRefusalSplit } from "../../src/datasets/refusal-direction.js";
import { loadSelfInstruct } from "../../src/datasets/self-instruct.js";
import { cleanRecords, type TextRecord } from "../../src/datasets/text-record.js";
import { loadTinyStories } from "../../src/datasets/tinystories.js";
import { loadTruthfulQa } from "../../src/datasets/truthfulqa.js";
import { loadXsTest } from "../../src/datasets/xstest.js";

function assertClean(records: readonly TextRecord[], source: string): void {
  assert.equal(new Set(records.map((r) => r.id)).size, records.length, `${source}: ids unique`);
  assert.equal(new Set(records.map((r) => r.text)).size, records.length, `${source}: texts unique`);
  for (const r of records) {
    assert.ok(r.text.length > 0 && r.text === r.text.trim(), `${source}: ${r.id} is trimmed and non-empty`);
    assert.ok(r.source.length > 0 && r.id.startsWith(`${r.source}:`), `${source}: ${r.id} names its source`);
  }
}

// [loader, expected records]. Where fewer than the file's rows: duplicates (or, for GCG, trailer rows) removed.
const EXPECTED: [string, () => TextRecord[], number][] = [
  ["advbench behaviours (520 rows)", () => loadAdvBenchBehaviors(), 520],
  ["advbench strings (574 rows)", () => loadAdvBenchStrings(), 574],
  ["gcg suffixes (6 files x 100 rows + 1 trailer each)", () => loadGcgSuffixes(), 600],
  ["harmbench all (400 rows, 7 duplicate behaviours)", () => loadHarmBench("all"), 393],
  ["harmbench all, standard only", () => loadHarmBench("all", { functionalCategory: "standard" }), 200],
  ["harmbench test (320 rows)", () => loadHarmBench("test"), 317],
  ["harmbench val (80 rows)", () => loadHarmBench("val"), 78],
  ["in-the-wild jailbreaks (666 rows, 15 duplicates)", () => loadInTheWildJailbreaks(), 651],
  ["forbidden questions (13 x 30)", () => loadForbiddenQuestions(), 390],
  ["jailbreakbench (100 rows)", () => loadJailbreakBench(), 100],
  ["strongreject (313 rows)", () => loadStrongReject(), 313],
  ["malicious instruct (100 lines)", () => loadMaliciousInstruct(), 100],
  ["tdc 2023 dev (50)", () => loadTdc2023("dev"), 50],
  ["tdc 2023 test (50)", () => loadTdc2023("test"), 50],
  ["alpaca harmless train", () => loadRefusalSplit("harmless_train"), 18793],
  ["alpaca harmless val", () => loadRefusalSplit("harmless_val"), 6264],
  ["alpaca harmless test", () => loadRefusalSplit("harmless_test"), 6266],
  ["harmful train", () => loadRefusalSplit("harmful_train"), 260],
  ["harmful val", () => loadRefusalSplit("harmful_val"), 39],
  ["harmful test (572 rows, 10 duplicates)", () => loadRefusalSplit("harmful_test"), 562],
  ["alpaca processed", () => loadAlpaca(), 31323],
  ["self-instruct seed tasks", () => loadSelfInstruct("seed_tasks"), 175],
  ["self-instruct user-oriented (252 rows, 1 duplicate)", () => loadSelfInstruct("user_oriented_instructions"), 251],
  ["xstest (450 prompts)", () => loadXsTest(), 450],
  ["gsm8k test", () => loadGsm8k(), 1319],
  ["truthfulqa", () => loadTruthfulQa(), 817],
  ["tinystories paragraphs (1,230, 9 duplicates)", () => loadTinyStories(), 1221],
];

for (const [what, load, n] of EXPECTED) {
  test(`the ${what} loader returns ${n} clean records`, () => {
    const records = load();
    assert.equal(records.length, n);
    assertClean(records, what);
  });
}

test("the in-the-wild jailbreak CSV's quoted multi-line prompts stay whole records", () => {
  const records = loadInTheWildJailbreaks();
  assert.ok(records.filter((r) => r.text.includes("\n")).length > 100, "many prompts span several lines");
  // The first row's prompt starts the file's first data field and is long: a line-based split would cut it.
  assert.ok(records[0]!.text.length > 500);
  assert.equal(records[0]!.platform, "discord");
});

test("gcg records join goal and suffix with one space, skip the timing trailer and cover 100 goals per model", () => {
  const records = loadGcgSuffixes();
  const models = gcgTargetModels();
  assert.equal(models.length, 6);
  for (const r of records) {
    assert.equal(r.text, `${r.goal} ${r.suffix}`);
    assert.ok(!r.goal.startsWith("Time taken"));
  }
  for (const m of models) assert.equal(records.filter((r) => r.targetModel === m).length, 100);
  const advbench = new Set(loadAdvBenchBehaviors().map((r) => r.text));
  assert.equal(new Set(records.map((r) => r.goal).filter((g) => advbench.has(g))).size, 100, "every goal is an AdvBench behaviour");
});

test("xstest has 250 safe and 200 unsafe prompts", () => {
  const r = loadXsTest();
  assert.equal(r.filter((x) => x.label === "safe").length, 250);
  assert.equal(r.filter((x) => x.label === "unsafe").length, 200);
});

test("cleanRecords trims, drops empties and keeps the first of duplicate texts", () => {
  const out = cleanRecords([
    { id: "s:0", text: " a ", source: "s" },
    { id: "s:1", text: "   ", source: "s" },
    { id: "s:2", text: "a", source: "s" },
    { id: "s:3", text: "b", source: "s" },
  ]);
  assert.deepEqual(out, [
    { id: "s:0", text: "a", source: "s" },
    { id: "s:3", text: "b", source: "s" },
  ]);
});

test("a missing data file raises FILE_NOT_FOUND naming the file and MADKIT_SHARED", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "madkit-tasks-"));
  assert.throws(
    () => loadAdvBenchBehaviors({ dataDir }),
    (e: unknown) =>
      isMadkitError(e) &&
      e.code === "FILE_NOT_FOUND" &&
      e.message.includes("advbench/harmful_behaviors.csv") &&
      e.message.includes("MADKIT_SHARED"),
  );
});

test("a CSV without a required column raises BAD_INPUT naming the column and the columns found", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "madkit-tasks-"));
  mkdirSync(path.join(dataDir, "xstest"));
  writeFileSync(path.join(dataDir, "xstest/xstest_prompts.csv"), 'id,text,type\n1,"hello",homonyms\n');
  assert.throws(
    () => loadXsTest({ dataDir }),
    (e: unknown) =>
      isMadkitError(e) &&
      e.code === "BAD_INPUT" &&
      e.message.includes("xstest/xstest_prompts.csv") &&
      e.message.includes("'prompt'") &&
      e.message.includes("'label'") &&
      e.message.includes("'text'"),
  );
});

test("a JSONL record without its field raises BAD_INPUT naming the line's record and field", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "madkit-tasks-"));
  mkdirSync(path.join(dataDir, "gsm8k"));
  writeFileSync(path.join(dataDir, "gsm8k/test.jsonl"), '{"question": "1+1?"}\n{"q": "2+2?"}\n');
  assert.throws(
    () => loadGsm8k({ dataDir }),
    (e: unknown) => isMadkitError(e) && e.code === "BAD_INPUT" && e.message.includes("record 1") && e.message.includes("'question'"),
  );
});
