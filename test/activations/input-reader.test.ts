import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { checkInputFile, readInputs, type InputRecord, type ReadInputsOptions } from "../../src/activations/input-reader.js";
import { MadkitError } from "../../src/errors.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "madkit-inputs-"));

function file(name: string, content: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, content);
  return f;
}

async function all(f: string, options?: ReadInputsOptions): Promise<InputRecord[]> {
  const out: InputRecord[] = [];
  for await (const r of readInputs(f, options)) out.push(r);
  return out;
}

test("JSONL records keep id, text and label; other fields become metadata; a missing id is the line number", async () => {
  const f = file("a.jsonl", '{"id":"x1","text":"hello","label":1,"source":"web"}\n\n{"text":"no id","label":"bad"}\r\n{"id":7,"text":"num id"}\n');
  const got = await all(f);
  assert.deepEqual(got, [
    { index: 0, id: "x1", text: "hello", label: 1, meta: { source: "web" } },
    { index: 1, id: "3", text: "no id", label: "bad" },
    { index: 2, id: "7", text: "num id" },
  ]);
});

test("a bad JSON line is an error naming file:line and what was expected", async () => {
  const f = file("bad.jsonl", '{"text":"ok"}\n{"text": "unterminated}\n');
  await assert.rejects(all(f), (e: unknown) => e instanceof MadkitError && e.code === "BAD_INPUT" && e.message.startsWith(`${f}:2: expected a JSON object`));
});

test("a record without a string text field is an error naming the line", async () => {
  const f = file("notext.jsonl", '{"text":"ok"}\n{"id":"q","body":"x"}\n');
  await assert.rejects(all(f), new RegExp(`${f.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:2: expected "text" to be a string, found no text field`));
  const g = file("arr.jsonl", "[1,2]\n");
  await assert.rejects(all(g), /:1: expected a JSON object with a "text" field, found an array/);
});

test("duplicate ids are an error naming both lines", async () => {
  const f = file("dup.jsonl", '{"id":"a","text":"1"}\n{"id":"b","text":"2"}\n{"id":"a","text":"3"}\n');
  await assert.rejects(all(f), /dup\.jsonl:3: duplicate id 'a' \(first used on line 1\)/);
});

test("plain text with blank lines is split into paragraphs by default, ids are starting lines", async () => {
  const f = file("p.txt", "One.\nStill one.\n\n\nTwo.\n   \nThree.");
  const got = await all(f);
  assert.deepEqual(got.map((r) => [r.id, r.text]), [
    ["1", "One.\nStill one."],
    ["5", "Two."],
    ["7", "Three."],
  ]);
});

test("plain text without blank lines is one input per line; --split line overrides paragraph detection", async () => {
  const f = file("l.txt", "alpha\nbeta\ngamma\n");
  assert.deepEqual((await all(f)).map((r) => r.text), ["alpha", "beta", "gamma"]);
  const g = file("pl.txt", "a\nb\n\nc\n");
  assert.deepEqual((await all(g, { split: "line" })).map((r) => r.id), ["1", "2", "4"]);
  assert.deepEqual((await all(g, { split: "paragraph" })).map((r) => r.text), ["a\nb", "c"]);
});

test("format is sniffed from the first line when the extension says nothing", async () => {
  const f = file("noext", '{"id":"z","text":"json"}\n');
  assert.deepEqual((await all(f)).map((r) => r.id), ["z"]);
  const g = file("noext2", "just text\n");
  assert.deepEqual((await all(g)).map((r) => r.text), ["just text"]);
});

test("a missing file is FILE_NOT_FOUND", async () => {
  await assert.rejects(all(path.join(dir, "nope.jsonl")), (e: unknown) => e instanceof MadkitError && e.code === "FILE_NOT_FOUND");
});

test("a 100k-line file streams: the first record arrives before the reader has seen the end", async () => {
  const lines: string[] = [];
  for (let i = 0; i < 100_000; i++) lines.push(JSON.stringify({ id: `r${i}`, text: `text number ${i}` }));
  // the last line is broken: a reader that parsed the whole file up front would throw before yielding
  const f = file("big.jsonl", `${lines.join("\n")}\n{broken\n`);
  let n = 0;
  const it = readInputs(f);
  for await (const r of it) {
    if (n === 0) assert.equal(r.id, "r0");
    if (++n === 5) break;
  }
  assert.equal(n, 5);
  let count = 0;
  await assert.rejects(async () => {
    for await (const _ of readInputs(f)) count++;
  }, /big\.jsonl:100001:/);
  assert.equal(count, 100_000);
});

test("a folder is BAD_INPUT saying so, not a read error from deep inside the stream", async () => {
  await assert.rejects(all(dir), (e: unknown) => e instanceof MadkitError && e.code === "BAD_INPUT" && /is a folder; expected a JSONL or plain-text input file/.test(e.message));
});

test("checkInputFile passes a file with an input and refuses an empty or blank one, a folder and a missing file", async () => {
  await checkInputFile(file("one.txt", "\n\nhello\n"));
  for (const f of [file("empty.txt", ""), file("blank.jsonl", "\n \n\t\n"), file("bom-only.txt", "\uFEFF\n")]) {
    await assert.rejects(checkInputFile(f), (e: unknown) => e instanceof MadkitError && e.code === "BAD_INPUT" && /holds no inputs \(the file is empty or only blank lines\)/.test(e.message), f);
  }
  await assert.rejects(checkInputFile(dir), (e: unknown) => e instanceof MadkitError && /is a folder/.test(e.message));
  await assert.rejects(checkInputFile(path.join(dir, "nope.txt")), (e: unknown) => e instanceof MadkitError && e.code === "FILE_NOT_FOUND");
});

test("an id or label too large for a double (1e999 parses as Infinity) is refused naming the line", async () => {
  await assert.rejects(all(file("inf-label.jsonl", '{"text":"a"}\n{"text":"b","label":1e999}\n')), /inf-label\.jsonl:2: expected "label" to be a string, finite number or boolean, found Infinity/);
  await assert.rejects(all(file("inf-id.jsonl", '{"text":"a","id":-1e999}\n')), /inf-id\.jsonl:1: expected "id" to be a string or finite number, found -Infinity/);
});
