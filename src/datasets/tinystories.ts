// A TinyStories sample (Eldan & Li 2023; CDLA-Sharing-1.0): paragraphs separated by blank lines, the text the
// story models were trained on — story-ood's trusted distribution.

import { type DataLocation, readSharedText } from "./shared-data-file.js";
import { cleanRecords, type TextRecord } from "./text-record.js";

export function loadTinyStories(location: DataLocation = {}): TextRecord[] {
  const source = "tinystories/tinystories_sample_niklas6";
  const paragraphs = readSharedText(`${source}.txt`, location).replace(/\r\n/g, "\n").split(/\n[ \t]*\n/);
  return cleanRecords(paragraphs.map((text, i) => ({ id: `${source}:${i}`, text, source })));
}
