// Reading results.json for rendering: the envelope (format, schema version) and the top-level shape are
// checked, so a wrong or stale file fails with a message naming it instead of a blank report.

import { readFileSync } from "node:fs";
import { MadkitError } from "../errors.js";
import { RESULTS_FORMAT, RESULTS_SCHEMA_VERSION, type BenchResults } from "../results/contract.js";

const ARRAYS = ["alphas", "tasks", "records", "selections", "failureModes", "examples", "roc", "histograms"] as const;
const OPTIONAL_ARRAYS = ["mechanismMargins"] as const;

/** Throws a MadkitError naming `where` unless `value` has the envelope and top-level arrays of BenchResults. */
export function checkResults(value: unknown, where: string): BenchResults {
  if (typeof value !== "object" || value === null) throw new MadkitError("BAD_INPUT", `${where}: expected a JSON object, found ${value === null ? "null" : typeof value}`);
  const v = value as Record<string, unknown>;
  if (v.format !== RESULTS_FORMAT) throw new MadkitError("BAD_INPUT", `${where}: field 'format' must be '${RESULTS_FORMAT}', found ${JSON.stringify(v.format)}`);
  if (v.schemaVersion !== RESULTS_SCHEMA_VERSION) {
    throw new MadkitError("VERSION_MISMATCH", `${where}: schemaVersion ${JSON.stringify(v.schemaVersion)} is not the ${RESULTS_SCHEMA_VERSION} this madkit renders`);
  }
  if (typeof v.plan !== "object" || v.plan === null) throw new MadkitError("BAD_INPUT", `${where}: field 'plan' must be an object, found ${v.plan === null ? "null" : typeof v.plan}`);
  for (const k of ARRAYS) if (!Array.isArray(v[k])) throw new MadkitError("BAD_INPUT", `${where}: field '${k}' must be an array, found ${typeof v[k]}`);
  // Optional: results written before the mechanism margin existed have none.
  for (const k of OPTIONAL_ARRAYS) {
    if (v[k] !== undefined && !Array.isArray(v[k])) throw new MadkitError("BAD_INPUT", `${where}: field '${k}' must be an array when present, found ${typeof v[k]}`);
  }
  return value as BenchResults;
}

export function readResults(file: string): BenchResults {
  let raw: string;
  try {
    raw = readFileSync(file, "utf8");
  } catch (e) {
    throw new MadkitError("FILE_NOT_FOUND", `${file}: cannot read results (${(e as Error).message})`, { cause: e });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new MadkitError("BAD_INPUT", `${file}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  return checkResults(parsed, file);
}
