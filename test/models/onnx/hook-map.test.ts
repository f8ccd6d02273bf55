// The structural hook mapping on graphs shaped like Hugging Face optimum exports (names as torch.onnx
// writes them), including the float32 Cast newer Llama exports put on the residual path, plus a fused graph
// that must be refused with a clear error.

import assert from "node:assert/strict";
import { test } from "node:test";
import { MadkitError } from "../../../src/errors.js";
import { mapHooks } from "../../../src/models/onnx/hook-map.js";
import type { GraphProto, NodeProto } from "../../../src/models/onnx/onnx-proto.js";

/** A node in torch.onnx naming: output `${name}_output_0`. */
const n = (name: string, op: string, inputs: string[]): NodeProto => ({ name, op_type: op, input: inputs, output: [`${name}_output_0`] });
const out = (name: string): string => `${name}_output_0`;

function llamaGraph(layers: number): GraphProto {
  const nodes: NodeProto[] = [n("/model/embed_tokens/Gather", "Gather", ["w", "input_ids"])];
  let resid = out("/model/embed_tokens/Gather");
  for (let i = 0; i < layers; i++) {
    const P = `/model/layers.${i}`;
    nodes.push(
      n(`${P}/input_layernorm/Cast`, "Cast", [resid]),
      n(`${P}/input_layernorm/Mul_1`, "Mul", ["g", out(`${P}/input_layernorm/Cast`)]),
      n(`${P}/self_attn/Add`, "Add", [out(`${P}/input_layernorm/Mul_1`), "mask"]), // decoy: not in the layer's own scope
      n(`${P}/self_attn/o_proj/MatMul`, "MatMul", [out(`${P}/self_attn/Add`), "wo"]),
      n(`${P}/Add`, "Add", [out(`${P}/input_layernorm/Cast`), out(`${P}/self_attn/o_proj/MatMul`)]),
      n(`${P}/post_attention_layernorm/Cast`, "Cast", [out(`${P}/Add`)]),
      n(`${P}/mlp/down_proj/MatMul`, "MatMul", [out(`${P}/post_attention_layernorm/Cast`), "w2"]),
      n(`${P}/Add_1`, "Add", [out(`${P}/post_attention_layernorm/Cast`), out(`${P}/mlp/down_proj/MatMul`)]),
    );
    resid = out(`${P}/Add_1`);
  }
  nodes.push(n("/model/norm/Cast", "Cast", [resid]), n("/model/norm/Mul_1", "Mul", ["g", out("/model/norm/Cast")]));
  nodes.push({ name: "/lm_head/MatMul", op_type: "MatMul", input: [out("/model/norm/Mul_1"), "wl"], output: ["logits"] });
  return { node: nodes, output: [{ name: "logits" }] };
}

function gpt2Graph(layers: number): GraphProto {
  const nodes: NodeProto[] = [
    n("/transformer/wte/Gather", "Gather", ["wte", "input_ids"]),
    n("/transformer/wpe/Gather", "Gather", ["wpe", "position_ids"]),
    n("/transformer/Add", "Add", [out("/transformer/wte/Gather"), out("/transformer/wpe/Gather")]),
  ];
  let resid = out("/transformer/Add");
  for (let i = 0; i < layers; i++) {
    const P = `/transformer/h.${i}`;
    nodes.push(
      n(`${P}/ln_1/LayerNormalization`, "LayerNormalization", [resid, "g", "b"]),
      n(`${P}/attn/c_proj/Reshape_3`, "Reshape", [out(`${P}/ln_1/LayerNormalization`), "s"]),
      n(`${P}/Add`, "Add", [out(`${P}/attn/c_proj/Reshape_3`), resid]),
      n(`${P}/ln_2/LayerNormalization`, "LayerNormalization", [out(`${P}/Add`), "g", "b"]),
      n(`${P}/mlp/c_proj/Reshape_1`, "Reshape", [out(`${P}/ln_2/LayerNormalization`), "s"]),
      n(`${P}/Add_1`, "Add", [out(`${P}/Add`), out(`${P}/mlp/c_proj/Reshape_1`)]),
    );
    resid = out(`${P}/Add_1`);
  }
  nodes.push(n("/transformer/ln_f/LayerNormalization", "LayerNormalization", [resid, "g", "b"]));
  nodes.push({ name: "/lm_head/MatMul", op_type: "MatMul", input: [out("/transformer/ln_f/LayerNormalization"), "wte_t"], output: ["logits"] });
  return { node: nodes, output: [{ name: "logits" }] };
}

test("a Llama-style export maps through the RMSNorm Cast to embed / o_proj / down_proj / Add_1 tensors", () => {
  const { hooks, nLayers } = mapHooks(llamaGraph(3), "llama.onnx");
  const m = new Map(hooks.map((h) => [h.hook, h.tensor]));
  assert.equal(nLayers, 3);
  assert.equal(m.get("blocks.0.hook_resid_pre"), "/model/embed_tokens/Gather_output_0");
  assert.equal(m.get("blocks.0.hook_attn_out"), "/model/layers.0/self_attn/o_proj/MatMul_output_0");
  assert.equal(m.get("blocks.0.hook_mlp_out"), "/model/layers.0/mlp/down_proj/MatMul_output_0");
  assert.equal(m.get("blocks.0.hook_resid_post"), "/model/layers.0/Add_1_output_0");
  assert.equal(m.get("blocks.2.hook_resid_pre"), "/model/layers.1/Add_1_output_0");
  assert.equal(m.get("ln_final.hook_normalized"), "/model/norm/Mul_1_output_0");
  assert.equal(m.get("logits"), "logits");
  assert.equal(hooks.length, 3 * 4 + 2);
});

test("a GPT-2-style export maps wte+wpe, c_proj reshapes and the residual adds whatever their input order", () => {
  const { hooks, nLayers } = mapHooks(gpt2Graph(2), "gpt2.onnx");
  const m = new Map(hooks.map((h) => [h.hook, h.tensor]));
  assert.equal(nLayers, 2);
  assert.equal(m.get("blocks.0.hook_resid_pre"), "/transformer/Add_output_0");
  assert.equal(m.get("blocks.0.hook_attn_out"), "/transformer/h.0/attn/c_proj/Reshape_3_output_0");
  assert.equal(m.get("blocks.1.hook_mlp_out"), "/transformer/h.1/mlp/c_proj/Reshape_1_output_0");
  assert.equal(m.get("blocks.1.hook_resid_post"), "/transformer/h.1/Add_1_output_0");
  assert.equal(m.get("ln_final.hook_normalized"), "/transformer/ln_f/LayerNormalization_output_0");
});

test("a fused export without residual Add nodes is refused as NOT_SUPPORTED naming the layer", () => {
  const g: GraphProto = {
    node: [
      n("/model/embed_tokens/Gather", "Gather", ["w", "input_ids"]),
      n("/model/layers.0/input_layernorm/SkipLayerNorm", "SkipSimplifiedLayerNormalization", [out("/model/embed_tokens/Gather"), "x", "g"]),
    ],
    output: [{ name: "logits" }],
  };
  assert.throws(() => mapHooks(g, "fused.onnx"), (e: unknown) => {
    assert.ok(e instanceof MadkitError);
    assert.equal(e.code, "NOT_SUPPORTED");
    assert.match(e.message, /fused\.onnx: layer 0/);
    return true;
  });
});

test("a graph without transformer layer scopes is refused as NOT_SUPPORTED", () => {
  assert.throws(() => mapHooks({ node: [n("Relu_0", "Relu", ["x"])] }, "plain.onnx"), /plain\.onnx: found no transformer layers/);
});
