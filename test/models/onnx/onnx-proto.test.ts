// The protobuf codec and the byte-append graph surgery: what goes in comes back out, and appended outputs
// merge into the existing graph without disturbing nodes, initializers or fields this schema ignores.

import assert from "node:assert/strict";
import { test } from "node:test";
import ort from "onnxruntime-node";
import protobuf from "protobufjs";
import { appendGraphOutputs, decodeModel, encodeModel, floatTensor, int64ToNumber, type ModelProto } from "../../../src/models/onnx/onnx-proto.js";

const tiny: ModelProto = {
  ir_version: 8,
  opset_import: [{ domain: "", version: 17 }],
  producer_name: "test",
  graph: {
    name: "g",
    node: [
      { name: "/a/Add", op_type: "Add", input: ["x", "w"], output: ["/a/Add_output_0"] },
      { name: "/a/Relu", op_type: "Relu", input: ["/a/Add_output_0"], output: ["y"] },
    ],
    initializer: [floatTensor("w", [2], Float32Array.of(1.5, -2))],
    input: [{ name: "x", type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 2 }] } } } }],
    output: [{ name: "y", type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 2 }] } } } }],
  },
};

test("encode then decode returns the same graph, initializer bytes included", () => {
  const back = decodeModel(encodeModel(tiny), "tiny.onnx");
  assert.equal(int64ToNumber(back.ir_version), 8);
  assert.deepEqual(back.graph!.node!.map((n) => [n.name, n.op_type, n.input, n.output]), tiny.graph!.node!.map((n) => [n.name, n.op_type, n.input, n.output]));
  const raw = back.graph!.initializer![0]!.raw_data!;
  assert.deepEqual(Array.from(new Float32Array(Uint8Array.from(raw).buffer)), [1.5, -2]);
});

test("onnxruntime sees appended outputs after the original ones and computes them", async () => {
  // protobufjs replaces a repeated singular message instead of merging it, so onnxruntime (C++ protobuf,
  // which merges as the protobuf spec says) is the oracle here.
  const patched = appendGraphOutputs(encodeModel(tiny), ["/a/Add_output_0"]);
  const session = await ort.InferenceSession.create(patched);
  try {
    assert.deepEqual(session.outputNames, ["y", "/a/Add_output_0"]);
    const out = await session.run({ x: new ort.Tensor("float32", Float32Array.of(1, 1), [2]) });
    assert.deepEqual(Array.from(out["/a/Add_output_0"]!.data as Float32Array), [2.5, -1]);
    assert.deepEqual(Array.from(out.y!.data as Float32Array), [2.5, 0]);
  } finally {
    await session.release();
  }
});

test("a field unknown to the schema survives graph surgery byte for byte", () => {
  // Field 99 on ModelProto (varint 7) is not in onnx.proto: a re-encode would drop it; the append keeps it.
  const unknown = protobuf.Writer.create().uint32((99 << 3) | 0).uint32(7).finish();
  const bytes = new Uint8Array([...encodeModel(tiny), ...unknown]);
  const patched = appendGraphOutputs(bytes, ["/a/Add_output_0"]);
  assert.deepEqual(patched.subarray(0, bytes.length), bytes);
});
