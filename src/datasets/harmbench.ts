// HarmBench text behaviours (Mazeika et al. 2024; MIT): 400 requests (320 test / 80 val). Only "standard"
// behaviours stand alone; "contextual" ones need their ContextString and "copyright" ones ask for song lyrics
// or book passages, so callers usually keep `functionalCategory: "standard"`.

import { type DataLocation, readSharedCsv } from "./shared-data-file.js";
import { cleanRecords, type TextRecord } from "./text-record.js";

export interface HarmBenchRecord extends TextRecord {
  readonly functionalCategory: string;
  readonly semanticCategory: string;
  readonly behaviorId: string;
}

export type HarmBenchSplit = "all" | "test" | "val";

export function loadHarmBench(
  split: HarmBenchSplit = "all",
  options: DataLocation & { readonly functionalCategory?: string } = {},
): HarmBenchRecord[] {
  const source = `harmbench/harmbench_behaviors_text_${split}`;
  const rows = readSharedCsv(
    `${source}.csv`,
    ["Behavior", "FunctionalCategory", "SemanticCategory", "BehaviorID"],
    options,
  );
  const records = rows.map((r, i) => ({
    id: `${source}:${i}`,
    text: r.Behavior!,
    source,
    functionalCategory: r.FunctionalCategory!,
    semanticCategory: r.SemanticCategory!,
    behaviorId: r.BehaviorID!,
  }));
  const kept = options.functionalCategory
    ? records.filter((r) => r.functionalCategory === options.functionalCategory)
    : records;
  return cleanRecords(kept);
}
