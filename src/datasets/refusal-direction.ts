// The instruction splits of Arditi et al.'s refusal-direction repository: harmless_* are Alpaca instructions
// (CC BY-NC 4.0 — non-commercial use only), harmful_* are pooled public harmful-request sets. Each file is a
// JSON array of {instruction, category}.

import { MadkitError } from "../errors.js";
import { type DataLocation, readSharedJson, stringField } from "./shared-data-file.js";
import { cleanRecords, type TextRecord } from "./text-record.js";

export type RefusalSplit =
  | "harmless_train"
  | "harmless_val"
  | "harmless_test"
  | "harmful_train"
  | "harmful_val"
  | "harmful_test";

export function loadRefusalSplit(split: RefusalSplit, location: DataLocation = {}): TextRecord[] {
  return loadInstructionArray(`refusal_direction/splits/${split}`, location);
}

/** The full processed Alpaca instruction list (31,323; CC BY-NC 4.0). */
export function loadAlpaca(location: DataLocation = {}): TextRecord[] {
  return loadInstructionArray("refusal_direction/processed/alpaca", location);
}

function loadInstructionArray(source: string, location: DataLocation): TextRecord[] {
  const rel = `${source}.json`;
  const value = readSharedJson(rel, location);
  if (!Array.isArray(value)) throw new MadkitError("BAD_INPUT", `${rel}: expected a JSON array of {instruction}`);
  return cleanRecords(value.map((v, i) => ({ id: `${source}:${i}`, text: stringField(v, "instruction", rel, i), source })));
}
