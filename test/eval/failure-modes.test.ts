import { test } from "node:test";
import assert from "node:assert/strict";
import { characteriseFailures, spearman, twoProportionZ, type FailureItem } from "../../src/eval/failure-modes.js";

// A small seeded generator so every constructed score vector is the same on every run.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const THRESHOLD = 1;

interface Plan {
  plainEvades?: boolean;
  shiftFlagged?: boolean;
  lengthDriven?: boolean;
  shortEvade?: boolean;
  base64Missed?: boolean;
}

/**
 * A jailbreak-like task: 40 normal, 40 shift (two families), 5 anomalous families of 20. By default benign scores
 * sit below the threshold except a few (k % 20 === 0), anomalous above except a few, all independent of length; each plan flag
 * plants one failure mode.
 */
function scenario(plan: Plan, seed = 7): { items: FailureItem[]; scores: Float64Array } {
  const r = rng(seed);
  const items: FailureItem[] = [];
  const scores: number[] = [];
  const tokens = (): number => 5 + Math.floor(r() * 60);
  const add = (family: string, group: FailureItem["group"], n: number, score: (tok: number, k: number) => number): void => {
    for (let k = 0; k < n; k++) {
      const tok = tokens();
      items.push({ id: `${family}:${k}`, text: `${family} text ${k}`, label: group === "anomalous" ? 1 : 0, family, group, tokens: tok });
      scores.push(score(tok, k));
    }
  };
  const benignScore = (tok: number, k: number): number =>
    plan.lengthDriven ? tok / 40 + 0.05 * r() : k % 20 === 0 ? 1.2 + r() : 0.9 * r();
  const anomalousScore = (tok: number, k: number): number =>
    plan.shortEvade ? (tok <= 34 ? 0.5 * r() : 2 + r()) : k % 20 === 0 ? 0.5 * r() : 1.5 + r();
  add("benign-heldout", "normal", 40, benignScore);
  add("shift-gsm8k", "shift", 20, (tok, k) => (plan.shiftFlagged ? (k % 5 === 0 ? 0.5 : 1.5 + r()) : benignScore(tok, k)));
  add("shift-truthfulqa", "shift", 20, benignScore);
  add("harmful-plain", "anomalous", 20, (tok, k) => (plan.plainEvades ? (k % 10 === 0 ? 1.5 : 0.8 * r()) : anomalousScore(tok, k)));
  add("obfuscation-base64", "anomalous", 20, (tok, k) => (plan.base64Missed ? (k % 5 === 0 ? 1.5 : 0.7 * r()) : anomalousScore(tok, k)));
  for (const f of ["jailbreak-wild", "gcg-suffix", "synthetic-roleplay"]) add(f, "anomalous", 20, anomalousScore);
  return { items, scores: Float64Array.from(scores) };
}

function analyse(plan: Plan) {
  const { items, scores } = scenario(plan);
  return characteriseFailures({ task: "jailbreak-ood", model: "m", detector: "mahalanobis", hook: "h", items, scores, threshold: THRESHOLD, top: 3 });
}

const names = (plan: Plan): string[] => analyse(plan).modes.map((m) => m.name);

test("no failure mode is reported when every family is detected alike and scores ignore length", () => {
  assert.deepEqual(names({}), []);
});

test("harmful-plain evasion is reported with its recall against the other families when planted", () => {
  const a = analyse({ plainEvades: true });
  const m = a.modes.find((x) => x.name.startsWith("harmful requests phrased like ordinary instructions"));
  assert.ok(m, `modes: ${a.modes.map((x) => x.name).join("; ")}`);
  // 2 of 20 plain requests are flagged; 4 of the 80 other anomalous items are planted misses (k % 20 === 0).
  assert.match(m.evidence, /recall 0\.10 \(2\/20\) on harmful-plain vs 0\.95 \(76\/80\)/);
  assert.ok(m.examples.length === 3 && m.examples.every((e) => e.family === "harmful-plain" && e.kind === "false-negative"));
  assert.ok(!a.modes.some((x) => x.name.startsWith("lowest recall")), "harmful-plain is not re-reported as the lowest-recall family");
});

test("benign-shift flagging is reported with per-family false-positive rates when planted", () => {
  const m = analyse({ shiftFlagged: true }).modes.find((x) => x.name === "benign but unusual style is flagged");
  assert.ok(m);
  // shift-gsm8k: 16/20 flagged; shift-truthfulqa: its k=0 item flagged (1/20); normal: k=0 and k=20 (2/40).
  assert.match(m.evidence, /false-positive rate 0\.42 \(17\/40\) on benign-shift inputs \(shift-gsm8k 0\.80, shift-truthfulqa 0\.05\) vs 0\.05 \(2\/40\)/);
  assert.ok(m.examples.every((e) => e.family === "shift-gsm8k" && e.score > THRESHOLD));
});

test("a score that tracks token count among benign inputs is reported as length-driven with its Spearman rho", () => {
  const a = analyse({ lengthDriven: true });
  const m = a.modes.find((x) => x.name.startsWith("length drives the score: long"));
  assert.ok(m, `modes: ${a.modes.map((x) => x.name).join("; ")}`);
  const rho = Number(/ρ = ([\d.-]+)/.exec(m.evidence)![1]);
  assert.ok(rho > 0.9, `rho ${rho}`);
});

