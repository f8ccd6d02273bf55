// The CLI on crafted or careless input (issue 21): each case a user can reach in the first hour — a store
// index pointing outside the store, an absurd row count, a folder or an empty file as --input, a bundle with
// two hooks of one name, a mistyped --detector, a port in use — ends in one line on stderr and exit 1, never a
// stack trace, an "unexpected error", or a run that quietly does something else.

import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { extractActivations } from "../../src/activations/extract.js";
import { BUNDLE_FILE } from "../../src/bundle/bundle.js";
import { run } from "../../src/cli/main.js";
import { FakeSource } from "../activations/fake-source.js";
import { capture, cli } from "../helpers/cli.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "madkit-hostile-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Run a command that must fail with exit 1 and one error line on stderr (after any `madkit serve:` progress
 * lines the service logged before it failed); returns that line.
 */
async function failsInOneLine(argv: string[]): Promise<string> {
  const io = capture();
  const code = await run(argv, io);
  assert.equal(code, 1, `madkit ${argv.join(" ")} should exit 1; stderr: ${io.err()}`);
  const lines = io.err().split("\n").filter((l) => l.length > 0 && !l.startsWith("madkit serve: "));
  assert.equal(lines.length, 1, `one line on stderr, got:\n${io.err()}`);
  assert.doesNotMatch(io.err(), /unexpected error|\n\s+at /);
  assert.match(lines[0]!, /^madkit: /);
  return lines[0]!;
}

const WORDS = ["cat", "dog", "sun", "red", "ran", "big", "the", "tree", "ball", "sky"];
const texts = Array.from({ length: 40 }, (_, i) => `${WORDS[i % 10]} ${WORDS[(i * 3) % 10]} ${WORDS[(i * 7 + 1) % 10]} w${i}`);
const store = path.join(tmp, "store");
await extractActivations({ source: new FakeSource({ contextLength: 64 }), inputs: texts, hooks: "blocks.*.hook_resid_post", pooling: "mean", out: store, chunkSize: 16 });
const bundle = path.join(tmp, "bundle");
await cli(["fit", "--activations", store, "--detector", "mahalanobis", "--calibration", "0.5", "--alpha", "0.2", "--out", bundle]);

/** A copy of the store with its index.json edited. */
function storeWithIndex(name: string, edit: (index: Record<string, any>) => void): string {
  const dir = path.join(tmp, name);
  cpSync(store, dir, { recursive: true });
  const file = path.join(dir, "index.json");
  const index = JSON.parse(readFileSync(file, "utf8")) as Record<string, any>;
  edit(index);
  writeFileSync(file, JSON.stringify(index, null, 2));
  return dir;
}

test("a part path in index.json that leaves the store is refused, naming the field, for fit and score alike", async () => {
  for (const [k, file] of ["../../../../../etc/passwd", "/etc/passwd", "shards/../../../outside.safetensors", "shards\\..\\..\\x"].entries()) {
    const dir = storeWithIndex(`escape-${k}`, (index) => (index.parts[0].file = file));
    for (const argv of [["fit", "--activations", dir, "--detector", "mahalanobis", "--out", path.join(tmp, `never-${k}`)], ["score", "--detector", bundle, "--activations", dir]]) {
      const line = await failsInOneLine(argv);
      assert.match(line, /index\.json: field 'parts\.0\.file' is .*expected a path inside the store folder/);
    }
  }
});

