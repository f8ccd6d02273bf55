// ROC curves of several detectors on one task × model as one SVG: false-positive rate on x, true-positive
// rate on y, both 0..1, the chance diagonal dashed, a legend with each curve's AUROC when it is known.

import type { RocPoints } from "../results/contract.js";
import { legend, linearScale, niceTicks, px, styleFor, svgOpen, text, xAxis, yAxis } from "./svg-axes.js";

/** Plot-area geometry, exported so tests can map path coordinates back to (FPR, TPR). */
export const ROC_GEOMETRY = { left: 60, top: 30, size: 300, bottom: 52 } as const;
/** Legend text width estimate for 11 px sans-serif; generous so labels are never clipped. */
const CHAR_PX = 6.6;

export interface RocCurveInput {
  readonly label: string;
  readonly fpr: readonly number[];
  readonly tpr: readonly number[];
}

/** Points sorted along the curve, with (0,0) and (1,1) added when the stored curve lacks them. */
export function closedCurve(c: Pick<RocPoints, "fpr" | "tpr">): [number, number][] {
  const pts: [number, number][] = c.fpr.map((f, i) => [f, c.tpr[i]!]);
  pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length === 0 || pts[0]![0] !== 0 || pts[0]![1] !== 0) pts.unshift([0, 0]);
  const last = pts[pts.length - 1]!;
  if (last[0] !== 1 || last[1] !== 1) pts.push([1, 1]);
  return pts;
}

export function rocSvg(curves: readonly RocCurveInput[], title: string): string {
  const g = ROC_GEOMETRY;
  const legendWidth = Math.max(160, 30 + CHAR_PX * Math.max(0, ...curves.map((c) => c.label.length)));
  const width = Math.ceil(g.left + g.size + 24 + legendWidth);
  const legendHeight = 18 * curves.length + 10;
  const height = Math.max(g.top + g.size + g.bottom, g.top + legendHeight + 10);
  const x = linearScale(0, 1, g.left, g.left + g.size);
  const y = linearScale(0, 1, g.top + g.size, g.top);
  const ticks = niceTicks(0, 1, 5);
  const fmt = (v: number) => v.toFixed(1);
  const parts = [svgOpen(width, height, "plot roc", title)];
  parts.push(text(g.left + g.size / 2, 18, title, 'text-anchor="middle" font-size="13" font-weight="600"'));
  for (const t of ticks) {
    parts.push(`<line x1="${px(x(t))}" y1="${px(y(0))}" x2="${px(x(t))}" y2="${px(y(1))}" stroke="#eee"/>`);
    parts.push(`<line x1="${px(x(0))}" y1="${px(y(t))}" x2="${px(x(1))}" y2="${px(y(t))}" stroke="#eee"/>`);
  }
  parts.push(`<line class="chance" x1="${px(x(0))}" y1="${px(y(0))}" x2="${px(x(1))}" y2="${px(y(1))}" stroke="#999" stroke-dasharray="4 4"/>`);
  parts.push(xAxis({ ticks, scale: x, label: "false-positive rate", format: fmt }, y(0), x(0), x(1)));
  parts.push(yAxis({ ticks, scale: y, label: "true-positive rate", format: fmt }, x(0), y(0), y(1)));
  curves.forEach((c, i) => {
    const { color, dash } = styleFor(i);
    const d = closedCurve(c)
      .map(([f, t], k) => `${k === 0 ? "M" : "L"}${px(x(f))} ${px(y(t))}`)
      .join(" ");
    parts.push(`<path class="roc-curve" d="${d}" fill="none" stroke="${color}" stroke-width="1.8"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`);
  });
  parts.push(legend(curves.map((c, i) => ({ label: c.label, ...styleFor(i) })), g.left + g.size + 24, g.top));
  parts.push("</svg>");
  return parts.join("");
}
