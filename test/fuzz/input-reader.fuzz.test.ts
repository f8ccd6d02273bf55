// Property-based tests of the input reader: JSONL and plain-text files built from valid records, records
// whose fields have the wrong types or extreme numbers, arbitrary JSON values, garbage and control bytes, with
// LF or CRLF line ends and an optional BOM, read with every format/split option: the reader yields a
// consistent stream (indices 0..n-1, unique string ids, string texts, labels a string, finite number or
// boolean) or fails with a MadkitError naming the file. Written records and lines read back as written.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import fc from "fast-check";
import { checkInputFile, readInputs, type InputRecord, type ReadInputsOptions } from "../../src/activations/input-reader.js";
import { NASTY_STRINGS, nastyJsonValue, outcomeAsync, SEED } from "./outcome.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "madkit-fuzz-inputs-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function readAll(file: string, options: ReadInputsOptions): Promise<InputRecord[]> {
  const out: InputRecord[] = [];
  for await (const r of readInputs(file, options)) out.push(r);
  return out;
}

/** What a successful read promises, whatever the file held. */
function checkStream(records: readonly InputRecord[]): void {
  const ids = new Set<string>();
  records.forEach((r, i) => {
    assert.equal(r.index, i);
    assert.equal(typeof r.id, "string");
    assert.ok(!ids.has(r.id), `duplicate id ${r.id}`);
    ids.add(r.id);
    assert.equal(typeof r.text, "string");
    if (r.label !== undefined) assert.ok(typeof r.label === "string" || typeof r.label === "boolean" || Number.isFinite(r.label), `label ${String(r.label)}`);
    // Whatever is read must survive the trip into a store's JSON metadata and back.
    assert.deepEqual(JSON.parse(JSON.stringify({ id: r.id, text: r.text, label: r.label ?? null })), { id: r.id, text: r.text, label: r.label ?? null });
  });
}

const fieldValue = fc.oneof(nastyJsonValue, fc.constant("RAW:1e999"), fc.constant("RAW:-1e999"));
const recordLine = fc
  .record({ id: fieldValue, text: fc.oneof(fc.string({ maxLength: 10 }), fieldValue), label: fieldValue, extra: fieldValue }, { requiredKeys: [] })
  .map((r) => JSON.stringify(r).replace(/"RAW:([^"]+)"/g, "$1"));
const line = fc.oneof(
  { weight: 4, arbitrary: recordLine },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 16 }) },
  { weight: 1, arbitrary: fc.constantFrom("", "   ", "\t", "{", "}", "\u0000", "\uFEFF", "\u2028", "\r", "null", "[]", ...NASTY_STRINGS) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).toString("latin1")) },
);
const fileArb = fc.record({
  lines: fc.array(line, { maxLength: 8 }),
  eol: fc.constantFrom("\n", "\r\n"),
  bom: fc.boolean(),
  trailing: fc.boolean(),
  ext: fc.constantFrom(".jsonl", ".txt", "", ".ndjson", ".JSONL"),
  format: fc.constantFrom<ReadInputsOptions["format"]>(undefined, "auto", "jsonl", "text"),
  split: fc.constantFrom<ReadInputsOptions["split"]>(undefined, "auto", "line", "paragraph"),
});

let n = 0;

test("fuzz: any mix of records, wrong-typed fields, JSON values and garbage reads as a consistent stream or a MadkitError naming the file", { timeout: 30_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fileArb, async ({ lines, eol, bom, trailing, ext, format, split }) => {
      const file = path.join(tmp, `in-${n++}${ext}`);
      writeFileSync(file, (bom ? "\uFEFF" : "") + lines.join(eol) + (trailing ? eol : ""));
      const options: ReadInputsOptions = { format, split };
      const r = await outcomeAsync(() => readAll(file, options), file, `lines ${JSON.stringify(lines)}`);
      if (r.value) checkStream(r.value);
      const c = await outcomeAsync(() => checkInputFile(file, options), file, "checkInputFile");
      // checkInputFile passes exactly when the stream has a first input (or fails later on a bad line).
      if (r.value) assert.equal(c.error === undefined, r.value.length > 0, `checkInputFile ${c.error?.message ?? "passed"} on ${r.value.length} inputs`);
      rmSync(file);
    }),
    { seed: SEED, numRuns: 300, includeErrorInReport: true },
  );
});

const text = fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }).filter((s) => s.trim().length > 0 && !/[\r\n\u2028\u2029\u0085]/.test(s) && !s.startsWith("\uFEFF"));

test("fuzz: written JSONL records and text lines read back as written", { timeout: 30_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(fc.record({ id: fc.string({ maxLength: 6 }), text: fc.string({ maxLength: 12 }), label: fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.boolean()) }), { maxLength: 6, selector: (r) => r.id }),
      fc.array(text, { minLength: 1, maxLength: 6 }),
      async (records, lines) => {
        const jf = path.join(tmp, `rt-${n++}.jsonl`);
        writeFileSync(jf, records.map((r) => JSON.stringify(r)).join("\n"));
        const back = await readAll(jf, {});
        assert.deepEqual(back.map(({ id, text: t, label }) => ({ id, text: t, label })), records.map((r) => ({ ...r })));
        const tf = path.join(tmp, `rt-${n++}.txt`);
        writeFileSync(tf, lines.join("\n") + "\n");
        assert.deepEqual((await readAll(tf, { split: "line" })).map((r) => r.text), lines);
        rmSync(jf);
        rmSync(tf);
      },
    ),
    { seed: SEED, numRuns: 150, includeErrorInReport: true },
  );
});
