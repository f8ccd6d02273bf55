// Decode and encode ONNX ModelProto with protobufjs over a current schema (onnx-schema.ts), plus the one
// graph edit madkit needs: extra graph outputs. That edit appends bytes instead of re-encoding, because
// protobuf merges a repeated embedded message field across occurrences — the original bytes (and any field
// this schema does not know) pass through untouched, and a multi-GB model is not copied through JS objects.

import protobuf from "protobufjs";
import { MadkitError } from "../../errors.js";
import { ONNX_SCHEMA } from "./onnx-schema.js";

const root = protobuf.Root.fromJSON(ONNX_SCHEMA);
const ModelProtoType = root.lookupType("onnx.ModelProto");

/** int64 fields decode as number or Long depending on whether `long` is installed; callers see numbers. */
export type Int64 = number | { toNumber(): number };

export function int64ToNumber(v: Int64 | undefined | null): number {
  if (v === undefined || v === null) return 0;
  return typeof v === "number" ? v : v.toNumber();
}

export const TensorDataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

export interface StringStringEntry { key: string; value: string }

export interface TensorProto {
  name?: string;
  dims?: Int64[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int64_data?: Int64[];
  int32_data?: number[];
  external_data?: StringStringEntry[];
  data_location?: number;
}

export interface AttributeProto {
  name: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: number[];
  ints?: Int64[];
}

export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: AttributeProto[];
}

export interface TensorShapeDim { dim_value?: Int64; dim_param?: string }

export interface ValueInfoProto {
  name?: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: TensorShapeDim[] } } };
}

export interface GraphProto {
  name?: string;
  node?: NodeProto[];
  initializer?: TensorProto[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  value_info?: ValueInfoProto[];
}

export interface ModelProto {
  ir_version?: Int64;
  opset_import?: Array<{ domain?: string; version?: Int64 }>;
  producer_name?: string;
  producer_version?: string;
  graph?: GraphProto;
  metadata_props?: StringStringEntry[];
}

/** Decode a ModelProto; anything that is not one fails with MALFORMED_MODEL naming `file`. */
export function decodeModel(bytes: Uint8Array, file: string): ModelProto {
  let model: ModelProto;
  try {
    model = ModelProtoType.decode(bytes) as unknown as ModelProto;
  } catch (e) {
    throw new MadkitError(
      "MALFORMED_MODEL",
      `${file}: not an ONNX model (expected a protobuf-encoded onnx.ModelProto; decoding failed: ${(e as Error).message})`,
      { cause: e },
    );
  }
  const nodes = model.graph?.node ?? [];
  if (!model.graph || nodes.length === 0 || int64ToNumber(model.ir_version) <= 0) {
    throw new MadkitError(
      "MALFORMED_MODEL",
      `${file}: not an ONNX model (expected an onnx.ModelProto with ir_version and a graph of nodes; ` +
        `found ir_version ${int64ToNumber(model.ir_version)} and ${nodes.length} nodes)`,
    );
  }
  return model;
}

export function encodeModel(model: ModelProto): Uint8Array {
  const err = ModelProtoType.verify(model);
  if (err) throw new MadkitError("BAD_ARGUMENT", `ONNX model does not fit onnx.ModelProto: ${err}`);
  return ModelProtoType.encode(ModelProtoType.fromObject(model)).finish();
}

/**
 * The model bytes with `names` appended to graph.output (a ValueInfo with only a name: onnxruntime infers the
 * type). Appending `ModelProto{graph: GraphProto{output: [...]}}` merges into the existing graph when
 * onnxruntime parses it. (protobufjs itself replaces rather than merges: decode the original bytes, not these.)
 */
export function appendGraphOutputs(modelBytes: Uint8Array, names: readonly string[]): Uint8Array {
  const patch = ModelProtoType.encode(
    ModelProtoType.fromObject({ graph: { output: names.map((name) => ({ name })) } }),
  ).finish();
  const out = new Uint8Array(modelBytes.byteLength + patch.byteLength);
  out.set(modelBytes, 0);
  out.set(patch, modelBytes.byteLength);
  return out;
}

/** Float32 initializer stored as little-endian raw_data. */
export function floatTensor(name: string, dims: readonly number[], data: Float32Array): TensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new MadkitError("DIMENSION_MISMATCH", `tensor ${name}: dims [${dims.join(", ")}] need ${count} floats, got ${data.length}`);
  }
  return { name, dims: [...dims], data_type: TensorDataType.FLOAT, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  const data = BigInt64Array.from(values, (v) => BigInt(v));
  return { name, dims: [...dims], data_type: TensorDataType.INT64, raw_data: new Uint8Array(data.buffer) };
}

export const attr = {
  int: (name: string, i: number): AttributeProto => ({ name, type: AttributeType.INT, i }),
  float: (name: string, v: number): AttributeProto => ({ name, type: AttributeType.FLOAT, f: v }),
  ints: (name: string, ints: readonly number[]): AttributeProto => ({ name, type: AttributeType.INTS, ints: [...ints] }),
  tensor: (name: string, t: TensorProto): AttributeProto => ({ name, type: AttributeType.TENSOR, t }),
};
