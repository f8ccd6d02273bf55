// The llama2.c (Llama-2) forward pass as an ONNX graph, opset 17, with the tensor names a Hugging Face
// optimum export of LlamaForCausalLM uses (`/model/layers.{i}/Add_output_0`, `/model/norm/Mul_1_output_0`, ...),
// so one structural hook mapping (hook-map.ts) serves madkit's exports and real HF exports alike.

import { headSize, kvDim, type Llama2cCheckpoint, type Llama2cConfig, type Llama2cWeights } from "../llama2c/checkpoint.js";
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

/** RMSNorm over the last axis as HF's LlamaRMSNorm exports it: weight · x / sqrt(mean(x²) + eps). */
function rmsNorm(g: GraphBuilder, x: string, weight: Float32Array, dim: number, scope: string, weightName: string): string {
  const wName = g.init(floatTensor(weightName, [dim], weight.slice()));
  const sq = g.op(scope, "Pow", [x, g.float(2)]);
  const mean = g.op(scope, "ReduceMean", [sq], [attr.ints("axes", [-1]), attr.int("keepdims", 1)]);
  const plusEps = g.op(scope, "Add", [mean, g.float(RMS_NORM_EPS)]);
  const root = g.op(scope, "Sqrt", [plusEps]);
  const normed = g.op(scope, "Div", [x, root]);
  return g.op(scope, "Mul", [wName, normed]);
}

/** x · Wᵀ for a llama2.c weight stored (out, in), the transpose baked into the initializer. */
function linear(
  g: GraphBuilder, x: string, weight: Float32Array, outDim: number, inDim: number, scope: string, weightName: string, outputName?: string,
): string {
  const wName = g.init(floatTensor(weightName, [inDim, outDim], transpose(weight, outDim, inDim)));
  return g.op(scope, "MatMul", [x, wName], [], outputName);
}

/** What every decoder layer reads besides its own weights. */
interface LayerInputs {
  readonly g: GraphBuilder;
  readonly c: Llama2cConfig;
  readonly w: Llama2cWeights;
  readonly hs: number;
  readonly kvd: number;
  /** cos/sin of each position's RoPE angles, [B, 1, T, hs/2]. */
  readonly cos: string;
  readonly sin: string;
  /** Additive attention bias [B, 1, T, T]: -1e9 on future and padding keys, 0 elsewhere. */
  readonly attnBias: string;
}

export function buildLlama2cOnnx(ckpt: Llama2cCheckpoint): ModelProto {
  const c = ckpt.config;
  const w = ckpt.weights;
  const g = new GraphBuilder();
  let x = embedTokens(g, w.tokenEmbedding, c.vocabSize, c.dim);
  const hs = headSize(c);
  const { cos, sin } = ropeInputs(g, c.seqLen, hs);
  const inputs: LayerInputs = { g, c, w, hs, kvd: kvDim(c), cos, sin, attnBias: attentionBias(g) };
  for (let l = 0; l < c.nLayers; l++) x = decoderLayer(inputs, l, x);
  const final = rmsNorm(g, x, w.rmsFinal, c.dim, "/model/norm", "model.norm.weight");
  linear(g, final, w.wcls, c.vocabSize, c.dim, "/lm_head", "lm_head.weight_t", "logits");
  return modelProto(g, c.vocabSize, ckpt.revision);
}

/** Token embedding: rows of the [V, D] table gathered by input_ids. */
function embedTokens(g: GraphBuilder, table: Float32Array, V: number, D: number): string {
  const embedding = g.init(floatTensor("model.embed_tokens.weight", [V, D], table.slice()));
  return g.op("/model/embed_tokens", "Gather", [embedding, "input_ids"]);
}

