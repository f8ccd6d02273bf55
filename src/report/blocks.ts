// The report's document model: blocks (headings, paragraphs, lists, tables, figures) made of spans. document.ts
// and the task-family sections build blocks; markdown.ts and html.ts only render them.

import type { Table } from "./tables.js";

export type Span = string | { readonly code: string } | { readonly strong: string } | { readonly em: string };
export type Block =
  | { readonly kind: "heading"; readonly level: 1 | 2 | 3; readonly text: string }
  | { readonly kind: "paragraph"; readonly spans: readonly Span[] }
  | { readonly kind: "list"; readonly items: readonly (readonly Span[])[] }
  | { readonly kind: "table"; readonly table: Table }
  | { readonly kind: "figure"; readonly svg: string; readonly caption: string; /** Small multiples flow side by side. */ readonly inline?: boolean };
