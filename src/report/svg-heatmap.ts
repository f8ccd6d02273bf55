// Per-layer AUROC heat map for one task × model: detectors in rows, hooks (embedding → last layer) in columns,
// each cell coloured on a diverging scale centred at chance (0.5) and labelled with its value.

import { escapeXml } from "./escape.js";
import { fmtRate } from "./format.js";
import { px, svgOpen, text } from "./svg-axes.js";
import { hookLabel, type LayerGrid } from "./tables.js";

export const HEATMAP_GEOMETRY = { rowLabel: 170, top: 110, cellW: 58, cellH: 26, legendH: 56 } as const;

const BLUE = [33, 102, 172];
const WHITE = [247, 247, 247];
const RED = [178, 24, 43];

/** Diverging colour: blue below chance, near-white at 0.5, red towards 1. */
export function aurocColor(v: number): string {
  const t = Math.max(0, Math.min(1, v));
  const [a, b, k] = t < 0.5 ? [BLUE, WHITE, t / 0.5] : [WHITE, RED, (t - 0.5) / 0.5];
  const c = a.map((ai, i) => Math.round(ai + (b[i]! - ai) * k));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function inkFor(v: number): string {
  return v > 0.8 || v < 0.2 ? "#fff" : "#111";
}

export function heatmapSvg(grid: LayerGrid, title: string): string {
  const g = HEATMAP_GEOMETRY;
  const nr = grid.detectors.length;
  const nc = grid.hooks.length;
  // Room on the right for the last column's slanted label.
  const width = Math.max(g.rowLabel + nc * g.cellW + 90, 460);
  const height = g.top + nr * g.cellH + g.legendH;
  const parts = [svgOpen(width, height, "plot heatmap", title)];
  parts.push(text(10, 18, title, 'font-size="13" font-weight="600"'));
  grid.hooks.forEach((h, j) => {
    const cx = g.rowLabel + j * g.cellW + g.cellW / 2;
    const cy = g.top - 8;
    parts.push(text(cx, cy, hookLabel(h.hook, h.layer), `font-size="11" transform="rotate(-40 ${px(cx)} ${px(cy)})"`));
  });
  grid.detectors.forEach((d, i) => {
    const y = g.top + i * g.cellH;
    parts.push(text(g.rowLabel - 8, y + g.cellH / 2 + 4, d, 'text-anchor="end" font-size="11"'));
    grid.hooks.forEach((h, j) => {
      const v = grid.auroc[i * nc + j]!;
      const x = g.rowLabel + j * g.cellW;
      const known = !Number.isNaN(v);
      const label = `${d} @ ${h.hook}: ${known ? `AUROC ${fmtRate(v)}` : "not run"}`;
      parts.push(
        `<rect class="cell" x="${px(x)}" y="${px(y)}" width="${g.cellW - 1}" height="${g.cellH - 1}" fill="${known ? aurocColor(v) : "#ddd"}" ` +
          `data-detector="${escapeXml(d)}" data-hook="${escapeXml(h.hook)}" data-auroc="${known ? String(v) : ""}"><title>${escapeXml(label)}</title></rect>`,
      );
      parts.push(text(x + (g.cellW - 1) / 2, y + g.cellH / 2 + 4, known ? v.toFixed(2) : "–", `text-anchor="middle" font-size="11" fill="${known ? inkFor(v) : "#555"}"`));
    });
  });
  // Colour key as discrete steps (no gradient ids, which would collide between several SVGs in one page).
  const ky = g.top + nr * g.cellH + 18;
  const steps = 20;
  const kw = 200;
  for (let s = 0; s < steps; s++) {
    const v = (s + 0.5) / steps;
    parts.push(`<rect x="${px(g.rowLabel + (s * kw) / steps)}" y="${px(ky)}" width="${px(kw / steps + 0.5)}" height="10" fill="${aurocColor(v)}"/>`);
  }
  for (const v of [0, 0.5, 1]) parts.push(text(g.rowLabel + v * kw, ky + 24, v.toFixed(1), 'text-anchor="middle" font-size="10"'));
  parts.push(text(g.rowLabel - 8, ky + 9, "AUROC", 'text-anchor="end" font-size="11"'));
  parts.push(text(g.rowLabel + kw + 10, ky + 9, "0.5 = chance", 'font-size="10" fill="#555"'));
  parts.push("</svg>");
  return parts.join("");
}
