// Property-based tests of the activation store reader: an index.json whose fields are replaced by huge,
// negative, fractional, mistyped or path-traversal values, an inputs.jsonl or a part file with bytes mutated,
// opened and read every way (readHook, iterateHook, inputs, combine) gives either a consistent store or a
// MadkitError naming the store — never another exception, a read outside the store folder, or a huge
// allocation from a number in the index.

import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import fc from "fast-check";
import { combineStores } from "../../src/activations/combine.js";
import { extractActivations } from "../../src/activations/extract.js";
import { openStore } from "../../src/activations/store.js";
import { partFileName } from "../../src/activations/store-layout.js";
import { readSafetensors, writeSafetensors } from "../../src/io/safetensors.js";
import { FakeSource } from "../activations/fake-source.js";
import { byteMutation, jsonEdit, mutateBytes, mutateJson, outcome, SEED } from "./outcome.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "madkit-fuzz-store-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const texts = Array.from({ length: 7 }, (_, i) => `w${i} x y${i % 3}${i % 2 === 0 ? " z" : ""}`);
const stores: Record<"mean" | "all", string> = { mean: path.join(tmp, "mean"), all: path.join(tmp, "all") };
for (const pooling of ["mean", "all"] as const) {
  await extractActivations({ source: new FakeSource({ contextLength: 64 }), inputs: texts, hooks: "all", pooling, out: stores[pooling], chunkSize: 3 });
}
// A valid part file outside both stores: an index that reached it would read it without complaint.
cpSync(path.join(stores.mean, partFileName(0)), path.join(tmp, "outside.safetensors"));

/** Open the store and read everything it offers; checks what a successful read promises. */
function readEverything(dir: string): void {
  const s = openStore(dir);
  const root = path.resolve(dir) + path.sep;
  for (const p of s.index.parts) assert.ok(path.resolve(dir, p.file).startsWith(root), `part ${p.file} outside the store was accepted`);
  for (const h of s.index.hooks) {
    const m = s.readHook(h.name);
    assert.equal(m.rows, h.rows);
    assert.equal(m.data.length, h.rows * h.dim);
    let rows = 0;
    for (const b of s.iterateHook(h.name)) rows += b.matrix.rows;
    assert.equal(rows, h.rows);
  }
  const inputs = s.inputs();
  assert.equal(inputs.length, s.index.inputCount);
}

for (const pooling of ["mean", "all"] as const) {
  const dir = stores[pooling];
  const indexFile = path.join(dir, "index.json");
  const goodIndex = readFileSync(indexFile, "utf8");
  const index = JSON.parse(goodIndex) as unknown;

  test(`fuzz (${pooling} pooling): index.json fields replaced by nasty values read cleanly or fail naming the store`, { timeout: 30_000 }, () => {
    try {
      fc.assert(
        fc.property(fc.array(jsonEdit, { minLength: 1, maxLength: 3 }), (edits) => {
          writeFileSync(indexFile, mutateJson(index, edits));
          outcome(() => readEverything(dir), dir, `edits ${JSON.stringify(edits)}`);
        }),
        { seed: SEED, numRuns: 250, includeErrorInReport: true },
      );
    } finally {
      writeFileSync(indexFile, goodIndex);
    }
  });

  test(`fuzz (${pooling} pooling): index.json part paths from a traversal dictionary never leave the store`, { timeout: 30_000 }, () => {
    const segment = fc.constantFrom("..", ".", "", "shards", "part-00000.safetensors", "outside.safetensors", "/", "\\", "..\\..", "%2e%2e", "\0", "C:", "~");
    try {
      fc.assert(
        fc.property(fc.array(segment, { minLength: 1, maxLength: 7 }), fc.constantFrom("/", "\\", ""), fc.nat(), (segs, sep, k) => {
          const edited = JSON.parse(goodIndex) as { parts: { file: string }[] };
          edited.parts[k % edited.parts.length]!.file = segs.join(sep);
          writeFileSync(indexFile, JSON.stringify(edited));
          outcome(() => readEverything(dir), dir, `file ${JSON.stringify(segs.join(sep))}`);
        }),
        { seed: SEED, numRuns: 200, includeErrorInReport: true },
      );
    } finally {
      writeFileSync(indexFile, goodIndex);
    }
  });

  test(`fuzz (${pooling} pooling): inputs.jsonl and part files with bytes mutated read and combine cleanly or fail naming the store`, { timeout: 30_000 }, () => {
    const victims = [path.join(dir, "inputs.jsonl"), path.join(dir, partFileName(0)), path.join(dir, partFileName(2))];
    const originals = victims.map((f) => readFileSync(f));
    const out = path.join(tmp, `combined-${pooling}`);
    try {
      fc.assert(
        fc.property(fc.nat({ max: victims.length - 1 }), fc.array(byteMutation, { minLength: 1, maxLength: 3 }), (v, mutations) => {
          writeFileSync(victims[v]!, mutateBytes(originals[v]!, mutations, v === 0 ? 0 : 512));
          outcome(() => readEverything(dir), dir, `${victims[v]} mutated`);
          outcome(() => combineStores([dir], out), undefined, `combine after ${victims[v]} mutated`);
          writeFileSync(victims[v]!, originals[v]!);
        }),
        { seed: SEED, numRuns: 80, includeErrorInReport: true },
      );
    } finally {
      victims.forEach((f, i) => writeFileSync(f, originals[i]!));
    }
  });
}

for (const pooling of ["mean", "all"] as const) {
  const dir = stores[pooling];
  const part = path.join(dir, partFileName(1));
  const original = readFileSync(part);
  const { metadata, tensors } = readSafetensors(part);
  const params = JSON.parse(metadata.params!) as unknown;
  const rows = metadata.inputs!.split("\n").map((l) => JSON.parse(l) as unknown);

  test(`fuzz (${pooling} pooling): a part's self-description (params, input rows) with nasty values reads and combines cleanly or fails`, { timeout: 30_000 }, () => {
    const out = path.join(tmp, `combined-meta-${pooling}`);
    try {
      fc.assert(
        fc.property(fc.nat({ max: rows.length }), fc.array(jsonEdit, { minLength: 1, maxLength: 2 }), (which, edits) => {
          const meta = { ...metadata };
          if (which === rows.length) meta.params = mutateJson(params, edits).replace(/\n/g, "");
          else meta.inputs = rows.map((r, i) => (i === which ? mutateJson(r, edits).replace(/\n/g, "") : JSON.stringify(r))).join("\n");
          writeSafetensors(part, [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })), meta);
          outcome(() => readEverything(dir), dir, `part metadata edits ${JSON.stringify(edits)}`);
          outcome(() => combineStores([dir], out), undefined, `combine after part metadata edits ${JSON.stringify(edits)}`);
        }),
        { seed: SEED, numRuns: 100, includeErrorInReport: true },
      );
    } finally {
      writeFileSync(part, original);
    }
  });
}
