import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { renderReport } from "../../src/report/render-report.js";
import { checkResults, readResults } from "../../src/report/load-results.js";
import { ROC_GEOMETRY } from "../../src/report/svg-roc.js";
import { HISTOGRAM_GEOMETRY } from "../../src/report/svg-histogram.js";
import { escapeXml } from "../../src/report/escape.js";
import { NASTY_TEXT, syntheticResults } from "./synthetic-results.js";

const results = syntheticResults();
const dir = mkdtempSync(path.join(tmpdir(), "madkit-report-"));
const { files } = renderReport(results, dir, { writeResults: true });
const html = readFileSync(path.join(dir, "report.html"), "utf8");
const md = readFileSync(path.join(dir, "report.md"), "utf8");
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

/** A small XML well-formedness check: balanced tags, only known entities, no stray '<' or '&'. */
function checkWellFormed(doc: string): void {
  const body = doc.replace(/^<!DOCTYPE html>/, "");
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = tag.exec(body))) {
    const between = body.slice(last, m.index);
    assert.ok(!between.includes("<"), `stray '<' before offset ${m.index}: ${between.slice(between.indexOf("<"), between.indexOf("<") + 60)}`);
    last = tag.lastIndex;
    const [, close, name, , selfClose] = m;
    if (selfClose) continue;
    if (close) {
      const open = stack.pop();
      assert.equal(open, name, `</${name}> closes <${open}> at offset ${m.index}`);
    } else stack.push(name!);
  }
  assert.ok(!body.slice(last).includes("<"), "stray '<' at the end");
  assert.deepEqual(stack, [], "unclosed tags");
  const amp = body.match(/&(?!(amp|lt|gt|quot|#39);)/g);
  assert.equal(amp, null, "a bare '&' that is not one of the five entities");
}

test("renderReport writes report.md, report.html and, when asked, results.json that reads back equal", () => {
  assert.deepEqual(files.map((f) => path.basename(f)).sort(), ["report.html", "report.md", "results.json"]);
  for (const f of files) assert.ok(existsSync(f));
  assert.deepEqual(readResults(path.join(dir, "results.json")), JSON.parse(JSON.stringify(results)));
  const dir2 = mkdtempSync(path.join(tmpdir(), "madkit-report-"));
  try {
    assert.deepEqual(renderReport(results, dir2).files.map((f) => path.basename(f)).sort(), ["report.html", "report.md"]);
  } finally {
    rmSync(dir2, { recursive: true, force: true });
  }
});

test("the HTML is well-formed XML: every tag closes, every svg closes, no raw '<' or '&' from texts", () => {
  checkWellFormed(html);
  const svgs = html.match(/<svg\b/g)!.length;
  assert.equal(svgs, html.match(/<\/svg>/g)!.length);
  // Per task × model: one ROC plot, one heat map, one histogram.
  assert.equal(svgs, 6);
});

test("the HTML is self-contained: no scripts, no external resources", () => {
  assert.ok(!/<script/i.test(html), "a <script> element");
  assert.ok(!/\s(src|href)="(?!#)/i.test(html), "a src/href that is not an in-page anchor");
  assert.ok(!/url\(|@import/i.test(html), "CSS that loads something");
});

test("failure texts holding markup are shown escaped in the HTML and the Markdown", () => {
  assert.ok(html.includes(escapeXml('<script>alert("pwned")</script>')), "the script text, escaped");
  assert.ok(html.includes("&amp; ]]&gt;"));
  assert.ok(!md.includes("<script>") && !md.includes("</td>"));
  assert.ok(md.includes('&lt;script&gt;alert("pwned")&lt;/script&gt;'));
  // The control character is replaced (XML forbids it), and the text's pipe cannot end its table cell.
  assert.ok(!html.includes("\u0001") && !md.includes("\u0001"));
  const line = md.split("\n").find((l) => l.includes("pwned"))!;
  assert.ok(line.includes("\\| pipe"));
  assert.ok(NASTY_TEXT.includes("|"));
});

const unescapeCells = (l: string): string[] =>
  l
    .slice(2, -2)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\(.)/g, "$1"));

/** The cells of the first Markdown table row that starts with the given cells, backslash escapes removed. */
function mdRow(md: string, ...start: string[]): string[] {
  return mdRecord(md, ...start).cells;
}

/** That row and its table's header, so tests can read a cell by column name. */
function mdRecord(md: string, ...start: string[]): { cells: string[]; get: (column: string) => string } {
  const lines = md.split("\n");
  let header: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (!l.startsWith("| ")) continue;
    if (lines[i + 1]?.startsWith("| ---") || lines[i + 1]?.startsWith("|---")) {
      header = unescapeCells(l);
      continue;
    }
    const cells = unescapeCells(l);
    if (start.every((s, j) => cells[j] === s)) {
      return {
        cells,
        get: (c) => {
          const k = header.indexOf(c);
          assert.ok(k >= 0, `no column '${c}' in ${header.join(" | ")}`);
          return cells[k]!;
        },
      };
    }
  }
  assert.fail(`no row starting ${start.join(" | ")}`);
}

test("headline numbers in report.md equal the selection's test record", () => {
  for (const s of results.selections) {
    for (const a of s.test.atAlpha) {
      const row = mdRow(md, s.task, s.model, s.detector, s.hook);
      // Columns 6–8 are the confound controls (length-matched AUROC, strongest baseline, Δ) and 11 is TPR@1%FPR.
      const byAlpha = mdRow(md, s.task, s.model, s.detector, s.hook, `${(s.test.nAnomalous / s.test.n).toFixed(3)} (${s.test.nAnomalous} of ${s.test.n})`, ...row.slice(5, 12), String(a.alpha));
      assert.equal(byAlpha[5], `${s.test.auroc.value.toFixed(3)} [${s.test.auroc.lo.toFixed(3)}, ${s.test.auroc.hi.toFixed(3)}]`);
      assert.equal(byAlpha[10], s.test.fpr95.toFixed(3));
      assert.equal(byAlpha[11], s.test.tprAt1Fpr.toFixed(3));
      assert.equal(byAlpha[13], `${a.precision.value.toFixed(3)} [${a.precision.lo.toFixed(3)}, ${a.precision.hi.toFixed(3)}]`);
      assert.equal(Number(byAlpha[14]!.split(" ")[0]), Number(a.recall.value.toFixed(3)));
      assert.equal(byAlpha[17], a.shiftFpr!.toFixed(3));
    }
  }
});

test("the per-input detector table puts each detector's shift FPR beside its recall, from the test record of its validation-chosen hook", () => {
  // Every synthetic detector peaks at layer 2 on validation, so that hook is chosen; the row is its test record.
  const r = results.records.find((x) => x.task === "jailbreak-ood" && x.detector === "knn:cosine" && x.hook === "blocks.2.hook_resid_post" && x.split === "test" && x.subset === "all")!;
  const row = mdRecord(md, "knn:cosine", "distance", "blocks.2.hook_resid_post");
  assert.equal(row.get("AUROC").split(" ")[0], r.auroc.value.toFixed(3));
  const base = results.records.find((x) => x.task === "jailbreak-ood" && x.detector === "length" && x.split === "test")!;
  // The Δ column is against the strongest baseline, named with its AUROC in the header (here the only one, length).
  assert.equal(row.get(`Δ AUROC vs best baseline (length ${base.auroc.value.toFixed(3)})`), `+${(r.auroc.value - base.auroc.value).toFixed(3)}`);
  assert.equal(row.get("recall α=0.01"), r.atAlpha[0]!.recall.value.toFixed(3));
  assert.equal(row.get("shift FPR α=0.01"), r.atAlpha[0]!.shiftFpr!.toFixed(3));
  assert.equal(row.get("shift FPR α=0.05"), r.atAlpha[1]!.shiftFpr!.toFixed(3));
  // Only the selected detector has a length-matched row; the others show a dash there.
  assert.equal(row.get("AUROC length-matched"), "–");
  const lm = results.records.find((x) => x.task === "jailbreak-ood" && x.subset === "length-matched")!;
  assert.equal(mdRecord(md, "mahalanobis", "gaussian").get("AUROC length-matched").split(" ")[0], lm.auroc.value.toFixed(3));
});

test("batch methods are reported in their own table and not among per-input detectors", () => {
  const sections = md.split(/^### /m);
  const perInput = sections.find((s) => s.startsWith("Per-input detectors"))!;
  const batch = sections.find((s) => s.startsWith("Batch methods"))!;
  assert.ok(!/^\| que \|/m.test(perInput));
  assert.ok(/^\| que \|/m.test(batch));
});

test("the per-family table has the plain-harmful row marked as the expected hard case, with its numbers", () => {
  const r = results.records.find((x) => x.task === "jailbreak-ood" && x.subset === "harmful-plain")!;
  const row = mdRow(md, "harmful-plain (plain AdvBench requests: the expected hard case)");
  assert.equal(row[1], `${r.nAnomalous} / ${r.n}`);
  assert.equal(row[2]!.split(" ")[0], r.auroc.value.toFixed(3));
});

/** Every `d` of the paths with class `cls` inside the first SVG with class `svgClass`. */
function paths(doc: string, svgClass: string, cls: string): string[] {
  const svg = doc.slice(doc.indexOf(`class="plot ${svgClass}"`));
  const one = svg.slice(0, svg.indexOf("</svg>"));
  return [...one.matchAll(new RegExp(`<path class="${cls}" d="([^"]+)"`, "g"))].map((m) => m[1]!);
}

test("every ROC path starts at (0,0) and ends at (1,1) in plot coordinates, also when the stored curve lacks them", () => {
  const g = ROC_GEOMETRY;
  const ds = paths(html, "roc", "roc-curve");
  assert.equal(ds.length, 3);
  for (const d of ds) {
    const pts = [...d.matchAll(/[ML]([\d.]+) ([\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    const toData = ([x, y]: number[]) => [(x! - g.left) / g.size, (g.top + g.size - y!) / g.size];
    assert.deepEqual(toData(pts[0]!), [0, 0]);
    assert.deepEqual(toData(pts[pts.length - 1]!), [1, 1]);
    // The stored interior point (0.05, 0.6) of the first curve is drawn where the scale puts it.
    if (ds.indexOf(d) === 0) assert.deepEqual(toData(pts[2]!).map((v) => Math.round(v * 1000) / 1000), [0.05, 0.6]);
  }
});

test("heat-map cells carry the test AUROC of their detector and hook, and every per-input detector × layer has one", () => {
  const svgStart = html.indexOf('class="plot heatmap"');
  const svg = html.slice(svgStart, html.indexOf("</svg>", svgStart));
  const cells = [...svg.matchAll(/data-detector="([^"]*)" data-hook="([^"]*)" data-auroc="([^"]*)"/g)];
  const expected = results.records.filter((r) => r.task === "jailbreak-ood" && r.split === "test" && r.subset === "all" && r.scope === "input" && r.layer !== null && r.family !== "baseline");
  assert.equal(cells.length, expected.length);
  for (const [, d, h, v] of cells) {
    const r = expected.find((x) => x.detector === d && x.hook === h)!;
    assert.equal(Number(v), r.auroc.value);
  }
});

test("histogram threshold line sits at the threshold on the score axis", () => {
  const svgStart = html.indexOf('class="plot histogram"');
  const svg = html.slice(svgStart, html.indexOf("</svg>", svgStart));
  const x = Number(/<line class="threshold" x1="([\d.]+)"/.exec(svg)![1]);
  // edges 0..16 over the plot width: threshold 7.3 sits at left + width * 7.3 / 16.
  const g = HISTOGRAM_GEOMETRY;
  assert.ok(Math.abs(x - (g.left + (g.width * 7.3) / 16)) < 0.01, `x ${x}`);
});

test("the report lists each failure mode with its explanation and evidence", () => {
  assert.ok(results.failureModes.length >= 2);
  for (const m of results.failureModes) {
    assert.ok(html.includes(escapeXml(m.evidence)));
    assert.ok(html.includes(escapeXml(m.explanation)));
  }
  assert.ok(/## Failure modes/.test(md));
});

test("results that are not a madkit results file are refused with the field named", () => {
  assert.throws(() => checkResults({ ...results, format: "other" }, "r.json"), /r\.json: field 'format' must be 'madkit-bench-results'/);
  assert.throws(() => checkResults({ ...results, schemaVersion: 2 }, "r.json"), (e: Error & { code?: string }) => e.code === "VERSION_MISMATCH");
  assert.throws(() => checkResults({ ...results, records: undefined }, "r.json"), /field 'records' must be an array/);
});

test("the benign-shift control lists each detector once, at the hook chosen on the anomaly task, with shift FPR = the shift rows' recall", () => {
  const section = md.split(/^## /m).find((s) => s.startsWith("benign-shift × use-lite"))!;
  assert.ok(section, "a benign-shift section");
  const rows = section.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| detector") && !l.startsWith("| ---"));
  // Five per-input detectors and the batch method, one row each.
  assert.equal(rows.length, 6);
  const r = results.records.find((x) => x.task === "benign-shift" && x.detector === "knn:cosine" && x.hook === "blocks.2.hook_resid_post" && x.subset === "all" && x.split === "test")!;
  const fam = results.records.find((x) => x.task === "benign-shift" && x.detector === "knn:cosine" && x.hook === "blocks.2.hook_resid_post" && x.subset === "shift-gsm8k" && x.split === "test")!;
  const row = mdRecord(section, "knn:cosine", "distance", "blocks.2.hook_resid_post");
  assert.equal(row.get("shift FPR α=0.01"), `${r.atAlpha[0]!.recall.value.toFixed(3)} [${r.atAlpha[0]!.recall.lo.toFixed(3)}, ${r.atAlpha[0]!.recall.hi.toFixed(3)}]`);
  assert.equal(row.get("normal FPR α=0.05"), r.atAlpha[1]!.fpr.toFixed(3));
  assert.equal(row.get("shift-gsm8k FPR α=0.05"), fam.atAlpha[1]!.recall.value.toFixed(3));
  // Shift rows never leak into the anomaly tables: no jailbreak-ood row carries a shift-row AUROC for knn:cosine.
  const jb = md.split(/^## /m).find((s) => s.startsWith("jailbreak-ood × use-lite"))!;
  assert.ok(!jb.includes(r.auroc.value.toFixed(3) + " ["));
});

test("held-out attack classes are reported with the AUROC on the class next to the main selection's on the same class", () => {
  const row = mdRecord(md, "obfuscation", "knn:cosine", "blocks.1.hook_resid_post");
  assert.equal(row.get("AUROC on the class").split(" ")[0], "0.620");
  assert.equal(row.get("AUROC of mahalanobis @ blocks.2.hook_resid_post (chosen with it)").split(" ")[0], "0.930");
  // The validation-only all-but subset never shows up as a family row.
  assert.ok(!md.includes("all-but:"));
  assert.ok(md.includes("attack class obfuscation (all its families)"));
});

test("an α where calibration set no threshold shows dashes, not zeros, and says why", () => {
  const sel = results.selections[0]!;
  const test = { ...sel.test, atAlpha: sel.test.atAlpha.map((a) => (a.alpha === 0.01 ? { ...a, threshold: null } : a)) };
  const d = mkdtempSync(path.join(tmpdir(), "madkit-report-"));
  try {
    renderReport({ ...results, selections: [{ ...sel, test }] }, d);
    const m = readFileSync(path.join(d, "report.md"), "utf8");
    const row = mdRow(m, sel.task, sel.model, sel.detector, sel.hook, `${(sel.test.nAnomalous / sel.test.n).toFixed(3)} (${sel.test.nAnomalous} of ${sel.test.n})`);
    assert.equal(row[12], "0.01 (no threshold)");
    assert.deepEqual(row.slice(13), ["–", "–", "–", "–", "–"]);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
