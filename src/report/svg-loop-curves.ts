// Recall against labels spent, one line per review policy, for one held-out family of the monitor loop: x is
// the labels spent through the review queue before a round was scored, y the round's recall on the family
// (0..1), the target recall dashed.

import { legend, linearScale, niceTicks, px, styleFor, svgOpen, text, xAxis, yAxis } from "./svg-axes.js";

/** Plot-area geometry, exported so tests can map path coordinates back to (labels, recall). */
export const LOOP_GEOMETRY = { left: 60, top: 30, width: 300, height: 220, bottom: 52 } as const;

export interface LoopCurveInput {
  readonly label: string;
  readonly points: readonly { readonly labels: number; readonly recall: number }[];
}

export function loopCurvesSvg(curves: readonly LoopCurveInput[], maxLabels: number, target: number, title: string): string {
  const g = LOOP_GEOMETRY;
  const legendWidth = Math.max(120, 30 + 6.6 * Math.max(0, ...curves.map((c) => c.label.length)));
  const width = Math.ceil(g.left + g.width + 24 + legendWidth);
  const height = g.top + g.height + g.bottom;
  const xMax = Math.max(1, maxLabels);
  const x = linearScale(0, xMax, g.left, g.left + g.width);
  const y = linearScale(0, 1, g.top + g.height, g.top);
  const parts = [svgOpen(width, height, "plot loop-curves", title)];
  parts.push(text(g.left + g.width / 2, 18, title, 'text-anchor="middle" font-size="13" font-weight="600"'));
  const yTicks = niceTicks(0, 1, 5);
  const xTicks = niceTicks(0, xMax, 5).filter((t) => t <= xMax);
  for (const t of yTicks) parts.push(`<line x1="${px(x(0))}" y1="${px(y(t))}" x2="${px(x(xMax))}" y2="${px(y(t))}" stroke="#eee"/>`);
  parts.push(`<line class="target" x1="${px(x(0))}" y1="${px(y(target))}" x2="${px(x(xMax))}" y2="${px(y(target))}" stroke="#999" stroke-dasharray="4 4"/>`);
  parts.push(xAxis({ ticks: xTicks, scale: x, label: "labels spent" }, y(0), x(0), x(xMax)));
  parts.push(yAxis({ ticks: yTicks, scale: y, label: "recall", format: (v) => v.toFixed(1) }, x(0), y(0), y(1)));
  curves.forEach((c, i) => {
    const { color, dash } = styleFor(i);
    const d = c.points.map((p, k) => `${k === 0 ? "M" : "L"}${px(x(p.labels))} ${px(y(p.recall))}`).join(" ");
    parts.push(`<path class="loop-curve" d="${d}" fill="none" stroke="${color}" stroke-width="1.8"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`);
  });
  parts.push(legend(curves.map((c, i) => ({ label: c.label, ...styleFor(i) })), g.left + g.width + 24, g.top));
  parts.push("</svg>");
  return parts.join("");
}
