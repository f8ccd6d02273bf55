// Self-Instruct's human-written instructions (Wang et al. 2023; Apache-2.0): 175 seed tasks and 252
// user-oriented tasks, one JSON object per line. Only the instruction is used, not its example instances,
// so the records look like the Alpaca instructions they join in the trusted set.

import { type DataLocation, readSharedJsonl, stringField } from "./shared-data-file.js";
import { cleanRecords, type TextRecord } from "./text-record.js";

export type SelfInstructFile = "seed_tasks" | "user_oriented_instructions";

export function loadSelfInstruct(file: SelfInstructFile, location: DataLocation = {}): TextRecord[] {
  const source = `self_instruct/${file}`;
  const rel = `${source}.jsonl`;
  const rows = readSharedJsonl(rel, location);
  return cleanRecords(rows.map((v, i) => ({ id: `${source}:${i}`, text: stringField(v, "instruction", rel, i), source })));
}
