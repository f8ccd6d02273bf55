// report.html: the report's blocks as one self-contained page: inline CSS, inline SVG figures, no scripts and
// no external resources, so it reads the same offline. The markup is also well-formed XML (every tag closed).

import type { Block, Span } from "./blocks.js";
import { escapeXml, truncate } from "./escape.js";
import { formatCell, isMarked, windowMarked, type MarkedText, type Table } from "./tables.js";

/** Text cells longer than this show their start; the full text is one click away in a <details>. */
export const HTML_PREVIEW_CHARS = 240;

const CSS = `
body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1a1a1a;max-width:1180px;margin:2em auto;padding:0 1em}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}h3{margin-top:1.5em}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px;font-size:.92em}
nav ul{columns:2;margin:.3em 0}
.table-wrap{overflow-x:auto;margin:.6em 0 1.2em}
table{border-collapse:collapse;font-size:12.5px}
.table-title{margin:1em 0 .2em;font-weight:600}
.table-title .note{display:block;font-weight:400;color:#555;font-style:italic;font-size:.92em}
th,td{border:1px solid #ddd;padding:3px 7px;vertical-align:top}
th{background:#f6f6f6;text-align:left}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.text{white-space:nowrap}
td.longtext{min-width:360px;max-width:620px;overflow-wrap:anywhere}
.ci{display:block;color:#666;font-size:.88em}
tr:nth-child(even) td{background:#fbfbfb}
figure{margin:1em 0}figcaption{color:#555;font-size:.9em}
figure.inline{display:inline-block;vertical-align:top;width:540px;margin:.5em 12px .5em 0}
svg.plot{max-width:100%;height:auto}
details summary{cursor:pointer}
mark{background:#ffe066;padding:0 1px;border-radius:2px}
details pre,.fulltext{white-space:pre-wrap;overflow-wrap:anywhere;font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;background:#f7f7f7;padding:.4em;margin:.3em 0}
`;

export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "section";
}

function span(s: Span): string {
  if (typeof s === "string") return escapeXml(s);
  if ("code" in s) return `<code>${escapeXml(s.code)}</code>`;
  if ("strong" in s) return `<strong>${escapeXml(s.strong)}</strong>`;
  return `<em>${escapeXml(s.em)}</em>`;
}

/** Short labels stay on one line; long free text (failure examples) wraps, and beyond a preview folds away. */
function textCell(s: string): string {
  const n = Array.from(s).length;
  if (n <= 60 && !s.includes("\n")) return `<td class="text">${escapeXml(s)}</td>`;
  if (n <= HTML_PREVIEW_CHARS && !s.includes("\n")) return `<td class="longtext">${escapeXml(s)}</td>`;
  const preview = truncate(s.replace(/\s+/g, " "), HTML_PREVIEW_CHARS);
  return `<td class="longtext"><details><summary>${escapeXml(preview)}</summary><div class="fulltext">${escapeXml(s)}</div></details></td>`;
}

function markedHtml(m: MarkedText): string {
  return `${escapeXml(m.marked.before)}<mark>${escapeXml(m.marked.span)}</mark>${escapeXml(m.marked.after)}`;
}

/** An example's tokens with the anomalous span highlighted; a long one shows a window around the span, the rest folded. */
function markedCell(m: MarkedText): string {
  const n = Array.from(m.marked.before + m.marked.span + m.marked.after).length;
  if (n <= HTML_PREVIEW_CHARS) return `<td class="longtext">${markedHtml(m)}</td>`;
  const preview = windowMarked(m, 80, 160);
  return `<td class="longtext"><details><summary>${markedHtml(preview)}</summary><div class="fulltext">${markedHtml(m)}</div></details></td>`;
}

/** A value with its interval: the value on top, the bracketed interval small beneath, to keep columns narrow. */
function ciCell(text: string): string {
  const m = /^(\S+) (\[.*\])$/.exec(text);
  if (!m) return `<td class="num">${escapeXml(text)}</td>`;
  return `<td class="num">${escapeXml(m[1]!)}<span class="ci">${escapeXml(m[2]!)}</span></td>`;
}

export function tableToHtml(t: Table): string {
  const head = t.columns.map((c) => `<th>${escapeXml(c.label)}</th>`).join("");
  const body = t.rows
    .map((row) => {
      const tds = t.columns.map((c, i) => {
        const cell = row[i] ?? null;
        if (isMarked(cell)) return markedCell(cell);
        const v = formatCell(cell, c.kind);
        if (c.kind === "text") return textCell(v);
        return c.kind === "ci" ? ciCell(v) : `<td class="num">${escapeXml(v)}</td>`;
      });
      return `<tr>${tds.join("")}</tr>`;
    })
    .join("\n");
  // Title and note sit above the scrolling wrapper, so a wide table scrolls without carrying its explanation away.
  const note = t.note ? `<span class="note">${escapeXml(t.note)}</span>` : "";
  return (
    `<p class="table-title" id="${escapeXml(slug(t.id))}">${escapeXml(t.title)}${note}</p>` +
    `<div class="table-wrap"><table aria-label="${escapeXml(t.title)}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`
  );
}

export function renderHtml(blocks: readonly Block[], title: string): string {
  const used = new Map<string, number>();
  const idFor = (text: string): string => {
    const base = slug(text);
    const n = used.get(base) ?? 0;
    used.set(base, n + 1);
    return n === 0 ? base : `${base}-${n + 1}`;
  };
  const body: string[] = [];
  const toc: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case "heading": {
        const id = idFor(b.text);
        if (b.level === 2) toc.push(`<li><a href="#${escapeXml(id)}">${escapeXml(b.text)}</a></li>`);
        body.push(`<h${b.level} id="${escapeXml(id)}">${escapeXml(b.text)}</h${b.level}>`);
        break;
      }
      case "paragraph":
        body.push(`<p>${b.spans.map(span).join("")}</p>`);
        break;
      case "list":
        body.push(`<ul>${b.items.map((it) => `<li>${it.map(span).join("")}</li>`).join("")}</ul>`);
        break;
      case "table":
        body.push(tableToHtml(b.table));
        break;
      case "figure":
        body.push(`<figure${b.inline ? ' class="inline"' : ""}>${b.svg}<figcaption>${escapeXml(b.caption)}</figcaption></figure>`);
        break;
    }
  }
  // The table of contents goes after the first heading and the paragraph under it.
  const nav = toc.length > 1 ? `<nav><strong>Contents</strong><ul>${toc.join("")}</ul></nav>` : "";
  const head = body.slice(0, 2);
  const rest = body.slice(2);
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    `<head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/><title>${escapeXml(title)}</title><style>${CSS}</style></head>`,
    "<body>",
    ...head,
    nav,
    ...rest,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
