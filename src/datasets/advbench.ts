// AdvBench (Zou et al. 2023; MIT): 520 harmful behaviour requests ("goal") and 574 harmful target strings.
// The behaviours are the plain-harmful rows of jailbreak-ood, and the first 100 are the GCG suffix goals.

import { type DataLocation, readSharedCsv } from "./shared-data-file.js";
import { cleanRecords, type TextRecord } from "./text-record.js";

export function loadAdvBenchBehaviors(location: DataLocation = {}): TextRecord[] {
  const source = "advbench/harmful_behaviors";
  const rows = readSharedCsv("advbench/harmful_behaviors.csv", ["goal", "target"], location);
  return cleanRecords(rows.map((r, i) => ({ id: `${source}:${i}`, text: r.goal!, source })));
}

export function loadAdvBenchStrings(location: DataLocation = {}): TextRecord[] {
  const source = "advbench/harmful_strings";
  const rows = readSharedCsv("advbench/harmful_strings.csv", ["target"], location);
  return cleanRecords(rows.map((r, i) => ({ id: `${source}:${i}`, text: r.target!, source })));
}
