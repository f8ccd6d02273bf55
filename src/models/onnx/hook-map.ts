// Where TransformerLens hook points live inside an ONNX decoder graph, found by structure rather than by
// exact tensor names, so madkit's own exports and Hugging Face exports (optimum / transformers.js) share one rule.
//
// | hook                          | found as                                                     | HF Llama/Qwen2/SmolLM example              | HF GPT-2 example                     |
// |-------------------------------|--------------------------------------------------------------|--------------------------------------------|--------------------------------------|
// | blocks.{i}.hook_resid_pre     | i = 0: the residual input of layer 0's first residual Add;    | /model/embed_tokens/Gather_output_0         | /transformer/Add_output_0 (wte + wpe) |
// |                               | i > 0: blocks.{i-1}.hook_resid_post                          |                                            |                                      |
// | blocks.{i}.hook_attn_out      | the other input of the residual Add that takes resid_pre     | /model/layers.{i}/self_attn/o_proj/MatMul_output_0 | /transformer/h.{i}/attn/c_proj/...    |
// | (resid_mid, not exposed)      | that Add's output                                            | /model/layers.{i}/Add_output_0              | /transformer/h.{i}/Add_output_0       |
// | blocks.{i}.hook_mlp_out       | the other input of the residual Add that takes resid_mid     | /model/layers.{i}/mlp/down_proj/MatMul_output_0 | /transformer/h.{i}/mlp/c_proj/...     |
// | blocks.{i}.hook_resid_post    | that Add's output                                            | /model/layers.{i}/Add_1_output_0            | /transformer/h.{i}/Add_1_output_0     |
// | ln_final.hook_normalized      | output of the last node in the final-norm scope              | /model/norm/Mul_1_output_0                  | /transformer/ln_f/LayerNormalization_output_0 |
// | logits                        | the graph output named `logits`                              | logits                                     | logits                               |
//
// A layer is the node-name scope `<prefix>{layers|h|blocks}.{i}/`; a residual Add is an `Add` node directly in
// that scope (`.../layers.3/Add`, `.../layers.3/Add_1`), not inside a sub-module. Cast and Identity nodes are
// looked through (newer HF Llama exports feed the residual through the RMSNorm's float32 Cast).

import { MadkitError } from "../../errors.js";
import { BLOCK_HOOKS, blockHook, FINAL_NORM_HOOK, LOGITS_HOOK } from "../hook-names.js";
import type { GraphProto, NodeProto } from "./onnx-proto.js";

export interface HookTensor {
  /** TransformerLens hook name. */
  readonly hook: string;
  /** Tensor name in the ONNX graph. */
  readonly tensor: string;
  readonly layer: number;
}

const LAYER_SCOPE = /^(.*\/(?:layers|h|blocks|layer))\.(\d+)\//;
const FINAL_NORM_SCOPES = ["norm", "ln_f", "final_layer_norm", "final_layernorm", "final_norm"];
const PASS_THROUGH = new Set(["Cast", "Identity"]);

export function mapHooks(graph: GraphProto, file: string): { hooks: HookTensor[]; nLayers: number } {
  const nodes = graph.node ?? [];
  const producer = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const canon = (t: string): string => {
    for (let guard = 0; guard < 16; guard++) {
      const p = producer.get(t);
      if (!p || !PASS_THROUGH.has(p.op_type ?? "") || (p.input?.length ?? 0) !== 1) return t;
      t = p.input![0]!;
    }
    return t;
  };

  // The most common layer-scope prefix is the decoder stack (a VLM may also hold a vision tower).
  const byPrefix = new Map<string, Map<number, NodeProto[]>>();
  for (const n of nodes) {
    const m = LAYER_SCOPE.exec(n.name ?? "");
    if (!m) continue;
    const layers = byPrefix.get(m[1]!) ?? new Map<number, NodeProto[]>();
    byPrefix.set(m[1]!, layers);
    const i = Number(m[2]);
    if (!layers.has(i)) layers.set(i, []);
    if (n.op_type === "Add" && new RegExp(`^${escapeRe(m[0])}Add(_\\d+)?$`).test(n.name!)) layers.get(i)!.push(n);
  }
  if (byPrefix.size === 0) {
    throw new MadkitError(
      "NOT_SUPPORTED",
      `${file}: found no transformer layers (expected node names scoped like '/model/layers.0/...' or '/transformer/h.0/...', ` +
        `as torch.onnx / optimum exports write them); this graph's first nodes are named ${nodes.slice(0, 3).map((n) => `'${n.name}'`).join(", ")}`,
    );
  }
  const [prefix, layers] = [...byPrefix].sort((a, b) => b[1].size - a[1].size)[0]!;
  const nLayers = layers.size;

  const hooks: HookTensor[] = [];
  let residIn: string | undefined;
  for (let i = 0; i < nLayers; i++) {
    const adds = layers.get(i);
    const fail = (what: string): never => {
      throw new MadkitError(
        "NOT_SUPPORTED",
        `${file}: layer ${i} (${prefix}.${i}/): ${what}; expected two residual Add nodes directly in the layer scope ` +
          `(found ${adds?.length ?? 0}: ${(adds ?? []).map((a) => a.name).join(", ") || "none"}). Fused exports ` +
          `(SkipLayerNormalization, onnxruntime-genai) are not supported — export with optimum without --optimize`,
      );
    };
    if (!adds || adds.length < 2) fail("too few residual adds");
    if (residIn === undefined) {
      // Layer 0: the residual stream enters from outside the layer scope.
      const first = adds![0]!;
      residIn = first.input?.find((t) => !(producer.get(canon(t))?.name ?? "").startsWith(`${prefix}.0/`));
      if (residIn === undefined) fail("no input of its first Add comes from outside the layer");
      residIn = canon(residIn!);
    }
    const step = (from: string, what: string): { other: string; out: string } => {
      const add = adds!.find((a) => a.input?.length === 2 && a.input.some((t) => canon(t) === from));
      if (!add) return fail(`no Add takes the ${what} '${from}'`);
      const other = add.input!.find((t) => canon(t) !== from) ?? fail(`the Add after '${from}' adds it to itself`);
      return { other, out: add.output![0]! };
    };
    const attn = step(residIn!, "residual stream");
    const mlp = step(canon(attn.out), "post-attention residual");
    const names = { hook_resid_pre: residIn!, hook_attn_out: attn.other, hook_mlp_out: mlp.other, hook_resid_post: mlp.out };
    for (const h of BLOCK_HOOKS) hooks.push({ hook: blockHook(i, h), tensor: names[h], layer: i });
    residIn = canon(mlp.out);
  }

  const parent = prefix.slice(0, prefix.lastIndexOf("/") + 1);
  const scopes = FINAL_NORM_SCOPES.map((s) => `${parent}${s}/`);
  const finalNorm = [...nodes].reverse().find((n) => scopes.some((s) => (n.name ?? "").startsWith(s)));
  if (finalNorm) hooks.push({ hook: FINAL_NORM_HOOK, tensor: finalNorm.output![0]!, layer: nLayers });
  if ((graph.output ?? []).some((o) => o.name === "logits")) hooks.push({ hook: LOGITS_HOOK, tensor: "logits", layer: nLayers });
  return { hooks, nLayers };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
