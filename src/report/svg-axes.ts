// The pieces every hand-written SVG plot shares: round tick values, linear scales, axis lines with ticks and
// labels, a legend and a colour-blind-safe palette. Strings only; callers escape nothing (this module does).

import { escapeXml } from "./escape.js";

/** Okabe–Ito colours (readable with the common colour-vision deficiencies), yellow left out: too pale on white. */
export const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"] as const;
/** After the palette runs out, curves are told apart by dashes as well. */
export const DASHES = ["", "6 3", "2 2", "8 3 2 3"] as const;

export function styleFor(i: number): { color: string; dash: string } {
  return { color: PALETTE[i % PALETTE.length]!, dash: DASHES[Math.floor(i / PALETTE.length) % DASHES.length]! };
}

/** Ticks at 1, 2 or 5 × 10^k covering [lo, hi] with about `count` intervals. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

/** Formats ticks with just the decimals their spacing needs (0, 5, 10 or 0.25, 0.5, 0.75), exponent for extremes. */
export function tickFormat(ticks: readonly number[]): (v: number) => string {
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : Math.abs(ticks[0] ?? 1) || 1;
  const big = Math.max(...ticks.map(Math.abs));
  if (big >= 1e6 || step < 1e-4) return (v) => (v === 0 ? "0" : v.toExponential(1));
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return (v) => v.toFixed(decimals);
}

export interface Scale {
  (v: number): number;
}

/** Maps [d0, d1] onto [r0, r1]. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): Scale {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v: number) => r0 + (v - d0) * k;
}

/** Coordinates rounded to 0.01 px: enough for any screen, and keeps long curves short. */
export function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

export function text(x: number, y: number, s: string, attrs = ""): string {
  return `<text x="${px(x)}" y="${px(y)}"${attrs ? " " + attrs : ""}>${escapeXml(s)}</text>`;
}

export interface AxisSpec {
  readonly ticks: readonly number[];
  readonly scale: Scale;
  readonly label: string;
  readonly format?: (v: number) => string;
}

/** An x axis along y = `y` from x0 to x1, with ticks and the label centred below. */
export function xAxis(spec: AxisSpec, y: number, x0: number, x1: number): string {
  const f = spec.format ?? tickFormat(spec.ticks);
  const parts = [`<line class="axis" x1="${px(x0)}" y1="${px(y)}" x2="${px(x1)}" y2="${px(y)}" stroke="#333"/>`];
  for (const t of spec.ticks) {
    const x = spec.scale(t);
    parts.push(`<line x1="${px(x)}" y1="${px(y)}" x2="${px(x)}" y2="${px(y + 4)}" stroke="#333"/>`);
    parts.push(text(x, y + 16, f(t), 'text-anchor="middle" font-size="11"'));
  }
  parts.push(text((x0 + x1) / 2, y + 34, spec.label, 'text-anchor="middle" font-size="12"'));
  return parts.join("");
}

/** A y axis along x = `x` from y0 (bottom) to y1 (top), with ticks and the label rotated alongside. */
export function yAxis(spec: AxisSpec, x: number, y0: number, y1: number): string {
  const f = spec.format ?? tickFormat(spec.ticks);
  const parts = [`<line class="axis" x1="${px(x)}" y1="${px(y0)}" x2="${px(x)}" y2="${px(y1)}" stroke="#333"/>`];
  for (const t of spec.ticks) {
    const y = spec.scale(t);
    parts.push(`<line x1="${px(x - 4)}" y1="${px(y)}" x2="${px(x)}" y2="${px(y)}" stroke="#333"/>`);
    parts.push(text(x - 7, y + 4, f(t), 'text-anchor="end" font-size="11"'));
  }
  const cy = (y0 + y1) / 2;
  parts.push(text(x - 40, cy, spec.label, `text-anchor="middle" font-size="12" transform="rotate(-90 ${px(x - 40)} ${px(cy)})"`));
  return parts.join("");
}

export interface LegendEntry {
  readonly label: string;
  readonly color: string;
  readonly dash?: string;
  /** A filled swatch (histogram bars) instead of a line (curves). */
  readonly fill?: boolean;
}

/** A vertical legend whose first row's top is at (x, y). */
export function legend(entries: readonly LegendEntry[], x: number, y: number): string {
  const parts = ['<g class="legend">'];
  entries.forEach((e, i) => {
    const cy = y + 8 + i * 18;
    if (e.fill) parts.push(`<rect x="${px(x)}" y="${px(cy - 6)}" width="18" height="12" fill="${e.color}" fill-opacity="0.35" stroke="${e.color}"/>`);
    else parts.push(`<line x1="${px(x)}" y1="${px(cy)}" x2="${px(x + 18)}" y2="${px(cy)}" stroke="${e.color}" stroke-width="2"${e.dash ? ` stroke-dasharray="${e.dash}"` : ""}/>`);
    parts.push(text(x + 24, cy + 4, e.label, 'font-size="11"'));
  });
  parts.push("</g>");
  return parts.join("");
}

/** The opening tag of a standalone, accessible SVG (role img + a title that screen readers announce). */
export function svgOpen(width: number, height: number, cls: string, title: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="${cls}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `role="img" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"><title>${escapeXml(title)}</title>` +
    `<rect width="${width}" height="${height}" fill="#fff"/>`
  );
}
