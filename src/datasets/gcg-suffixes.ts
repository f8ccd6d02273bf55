// GCG adversarial suffixes (one CSV per attacked model, 100 AdvBench goals each). The files carry no licence:
// madkit uses them for evaluation only and never redistributes them. Each file ends with a "time" trailer row
// (`id` = "time", the optimisation's wall time), which is not a suffix and is skipped.

import { readdirSync } from "node:fs";
import { MadkitError } from "../errors.js";
import { type DataLocation, readSharedCsv, sharedDataPath } from "./shared-data-file.js";
import { cleanRecords, type TextRecord } from "./text-record.js";

export interface GcgRecord extends TextRecord {
  /** The harmful request the suffix was optimised for (an AdvBench behaviour). */
  readonly goal: string;
  readonly suffix: string;
  /** The model attacked, from the file name, e.g. `Llama-31-8B-Instruct`. */
  readonly targetModel: string;
}

/** The attacked models with a suffix file, sorted by name (so iteration order is stable). */
export function gcgTargetModels(location: DataLocation = {}): string[] {
  const dir = sharedDataPath("gcg_suffixes", location);
  const models = readdirSync(dir)
    .filter((f) => f.endsWith(".csv"))
    .map((f) => f.slice(0, -4))
    .sort();
  if (models.length === 0) {
    throw new MadkitError("FILE_NOT_FOUND", `${dir} holds no .csv suffix files; expected one per attacked model`);
  }
  return models;
}

/** Every (goal, suffix) pair; `text` is the goal, one space, the suffix — how GCG appends it. */
export function loadGcgSuffixes(location: DataLocation = {}, models = gcgTargetModels(location)): GcgRecord[] {
  const out: GcgRecord[] = [];
  for (const targetModel of models) {
    const source = `gcg_suffixes/${targetModel}`;
    const rows = readSharedCsv(`${source}.csv`, ["id", "goal", "best_suffix"], location);
    rows.forEach((r, i) => {
      if (!/^\d+$/.test(r.id!.trim())) return;
      const goal = r.goal!.trim();
      const suffix = r.best_suffix!.trim();
      if (goal === "" || suffix === "") return;
      out.push({ id: `${source}:${i}`, text: `${goal} ${suffix}`, source, goal, suffix, targetModel });
    });
  }
  return cleanRecords(out);
}
