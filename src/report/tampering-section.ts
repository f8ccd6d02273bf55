// The measurement-tampering section (issue 16): the vault model's accuracy, each method's best row (real-vs-fake
// AUROC, TPR at 1% FPR, per tampering kind), the tampering probe with each kind held out, which layers carry the
// difference, and the mechanism margin stated whichever way it falls. Everything comes from results.tampering.

import type { BenchResults } from "../results/contract.js";
import type { TamperingRow, TamperingSummary } from "../results/tampering.js";
import type { Block } from "./blocks.js";
import { fmtCi, fmtRate } from "./format.js";
import type { Table } from "./tables.js";

const h = (level: 1 | 2 | 3, text: string): Block => ({ kind: "heading", level, text });

/** The best row of each (method, model) by test AUROC — the table a reader compares; the per-layer table has the rest. */
export function bestRowPerMethod(rows: readonly TamperingRow[]): TamperingRow[] {
  const best = new Map<string, TamperingRow>();
  for (const r of rows) {
    const key = `${r.family}\0${r.method}\0${r.model}`;
    const b = best.get(key);
    if (!b || r.auroc.value > b.auroc.value) best.set(key, r);
  }
  const order = ["detector", "tampering-probe", "ground-truth-probe", "surface", "control"];
  return [...best.values()].sort((a, b) => order.indexOf(a.family) - order.indexOf(b.family) || b.auroc.value - a.auroc.value);
}

export function tamperingMethodsTable(t: TamperingSummary): Table {
  return {
    id: "tampering-methods",
    title: "Measurement tampering: real vs tampered among all-positive test programs",
    note:
      "Each method's best hook by test AUROC (an upper bound for every row but the label-free headline, stated above); intervals are 95% bootstrap. " +
      "Detectors and the control fit on trusted (clean) programs only; the probes are supervised.",
    columns: [
      { label: "method", kind: "text" },
      { label: "family", kind: "text" },
      { label: "model", kind: "text" },
      { label: "hook", kind: "text" },
      { label: "AUROC", kind: "ci" },
      { label: "TPR @ 1% FPR", kind: "ci" },
      ...t.kinds.map((k) => ({ label: `AUROC ${k}`, kind: "rate" as const })),
    ],
    rows: bestRowPerMethod(t.rows).map((r) => [r.method, r.family, r.model, r.hook, r.auroc, r.tprAt1Fpr, ...t.kinds.map((k) => r.perKind[k]?.value ?? null)]),
  };
}

export function tamperingHeldOutTable(t: TamperingSummary): Table {
  const probes = t.rows.filter((r) => r.family === "tampering-probe" && r.heldOutPerKind);
  return {
    id: "tampering-held-out",
    title: "Tampering probe, leave one kind out",
    note: "AUROC on each kind when that kind's disagreeing programs were left out of the probe's training, per hook; beside it, the probe trained on every kind.",
    columns: [{ label: "hook", kind: "text" }, ...t.kinds.flatMap((k) => [{ label: `${k} held out`, kind: "ci" as const }, { label: `${k} seen`, kind: "rate" as const }])],
    rows: probes.map((r) => [r.hook, ...t.kinds.flatMap((k) => [r.heldOutPerKind![k] ?? null, r.perKind[k]?.value ?? null])]),
  };
}

export function tamperingLayerTable(t: TamperingSummary): Table {
  const hooks = [...new Set(t.rows.filter((r) => r.model === t.model.name && r.family !== "surface").map((r) => r.hook))];
  const methods = [...new Set(t.rows.filter((r) => r.model === t.model.name && r.family !== "surface").map((r) => r.method))];
  const at = (m: string, hook: string, model = t.model.name): number | null => t.rows.find((r) => r.method === m && r.hook === hook && r.model === model)?.auroc.value ?? null;
  return {
    id: "tampering-layers",
    title: "Which layers carry the difference (test AUROC per hook)",
    columns: [{ label: "hook", kind: "text" }, ...methods.map((m) => ({ label: m, kind: "rate" as const })), { label: "mahalanobis (untrained)", kind: "rate" }],
    rows: hooks.map((hook) => [hook, ...methods.map((m) => at(m, hook)), at("mahalanobis", hook, "vault-untrained")]),
  };
}

export function tamperingSection(results: BenchResults): Block[] {
  const t = results.tampering;
  if (!t) return [];
  const acc = Object.entries(t.model.accuracy).map(([s, a]) => `${s} ${fmtRate(a)}`).join(", ");
  const out: Block[] = [h(2, "Measurement tampering (vault world)")];
  out.push({
    kind: "paragraph",
    spans: [
      `A ${t.model.layers}-layer, ${t.model.dim}-wide Llama (${t.model.parameters} parameters, the vault's own vocabulary) trained from scratch with madkit's training code for ${t.model.trainSteps} steps `,
      `(${t.model.trainedNow ? `${t.model.trainSeconds} s, this run` : "reused from the cache"}) predicts the three sensor readings of held-out programs with accuracy ${acc} `,
      `(all three right: ${fmtRate(t.model.allThreeAccuracy)}; ${t.model.heldOutPrograms} programs never trained on). Difficulty ${t.difficulty}; test: ${t.sizes.realTest} real positives, `,
      `${Object.entries(t.sizes.tamperedTest).map(([k, n]) => `${n} ${k}`).join(", ")} tampered; trusted: ${t.sizes.trustedFit} clean programs.`,
    ],
  });
  const head = t.headline;
  out.push({
    kind: "paragraph",
    spans: [
      { strong: "Mechanism margin: " },
      head
        ? `the label-free headline ${head.method} @ ${head.hook} reaches AUROC ${fmtCi(head.auroc)}; the best surface baseline ${t.bestSurface ? `${t.bestSurface.method} ${fmtCi(t.bestSurface.auroc)}` : "–"}` +
          `, the untrained control's label-free pick ${t.control ? `${t.control.method} @ ${t.control.hook} ${fmtCi(t.control.auroc)}` : "–"}: ${t.verdict}.` +
          (t.oracle && t.oracleMargin !== null
            ? ` The oracle (chosen on labelled validation) ${t.oracle.method} @ ${t.oracle.hook} reaches ${fmtCi(t.oracle.auroc)}, a margin of ${t.oracleMargin >= 0 ? "+" : "−"}${Math.abs(t.oracleMargin).toFixed(3)}: what a better label-free rule could at best recover.`
            : "")
        : "no detector could be fitted.",
    ],
  });
  out.push({ kind: "table", table: tamperingMethodsTable(t) });
  out.push({ kind: "table", table: tamperingHeldOutTable(t) });
  out.push({ kind: "table", table: tamperingLayerTable(t) });
  out.push({ kind: "list", items: t.notes.map((n) => [n]) });
  return out;
}
