import assert from "node:assert/strict";
import test from "node:test";
import { mechanismMargins } from "../../src/bench/mechanism-margin.js";
import { buildDocument } from "../../src/report/document.js";
import { renderHtml } from "../../src/report/html.js";
import { checkResults } from "../../src/report/load-results.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { readmeResultsSection } from "../../src/report/readme.js";
import { MECHANISM_MARGIN_MIN, type BenchResults, type ResultRecord } from "../../src/results/contract.js";
import { syntheticResults } from "./synthetic-results.js";

/** The synthetic run plus one strong last-token surface row on story-ood, and the margins the bench would write. */
function withMargins(): { results: BenchResults; surfaceAuroc: number } {
  const base = syntheticResults();
  const sel = base.selections.find((s) => s.task === "story-ood")!;
  // Just under the selected detector: story-ood's margin is below the floor, jailbreak-ood's is not.
  const surfaceAuroc = Math.round((sel.test.auroc.value - MECHANISM_MARGIN_MIN / 2) * 1e4) / 1e4;
  const surface: ResultRecord = { ...sel.test, detector: "surface:last-tokens-1:knn:cosine", hook: "surface:last-tokens-1:knn:cosine", family: "baseline", layer: null, auroc: { value: surfaceAuroc, lo: surfaceAuroc - 0.02, hi: surfaceAuroc + 0.02 } };
  const records = [...base.records, surface];
  return { results: { ...base, records, mechanismMargins: mechanismMargins(records, base.selections) }, surfaceAuroc };
}

const cellsOf = (row: string): string[] => row.slice(2, -2).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\(.)/g, "$1"));

test("report.md opens with the mechanism margin, a sentence for each task the detectors do not beat, and the margin recomputed from the table's own AUROCs", () => {
  const { results, surfaceAuroc } = withMargins();
  const md = renderMarkdown(buildDocument(results));
  const at = (s: string): number => md.indexOf(s);
  assert.ok(at("## Mechanism margin") > 0);
  assert.ok(at("## Mechanism margin") < at("## How to read this report"));
  assert.ok(at("## Mechanism margin") < at("## Headline"));
  assert.match(md, /On story-ood × stories260k the detectors do not beat the surface baselines: the selected/);
  assert.doesNotMatch(md, /On jailbreak-ood × use-lite the detectors do not beat/);
  const row = md.split("\n").find((l) => l.startsWith("| story-ood × stories260k |") && l.includes("surface:last-tokens-1"))!;
  const cells = cellsOf(row);
  const selected = Number(cells[2]!.split(" ")[0]);
  assert.equal(Number(cells[4]!.split(" ")[0]), surfaceAuroc);
  const margin = Number(cells[7]!.replace("−", "-"));
  assert.ok(Math.abs(margin - (selected - surfaceAuroc)) <= 0.0015, `${cells[7]} vs ${selected} − ${surfaceAuroc}`);
  assert.ok(margin <= MECHANISM_MARGIN_MIN);
  // The HTML report says the same first.
  const html = renderHtml(buildDocument(results), "t");
  assert.ok(html.indexOf("Mechanism margin") < html.indexOf("How to read this report"));
});

test("the README's Results section leads with the same table and sentence, before the headline", () => {
  const { results } = withMargins();
  const text = readmeResultsSection(results);
  const table = text.indexOf("**Mechanism margin: the selected detector against the input text alone**");
  assert.ok(table > 0 && table < text.indexOf("**Headline**"));
  const warning = text.indexOf("On story-ood × stories260k the detectors do not beat");
  assert.ok(warning > 0 && warning < table);
});

test("results from before the margin existed render without the section", () => {
  const results = syntheticResults();
  assert.equal(results.mechanismMargins, undefined);
  assert.doesNotMatch(renderMarkdown(buildDocument(results)), /Mechanism margin/);
  assert.doesNotMatch(readmeResultsSection(results), /Mechanism margin/);
});

test("a results file whose mechanismMargins is not an array is refused, naming the field", () => {
  const bad = { ...syntheticResults(), mechanismMargins: { margin: 0.3 } };
  assert.throws(() => checkResults(bad, "results.json"), /results\.json: field 'mechanismMargins' must be an array when present, found object/);
});

