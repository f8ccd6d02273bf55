// Model files beyond the plain export: a decoder-with-past signature (past_key_values.*, use_cache_branch)
// is fed an empty cache, weights in an external .onnx_data file load, and an unknown input is refused.

import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { config } from "../../../src/config.js";
import { MadkitError } from "../../../src/errors.js";
import { writeFileAtomic } from "../../../src/io/atomic-write.js";
import { exportLlama2cToOnnx } from "../../../src/models/onnx/export-llama2c.js";
import { decodeModel, encodeModel, TensorDataType, type ValueInfoProto } from "../../../src/models/onnx/onnx-proto.js";
import { loadOnnxSource } from "../../../src/models/onnx/source.js";

const dir = path.join(config.sharedDir, "models/stories260K");
const tmp = mkdtempSync(path.join(os.tmpdir(), "madkit-onnx-inputs-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const plain = path.join(tmp, "plain");
await exportLlama2cToOnnx(path.join(dir, "stories260K.bin"), path.join(dir, "tok512.bin"), plain);

const input = (name: string, elem: number, dims: Array<number | string>): ValueInfoProto => ({
  name,
  type: { tensor_type: { elem_type: elem, shape: { dim: dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) } } },
});

/** A copy of the export whose graph declares extra inputs (onnxruntime checks feeds against declared shapes). */
function withInputs(name: string, extra: ValueInfoProto[]): string {
  const d = path.join(tmp, name);
  cpSync(plain, d, { recursive: true });
  const file = path.join(d, "onnx/model.onnx");
  const model = decodeModel(readFileSync(file), file);
  model.graph!.input!.push(...extra);
  writeFileAtomic(file, encodeModel(model));
  return d;
}

test("a decoder-with-past signature is fed an empty cache and gives the same activations as the plain export", async () => {
  const past: ValueInfoProto[] = [];
  for (let l = 0; l < 5; l++) {
    for (const kv of ["key", "value"]) past.push(input(`past_key_values.${l}.${kv}`, TensorDataType.FLOAT, ["batch_size", 4, "past_sequence_length", 8]));
  }
  past.push(input("use_cache_branch", TensorDataType.BOOL, [1]));
  const a = await loadOnnxSource({ dir: withInputs("with-past", past) });
  const b = await loadOnnxSource({ dir: plain });
  try {
    const texts = ["Once upon a time", "Hi"];
    const ra = await a.forward(texts, { hooks: ["logits"] });
    const rb = await b.forward(texts, { hooks: ["logits"] });
    for (let i = 0; i < texts.length; i++) assert.deepEqual(ra.activations[i]!.get("logits")!.data, rb.activations[i]!.get("logits")!.data);
  } finally {
    await a.dispose();
    await b.dispose();
  }
});

test("weights in an external model.onnx_data file give the same activations as inline weights", async () => {
  const d = path.join(tmp, "external");
  cpSync(plain, d, { recursive: true });
  const file = path.join(d, "onnx/model.onnx");
  const model = decodeModel(readFileSync(file), file);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  // Like real exports, only weight matrices go out; small shape constants stay inline for shape inference.
  for (const t of model.graph!.initializer!) {
    if (t.raw_data!.byteLength < 1024) continue;
    const raw = Uint8Array.from(t.raw_data!);
    chunks.push(raw);
    t.raw_data = new Uint8Array(0);
    t.data_location = 1; // EXTERNAL
    t.external_data = [
      { key: "location", value: "model.onnx_data" },
      { key: "offset", value: String(offset) },
      { key: "length", value: String(raw.byteLength) },
    ];
    offset += raw.byteLength;
  }
  writeFileAtomic(path.join(d, "onnx/model.onnx_data"), chunks);
  writeFileAtomic(file, encodeModel(model));
  assert.ok(statSync(file).size < statSync(path.join(d, "onnx/model.onnx_data")).size / 10, "weights moved out of the graph file");
  const a = await loadOnnxSource({ dir: d });
  const b = await loadOnnxSource({ dir: plain });
  try {
    assert.ok(existsSync(path.join(d, "onnx/model.madkit-hooks.onnx")), "patched graph written beside the data file");
    const hooks = ["blocks.2.hook_attn_out", "logits"];
    const ra = await a.forward(["One day, a bird sang."], { hooks });
    const rb = await b.forward(["One day, a bird sang."], { hooks });
    for (const h of hooks) assert.deepEqual(ra.activations[0]!.get(h)!.data, rb.activations[0]!.get(h)!.data);
  } finally {
    await a.dispose();
    await b.dispose();
  }
});

test("an input madkit cannot feed is refused as NOT_SUPPORTED naming it", async () => {
  const src = await loadOnnxSource({ dir: withInputs("odd-input", [input("pixel_values", TensorDataType.FLOAT, [1, 3])]) });
  try {
    await assert.rejects(src.forward(["Hi"], { hooks: ["logits"] }), (e: unknown) => {
      assert.ok(e instanceof MadkitError);
      assert.equal(e.code, "NOT_SUPPORTED");
      assert.match(e.message, /pixel_values/);
      return true;
    });
  } finally {
    await src.dispose();
  }
});