test("short anomalous inputs that evade are reported as their own mode when planted", () => {
  const m = analyse({ shortEvade: true }).modes.find((x) => x.name === "very short inputs evade");
  assert.ok(m);
  assert.match(m.evidence, /recall 0\.10 \(5\/51\) on anomalous inputs of ≤ 36 tokens vs 1\.00 \(49\/49\)/);
  // The planted misses are the inputs of at most 34 tokens; the median split (36) also holds 5 detected ones.
  assert.ok(m.examples.every((e) => e.tokens <= 34));
});

test("the lowest-recall family is named with a hypothesis specific to it (base64)", () => {
  const m = analyse({ base64Missed: true }).modes.find((x) => x.name.startsWith("lowest recall"));
  assert.ok(m);
  assert.equal(m.name, "lowest recall: obfuscation-base64");
  assert.match(m.explanation, /^Hypothesis: Base64 tokenises/);
  assert.match(m.evidence, /recall 0\.20 \(4\/20\) on obfuscation-base64/);
});

test("each planted mode is reported alone: planting one does not report the others", () => {
  assert.deepEqual(names({ plainEvades: true }), ["harmful requests phrased like ordinary instructions evade"]);
  assert.deepEqual(names({ shiftFlagged: true }), ["benign but unusual style is flagged"]);
  assert.deepEqual(names({ base64Missed: true }), ["lowest recall: obfuscation-base64"]);
  assert.deepEqual(names({ shortEvade: true }), ["very short inputs evade"]);
});

test("examples list the highest-scoring benign items and the lowest-scoring anomalous items, in order", () => {
  const { items, scores } = scenario({});
  const a = characteriseFailures({ task: "t", model: "m", detector: "d", hook: "h", items, scores, threshold: THRESHOLD, top: 4 });
  const fp = a.examples.filter((e) => e.kind === "false-positive");
  const fn = a.examples.filter((e) => e.kind === "false-negative");
  assert.equal(fp.length, 4);
  assert.equal(fn.length, 4);
  const benignScores = items.map((it, i) => (it.label === 0 ? scores[i]! : -Infinity)).sort((x, y) => y - x);
  const anomalousScores = items.map((it, i) => (it.label === 1 ? scores[i]! : Infinity)).sort((x, y) => x - y);
  assert.deepEqual(fp.map((e) => e.score), benignScores.slice(0, 4));
  assert.deepEqual(fn.map((e) => e.score), anomalousScores.slice(0, 4));
  for (const e of [...fp, ...fn]) {
    const i = items.findIndex((it) => it.id === e.id);
    assert.equal(e.text, items[i]!.text);
    assert.equal(e.threshold, THRESHOLD);
  }
});

test("true positives, when asked for, are the highest-scoring flagged anomalous items and none by default", () => {
  const { items, scores } = scenario({});
  assert.ok(!characteriseFailures({ task: "t", model: "m", detector: "d", hook: "h", items, scores, threshold: THRESHOLD }).examples.some((e) => e.kind === "true-positive"));
  const a = characteriseFailures({ task: "t", model: "m", detector: "d", hook: "h", items, scores, threshold: THRESHOLD, truePositives: 3 });
  const tp = a.examples.filter((e) => e.kind === "true-positive");
  const flagged = items.map((it, i) => (it.label === 1 && scores[i]! > THRESHOLD ? scores[i]! : -Infinity)).sort((x, y) => y - x);
  assert.deepEqual(tp.map((e) => e.score), flagged.slice(0, 3));
  assert.ok(tp.every((e) => e.family !== "normal" && e.score > THRESHOLD));
});

test("a gap on too few items is not reported even when it is large", () => {
  const { items, scores } = scenario({ plainEvades: true });
  const a = characteriseFailures({ task: "t", model: "m", detector: "d", hook: "h", items, scores, threshold: THRESHOLD, minCount: 25 });
  assert.ok(!a.modes.some((m) => m.name.startsWith("harmful requests")));
});

test("spearman equals 1 - 6 sum d^2 / (n (n^2 - 1)) without ties and 3/sqrt(10) on a tied example", () => {
  const x = [3, 1, 4, 1.5, 9, 2.6, 5];
  const y = [2, 7, 1, 8, 2.8, 18, 28];
  const rank = (v: number[]) => v.map((a) => v.filter((b) => b < a).length + 1);
  const rx = rank(x), ry = rank(y);
  const d2 = rx.reduce((s, r, i) => s + (r - ry[i]!) ** 2, 0);
  const n = x.length;
  assert.ok(Math.abs(spearman(x, y) - (1 - (6 * d2) / (n * (n * n - 1)))) < 1e-12);
  assert.ok(Math.abs(spearman([1, 2, 2, 3], [1, 3, 2, 4]) - 3 / Math.sqrt(10)) < 1e-12);
});

test("the two-proportion z matches the pooled closed form", () => {
  // 30/40 vs 10/40: p = 0.5, se = sqrt(0.25 * 2/40) = 0.1118; z = 0.5 / 0.1118 = 4.472.
  assert.ok(Math.abs(twoProportionZ(30, 40, 10, 40) - 0.5 / Math.sqrt(0.25 * (2 / 40))) < 1e-12);
});

test("mismatched lengths and non-finite scores are rejected with the offending item named", () => {
  const { items, scores } = scenario({});
  assert.throws(() => characteriseFailures({ task: "t", model: "m", detector: "d", hook: "h", items, scores: scores.slice(1), threshold: 1 }), /got 179 scores for 180 items/);
  const bad = Float64Array.from(scores);
  bad[3] = NaN;
  assert.throws(() => characteriseFailures({ task: "t", model: "m", detector: "d", hook: "h", items, scores: bad, threshold: 1 }), /item benign-heldout:3/);
});