test("the ROC figure draws the strongest baseline only, not every surface row", () => {
  const base = syntheticResults();
  const length = base.records.find((r) => r.task === "story-ood" && r.detector === "length" && r.split === "test")!;
  const row = (detector: string, value: number): ResultRecord[] =>
    (["validation", "test"] as const).map((split) => ({ ...length, detector, hook: detector, split, auroc: { value, lo: value - 0.02, hi: value + 0.02 } }));
  const records = [...base.records, ...row("surface:ngram:lof", length.auroc.value + 0.1), ...row("surface:ngram:pca", length.auroc.value - 0.1)];
  const curve = (detector: string) => ({ key: `story-ood/stories260k/${detector}/${detector}`, fpr: [0, 0.5, 1], tpr: [0, 0.8, 1] });
  const roc = [...base.roc, curve("surface:ngram:lof"), curve("surface:ngram:pca")];
  const svgOf = (task: string): string => {
    const fig = buildDocument({ ...base, records, roc }).find((b) => b.kind === "figure" && b.caption.startsWith(`ROC, ${task} ×`));
    assert.ok(fig && fig.kind === "figure");
    return fig.svg;
  };
  const story = svgOf("story-ood");
  assert.match(story, /surface:ngram:lof/);
  assert.doesNotMatch(story, /surface:ngram:pca/);
  assert.doesNotMatch(story, /length @ input_length/);
  // Where length is the strongest baseline, it is drawn.
  assert.match(svgOf("jailbreak-ood"), /length @ input_length/);
});

test("the capability gap joins the warnings at the top when its best activation score does not beat the best baseline by more than the floor", () => {
  const base = syntheticResults();
  const row = (weakModel: string, score: string, kind: "activation" | "baseline" | "behaviour", auroc: number) => ({
    weakModel, score, kind, alpha: 0.05, threshold: 1, precision: 0.5, recall: 0.5, auroc, n: 100, nGap: 40, nCalibration: 50,
  });
  const gap = (activation: number) => ({
    strongModel: "stories260k",
    weakModels: [{ name: "weak-a", description: "" }],
    sizes: { positions: 10, evaluationPositions: 5, strongCorrect: 5, calibrationPositions: 5 },
    reportAlpha: 0.05,
    seconds: 1,
    rows: [row("weak-a", "activation:ridge-residual", "activation", activation), row("weak-a", "baseline:weak-entropy", "baseline", 0.66), row("weak-a", "behaviour:surprise-gap", "behaviour", 0.95)],
  });
  const losing = { ...base, capabilityGap: gap(0.66 + MECHANISM_MARGIN_MIN - 0.01) } as unknown as BenchResults;
  const md = renderMarkdown(buildDocument(losing));
  const sentence = /On the capability gap \(stories260k vs weak-a\) the activation score does not beat the baselines: activation:ridge-residual AUROC 0\.700 against baseline:weak-entropy 0\.660/;
  assert.match(md, sentence);
  assert.ok(md.search(sentence) < md.indexOf("## How to read this report"), "at the top");
  assert.match(readmeResultsSection(losing), sentence);
  // The behaviour score (0.95) reads the label's inputs: it never counts as the activation score.
  const winning = { ...base, capabilityGap: gap(0.66 + MECHANISM_MARGIN_MIN + 0.01) } as unknown as BenchResults;
  assert.doesNotMatch(renderMarkdown(buildDocument(winning)), /On the capability gap/);
});

test("a control model's own row is never a warning: its detectors are meant to see nothing", () => {
  const { results } = withMargins();
  const m = results.mechanismMargins![0]!;
  const control = { ...m, task: "backdoor-position", model: "stories260k-original", margin: -0.3, beatsSurface: false, verdict: "control model (no backdoor): detectors do not beat the surface baselines (margin −0.300)" };
  // A control row is the model another row of the same task names as its control.
  const backdoored = { ...m, task: "backdoor-position", model: "stories260k+backdoor-position", margin: 0.3, beatsSurface: true, verdict: "mechanism margin +0.300",
    control: { model: "stories260k-original", detector: m.selected.detector, hook: m.selected.hook, auroc: m.selected.auroc } };
  const withControl = { ...results, mechanismMargins: [...results.mechanismMargins!, backdoored, control] };
  const md = renderMarkdown(buildDocument(withControl));
  assert.doesNotMatch(md, /On backdoor-position × stories260k-original/);
  assert.match(md, /control model \(no backdoor\): detectors do not beat/, "the row itself stays in the table");
});
