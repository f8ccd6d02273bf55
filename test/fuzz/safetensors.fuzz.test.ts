// Property-based tests of the safetensors reader: whatever the bytes — a valid file with bits flipped, cut
// short, grown, its header length or JSON fields replaced by huge, negative, fractional or mistyped values, or
// plain noise — reading gives a valid result or a MadkitError naming the file; and any tensors written read
// back exactly (names, dtypes, shapes, bytes, metadata).

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import fc from "fast-check";
import { readSafetensors, writeSafetensors, type TypedArrayFor } from "../../src/io/safetensors.js";
import { byteMutation, jsonEdit, mutateBytes, mutateJson, outcome, SEED } from "./outcome.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "madkit-fuzz-st-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const file = path.join(tmp, "x.safetensors");

type Dtype = "F32" | "F64" | "I32" | "U8";

function typed(dtype: Dtype, bytes: Uint8Array): TypedArrayFor {
  const copy = new Uint8Array(bytes).buffer;
  switch (dtype) {
    case "F32":
      return new Float32Array(copy);
    case "F64":
      return new Float64Array(copy);
    case "I32":
      return new Int32Array(copy);
    case "U8":
      return new Uint8Array(copy);
  }
}

const WIDTH: Record<Dtype, number> = { F32: 4, F64: 8, I32: 4, U8: 1 };

const tensorName = fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom("__proto__", "constructor", "toString", "", "a.b", "x\ny", "hooks/000"));

/** A tensor of any dtype and a small shape, its data raw bytes (so NaN payloads and -0 must survive too). */
const tensorArb = fc
  .record({
    dtype: fc.constantFrom<Dtype>("F32", "F64", "I32", "U8"),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }),
    seed: fc.uint8Array({ minLength: 0, maxLength: 8 * 64 }),
  })
  .map(({ dtype, shape, seed }) => {
    const n = shape.reduce((a, b) => a * b, 1) * WIDTH[dtype];
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i++) bytes[i] = seed.length === 0 ? i & 255 : seed[i % seed.length]! ^ (i >> 3);
    return { dtype, shape, data: typed(dtype, bytes) };
  });

const fileArb = fc.record({
  tensors: fc.uniqueArray(fc.tuple(tensorName.filter((n) => n !== "__metadata__"), tensorArb), { maxLength: 4, selector: ([name]) => name }),
  metadata: fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("__proto__", "format")), fc.string({ maxLength: 12 }), { maxKeys: 4 }),
});

const bytesOf = (a: TypedArrayFor): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

test("fuzz: tensors written read back with the same names, dtypes, shapes, bytes and metadata", { timeout: 30_000 }, () => {
  fc.assert(
    fc.property(fileArb, ({ tensors, metadata }) => {
      writeSafetensors(file, tensors.map(([name, t]) => ({ name, shape: t.shape, data: t.data })), metadata);
      const back = readSafetensors(file);
      assert.deepEqual(Object.entries(back.metadata).sort(), Object.entries(metadata).sort());
      assert.deepEqual([...back.tensors.keys()].sort(), tensors.map(([n]) => n).sort());
      for (const [name, t] of tensors) {
        const got = back.tensors.get(name)!;
        assert.deepEqual(got.shape, t.shape, name);
        assert.equal(got.data.constructor, t.data.constructor, name);
        assert.ok(bytesOf(got.data).equals(bytesOf(t.data)), `${name}: bytes differ`);
      }
    }),
    { seed: SEED, numRuns: 150, includeErrorInReport: true },
  );
});

/** A small valid file to mutate: three tensors of different dtypes and metadata. */
function validFile(): Buffer {
  writeSafetensors(
    file,
    [
      { name: "w", shape: [3, 2], data: Float32Array.of(1, 2, 3, 4, 5, 6) },
      { name: "b", shape: [2], data: Float64Array.of(-1, 0.5) },
      { name: "i", shape: [1, 1, 2], data: Int32Array.of(7, -7) },
    ],
    { format: "madkit-test", note: "x" },
  );
  return readFileSync(file);
}

const valid = validFile();
const headerLen = Number(valid.readBigUInt64LE(0));
const header = JSON.parse(valid.subarray(8, 8 + headerLen).toString("utf8")) as unknown;
const data = valid.subarray(8 + headerLen);

/** The reader's whole surface on one file: header, every tensor whole and a row range. */
function readEverything(f: string): number {
  const r = readSafetensors(f);
  let n = 0;
  for (const t of r.tensors.values()) n += t.data.length;
  return n;
}

test("fuzz: a valid file with bytes flipped, cut, grown or overwritten reads cleanly or fails with a MadkitError naming it", { timeout: 30_000 }, () => {
  fc.assert(
    fc.property(fc.array(byteMutation, { minLength: 1, maxLength: 4 }), (mutations) => {
      writeFileSync(file, mutateBytes(valid, mutations, 8 + headerLen));
      outcome(() => readEverything(file), file, `mutations ${JSON.stringify(mutations, (_, v) => (typeof v === "bigint" ? String(v) : v))}`);
    }),
    { seed: SEED, numRuns: 300, includeErrorInReport: true },
  );
});

test("fuzz: header JSON with fields replaced by huge, negative, fractional, mistyped or traversal values fails cleanly", { timeout: 30_000 }, () => {
  fc.assert(
    fc.property(fc.array(jsonEdit, { minLength: 1, maxLength: 3 }), fc.boolean(), (edits, pad) => {
      let json = Buffer.from(mutateJson(header, edits), "utf8");
      if (pad) json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      writeFileSync(file, Buffer.concat([len, json, data]));
      outcome(() => readEverything(file), file, `edits ${JSON.stringify(edits)}`);
    }),
    { seed: SEED, numRuns: 300, includeErrorInReport: true },
  );
});

test("fuzz: random bytes, with or without a plausible header length, fail cleanly", { timeout: 30_000 }, () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.option(fc.nat({ max: 220 })), (bytes, claimed) => {
      const b = Buffer.from(bytes);
      if (claimed !== null && b.length >= 8) b.writeBigUInt64LE(BigInt(claimed), 0);
      writeFileSync(file, b);
      outcome(() => readEverything(file), file, `bytes ${b.toString("hex")}`);
    }),
    { seed: SEED, numRuns: 300, includeErrorInReport: true },
  );
});
