// Score histogram of normal vs anomalous test inputs for one detector × hook, each class normalised to
// fractions (the classes differ in size), with the calibrated threshold drawn as a vertical line.

import type { ScoreHistogram } from "../results/contract.js";
import { fmtScore } from "./format.js";
import { legend, linearScale, niceTicks, px, svgOpen, text, xAxis, yAxis } from "./svg-axes.js";

export const HISTOGRAM_GEOMETRY = { left: 58, top: 30, width: 300, height: 170, bottom: 48, legendWidth: 190 } as const;
const NORMAL = "#0072B2";
const ANOMALOUS = "#D55E00";

function fractions(counts: readonly number[]): number[] {
  const total = counts.reduce((s, c) => s + c, 0);
  return counts.map((c) => (total > 0 ? c / total : 0));
}

export function histogramSvg(h: ScoreHistogram, title: string): string {
  const g = HISTOGRAM_GEOMETRY;
  const width = g.left + g.width + 20 + g.legendWidth;
  const height = g.top + g.height + g.bottom;
  const lo = h.edges[0]!;
  const hi = h.edges[h.edges.length - 1]!;
  const fn = fractions(h.normal);
  const fa = fractions(h.anomalous);
  const ymax = Math.max(1e-9, ...fn, ...fa);
  const x = linearScale(lo, hi, g.left, g.left + g.width);
  const y = linearScale(0, ymax * 1.05, g.top + g.height, g.top);
  const parts = [svgOpen(width, height, "plot histogram", title)];
  parts.push(text(g.left + g.width / 2, 18, title, 'text-anchor="middle" font-size="13" font-weight="600"'));
  const bars = (f: number[], color: string, cls: string): string => {
    // A step outline: up and across each bin, back to the axis at the end.
    let d = `M${px(x(lo))} ${px(y(0))}`;
    f.forEach((v, i) => {
      d += ` L${px(x(h.edges[i]!))} ${px(y(v))} L${px(x(h.edges[i + 1]!))} ${px(y(v))}`;
    });
    d += ` L${px(x(hi))} ${px(y(0))} Z`;
    return `<path class="${cls}" d="${d}" fill="${color}" fill-opacity="0.3" stroke="${color}" stroke-width="1.4"/>`;
  };
  parts.push(bars(fn, NORMAL, "hist-normal"));
  parts.push(bars(fa, ANOMALOUS, "hist-anomalous"));
  parts.push(xAxis({ ticks: niceTicks(lo, hi, 5), scale: x, label: "score (higher = more anomalous)" }, y(0), x(lo), x(hi)));
  parts.push(yAxis({ ticks: niceTicks(0, ymax * 1.05, 4), scale: y, label: "fraction of class" }, x(lo), y(0), g.top));
  // The runner writes a huge threshold when calibration could not set one (nothing is flagged): no line then.
  const none = !Number.isFinite(h.threshold) || Math.abs(h.threshold) > 1e300;
  const offScale = !none && (h.threshold < lo || h.threshold > hi);
  const tx = x(Math.max(lo, Math.min(hi, none ? hi : h.threshold)));
  if (!none) parts.push(`<line class="threshold" x1="${px(tx)}" y1="${px(y(0))}" x2="${px(tx)}" y2="${px(g.top)}" stroke="#222" stroke-width="1.5" stroke-dasharray="5 3"/>`);
  parts.push(
    legend(
      [
        { label: `normal (n=${h.normal.reduce((s, c) => s + c, 0)})`, color: NORMAL, fill: true },
        { label: `anomalous (n=${h.anomalous.reduce((s, c) => s + c, 0)})`, color: ANOMALOUS, fill: true },
        { label: none ? "no threshold (nothing flagged)" : `threshold ${fmtScore(h.threshold)}${offScale ? " (off scale)" : ""}`, color: "#222", dash: "5 3" },
      ],
      g.left + g.width + 20,
      g.top,
    ),
  );
  parts.push("</svg>");
  return parts.join("");
}
