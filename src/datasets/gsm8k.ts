// GSM8K test questions (Cobbe et al. 2021; MIT): 1,319 grade-school maths word problems, one JSON line each.
// Only the question is used — benign text in a style unlike the trusted instructions.

import { type DataLocation, readSharedJsonl, stringField } from "./shared-data-file.js";
import { cleanRecords, type TextRecord } from "./text-record.js";

export function loadGsm8k(location: DataLocation = {}): TextRecord[] {
  const source = "gsm8k/test";
  const rel = `${source}.jsonl`;
  const rows = readSharedJsonl(rel, location);
  return cleanRecords(rows.map((v, i) => ({ id: `${source}:${i}`, text: stringField(v, "question", rel, i), source })));
}
