import assert from "node:assert/strict";
import { closeSync, ftruncateSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { MadkitError } from "../../src/errors.js";
import { readSafetensors, readSafetensorsHeader, SafetensorsReader, SafetensorsWriter, writeSafetensors } from "../../src/io/safetensors.js";
import { requirePython, runPython } from "../helpers/python.js";

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), "madkit-st-"));

function sample(): { a: Float32Array; b: Float64Array; c: Int32Array } {
  const a = new Float32Array(7 * 5);
  for (let i = 0; i < a.length; i++) a[i] = Math.fround(Math.sin(i) * 1e3) / 7;
  a[3] = -0;
  a[4] = 3.4028234663852886e38;
  a[5] = 1.1754943508222875e-38;
  const b = Float64Array.from({ length: 6 }, (_, i) => Math.PI * (i - 2.5));
  const c = Int32Array.from([-2147483648, -1, 0, 1, 2147483647, 42]);
  return { a, b, c };
}

test("streamed row blocks read back as the same tensors, shapes and metadata", () => {
  const dir = tmp();
  const file = path.join(dir, "x.safetensors");
  const { a, b } = sample();
  const w = new SafetensorsWriter(file, { note: "hello", "ünï": "cöde" });
  w.addTensor("a", "F32", [5]);
  w.addTensor("b", "F64", [3]);
  // interleave blocks of the two tensors, as extraction does batch by batch
  w.append("a", a.subarray(0, 10));
  w.append("b", b.subarray(0, 3));
  w.append("a", a.subarray(10, 35));
  w.append("b", b.subarray(3));
  w.finish();
  const back = readSafetensors(file);
  assert.deepEqual(back.metadata, { note: "hello", "ünï": "cöde" });
  assert.deepEqual(back.tensors.get("a")!.shape, [7, 5]);
  assert.deepEqual(back.tensors.get("b")!.shape, [2, 3]);
  assert.deepEqual(Array.from(back.tensors.get("a")!.data), Array.from(a));
  assert.ok(Object.is(back.tensors.get("a")!.data[3], -0));
  assert.deepEqual(Array.from(back.tensors.get("b")!.data), Array.from(b));
  const r = new SafetensorsReader(file);
  assert.deepEqual(Array.from(r.readRows("a", 2, 4)), Array.from(a.subarray(10, 20)));
  r.close();
  assert.deepEqual(readdirSync(dir), ["x.safetensors"], "no temp files remain");
});

test("the header is padded with spaces so tensor data starts on an 8-byte boundary", () => {
  const dir = tmp();
  for (const name of ["t", "tt", "ttt", "tttt", "ttttt"]) {
    const file = path.join(dir, `${name}.safetensors`);
    writeSafetensors(file, [{ name, shape: [1, 1], data: Float32Array.of(1) }]);
    const bytes = readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal(n % 8, 0);
    assert.match(bytes.subarray(8, 8 + n).toString("utf8"), /^\{.*\} *$/);
  }
});

test("numpy, parsing the header itself, reads back exactly the numbers written", (t) => {
  const { python, skip } = requirePython(["numpy"]);
  if (skip) return t.skip(skip);
  const dir = tmp();
  const file = path.join(dir, "np.safetensors");
  const { a, b, c } = sample();
  writeSafetensors(
    file,
    [
      { name: "a", shape: [7, 5], data: a },
      { name: "b", shape: [2, 3], data: b },
      { name: "c", shape: [6], data: c },
    ],
    { k: "v" },
  );
  const script = `
import json, struct, sys
import numpy as np
raw = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
base = 8 + n
dt = {"F32": "<f4", "F64": "<f8", "I32": "<i4"}
out = {"__metadata__": header.pop("__metadata__")}
for name, t in header.items():
    b0, b1 = t["data_offsets"]
    arr = np.frombuffer(raw[base + b0: base + b1], dtype=dt[t["dtype"]]).reshape(t["shape"])
    out[name] = {"shape": list(arr.shape), "hex": arr.astype(arr.dtype.newbyteorder("<")).tobytes().hex(), "first": float(arr.flat[0])}
print(json.dumps(out))
`;
  const got = JSON.parse(runPython(python!, script, [file])) as Record<string, { shape: number[]; hex: string }> & { __metadata__: unknown };
  assert.deepEqual(got.__metadata__, { k: "v" });
  const hex = (x: Float32Array | Float64Array | Int32Array): string => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString("hex");
  assert.deepEqual(got.a!.shape, [7, 5]);
  assert.equal(got.a!.hex, hex(a));
  assert.deepEqual(got.b!.shape, [2, 3]);
  assert.equal(got.b!.hex, hex(b));
  assert.deepEqual(got.c!.shape, [6]);
  assert.equal(got.c!.hex, hex(c));
});

