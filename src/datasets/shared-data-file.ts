// Reading one file under the shared data folder (`$MADKIT_SHARED/data`, default `../shared/data`) with errors
// that name the file and where it must live; CSVs go through csv-parse because several hold quoted multi-line fields.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { config } from "../config.js";
import { MadkitError } from "../errors.js";

/** Where a loader looks: the default is `<sharedDir>/data`; tests pass another folder. */
export interface DataLocation {
  readonly dataDir?: string;
}

export function sharedDataDir(location: DataLocation = {}): string {
  return location.dataDir ?? path.join(config.sharedDir, "data");
}

/** The absolute path of `relPath` under the data folder, or a FILE_NOT_FOUND that says how to supply it. */
export function sharedDataPath(relPath: string, location: DataLocation = {}): string {
  const file = path.join(sharedDataDir(location), relPath);
  if (!existsSync(file)) {
    throw new MadkitError(
      "FILE_NOT_FOUND",
      `data file ${file} does not exist: the folder named by MADKIT_SHARED (default ../shared beside the project) ` +
        `must hold data/${relPath} (see README: how to obtain the shared data sets)`,
    );
  }
  return file;
}

export function readSharedText(relPath: string, location: DataLocation = {}): string {
  return readFileSync(sharedDataPath(relPath, location), "utf8");
}

/** Rows of a CSV with a header line, checked to have every column in `required`. */
export function readSharedCsv(
  relPath: string,
  required: readonly string[],
  location: DataLocation = {},
): Record<string, string>[] {
  const text = readSharedText(relPath, location);
  let rows: Record<string, string>[];
  try {
    rows = parse(text, { columns: true, bom: true, skip_empty_lines: true }) as Record<string, string>[];
  } catch (e) {
    throw new MadkitError("BAD_INPUT", `${relPath}: not a well-formed CSV (${(e as Error).message})`, { cause: e });
  }
  const header = rows.length > 0 ? Object.keys(rows[0]!) : headerOf(text);
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new MadkitError(
      "BAD_INPUT",
      `${relPath}: missing column(s) ${missing.map((c) => `'${c}'`).join(", ")}; expected ${required.join(", ")}, ` +
        `found ${header.map((c) => `'${c}'`).join(", ")}`,
    );
  }
  return rows;
}

function headerOf(text: string): string[] {
  const first = parse(text, { bom: true, to_line: 1 }) as string[][];
  return first[0] ?? [];
}

/** A JSON file's top-level value. */
export function readSharedJson(relPath: string, location: DataLocation = {}): unknown {
  const text = readSharedText(relPath, location);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new MadkitError("BAD_INPUT", `${relPath}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
}

/** One JSON value per non-empty line. */
export function readSharedJsonl(relPath: string, location: DataLocation = {}): unknown[] {
  const lines = readSharedText(relPath, location).split("\n");
  const out: unknown[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      out.push(JSON.parse(line) as unknown);
    } catch (e) {
      throw new MadkitError("BAD_INPUT", `${relPath}: line ${i + 1} is not valid JSON (${(e as Error).message})`, {
        cause: e,
      });
    }
  });
  return out;
}

/** The string field `field` of a parsed JSON object, or BAD_INPUT naming the file, the record and the field. */
export function stringField(value: unknown, field: string, relPath: string, index: number): string {
  if (typeof value !== "object" || value === null || !(field in value)) {
    throw new MadkitError("BAD_INPUT", `${relPath}: record ${index} has no field '${field}'`);
  }
  const v = (value as Record<string, unknown>)[field];
  if (typeof v !== "string") {
    throw new MadkitError("BAD_INPUT", `${relPath}: record ${index} field '${field}' should be a string, got ${typeof v}`);
  }
  return v;
}
