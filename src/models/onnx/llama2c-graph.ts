// The llama2.c (Llama-2) forward pass as an ONNX graph, opset 17, with the tensor names a Hugging Face
// optimum export of LlamaForCausalLM uses (`/model/layers.{i}/Add_output_0`, `/model/norm/Mul_1_output_0`, ...),
// so one structural hook mapping (hook-map.ts) serves madkit's exports and real HF exports alike.

import { headSize, kvDim, type Llama2cCheckpoint } from "../llama2c/checkpoint.js";
import {
  attr, floatTensor, int64Tensor, TensorDataType,
  type AttributeProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto,
} from "./onnx-proto.js";

export const RMS_NORM_EPS = 1e-5;
export const ROPE_THETA = 10000;
export const OPSET = 17;

/** Appends nodes named like torch.onnx scopes: the k-th `Op` in a scope is `${scope}/Op_k`, output `..._output_0`. */
class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly counts = new Map<string, number>();
  private readonly constants = new Map<string, string>();

  op(scope: string, opType: string, inputs: string[], attributes: AttributeProto[] = [], outputName?: string): string {
    const key = `${scope}/${opType}`;
    const k = this.counts.get(key) ?? 0;
    this.counts.set(key, k + 1);
    const name = k === 0 ? key : `${key}_${k}`;
    const output = outputName ?? `${name}_output_0`;
    this.nodes.push({ name, op_type: opType, input: inputs, output: [output], attribute: attributes });
    return output;
  }

  init(t: TensorProto): string {
    this.initializers.push(t);
    return t.name!;
  }

  /** Shared small int64 constant (shapes, axes); one initializer per distinct value. */
  ints(values: readonly number[], scalar = false): string {
    const key = `i${scalar ? "s" : ""}:${values.join(",")}`;
    let name = this.constants.get(key);
    if (!name) {
      name = `/model/constants/${scalar ? "scalar_" : ""}int64_${values.join("_").replace(/-/g, "m")}`;
      this.init(int64Tensor(name, scalar ? [] : [values.length], values));
      this.constants.set(key, name);
    }
    return name;
  }

  float(value: number): string {
    const key = `f:${value}`;
    let name = this.constants.get(key);
    if (!name) {
      name = `/model/constants/float_${String(value).replace(/[-.+]/g, "_")}`;
      this.init(floatTensor(name, [], Float32Array.of(value)));
      this.constants.set(key, name);
    }
    return name;
  }
}

/** [rows, cols] row-major → [cols, rows], so MatMul(x, Wᵀ) needs no Transpose node at run time. */
function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = w[i * cols + j]!;
  return out;
}

/**
 * cos/sin tables [seqLen, headSize/2] with run.c's float32 arithmetic: freq = 1 / powf(10000, 2p / hs),
 * angle = pos · freq rounded to float32. The graph gathers rows by position_ids.
 */
