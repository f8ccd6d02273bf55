// TruthfulQA (Lin et al. 2022; Apache-2.0): 817 factual questions; answers (and their quoted multi-line
// fields) are read by the CSV parser but only the question is kept.

import { type DataLocation, readSharedCsv } from "./shared-data-file.js";
import { cleanRecords, type TextRecord } from "./text-record.js";

export function loadTruthfulQa(location: DataLocation = {}): TextRecord[] {
  const source = "truthfulqa/TruthfulQA";
  const rows = readSharedCsv(`${source}.csv`, ["Question"], location);
  return cleanRecords(rows.map((r, i) => ({ id: `${source}:${i}`, text: r.Question!, source })));
}
