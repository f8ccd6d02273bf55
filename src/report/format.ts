// Number formatting shared by every table, plot label and sentence of the report, so a value reads the same
// in report.md, report.html and the README.

import type { WithCi } from "../results/contract.js";

/** A rate or metric in [0, 1] (AUROC, recall, FPR): three decimals. */
export function fmtRate(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  return x.toFixed(3);
}

/** A value with its 95% CI: `0.912 [0.880, 0.940]`. */
export function fmtCi(v: WithCi | null | undefined): string {
  if (!v) return "–";
  return `${fmtRate(v.value)} [${fmtRate(v.lo)}, ${fmtRate(v.hi)}]`;
}

/** A score or threshold on an arbitrary scale: about three significant digits, exponent only when needed. */
export function fmtScore(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(2);
  return x.toFixed(a >= 100 ? 1 : a >= 10 ? 2 : 3);
}

export function fmtSeconds(x: number): string {
  return Number.isFinite(x) ? x.toFixed(1) : "–";
}

export function fmtPercent(x: number): string {
  return `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`;
}
