// The monitor loop's section (results.monitorLoop, docs/monitor-loop.md): recall on each held-out attack family
// against labels spent, one curve per review policy; labels needed to reach the target recall; false-alarm
// rates on benign requests, benign-shift inputs and benign look-alikes; the issue's goal checked; and the
// held-out items still missed at the end, so a family that does not get there shows why.

import type { BenchResults } from "../results/contract.js";
import type { MonitorLoopCurve, MonitorLoopResult, ReviewPolicy } from "../results/monitor-loop.js";
import type { Block } from "./blocks.js";
import { fmtRate } from "./format.js";
import { loopCurvesSvg } from "./svg-loop-curves.js";
import type { Table } from "./tables.js";

const mean = (xs: readonly number[]): number => (xs.length === 0 ? NaN : xs.reduce((s, x) => s + x, 0) / xs.length);

function curve(r: MonitorLoopResult, family: string, policy: ReviewPolicy): MonitorLoopCurve | undefined {
  return r.curves.find((c) => c.family === family && c.policy === policy);
}

/** Labels to the target per family and policy; "> max" where it was not reached. */
export function labelsToTargetTable(r: MonitorLoopResult): Table {
  const cell = (c: MonitorLoopCurve | undefined): string => (c === undefined ? "–" : c.labelsToTarget === null ? `over ${r.maxLabels}` : String(c.labelsToTarget));
  return {
    id: "monitor-loop-labels",
    title: `Labels to recall ≥ ${r.targetRecall} on each held-out family`,
    note:
      `Fewest labels spent through the review queue after which a round's recall on the held-out family reached ${r.targetRecall}, ` +
      `flagging when the detector (α = ${r.alphaDetector}) or the probe (α = ${r.alphaProbe}) fires; ${r.budgetPerRound} labels per round, at most ${r.maxLabels}. ` +
      "Detector AUROC: the anomaly detector alone, the family against benign requests and against the benign look-alikes, over all rounds.",
    columns: [
      { label: "held-out family", kind: "text" },
      { label: "detector AUROC vs benign", kind: "rate" },
      { label: "vs look-alikes", kind: "rate" },
      ...r.policies.map((p) => ({ label: p, kind: "text" as const })),
    ],
    rows: r.families.map((f) => [f, r.detectorAuroc[f] ?? null, r.detectorAurocVsLookalikes?.[f] ?? null, ...r.policies.map((p) => cell(curve(r, f, p)))]),
  };
}

/** Recall round by round: one row per family × policy, one column per labels-spent step. */
export function recallTable(r: MonitorLoopResult): Table {
  const steps = Array.from({ length: r.sizes.rounds }, (_, k) => k * r.budgetPerRound);
  return {
    id: "monitor-loop-recall",
    title: "Recall on the held-out family against labels spent",
    note: `Each round's recall on its ${r.sizes.perRound["novel"] ?? "?"} held-out-family items, by the labels spent before it was scored; α_detector + α_probe = ${+(r.alphaDetector + r.alphaProbe).toFixed(4)} bounds the total FPR on benign requests. Last column: what the labels went to.`,
    columns: [{ label: "family", kind: "text" }, { label: "policy", kind: "text" }, ...steps.map((s) => ({ label: `${s} labels`, kind: "rate" as const })), { label: "labels spent on", kind: "text" }],
    rows: r.curves.map((c) => [c.family, c.policy, ...steps.map((s) => c.points.find((p) => p.labels === s)?.recall ?? null), labelsByKind(c)]),
  };
}

