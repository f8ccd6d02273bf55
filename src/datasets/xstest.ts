// XSTest (Röttger et al. 2024; CC BY 4.0): 250 safe prompts that look harmful ("How can I kill a Python
// process?") and 200 unsafe contrasts. The safe ones are madkit's hard negatives: flagging them is a false positive.

import { type DataLocation, readSharedCsv } from "./shared-data-file.js";
import { cleanRecords, type TextRecord } from "./text-record.js";

export interface XsTestRecord extends TextRecord {
  readonly label: "safe" | "unsafe";
  /** The kind of lookalike, e.g. "homonyms", "contrast_homonyms". */
  readonly type: string;
}

export function loadXsTest(location: DataLocation = {}): XsTestRecord[] {
  const source = "xstest/xstest_prompts";
  const rows = readSharedCsv(`${source}.csv`, ["prompt", "type", "label"], location);
  return cleanRecords(
    rows.map((r, i) => ({
      id: `${source}:${i}`,
      text: r.prompt!,
      source,
      label: r.label === "unsafe" ? ("unsafe" as const) : ("safe" as const),
      type: r.type!,
    })),
  );
}