/** RoPE tables gathered by position_ids, unsqueezed to broadcast over heads. */
function ropeInputs(g: GraphBuilder, seqLen: number, hs: number): { cos: string; sin: string } {
  const tables = ropeTables(seqLen, hs);
  const cosTable = g.init(floatTensor("model.rotary_emb.cos_cached", [seqLen, hs / 2], tables.cos));
  const sinTable = g.init(floatTensor("model.rotary_emb.sin_cached", [seqLen, hs / 2], tables.sin));
  const cos = g.op("/model/rotary_emb", "Unsqueeze", [g.op("/model/rotary_emb", "Gather", [cosTable, "position_ids"]), g.ints([1])]);
  const sin = g.op("/model/rotary_emb", "Unsqueeze", [g.op("/model/rotary_emb", "Gather", [sinTable, "position_ids"]), g.ints([1])]);
  return { cos, sin };
}

/** The additive attention bias (causal ∪ padding) from attention_mask and the sequence length. */
function attentionBias(g: GraphBuilder): string {
  const seq = g.op("/model", "Gather", [g.op("/model", "Shape", ["input_ids"]), g.ints([1], true)], [attr.int("axis", 0)]);
  const steps = g.op("/model", "Range", [g.ints([0], true), seq, g.ints([1], true)]);
  const future = g.op("/model", "Greater", [
    g.op("/model", "Unsqueeze", [steps, g.ints([0])]),
    g.op("/model", "Unsqueeze", [steps, g.ints([1])]),
  ]);
  const padding = g.op("/model", "Unsqueeze", [g.op("/model", "Equal", ["attention_mask", g.ints([0], true)]), g.ints([1, 2])]);
  const masked = g.op("/model", "Or", [future, padding]);
  return g.op("/model", "Where", [masked, g.float(-1e9), g.float(0)]);
}

/** Layer l's slice of a per-layer weight stack of `n` floats per layer. */
function layerSlice(t: Float32Array, l: number, n: number): Float32Array {
  return t.subarray(l * n, (l + 1) * n);
}

/** One pre-norm Llama block: x + attention(norm(x)), then + mlp(norm(·)). */
function decoderLayer(inputs: LayerInputs, l: number, x: string): string {
  const { g, c, w } = inputs;
  const P = `/model/layers.${l}`;
  const pre = `model.layers.${l}`;
  const n1 = rmsNorm(g, x, layerSlice(w.rmsAtt, l, c.dim), c.dim, `${P}/input_layernorm`, `${pre}.input_layernorm.weight`);
  const mid = g.op(P, "Add", [x, selfAttention(inputs, l, n1)]);
  const n2 = rmsNorm(g, mid, layerSlice(w.rmsFfn, l, c.dim), c.dim, `${P}/post_attention_layernorm`, `${pre}.post_attention_layernorm.weight`);
  return g.op(P, "Add", [mid, mlp(inputs, l, n2)]);
}

