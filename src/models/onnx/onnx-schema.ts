// The ONNX protobuf schema (onnx/onnx.proto3, IR version 11 / ONNX 1.17+) as a protobufjs JSON descriptor,
// written from the public spec. Kept current on purpose: the old `onnx-proto` npm package predates fields such
// as FunctionProto.value_info, metadata_props and the device configuration, and silently drops them on decode.

type Field = { type: string; id: number; rule?: "repeated"; options?: { packed: boolean } };
type Msg = { fields: Record<string, Field>; oneofs?: Record<string, { oneof: string[] }>; nested?: Record<string, Msg | Enum> };
type Enum = { values: Record<string, number> };

const r = (type: string, id: number): Field => ({ type, id, rule: "repeated" });
const f = (type: string, id: number): Field => ({ type, id });

const attributeProto: Msg = {
  fields: {
    name: f("string", 1),
    ref_attr_name: f("string", 21),
    doc_string: f("string", 13),
    type: f("AttributeType", 20),
    f: f("float", 2),
    i: f("int64", 3),
    s: f("bytes", 4),
    t: f("TensorProto", 5),
    g: f("GraphProto", 6),
    sparse_tensor: f("SparseTensorProto", 22),
    tp: f("TypeProto", 14),
    floats: r("float", 7),
    ints: r("int64", 8),
    strings: r("bytes", 9),
    tensors: r("TensorProto", 10),
    graphs: r("GraphProto", 11),
    sparse_tensors: r("SparseTensorProto", 23),
    type_protos: r("TypeProto", 15),
  },
  nested: {
    AttributeType: {
      values: {
        UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, SPARSE_TENSOR: 11, TYPE_PROTO: 13,
        FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10, SPARSE_TENSORS: 12, TYPE_PROTOS: 14,
      },
    },
  },
};

const tensorProto: Msg = {
  fields: {
    dims: r("int64", 1),
    data_type: f("int32", 2),
    segment: f("Segment", 3),
    float_data: r("float", 4),
    int32_data: r("int32", 5),
    string_data: r("bytes", 6),
    int64_data: r("int64", 7),
    name: f("string", 8),
    doc_string: f("string", 12),
    raw_data: f("bytes", 9),
    external_data: r("StringStringEntryProto", 13),
    data_location: f("DataLocation", 14),
    double_data: r("double", 10),
    uint64_data: r("uint64", 11),
    metadata_props: r("StringStringEntryProto", 16),
  },
  nested: {
    Segment: { fields: { begin: f("int64", 1), end: f("int64", 2) } },
    DataType: {
      values: {
        UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
        FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
        FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20, UINT4: 21, INT4: 22,
        FLOAT4E2M1: 23, FLOAT8E8M0: 24, UINT2: 25, INT2: 26,
      },
    },
    DataLocation: { values: { DEFAULT: 0, EXTERNAL: 1 } },
  },
};

const typeProto: Msg = {
  fields: {
    tensor_type: f("Tensor", 1),
    sequence_type: f("Sequence", 4),
    map_type: f("Map", 5),
    optional_type: f("Optional", 9),
    sparse_tensor_type: f("SparseTensor", 8),
    opaque_type: f("Opaque", 7),
    denotation: f("string", 6),
  },
  oneofs: { value: { oneof: ["tensor_type", "sequence_type", "map_type", "optional_type", "sparse_tensor_type", "opaque_type"] } },
  nested: {
    Tensor: { fields: { elem_type: f("int32", 1), shape: f("TensorShapeProto", 2) } },
    Sequence: { fields: { elem_type: f("TypeProto", 1) } },
    Map: { fields: { key_type: f("int32", 1), value_type: f("TypeProto", 2) } },
    Optional: { fields: { elem_type: f("TypeProto", 1) } },
    SparseTensor: { fields: { elem_type: f("int32", 1), shape: f("TensorShapeProto", 2) } },
    Opaque: { fields: { domain: f("string", 1), name: f("string", 2) } },
  },
};

