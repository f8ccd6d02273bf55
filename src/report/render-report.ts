// Writes a benchmark's report folder from its results alone: report.md, a self-contained report.html and,
// when asked, results.json. Every file is written atomically (temp + rename).

import path from "node:path";
import type { BenchResults } from "../results/contract.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { buildDocument } from "./document.js";
import { renderHtml } from "./html.js";
import { checkResults } from "./load-results.js";
import { renderMarkdown } from "./markdown.js";

export interface RenderOptions {
  /** Also write results.json (the runner's own copy); default false. */
  readonly writeResults?: boolean;
}

export function renderReport(results: BenchResults, outDir: string, options: RenderOptions = {}): { files: string[] } {
  checkResults(results, "renderReport(results)");
  const blocks = buildDocument(results);
  const files: string[] = [];
  const write = (name: string, data: string): void => {
    const file = path.join(outDir, name);
    writeFileAtomic(file, data);
    files.push(file);
  };
  if (options.writeResults) write("results.json", JSON.stringify(results, null, 2) + "\n");
  write("report.md", renderMarkdown(blocks));
  write("report.html", renderHtml(blocks, `madkit benchmark report (${results.createdAt})`));
  return { files };
}
