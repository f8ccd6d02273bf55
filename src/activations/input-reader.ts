// Streaming readers for extraction inputs: JSONL records (`{"id","text","label"?, ...}`) or plain text split
// into lines or blank-line paragraphs. Files are read line by line, so a 100k-line file never sits in memory.

import { createReadStream, openSync, readSync, closeSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import { MadkitError } from "../errors.js";

export type InputLabel = string | number | boolean;

export interface InputRecord {
  /** 0-based position in the input stream (before sharding). */
  readonly index: number;
  readonly id: string;
  readonly text: string;
  readonly label?: InputLabel;
  /** Every other field of a JSONL record, kept for reports. */
  readonly meta?: Readonly<Record<string, unknown>>;
}

export type InputFormat = "jsonl" | "text";
export type TextSplit = "line" | "paragraph";

export interface ReadInputsOptions {
  /** Default: by extension (.jsonl/.ndjson → jsonl, .txt → text), else by whether the first line starts with '{'. */
  readonly format?: InputFormat | "auto";
  /** Plain text only. Default: paragraph when the start of the file holds a blank line between text, else line. */
  readonly split?: TextSplit | "auto";
}

/** How many bytes the auto-detection looks at. */
const SNIFF_BYTES = 64 * 1024;

function sniff(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw new MadkitError("BAD_INPUT", `${file}: cannot read the input file (${(e as Error).message})`);
  }
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const n = readSync(fd, buf, 0, SNIFF_BYTES, 0);
    return buf.subarray(0, n).toString("utf8");
  } catch (e) {
    throw new MadkitError("BAD_INPUT", `${file}: cannot read the input file (${(e as Error).message})`);
  } finally {
    closeSync(fd);
  }
}

/** A missing path is FILE_NOT_FOUND and a folder BAD_INPUT, before anything is read. */
function checkInputPath(file: string): void {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    throw new MadkitError("FILE_NOT_FOUND", `${file}: input file does not exist`);
  }
  if (stat.isDirectory()) throw new MadkitError("BAD_INPUT", `${file}: is a folder; expected a JSONL or plain-text input file`);
}

/**
 * Check that `file` can be read and holds at least one input, reading only as far as the first one: the CLI
 * calls this before loading a model, so an empty file or a folder fails in a line instead of after a model load
 * (or, worse, as a run over "0 inputs" that exits 0).
 */
export async function checkInputFile(file: string, options: ReadInputsOptions = {}): Promise<void> {
  for await (const _ of readInputs(file, options)) return;
  throw new MadkitError("BAD_INPUT", `${file}: holds no inputs (the file is empty or only blank lines); expected JSONL records like {"id": ..., "text": ...} or lines of text`);
}

export function detectFormat(file: string, head: string = sniff(file)): InputFormat {
  const lower = file.toLowerCase();
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return "jsonl";
  if (lower.endsWith(".txt")) return "text";
  const first = head.split(/\r?\n/).find((l) => l.trim().length > 0) ?? "";
  return first.trimStart().startsWith("{") ? "jsonl" : "text";
}

export function detectSplit(head: string): TextSplit {
  // A blank line with text on both sides means paragraphs.
  return /\S[^\n]*\r?\n[ \t]*\r?\n[ \t]*\S/.test(head) ? "paragraph" : "line";
}

function badLine(file: string, line: number, what: string): MadkitError {
  return new MadkitError("BAD_INPUT", `${file}:${line}: ${what}`);
}

function parseJsonlRecord(file: string, lineNo: number, line: string, index: number): InputRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    throw badLine(file, lineNo, `expected a JSON object like {"id": ..., "text": ...}, found invalid JSON (${(e as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badLine(file, lineNo, `expected a JSON object with a "text" field, found ${Array.isArray(value) ? "an array" : typeof value}`);
  }
  const { id, text, label, ...rest } = value as Record<string, unknown>;
  if (typeof text !== "string") {
    throw badLine(file, lineNo, `expected "text" to be a string, found ${text === undefined ? "no text field" : typeof text}`);
  }
  let idStr: string;
  if (id === undefined || id === null) idStr = String(lineNo);
  else if (typeof id === "string" || (typeof id === "number" && Number.isFinite(id))) idStr = String(id);
  else throw badLine(file, lineNo, `expected "id" to be a string or finite number, found ${typeof id === "number" ? id : typeof id}`);
  // A number too large for a double (1e999) parses as Infinity, which JSON cannot write back: refuse it here
  // rather than store a label that the store's own reader then calls corrupt.
  if (label !== undefined && label !== null && typeof label !== "string" && !(typeof label === "number" && Number.isFinite(label)) && typeof label !== "boolean") {
    throw badLine(file, lineNo, `expected "label" to be a string, finite number or boolean, found ${typeof label === "number" ? label : typeof label}`);
  }
  const record: { index: number; id: string; text: string; label?: InputLabel; meta?: Record<string, unknown> } = { index, id: idStr, text };
  if (label !== undefined && label !== null) record.label = label as InputLabel;
  if (Object.keys(rest).length > 0) record.meta = rest;
  return record;
}

/**
 * Stream the inputs of a JSONL or text file. A JSONL record without an id gets its 1-based line number; a
 * text input's id is the line number where it starts. Duplicate ids are an error naming both lines.
 */
export async function* readInputs(file: string, options: ReadInputsOptions = {}): AsyncGenerator<InputRecord> {
  checkInputPath(file);
  const head = options.format === "auto" || options.format === undefined || options.split === undefined || options.split === "auto" ? sniff(file) : "";
  const format = options.format === undefined || options.format === "auto" ? detectFormat(file, head) : options.format;
  const split = options.split === undefined || options.split === "auto" ? detectSplit(head) : options.split;
  const rl = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
  const seen = new Map<string, number>();
  const check = (id: string, lineNo: number): void => {
    const prev = seen.get(id);
    if (prev !== undefined) throw badLine(file, lineNo, `duplicate id '${id}' (first used on line ${prev}); ids must be unique`);
    seen.set(id, lineNo);
  };
  let lineNo = 0;
  let index = 0;
  try {
    if (format === "jsonl") {
      for await (const raw of rl) {
        lineNo++;
        const line = lineNo === 1 ? raw.replace(/^\uFEFF/, "") : raw;
        if (line.trim().length === 0) continue;
        const rec = parseJsonlRecord(file, lineNo, line, index);
        check(rec.id, lineNo);
        index++;
        yield rec;
      }
      return;
    }
    let para: string[] = [];
    let paraStart = 0;
    for await (const raw of rl) {
      lineNo++;
      const line = lineNo === 1 ? raw.replace(/^\uFEFF/, "") : raw;
      if (split === "line") {
        if (line.trim().length === 0) continue;
        check(String(lineNo), lineNo);
        yield { index: index++, id: String(lineNo), text: line };
        continue;
      }
      if (line.trim().length === 0) {
        if (para.length > 0) {
          yield { index: index++, id: String(paraStart), text: para.join("\n") };
          para = [];
        }
        continue;
      }
      if (para.length === 0) paraStart = lineNo;
      para.push(line);
    }
    if (para.length > 0) yield { index: index++, id: String(paraStart), text: para.join("\n") };
  } finally {
    rl.close();
  }
}