test("a file numpy wrote is read back with the values numpy computed", (t) => {
  const { python, skip } = requirePython(["numpy"]);
  if (skip) return t.skip(skip);
  const file = path.join(tmp(), "from-numpy.safetensors");
  const script = `
import json, struct, sys
import numpy as np
x = (np.arange(12, dtype=np.float32).reshape(3, 4) / 3.0).astype("<f4")
h = json.dumps({"x": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, x.nbytes]}}).encode()
h += b" " * (-len(h) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + x.tobytes())
print(json.dumps([float(v) for v in x.flat]))
`;
  const expected = JSON.parse(runPython(python!, script, [file])) as number[];
  const back = readSafetensors(file).tensors.get("x")!;
  assert.deepEqual(back.shape, [3, 4]);
  assert.deepEqual(Array.from(back.data), expected);
});

function corruptCase(name: string, mutate: (buf: Buffer) => Buffer, pattern: RegExp): void {
  test(`a corrupt file (${name}) is STORE_CORRUPT naming the file`, () => {
    const dir = tmp();
    const file = path.join(dir, "bad.safetensors");
    writeSafetensors(file, [{ name: "w", shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }]);
    writeFileSync(file, mutate(readFileSync(file)));
    assert.throws(
      () => readSafetensorsHeader(file),
      (e: unknown) => e instanceof MadkitError && e.code === "STORE_CORRUPT" && e.message.includes(file) && pattern.test(e.message),
    );
  });
}

const withHeader = (buf: Buffer, edit: (h: Record<string, { data_offsets: number[]; dtype: string; shape: number[] }>) => void): Buffer => {
  const n = Number(buf.readBigUInt64LE(0));
  const h = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  edit(h);
  let json = Buffer.from(JSON.stringify(h));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, buf.subarray(8 + n)]);
};

corruptCase("truncated data", (b) => b.subarray(0, b.length - 4), /ends at data byte 16.*only 12/);
corruptCase("header length past the end", (b) => {
  const c = Buffer.from(b);
  c.writeBigUInt64LE(10_000n, 0);
  return c;
}, /header length field says 10000/);
corruptCase("shorter than 8 bytes", (b) => b.subarray(0, 5), /5 bytes/);
corruptCase("unknown dtype", (b) => withHeader(b, (h) => (h.w!.dtype = "Q7")), /dtype "Q7"/);
corruptCase("shape disagreeing with offsets", (b) => withHeader(b, (h) => (h.w!.shape = [2, 3])), /needs 24 bytes/);
corruptCase("trailing bytes", (b) => Buffer.concat([b, Buffer.alloc(8)]), /trailing garbage/);
corruptCase("invalid JSON", (b) => {
  const c = Buffer.from(b);
  c[8] = 0x41;
  return c;
}, /not valid JSON/);

test("a header length over the 100 MB cap that the file does hold says so, not that the file is truncated", () => {
  // Issue 21: a 104,857,590-byte header (just under 100 MiB) in a file long enough to hold it was refused as
  // "truncated" while the same message gave a larger byte count after it. A sparse file keeps this cheap.
  const file = path.join(tmp(), "big-header.safetensors");
  const fd = openSync(file, "w");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(104_857_590n, 0);
  writeSync(fd, len, 0, 8, 0);
  ftruncateSync(fd, 8 + 104_857_590 + 16);
  closeSync(fd);
  assert.throws(
    () => readSafetensorsHeader(file),
    (e: unknown) =>
      e instanceof MadkitError &&
      e.code === "STORE_CORRUPT" &&
      /header length field says 104857590 bytes, above the 100000000-byte limit on a safetensors header/.test(e.message) &&
      !/truncated|only \d+ bytes follow/.test(e.message),
  );
  // A length the file cannot hold is the truncation message, with the byte count that does follow.
  writeFileSync(file, Buffer.concat([len, Buffer.alloc(16, 0x20)]));
  assert.throws(() => readSafetensorsHeader(file), /header length field says 104857590 bytes, but only 16 bytes follow it \(truncated/);
});

test("a folder where a safetensors file should be is STORE_CORRUPT, and a shape too large for any file is refused before arithmetic overflows", () => {
  const dir = tmp();
  assert.throws(() => readSafetensorsHeader(dir), (e: unknown) => e instanceof MadkitError && /is a folder, expected a safetensors file/.test(e.message));
  const file = path.join(dir, "huge.safetensors");
  writeSafetensors(file, [{ name: "w", shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }]);
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const h = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  h.w.shape = [1e200, 1e200];
  let json = Buffer.from(JSON.stringify(h));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([len, json, buf.subarray(8 + n)]));
  assert.throws(() => readSafetensorsHeader(file), (e: unknown) => e instanceof MadkitError && /too large for any file/.test(e.message));
});