/** Grouped-query self-attention of layer l on the normed residual `n1`, through o_proj. */
function selfAttention(inputs: LayerInputs, l: number, n1: string): string {
  const { g, c, w, hs, kvd } = inputs;
  const { dim: D, nHeads: H, nKvHeads: KV } = c;
  const rep = H / KV;
  const A = `/model/layers.${l}/self_attn`;
  const pre = `model.layers.${l}.self_attn`;
  const q = linear(g, n1, layerSlice(w.wq, l, D * D), D, D, `${A}/q_proj`, `${pre}.q_proj.weight_t`);
  const k = linear(g, n1, layerSlice(w.wk, l, kvd * D), kvd, D, `${A}/k_proj`, `${pre}.k_proj.weight_t`);
  const v = linear(g, n1, layerSlice(w.wv, l, kvd * D), kvd, D, `${A}/v_proj`, `${pre}.v_proj.weight_t`);
  const heads = (t: string, n: number): string => g.op(A, "Transpose", [g.op(A, "Reshape", [t, g.ints([0, 0, n, hs])])], [attr.ints("perm", [0, 2, 1, 3])]);
  const qh = rope(inputs, heads(q, H), A);
  let kh = rope(inputs, heads(k, KV), A);
  let vh = heads(v, KV);
  if (rep > 1) {
    // Query head h reads kv head floor(h / rep) (run.c's h / kv_mul): repeat each kv head rep times in place.
    const repeat = (t: string): string =>
      g.op(A, "Reshape", [g.op(A, "Expand", [g.op(A, "Unsqueeze", [t, g.ints([2])]), g.ints([1, 1, rep, 1, 1])]), g.ints([0, H, -1, hs])]);
    kh = repeat(kh);
    vh = repeat(vh);
  }
  const scores = g.op(A, "Div", [g.op(A, "MatMul", [qh, g.op(A, "Transpose", [kh], [attr.ints("perm", [0, 1, 3, 2])])]), g.float(Math.sqrt(hs))]);
  const probs = g.op(A, "Softmax", [g.op(A, "Add", [scores, inputs.attnBias])], [attr.int("axis", -1)]);
  const mixed = g.op(A, "Reshape", [g.op(A, "Transpose", [g.op(A, "MatMul", [probs, vh])], [attr.ints("perm", [0, 2, 1, 3])]), g.ints([0, 0, D])]);
  return linear(g, mixed, layerSlice(w.wo, l, D * D), D, D, `${A}/o_proj`, `${pre}.o_proj.weight_t`);
}

/** Interleaved RoPE on [B, heads, T, hs]: pairs (2p, 2p+1) rotate by the angle of pair p, as run.c. */
function rope(inputs: LayerInputs, t: string, scope: string): string {
  const { g, hs, cos, sin } = inputs;
  const even = g.op(scope, "Slice", [t, g.ints([0]), g.ints([hs]), g.ints([3]), g.ints([2])]);
  const odd = g.op(scope, "Slice", [t, g.ints([1]), g.ints([hs]), g.ints([3]), g.ints([2])]);
  const r0 = g.op(scope, "Sub", [g.op(scope, "Mul", [even, cos]), g.op(scope, "Mul", [odd, sin])]);
  const r1 = g.op(scope, "Add", [g.op(scope, "Mul", [even, sin]), g.op(scope, "Mul", [odd, cos])]);
  const pairs = g.op(scope, "Concat", [g.op(scope, "Unsqueeze", [r0, g.ints([-1])]), g.op(scope, "Unsqueeze", [r1, g.ints([-1])])], [attr.int("axis", -1)]);
  return g.op(scope, "Reshape", [pairs, g.ints([0, 0, 0, hs])]);
}

/** Layer l's SwiGLU feed-forward on the normed residual `n2`: down(silu(gate(n2)) · up(n2)). */
function mlp(inputs: LayerInputs, l: number, n2: string): string {
  const { g, c, w } = inputs;
  const { dim: D, hiddenDim: F } = c;
  const M = `/model/layers.${l}/mlp`;
  const pre = `model.layers.${l}.mlp`;
  const gate = linear(g, n2, layerSlice(w.w1, l, F * D), F, D, `${M}/gate_proj`, `${pre}.gate_proj.weight_t`);
  const up = linear(g, n2, layerSlice(w.w3, l, F * D), F, D, `${M}/up_proj`, `${pre}.up_proj.weight_t`);
  const silu = g.op(`${M}/act_fn`, "Mul", [gate, g.op(`${M}/act_fn`, "Sigmoid", [gate])]);
  return linear(g, g.op(M, "Mul", [silu, up]), layerSlice(w.w2, l, D * F), D, F, `${M}/down_proj`, `${pre}.down_proj.weight_t`);
}

/** The graph's nodes and initializers wrapped as an opset-17 model with HF's input and output signature. */
function modelProto(g: GraphBuilder, V: number, revision: string): ModelProto {
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
    metadata_props: [{ key: "madkit.source_revision", value: revision }],
  };
}