test("rows: 1e9 in an index is one line naming the field and the expected value", async () => {
  const dir = storeWithIndex("rows-1e9", (index) => (index.hooks[0].rows = 1e9));
  const line = await failsInOneLine(["fit", "--activations", dir, "--detector", "mahalanobis", "--out", path.join(tmp, "never-rows")]);
  assert.match(line, /field 'hooks\.0\.rows' is 1000000000, expected 40 \(one row per input/);
  assert.match(await failsInOneLine(["score", "--detector", bundle, "--activations", dir]), /field 'hooks\.0\.rows' is 1000000000/);
});

test("a folder as --input is one line, before any model loads", async () => {
  const folder = path.join(tmp, "a-folder");
  mkdirSync(folder, { recursive: true });
  assert.match(await failsInOneLine(["extract", "--input", folder, "--out", path.join(tmp, "acts-folder")]), /a-folder: is a folder; expected a JSONL or plain-text input file/);
  assert.match(await failsInOneLine(["score", "--detector", bundle, "--model", "no-such-model", "--input", folder]), /is a folder/);
});

test("an empty input file makes extract exit 1 with a clear message instead of storing 0 inputs", async () => {
  for (const [name, body] of [["empty.txt", ""], ["blank.jsonl", "\n\n  \n"], ["empty-no-ext", ""]] as const) {
    const file = path.join(tmp, name);
    writeFileSync(file, body);
    const out = path.join(tmp, `acts-${name}`);
    assert.match(await failsInOneLine(["extract", "--input", file, "--out", out]), new RegExp(`${name}: holds no inputs \\(the file is empty or only blank lines\\)`));
    assert.match(await failsInOneLine(["score", "--detector", bundle, "--model", "stories260k", "--input", file]), /holds no inputs/);
  }
});

test("score refuses a bundle whose hooks share a name instead of scoring one hook with another's detector", async () => {
  const dup = path.join(tmp, "bundle-dup");
  cpSync(bundle, dup, { recursive: true });
  const file = path.join(dup, BUNDLE_FILE);
  const env = JSON.parse(readFileSync(file, "utf8"));
  assert.equal(env.state.hooks.length, 2);
  env.state.hooks[1].name = env.state.hooks[0].name;
  writeFileSync(file, JSON.stringify(env, null, 2));
  const line = await failsInOneLine(["score", "--detector", dup, "--activations", store]);
  assert.match(line, /bundle\.json: field 'state\.hooks\.1\.name' is 'blocks\.0\.hook_resid_post', already the name of state\.hooks\.0; hook names in a bundle must be unique/);
});

test("serve with a --detector that does not exist is an error, not the default bundle", async () => {
  const typo = path.join(tmp, "bundel");
  for (const model of ["none", "use-lite"]) {
    const line = await failsInOneLine(["serve", "--model", model, "--detector", typo, "--db", path.join(tmp, "never.sqlite")]);
    assert.match(line, /--detector .*bundel: no such bundle folder; give a folder written by 'madkit fit', or leave --detector out/);
  }
});

test("serve on a bad port, a port in use or an address this machine lacks is one line", async () => {
  const io = capture();
  assert.equal(await run(["serve", "--model", "none", "--detector", bundle, "--port", "70000"], io), 1);
  assert.match(io.err(), /^error: option '--port <n>' argument '70000' is invalid\. expected a port number in \[0, 65535\], got '70000'\n/);
  const busy: Server = createServer();
  await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
  try {
    const port = (busy.address() as { port: number }).port;
    const line = await failsInOneLine(["serve", "--model", "none", "--detector", bundle, "--db", path.join(tmp, "busy.sqlite"), "--port", String(port)]);
    assert.match(line, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: port ${port} on 127\\.0\\.0\\.1 is already in use`));
  } finally {
    await new Promise<void>((resolve) => busy.close(() => resolve()));
  }
  // 192.0.2.1 (TEST-NET-1) is never an address of the machine running the tests.
  const line = await failsInOneLine(["serve", "--model", "none", "--detector", bundle, "--db", path.join(tmp, "addr.sqlite"), "--host", "192.0.2.1", "--port", "0"]);
  assert.match(line, /cannot listen on 192\.0\.2\.1:0: 192\.0\.2\.1 is not an address of this machine/);
});

test("a failed system call (writing a bundle under a file) is one line and exit 1, not a bug report", async () => {
  const file = path.join(tmp, "plain-file");
  writeFileSync(file, "x");
  assert.match(await failsInOneLine(["fit", "--activations", store, "--detector", "mahalanobis", "--calibration", "0.5", "--alpha", "0.2", "--json", "--out", path.join(file, "bundle")]), /ENOTDIR|not a directory/);
});

test("names out of a crafted file cannot break the error line or send terminal escapes", async () => {
  const dir = storeWithIndex("escape-names", (index) => (index.hooks[0].name = "evil\n\u001b[31mred"));
  const line = await failsInOneLine(["score", "--detector", bundle, "--activations", dir]);
  assert.match(line, /evil\\n\\u001b\[31mred/);
});

test("integer flags take decimal digits only: 0x10, 1e3, an empty string and 2.5 are refused naming the flag", async () => {
  for (const v of ["0x10", "1e3", "", " 7", "2.5", "99999999999999999999"]) {
    const io = capture();
    assert.equal(await run(["extract", "--batch", v, "--input", path.join(tmp, "never.txt")], io), 1, v);
    assert.match(io.err(), new RegExp(`option '--batch <n>' argument '${v.replace(/[.]/g, "\\.")}' is invalid\\. expected an integer >= 1, got '`), v);
  }
});
