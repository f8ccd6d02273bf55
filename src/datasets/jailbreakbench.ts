// JailbreakBench harmful behaviours (Chao et al. 2024; MIT): 100 requests ("Goal") over 10 categories,
// drawn from AdvBench, TDC/HarmBench and original writing.

import { type DataLocation, readSharedCsv } from "./shared-data-file.js";
import { cleanRecords, type TextRecord } from "./text-record.js";

export interface JailbreakBenchRecord extends TextRecord {
  readonly category: string;
  /** Where JailbreakBench took the behaviour from: "AdvBench", "TDC/HarmBench" or "Original". */
  readonly origin: string;
}

export function loadJailbreakBench(location: DataLocation = {}): JailbreakBenchRecord[] {
  const source = "jailbreakbench/behaviors_harmful";
  const rows = readSharedCsv(`${source}.csv`, ["Goal", "Category", "Source"], location);
  return cleanRecords(
    rows.map((r, i) => ({ id: `${source}:${i}`, text: r.Goal!, source, category: r.Category!, origin: r.Source! })),
  );
}