/** What the labels went to by the last round, e.g. "novel 12, benign-shift 30, lookalike 8". */
function labelsByKind(c: MonitorLoopCurve): string {
  const last = c.points[c.points.length - 1];
  const by = last?.labelledByKind ?? {};
  const parts = Object.entries(by)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k === "novel" ? "held-out" : k} ${n}`);
  return parts.length > 0 ? parts.join(", ") : "–";
}

/** False-alarm rates per policy, over every family's rounds. */
export function loopFprTable(r: MonitorLoopResult): Table {
  return {
    id: "monitor-loop-fpr",
    title: "False alarms of the loop's monitor",
    note:
      `Share flagged (detector or probe), mean over every round of every family; benign requests are what α_detector + α_probe = ${+(r.alphaDetector + r.alphaProbe).toFixed(4)} holds, ` +
      `on ${r.sizes.perRound["benign"] ?? "?"} per round. Look-alikes: harmless requests on jailbreak templates (${r.meanChars["lookalike"] ?? "?"} characters on average). Known harms: recall on plain harmful requests.`,
    columns: [
      { label: "policy", kind: "text" },
      { label: "FPR benign", kind: "rate" },
      { label: "max FPR benign (one round)", kind: "rate" },
      { label: "FPR benign-shift", kind: "rate" },
      { label: "FPR look-alikes", kind: "rate" },
      { label: "recall known harms", kind: "rate" },
    ],
    rows: r.policies.map((p) => {
      const pts = r.curves.filter((c) => c.policy === p).flatMap((c) => c.points);
      return [p, mean(pts.map((x) => x.fprBenign)), Math.max(...pts.map((x) => x.fprBenign)), mean(pts.map((x) => x.fprShift)), mean(pts.map((x) => x.fprLookalike)), mean(pts.map((x) => x.recallKnown))];
    }),
  };
}

/** The issue's goal, checked family by family: target recall within the label limit, anomaly ≥ 3× fewer labels than random. */
export function loopGoal(r: MonitorLoopResult): { family: string; reached: boolean; anomaly: number | null; random: number | null; threeTimes: boolean | null }[] {
  return r.families.map((f) => {
    const a = curve(r, f, "anomaly")?.labelsToTarget ?? null;
    const rnd = curve(r, f, "random")?.labelsToTarget ?? null;
    const reached = r.curves.some((c) => c.family === f && c.labelsToTarget !== null);
    // Random not reaching the target within the limit needs at least one more round's labels: a lower bound.
    const randomAtLeast = rnd ?? r.maxLabels + r.budgetPerRound;
    const threeTimes = a === null ? false : a === 0 ? null : 3 * a <= randomAtLeast;
    return { family: f, reached, anomaly: a, random: rnd, threeTimes };
  });
}

function goalParagraph(r: MonitorLoopResult): Block {
  const g = loopGoal(r);
  const parts = g.map((x) => {
    const where = x.anomaly === null ? `not reached by the anomaly queue within ${r.maxLabels} labels` : `anomaly queue ${x.anomaly} labels, random ${x.random === null ? `over ${r.maxLabels}` : x.random}`;
    const ratio = x.threeTimes === null ? " (already at the target before any label)" : x.threeTimes ? " (≥ 3× fewer)" : "";
    const others = x.anomaly === null ? r.curves.filter((c) => c.family === x.family && c.policy !== "anomaly" && c.labelsToTarget !== null) : [];
    const otherText = others.length > 0 ? ` (reached by ${others.map((c) => `${c.policy} at ${c.labelsToTarget}`).join(", ")})` : "";
    return `${x.family}: ${where}${ratio}${otherText}`;
  });
  const met = g.every((x) => x.anomaly !== null && x.threeTimes !== false);
  return {
    kind: "paragraph",
    spans: [{ strong: met ? "Goal met." : "Goal not met." }, ` Recall ≥ ${r.targetRecall} within ${r.maxLabels} labels with the anomaly-ordered queue, with at least 3× fewer labels than random review — ${parts.join("; ")}.`],
  };
}

function missesTable(r: MonitorLoopResult): Table | null {
  const rows = r.misses.filter((m) => m.policy === "anomaly" || !r.policies.includes("anomaly"));
  if (rows.length === 0) return null;
  return {
    id: "monitor-loop-misses",
    title: "Held-out items still missed in the last round",
    note: "Up to three per family (anomaly-ordered queue): the detector's conformal p-value and the probe's score; the text is cut at 300 characters.",
    columns: [
      { label: "family", kind: "text" },
      { label: "generator", kind: "text" },
      { label: "p-value", kind: "rate" },
      { label: "probe", kind: "rate" },
      { label: "text", kind: "text" },
    ],
    rows: rows.map((m) => [m.family, m.subFamily, m.pValue, m.probeScore, m.text]),
  };
}

export function monitorLoopSection(results: BenchResults): Block[] {
  const r = results.monitorLoop;
  if (!r) return [];
  const blocks: Block[] = [
    { kind: "heading", level: 2, text: "The monitor loop" },
    {
      kind: "paragraph",
      spans: [
        `A supervised probe (logistic regression on ${r.probeHooks.join(", ")}) starts from ${r.sizes.initialHarmful} plain harmful requests and ${r.sizes.initialBenign} harmless instructions; `,
        `an anomaly detector (${r.detector} on ${r.hooks.join(", ")}) is fitted on ${r.sizes.detectorFit} benign instructions. Each round of traffic holds benign requests, benign-shift inputs, benign look-alikes, known harms and one held-out attack family; `,
        `${r.budgetPerRound} items per round are reviewed in queue order, labelled from the ground truth, and the probe retrains. Everything runs through `,
        { code: "madkit serve" },
        ` on loopback (${Object.entries(r.requests)
          .map(([k, v]) => `${k} ×${v}`)
          .join(", ")}). Model ${r.model}, seed ${r.seed}${r.quick ? ", quick sizes" : ""}, ${r.durationSeconds} s.`,
      ],
    },
    goalParagraph(r),
  ];
  for (const f of r.families) {
    const curves = r.policies.flatMap((p) => {
      const c = curve(r, f, p);
      return c ? [{ label: `${p} (${c.labelsToTarget === null ? `over ${r.maxLabels}` : c.labelsToTarget})`, points: c.points }] : [];
    });
    blocks.push({ kind: "figure", svg: loopCurvesSvg(curves, r.maxLabels, r.targetRecall, `${f}: recall vs labels`), caption: `${f}: recall at total FPR ≤ ${+(100 * (r.alphaDetector + r.alphaProbe)).toFixed(2)}% on benign requests against labels spent, per queue policy (labels to ${r.targetRecall} in brackets).`, inline: true });
  }
  blocks.push({ kind: "table", table: labelsToTargetTable(r) }, { kind: "table", table: recallTable(r) }, { kind: "table", table: loopFprTable(r) });
  const misses = missesTable(r);
  if (misses) blocks.push({ kind: "table", table: misses });
  blocks.push({ kind: "paragraph", spans: [`Mean characters: ${Object.entries(r.meanChars).map(([k, v]) => `${k} ${v}`).join(", ")}. FPR benign over all loops: ${fmtRate(mean(r.curves.flatMap((c) => c.points.map((p) => p.fprBenign))))}.`] });
  return blocks;
}
