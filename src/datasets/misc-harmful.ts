// Smaller harmful-request sets kept in misc_harmful/: StrongREJECT (313, MIT), MaliciousInstruct (100 lines,
// licence not stated) and the TDC 2023 red-teaming behaviours (50 dev + 50 test, MIT).

import { MadkitError } from "../errors.js";
import { type DataLocation, readSharedCsv, readSharedJson, readSharedText } from "./shared-data-file.js";
import { cleanRecords, type TextRecord } from "./text-record.js";

export function loadStrongReject(location: DataLocation = {}): TextRecord[] {
  const source = "misc_harmful/strongreject_dataset";
  const rows = readSharedCsv(`${source}.csv`, ["category", "forbidden_prompt"], location);
  return cleanRecords(rows.map((r, i) => ({ id: `${source}:${i}`, text: r.forbidden_prompt!, source })));
}

/** One request per line. */
export function loadMaliciousInstruct(location: DataLocation = {}): TextRecord[] {
  const source = "misc_harmful/malicious_instruct";
  const lines = readSharedText(`${source}.txt`, location).split("\n");
  return cleanRecords(lines.map((text, i) => ({ id: `${source}:${i}`, text, source })));
}

/** A JSON array of strings; `split` picks the dev or the test file. */
export function loadTdc2023(split: "dev" | "test", location: DataLocation = {}): TextRecord[] {
  const source = `misc_harmful/tdc2023_${split}_behaviors`;
  const value = readSharedJson(`${source}.json`, location);
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new MadkitError("BAD_INPUT", `${source}.json: expected a JSON array of strings`);
  }
  return cleanRecords((value as string[]).map((text, i) => ({ id: `${source}:${i}`, text, source })));
}