function ropeTables(seqLen: number, hs: number): { cos: Float32Array; sin: Float32Array } {
  const half = hs / 2;
  const cos = new Float32Array(seqLen * half);
  const sin = new Float32Array(seqLen * half);
  for (let pos = 0; pos < seqLen; pos++) {
    for (let p = 0; p < half; p++) {
      const freq = Math.fround(1 / Math.fround(Math.pow(ROPE_THETA, Math.fround((2 * p) / hs))));
      const angle = Math.fround(pos * freq);
      cos[pos * half + p] = Math.cos(angle);
      sin[pos * half + p] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

function tensorInfo(name: string, elemType: number, dims: Array<number | string>): ValueInfoProto {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

export function buildLlama2cOnnx(ckpt: Llama2cCheckpoint): ModelProto {
  const c = ckpt.config;
  const w = ckpt.weights;
  const { dim: D, hiddenDim: F, nLayers: L, nHeads: H, nKvHeads: KV, vocabSize: V, seqLen } = c;
  const hs = headSize(c);
  const kvd = kvDim(c);
  const rep = H / KV;
  const g = new GraphBuilder();

  const rmsNorm = (x: string, weight: Float32Array, scope: string, weightName: string): string => {
    const wName = g.init(floatTensor(weightName, [D], weight.slice()));
    const sq = g.op(scope, "Pow", [x, g.float(2)]);
    const mean = g.op(scope, "ReduceMean", [sq], [attr.ints("axes", [-1]), attr.int("keepdims", 1)]);
    const plusEps = g.op(scope, "Add", [mean, g.float(RMS_NORM_EPS)]);
    const root = g.op(scope, "Sqrt", [plusEps]);
    const normed = g.op(scope, "Div", [x, root]);
    return g.op(scope, "Mul", [wName, normed]);
  };
  const linear = (x: string, weight: Float32Array, outDim: number, inDim: number, scope: string, weightName: string, outputName?: string): string => {
    const wName = g.init(floatTensor(weightName, [inDim, outDim], transpose(weight, outDim, inDim)));
    return g.op(scope, "MatMul", [x, wName], [], outputName);
  };

  // Embedding, RoPE tables gathered by position, and the additive attention bias (causal ∪ padding).
  const embedding = g.init(floatTensor("model.embed_tokens.weight", [V, D], w.tokenEmbedding.slice()));
  let x = g.op("/model/embed_tokens", "Gather", [embedding, "input_ids"]);
  const tables = ropeTables(seqLen, hs);
  const cosTable = g.init(floatTensor("model.rotary_emb.cos_cached", [seqLen, hs / 2], tables.cos));
  const sinTable = g.init(floatTensor("model.rotary_emb.sin_cached", [seqLen, hs / 2], tables.sin));
  const cos = g.op("/model/rotary_emb", "Unsqueeze", [g.op("/model/rotary_emb", "Gather", [cosTable, "position_ids"]), g.ints([1])]);
  const sin = g.op("/model/rotary_emb", "Unsqueeze", [g.op("/model/rotary_emb", "Gather", [sinTable, "position_ids"]), g.ints([1])]);

  const seq = g.op("/model", "Gather", [g.op("/model", "Shape", ["input_ids"]), g.ints([1], true)], [attr.int("axis", 0)]);
  const steps = g.op("/model", "Range", [g.ints([0], true), seq, g.ints([1], true)]);
  const future = g.op("/model", "Greater", [
    g.op("/model", "Unsqueeze", [steps, g.ints([0])]),
    g.op("/model", "Unsqueeze", [steps, g.ints([1])]),
  ]);
  const padding = g.op("/model", "Unsqueeze", [g.op("/model", "Equal", ["attention_mask", g.ints([0], true)]), g.ints([1, 2])]);
  const masked = g.op("/model", "Or", [future, padding]);
  const attnBias = g.op("/model", "Where", [masked, g.float(-1e9), g.float(0)]);

  // Interleaved RoPE on [B, heads, T, hs]: pairs (2p, 2p+1) rotate by the angle of pair p, as run.c.
  const rope = (t: string, scope: string): string => {
    const even = g.op(scope, "Slice", [t, g.ints([0]), g.ints([hs]), g.ints([3]), g.ints([2])]);
    const odd = g.op(scope, "Slice", [t, g.ints([1]), g.ints([hs]), g.ints([3]), g.ints([2])]);
    const r0 = g.op(scope, "Sub", [g.op(scope, "Mul", [even, cos]), g.op(scope, "Mul", [odd, sin])]);
    const r1 = g.op(scope, "Add", [g.op(scope, "Mul", [even, sin]), g.op(scope, "Mul", [odd, cos])]);
    const pairs = g.op(scope, "Concat", [g.op(scope, "Unsqueeze", [r0, g.ints([-1])]), g.op(scope, "Unsqueeze", [r1, g.ints([-1])])], [attr.int("axis", -1)]);
    return g.op(scope, "Reshape", [pairs, g.ints([0, 0, 0, hs])]);
  };

  for (let l = 0; l < L; l++) {
    const P = `/model/layers.${l}`;
    const pre = `model.layers.${l}`;
    const at = (t: Float32Array, n: number): Float32Array => t.subarray(l * n, (l + 1) * n);

    const n1 = rmsNorm(x, at(w.rmsAtt, D), `${P}/input_layernorm`, `${pre}.input_layernorm.weight`);
    const q = linear(n1, at(w.wq, D * D), D, D, `${P}/self_attn/q_proj`, `${pre}.self_attn.q_proj.weight_t`);
    const k = linear(n1, at(w.wk, kvd * D), kvd, D, `${P}/self_attn/k_proj`, `${pre}.self_attn.k_proj.weight_t`);
    const v = linear(n1, at(w.wv, kvd * D), kvd, D, `${P}/self_attn/v_proj`, `${pre}.self_attn.v_proj.weight_t`);
    const A = `${P}/self_attn`;
    const heads = (t: string, n: number): string => g.op(A, "Transpose", [g.op(A, "Reshape", [t, g.ints([0, 0, n, hs])])], [attr.ints("perm", [0, 2, 1, 3])]);
    const qh = rope(heads(q, H), A);
    let kh = rope(heads(k, KV), A);
    let vh = heads(v, KV);
    if (rep > 1) {
      // Query head h reads kv head floor(h / rep) (run.c's h / kv_mul): repeat each kv head rep times in place.
      const repeat = (t: string): string =>
        g.op(A, "Reshape", [g.op(A, "Expand", [g.op(A, "Unsqueeze", [t, g.ints([2])]), g.ints([1, 1, rep, 1, 1])]), g.ints([0, H, -1, hs])]);
      kh = repeat(kh);
      vh = repeat(vh);
    }
    const scores = g.op(A, "Div", [g.op(A, "MatMul", [qh, g.op(A, "Transpose", [kh], [attr.ints("perm", [0, 1, 3, 2])])]), g.float(Math.sqrt(hs))]);
    const probs = g.op(A, "Softmax", [g.op(A, "Add", [scores, attnBias])], [attr.int("axis", -1)]);
    const mixed = g.op(A, "Reshape", [g.op(A, "Transpose", [g.op(A, "MatMul", [probs, vh])], [attr.ints("perm", [0, 2, 1, 3])]), g.ints([0, 0, D])]);
    const attnOut = linear(mixed, at(w.wo, D * D), D, D, `${A}/o_proj`, `${pre}.self_attn.o_proj.weight_t`);
    const mid = g.op(P, "Add", [x, attnOut]);

    const n2 = rmsNorm(mid, at(w.rmsFfn, D), `${P}/post_attention_layernorm`, `${pre}.post_attention_layernorm.weight`);
    const gate = linear(n2, at(w.w1, F * D), F, D, `${P}/mlp/gate_proj`, `${pre}.mlp.gate_proj.weight_t`);
    const up = linear(n2, at(w.w3, F * D), F, D, `${P}/mlp/up_proj`, `${pre}.mlp.up_proj.weight_t`);
    const silu = g.op(`${P}/mlp/act_fn`, "Mul", [gate, g.op(`${P}/mlp/act_fn`, "Sigmoid", [gate])]);
    const mlpOut = linear(g.op(`${P}/mlp`, "Mul", [silu, up]), at(w.w2, D * F), D, F, `${P}/mlp/down_proj`, `${pre}.mlp.down_proj.weight_t`);
    x = g.op(P, "Add", [mid, mlpOut]);
  }

  const final = rmsNorm(x, w.rmsFinal, "/model/norm", "model.norm.weight");
  linear(final, w.wcls, V, D, "/lm_head", "lm_head.weight_t", "logits");

  return {
    ir_version: 8,
    opset_import: [{ domain: "", version: OPSET }],
    producer_name: "madkit",
    producer_version: "0.1.0",
    graph: {
      name: "llama2c",
      node: g.nodes,
      initializer: g.initializers,
      input: [
        tensorInfo("input_ids", TensorDataType.INT64, ["batch_size", "sequence_length"]),
        tensorInfo("attention_mask", TensorDataType.INT64, ["batch_size", "sequence_length"]),
        tensorInfo("position_ids", TensorDataType.INT64, ["batch_size", "sequence_length"]),
      ],
      output: [tensorInfo("logits", TensorDataType.FLOAT, ["batch_size", "sequence_length", V])],
    },
    metadata_props: [{ key: "madkit.source_revision", value: ckpt.revision }],
  };
}