/** The `onnx` package, ready for `protobuf.Root.fromJSON`. */
export const ONNX_SCHEMA = {
  nested: {
    onnx: {
      nested: {
        Version: {
          values: {
            _START_VERSION: 0, IR_VERSION_2017_10_10: 1, IR_VERSION_2017_10_30: 2, IR_VERSION_2017_11_3: 3,
            IR_VERSION_2019_1_22: 4, IR_VERSION_2019_3_18: 5, IR_VERSION_2019_9_19: 6, IR_VERSION_2020_5_8: 7,
            IR_VERSION_2021_7_30: 8, IR_VERSION_2023_5_5: 9, IR_VERSION_2024_3_25: 10, IR_VERSION_2025_05_12: 11,
            IR_VERSION: 12,
          },
        },
        AttributeProto: attributeProto,
        ValueInfoProto: {
          fields: { name: f("string", 1), type: f("TypeProto", 2), doc_string: f("string", 3), metadata_props: r("StringStringEntryProto", 4) },
        },
        NodeProto: {
          fields: {
            input: r("string", 1),
            output: r("string", 2),
            name: f("string", 3),
            op_type: f("string", 4),
            domain: f("string", 7),
            overload: f("string", 8),
            attribute: r("AttributeProto", 5),
            doc_string: f("string", 6),
            metadata_props: r("StringStringEntryProto", 9),
            device_configurations: r("NodeDeviceConfigurationProto", 10),
          },
        },
        IntIntListEntryProto: { fields: { key: f("int64", 1), value: r("int64", 2) } },
        NodeDeviceConfigurationProto: {
          fields: { configuration_id: f("string", 1), sharding_spec: r("ShardingSpecProto", 2), pipeline_stage: f("int32", 3) },
        },
        ShardingSpecProto: {
          fields: {
            tensor_name: f("string", 1),
            device: r("int64", 2),
            index_to_device_group_map: r("IntIntListEntryProto", 3),
            sharded_dim: r("ShardedDimProto", 4),
          },
        },
        ShardedDimProto: { fields: { axis: f("int64", 1), simple_sharding: r("SimpleShardedDimProto", 2) } },
        SimpleShardedDimProto: {
          fields: { dim_value: f("int64", 1), dim_param: f("string", 2), num_shards: f("int64", 3) },
          oneofs: { dim: { oneof: ["dim_value", "dim_param"] } },
        },
        TrainingInfoProto: {
          fields: {
            initialization: f("GraphProto", 1),
            algorithm: f("GraphProto", 2),
            initialization_binding: r("StringStringEntryProto", 3),
            update_binding: r("StringStringEntryProto", 4),
          },
        },
        ModelProto: {
          fields: {
            ir_version: f("int64", 1),
            opset_import: r("OperatorSetIdProto", 8),
            producer_name: f("string", 2),
            producer_version: f("string", 3),
            domain: f("string", 4),
            model_version: f("int64", 5),
            doc_string: f("string", 6),
            graph: f("GraphProto", 7),
            metadata_props: r("StringStringEntryProto", 14),
            training_info: r("TrainingInfoProto", 20),
            functions: r("FunctionProto", 25),
            configuration: r("DeviceConfigurationProto", 26),
          },
        },
        DeviceConfigurationProto: { fields: { name: f("string", 1), num_devices: f("int32", 2), device: r("string", 3) } },
        StringStringEntryProto: { fields: { key: f("string", 1), value: f("string", 2) } },
        TensorAnnotation: { fields: { tensor_name: f("string", 1), quant_parameter_tensor_names: r("StringStringEntryProto", 2) } },
        GraphProto: {
          fields: {
            node: r("NodeProto", 1),
            name: f("string", 2),
            initializer: r("TensorProto", 5),
            sparse_initializer: r("SparseTensorProto", 15),
            doc_string: f("string", 10),
            input: r("ValueInfoProto", 11),
            output: r("ValueInfoProto", 12),
            value_info: r("ValueInfoProto", 13),
            quantization_annotation: r("TensorAnnotation", 14),
            metadata_props: r("StringStringEntryProto", 16),
          },
        },
        TensorProto: tensorProto,
        SparseTensorProto: { fields: { values: f("TensorProto", 1), indices: f("TensorProto", 2), dims: r("int64", 3) } },
        TensorShapeProto: {
          fields: { dim: r("Dimension", 1) },
          nested: {
            Dimension: {
              fields: { dim_value: f("int64", 1), dim_param: f("string", 2), denotation: f("string", 3) },
              oneofs: { value: { oneof: ["dim_value", "dim_param"] } },
            },
          },
        },
        TypeProto: typeProto,
        OperatorSetIdProto: { fields: { domain: f("string", 1), version: f("int64", 2) } },
        OperatorStatus: { values: { EXPERIMENTAL: 0, STABLE: 1 } },
        FunctionProto: {
          fields: {
            name: f("string", 1),
            input: r("string", 4),
            output: r("string", 5),
            attribute: r("string", 6),
            attribute_proto: r("AttributeProto", 11),
            node: r("NodeProto", 7),
            doc_string: f("string", 8),
            opset_import: r("OperatorSetIdProto", 9),
            domain: f("string", 10),
            overload: f("string", 13),
            value_info: r("ValueInfoProto", 12),
            metadata_props: r("StringStringEntryProto", 14),
          },
        },
      },
    },
  },
};
