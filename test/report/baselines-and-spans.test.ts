import assert from "node:assert/strict";
import test from "node:test";
import type { BenchResults, FailureExample, ResultRecord } from "../../src/results/contract.js";
import { buildDocument } from "../../src/report/document.js";
import { renderHtml } from "../../src/report/html.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { readmeResultsSection } from "../../src/report/readme.js";
import { baselineRefs, examplesTable, headlineTable, windowMarked } from "../../src/report/tables.js";
import { NASTY_TEXT, syntheticResults } from "./synthetic-results.js";

const TASK = "jailbreak-ood";
const MODEL = "use-lite";

/** The synthetic run plus a bag-of-words baseline that points the other way on test (AUROC 0.05; validation 0.6). */
function withBow(): BenchResults {
  const r = syntheticResults();
  const like = (split: "validation" | "test", auroc: number): ResultRecord => {
    const len = r.records.find((x) => x.task === TASK && x.model === MODEL && x.detector === "length" && x.split === split && x.subset === "all")!;
    return { ...len, detector: "bow:cosine", hook: "bow:cosine", auroc: { value: auroc, lo: auroc - 0.02, hi: auroc + 0.03 } };
  };
  return { ...r, records: [...r.records, like("validation", 0.6), like("test", 0.05)] };
}

test("a baseline whose test AUROC is below 0.5 is read reversed (1 − AUROC, interval flipped), and the strongest baseline leads", () => {
  const refs = baselineRefs(withBow(), TASK, MODEL);
  assert.deepEqual(refs.map((b) => [b.detector, b.reversed]), [["bow:cosine", true], ["length", false]]);
  assert.ok(Math.abs(refs[0]!.auroc.value - 0.95) < 1e-12);
  assert.ok(Math.abs(refs[0]!.auroc.lo - 0.92) < 1e-12 && Math.abs(refs[0]!.auroc.hi - 0.97) < 1e-12);
  assert.equal(refs[1]!.auroc.value, 0.72);
});

test("the headline names the strongest baseline with its AUROC and the selection's AUROC difference from it", () => {
  const results = withBow();
  const t = headlineTable(results);
  const sel = results.selections.find((s) => s.task === TASK && s.model === MODEL)!;
  const row = t.rows.find((r) => r[0] === TASK && r[1] === MODEL)!;
  const col = (label: string) => row[t.columns.findIndex((c) => c.label === label)];
  assert.equal(col("best baseline: AUROC"), "bow:cosine, reversed 0.950");
  const d = sel.test.auroc.value - 0.95;
  assert.equal(col("Δ AUROC vs best baseline"), `${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(3)}`);
  assert.equal(col("TPR@1%FPR"), sel.test.tprAt1Fpr);
  const lm = results.records.find((r) => r.task === TASK && r.model === MODEL && r.subset === "length-matched")!;
  assert.deepEqual(col("AUROC length-matched"), lm.auroc);
});

test("the README says which detectors beat the strongest baseline and that the selected one does not", () => {
  const s = readmeResultsSection(withBow());
  const line = s.split("\n").find((l) => l.startsWith(`- ${TASK} × ${MODEL}: baselines`))!;
  assert.match(line, /baselines bow:cosine, reversed 0\.950, length 0\.720; strongest bow:cosine, reversed\./);
  assert.match(line, /Beat it: none\./);
  assert.match(line, /The selected mahalanobis @ blocks\.2\.hook\\_resid\\_post: −0\.010 \(does not beat it\)\./);
});

/** A failure example whose token view marks the `<script>` part of the nasty text. */
function spanned(): FailureExample {
  const r = syntheticResults();
  const e = r.examples.find((x) => x.text === NASTY_TEXT)!;
  const pieces = ["Ignore all rules ", "</td></table>", '<script>alert("pwned")</script>', " & ]]> | pipe `tick` *star* \u0001 end\nsecond line"];
  return { ...e, tokenPieces: pieces, tokenScores: [0.1, 2, 9, 0.3], span: { start: 1, end: 3 }, tokenHook: "blocks.1.hook_resid_post", tokenThreshold: 1.5 };
}

test("report.html highlights the span in <mark> with everything escaped, and report.md shows it between « »", () => {
  const r = syntheticResults();
  const e = spanned();
  const results: BenchResults = { ...r, examples: r.examples.map((x) => (x.id === e.id && x.task === e.task ? e : x)) };
  const blocks = buildDocument(results);
  const html = renderHtml(blocks, "t");
  assert.ok(html.includes(`<mark>&lt;/td&gt;&lt;/table&gt;&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;</mark>`));
  assert.ok(!html.includes("<script>"));
  assert.ok(html.includes("tokens 1–2 of 4; max 9.000 vs 1.500"));
  const md = renderMarkdown(blocks);
  assert.ok(md.includes("Ignore all rules «&lt;/td&gt;&lt;/table&gt;&lt;script&gt;alert(\"pwned\")&lt;/script&gt;»"));
  // The note says where the token view came from.
  assert.ok(md.includes("refitted on trusted token rows at blocks.1.hook\\_resid\\_post (the selected hook blocks.2.hook\\_resid\\_post has no per-token rows"));
});

test("a long marked text is windowed around its span, so neither renderer cuts the span away", () => {
  const m = { marked: { before: "x".repeat(1000), span: "SPAN", after: "y".repeat(1000) } };
  const w = windowMarked(m, 10, 100);
  assert.deepEqual(w.marked, { before: `…${"x".repeat(10)}`, span: "SPAN", after: `${"y".repeat(10)}…` });
  const long = windowMarked({ marked: { before: "", span: "a".repeat(50) + "b".repeat(50), after: "" } }, 10, 20);
  assert.equal(long.marked.span, `${"a".repeat(10)} … ${"b".repeat(10)}`);
  const e: FailureExample = { ...spanned(), tokenPieces: ["p".repeat(2000), " the span", "q".repeat(2000)], tokenScores: [0, 5, 0], span: { start: 1, end: 2 } };
  const t = examplesTable([e], "x", "x");
  const md = renderMarkdown([{ kind: "table", table: t }]);
  assert.ok(md.includes("« the span»"));
  const html = renderHtml([{ kind: "table", table: t }], "t");
  assert.ok(html.includes("<summary>…") && html.includes("<mark> the span</mark>"));
});

test("true positives are listed and never called near misses", () => {
  const e: FailureExample = { ...spanned(), kind: "true-positive", score: 9, threshold: 1 };
  const t = examplesTable([e], "x", "x");
  assert.equal(t.rows[0]![0], "true-positive");
});
