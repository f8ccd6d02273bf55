// Reading a versioned JSON envelope ({format, schemaVersion, ...}) with one set of checks and messages:
// missing file, bad JSON, wrong format, version drift (VERSION_MISMATCH), then the zod schema.

import { existsSync, readFileSync } from "node:fs";
import type { z } from "zod";
import { MadkitError } from "../errors.js";

export interface VersionedJsonSpec<S extends z.ZodTypeAny> {
  readonly format: string;
  readonly schemaVersion: number;
  readonly schema: S;
  /** Said when the file is absent, e.g. "no saved detector here (expected detector.json)". */
  readonly missing: string;
  /** Said on version drift, e.g. "refit the detector". */
  readonly onDrift: string;
}

export function readVersionedJson<S extends z.ZodTypeAny>(file: string, spec: VersionedJsonSpec<S>): z.infer<S> {
  if (!existsSync(file)) throw new MadkitError("FILE_NOT_FOUND", `${file}: ${spec.missing}`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new MadkitError("STORE_CORRUPT", `${file}: cannot read it (${(e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new MadkitError("STORE_CORRUPT", `${file}: not valid JSON (${(e as Error).message})`);
  }
  const head = raw as { format?: unknown; schemaVersion?: unknown } | null;
  if (typeof head !== "object" || head === null || head.format !== spec.format) {
    throw new MadkitError("STORE_CORRUPT", `${file}: format is ${JSON.stringify(head?.format)}, expected "${spec.format}"`);
  }
  if (head.schemaVersion !== spec.schemaVersion) {
    throw new MadkitError(
      "VERSION_MISMATCH",
      `${file}: schemaVersion is ${JSON.stringify(head.schemaVersion)}, this madkit reads version ${spec.schemaVersion}; ${spec.onDrift}`,
    );
  }
  const parsed = spec.schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? `field '${issue.path.join(".")}'` : "the whole file";
    throw new MadkitError("STORE_CORRUPT", `${file}: ${where}: ${issue.message}`);
  }
  return parsed.data;
}
