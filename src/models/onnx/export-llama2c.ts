// `madkit export-onnx`: a llama2.c checkpoint + tokenizer written as a folder in the Hugging Face /
// transformers.js layout (config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx), so the
// ONNX adapter — and any HF-style tool — loads it like a model exported from the Hub.

import path from "node:path";
import { writeFileAtomic } from "../../io/atomic-write.js";
import { headSize, readLlama2cCheckpoint } from "../llama2c/checkpoint.js";
import { checkTokenizerFits, readLlama2cTokenizer } from "../llama2c/tokenizer.js";
import { buildLlama2cOnnx, OPSET, RMS_NORM_EPS, ROPE_THETA } from "./llama2c-graph.js";
import { encodeModel } from "./onnx-proto.js";
import { llama2cTokenizerConfig, llama2cTokenizerJson } from "./llama2c-tokenizer-json.js";

export interface OnnxExportResult {
  /** Files written, absolute paths. */
  readonly files: readonly string[];
  /** sha256 prefix of the source checkpoint. */
  readonly revision: string;
}

export async function exportLlama2cToOnnx(checkpointPath: string, tokenizerPath: string, outDir: string): Promise<OnnxExportResult> {
  const ckpt = readLlama2cCheckpoint(checkpointPath);
  const tok = readLlama2cTokenizer(tokenizerPath);
  checkTokenizerFits(tok, ckpt.config.vocabSize, checkpointPath);
  const c = ckpt.config;

  const config = {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    head_dim: headSize(c),
    vocab_size: c.vocabSize,
    max_position_embeddings: c.seqLen,
    rms_norm_eps: RMS_NORM_EPS,
    rope_theta: ROPE_THETA,
    hidden_act: "silu",
    tie_word_embeddings: c.sharedClassifier,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: "float32",
    // The graph takes no past_key_values: transformers.js must run it without a KV cache.
    "transformers.js_config": { use_external_data_format: false },
    madkit: {
      exported_from: path.basename(checkpointPath),
      tokenizer: path.basename(tokenizerPath),
      revision: ckpt.revision,
      opset: OPSET,
      rope: "llama2.c interleaved pairs (2i, 2i+1)",
    },
  };

  const files = {
    config: path.resolve(outDir, "config.json"),
    tokenizer: path.resolve(outDir, "tokenizer.json"),
    tokenizerConfig: path.resolve(outDir, "tokenizer_config.json"),
    model: path.resolve(outDir, "onnx", "model.onnx"),
  };
  // The model first and the config last: a folder with config.json is a complete export.
  writeFileAtomic(files.model, encodeModel(buildLlama2cOnnx(ckpt)));
  writeFileAtomic(files.tokenizer, JSON.stringify(llama2cTokenizerJson(tok)));
  writeFileAtomic(files.tokenizerConfig, JSON.stringify(llama2cTokenizerConfig(tok, c.seqLen), null, 2) + "\n");
  writeFileAtomic(files.config, JSON.stringify(config, null, 2) + "\n");
  return { files: Object.values(files), revision: ckpt.revision };
}
