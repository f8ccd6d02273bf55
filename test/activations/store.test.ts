import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { extractActivations } from "../../src/activations/extract.js";
import { openStore } from "../../src/activations/store.js";
import { MadkitError } from "../../src/errors.js";
import { FakeSource } from "./fake-source.js";

async function store(): Promise<string> {
  const out = mkdtempSync(path.join(os.tmpdir(), "madkit-store-"));
  const inputs = Array.from({ length: 9 }, (_, i) => `w${i} x y${i % 3}`);
  await extractActivations({ source: new FakeSource(), inputs, hooks: "blocks.*.hook_resid_post", pooling: "all", out, chunkSize: 4 });
  return out;
}

const code = (c: string, re: RegExp) => (e: unknown) => e instanceof MadkitError && e.code === c && re.test(e.message);

test("iterating a hook part by part yields blocks that tile readHook's matrix", async () => {
  const s = openStore(await store());
  const whole = s.readHook("blocks.0.hook_resid_post");
  let at = 0;
  const starts: number[] = [];
  for (const b of s.iterateHook("blocks.0.hook_resid_post")) {
    assert.equal(b.rowStart, at);
    starts.push(b.inputStart);
    assert.deepEqual(b.matrix.data, whole.data.subarray(at * 4, (at + b.matrix.rows) * 4));
    at += b.matrix.rows;
  }
  assert.equal(at, whole.rows);
  assert.deepEqual(starts, [0, 4, 8]);
  // every input has 4 tokens (BOS + 3 words) under all pooling
  assert.deepEqual(s.inputs().map((r) => r.rows), Array.from({ length: 9 }, (_, i) => [i * 4, i * 4 + 4]));
});

test("a truncated part file is STORE_CORRUPT naming the file", async () => {
  const dir = await store();
  const part = path.join(dir, "shards", "part-00001.safetensors");
  writeFileSync(part, readFileSync(part).subarray(0, 200));
  assert.throws(() => openStore(dir).readHook("blocks.1.hook_resid_post"), code("STORE_CORRUPT", new RegExp(`${part.replace(/[.]/g, "\\.")}`)));
});

test("a store from a newer schema version is VERSION_MISMATCH; a missing index says what is wrong", async () => {
  const dir = await store();
  const f = path.join(dir, "index.json");
  writeFileSync(f, readFileSync(f, "utf8").replace('"schemaVersion": 1', '"schemaVersion": 99'));
  assert.throws(() => openStore(dir), code("VERSION_MISMATCH", /schemaVersion 99 is newer/));
  rmSync(f);
  assert.throws(() => openStore(dir), code("FILE_NOT_FOUND", /unfinished/));
  rmSync(path.join(dir, "progress.json"));
  assert.throws(() => openStore(dir), code("FILE_NOT_FOUND", /not an activation store/));
});

test("an index field of the wrong type is STORE_CORRUPT naming the field", async () => {
  const dir = await store();
  const f = path.join(dir, "index.json");
  writeFileSync(f, readFileSync(f, "utf8").replace('"pooling": "all"', '"pooling": "max"'));
  assert.throws(() => openStore(dir), code("STORE_CORRUPT", /field 'pooling'/));
});

test("an unknown hook name lists the store's hooks", async () => {
  const s = openStore(await store());
  assert.throws(() => s.readHook("hook_embed"), code("UNKNOWN_HOOK", /no hook 'hook_embed'; it holds blocks\.0\.hook_resid_post, blocks\.1\.hook_resid_post/));
});

test("extraction pulls inputs lazily: when part 0 is written, at most one chunk (+1) has been read", async () => {
  let yielded = 0;
  let atFirstPart = -1;
  async function* inputs(): AsyncGenerator<string> {
    for (let i = 0; i < 100_000; i++) {
      yielded++;
      yield `t${i % 50}`;
    }
  }
  const out = mkdtempSync(path.join(os.tmpdir(), "madkit-store-"));
  await assert.rejects(
    extractActivations({
      source: new FakeSource(),
      inputs: inputs(),
      hooks: "blocks.0.hook_resid_post",
      pooling: "last",
      out,
      chunkSize: 1000,
      batchSize: 100,
      onProgress: (p) => {
        if (p.event === "part-written") {
          atFirstPart = yielded;
          throw new Error("stop");
        }
      },
    }),
    /stop/,
  );
  assert.ok(atFirstPart >= 1000 && atFirstPart <= 1001, `read ${atFirstPart} inputs before the first part`);
});

