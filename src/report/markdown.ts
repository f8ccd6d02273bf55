// report.md: the report's blocks as GitHub-flavoured Markdown. Figures live in report.html (Markdown viewers
// differ in what inline SVG they show), so here a figure is a one-line pointer with its caption.

import type { Block, Span } from "./blocks.js";
import { escapeMarkdown, truncate } from "./escape.js";
import { formatCell, isMarked, windowMarked, type Table } from "./tables.js";

/** Longest text cell in a Markdown table; longer failure texts are cut (the HTML report has them in full). */
export const MARKDOWN_MAX_CELL = 300;

export function spanToMarkdown(s: Span): string {
  if (typeof s === "string") return escapeMarkdown(s);
  if ("code" in s) {
    const fence = s.code.includes("`") ? "``" : "`";
    return `${fence}${s.code.replace(/\r?\n/g, " ")}${fence}`;
  }
  if ("strong" in s) return `**${escapeMarkdown(s.strong)}**`;
  return `*${escapeMarkdown(s.em)}*`;
}

export function tableToMarkdown(t: Table): string {
  const lines = [`**${escapeMarkdown(t.title)}**`, ""];
  if (t.note) lines.push(`*${escapeMarkdown(t.note)}*`, "");
  lines.push(`| ${t.columns.map((c) => escapeMarkdown(c.label)).join(" | ")} |`);
  lines.push(`|${t.columns.map((c) => (c.kind === "text" ? " --- " : " ---: ")).join("|")}|`);
  for (const row of t.rows) {
    // A marked example is windowed around its span first, so cutting the cell never cuts the span away.
    const cells = t.columns.map((c, i) => {
      const cell = row[i] ?? null;
      return escapeMarkdown(truncate(formatCell(isMarked(cell) ? windowMarked(cell, 60, 160) : cell, c.kind), MARKDOWN_MAX_CELL));
    });
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

export function renderMarkdown(blocks: readonly Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case "heading":
        out.push(`${"#".repeat(b.level)} ${escapeMarkdown(b.text)}`);
        break;
      case "paragraph":
        out.push(b.spans.map(spanToMarkdown).join(""));
        break;
      case "list":
        out.push(b.items.map((it) => `- ${it.map(spanToMarkdown).join("")}`).join("\n"));
        break;
      case "table":
        out.push(tableToMarkdown(b.table));
        break;
      case "figure":
        out.push(`*Figure (see report.html): ${escapeMarkdown(b.caption)}*`);
        break;
    }
  }
  return out.join("\n\n") + "\n";
}