/** Edit a store's index.json in place. */
function editIndex(dir: string, edit: (index: any) => void): void {
  const f = path.join(dir, "index.json");
  const index = JSON.parse(readFileSync(f, "utf8"));
  edit(index);
  writeFileSync(f, JSON.stringify(index, null, 2));
}

test("a part path that leaves the store folder is refused at open, whatever its spelling (one check for every store path)", async () => {
  const dir = await store();
  for (const file of ["../../../../../etc/passwd", "/etc/passwd", "shards/../../x.safetensors", "shards/./part-00000.safetensors", "shards//p", "", "C:\\x", "a\0b"]) {
    editIndex(dir, (index) => (index.parts[1].file = file));
    assert.throws(() => openStore(dir), code("STORE_CORRUPT", /index\.json: field 'parts\.1\.file' is .*expected a path inside the store folder like 'shards\/part-00000\.safetensors'/), file);
  }
});

test("index rows that disagree with the inputs or the parts are a one-line STORE_CORRUPT naming the field, before any allocation", async () => {
  const dir = await store();
  // Pooling `all`: token rows are not one per input, so the index is checked against the part headers.
  editIndex(dir, (index) => (index.hooks[0].rows = 1e9));
  assert.throws(() => openStore(dir).readHook("blocks.0.hook_resid_post"), code("STORE_CORRUPT", /field 'hooks\.0\.rows' is 1000000000, but the parts hold 36 rows/));
  editIndex(dir, (index) => (index.hooks[0].rows = 2 ** 40));
  assert.throws(() => openStore(dir), code("STORE_CORRUPT", /field 'hooks\.0\.rows' is 1099511627776, expected an integer in \[0, 1073741823\]/));
  editIndex(dir, (index) => {
    index.hooks[0].rows = 36;
    index.hooks[0].dim = 1e9;
  });
  assert.throws(() => openStore(dir), code("STORE_CORRUPT", /field 'hooks\.0\.rows' is 36, expected an integer in \[0, 4\] \(token rows of all inputs, at most one 1000000000-wide float32 matrix\)/));
  editIndex(dir, (index) => (index.hooks[0].dim = 1e6));
  assert.throws(() => openStore(dir).readHook("blocks.0.hook_resid_post"), code("STORE_CORRUPT", /tensor 'blocks\.0\.hook_resid_post' is F32 \[16, 4\], the index says F32 \[rows, 1000000\]/));
});

test("an index that is not an object, has duplicate hook names or inconsistent part counts is STORE_CORRUPT", async () => {
  const dir = await store();
  const f = path.join(dir, "index.json");
  const good = readFileSync(f, "utf8");
  for (const text of ["null", "[]", "{", "7"]) {
    writeFileSync(f, text);
    assert.throws(() => openStore(dir), code("STORE_CORRUPT", /store index/), text);
  }
  writeFileSync(f, good);
  editIndex(dir, (index) => (index.hooks[1].name = index.hooks[0].name));
  assert.throws(() => openStore(dir), code("STORE_CORRUPT", /field 'hooks\.1\.name' is "blocks\.0\.hook_resid_post", expected a name not already used by hooks\.0/));
  writeFileSync(f, good);
  editIndex(dir, (index) => (index.parts[2].firstInput = 0));
  assert.throws(() => openStore(dir), code("STORE_CORRUPT", /field 'parts\.2\.firstInput' is 0, expected 8/));
  writeFileSync(f, good);
  editIndex(dir, (index) => (index.shard = { index: 3, count: 2 }));
  assert.throws(() => openStore(dir), code("STORE_CORRUPT", /field 'shard\.index' is 3, expected an integer in \[0, 1\]/));
});

test("a line of inputs.jsonl that is not JSON is STORE_CORRUPT naming file and line", async () => {
  const dir = await store();
  const f = path.join(dir, "inputs.jsonl");
  const lines = readFileSync(f, "utf8").split("\n");
  lines[2] = "{not json";
  writeFileSync(f, lines.join("\n"));
  assert.throws(() => openStore(dir).inputs(), code("STORE_CORRUPT", /inputs\.jsonl:3: not valid JSON/));
});
