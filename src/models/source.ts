// The one interface every model format implements: tokenize, list hook points, and run a batch returning
// the activations of chosen hook points at every token position. Pooling and storage live elsewhere
// (src/activations); a source only knows its model.

import type { Matrix } from "../linalg/matrix.js";

/** Where a hook point sits: per token (rows = tokens), or one vector per input (e.g. a sentence embedding). */
export type HookGranularity = "token" | "sequence";

export interface HookPoint {
  /** TransformerLens-style name, e.g. `blocks.3.hook_resid_post`. */
  readonly name: string;
  /** Width of the activation vector. */
  readonly dim: number;
  readonly granularity: HookGranularity;
  /** Layer index for per-block hooks, -1 for embedding-level, `nLayers` for final hooks. */
  readonly layer: number;
  /**
   * Set when the hook's value does not depend on the input's content (a positional embedding: a function of the
   * token positions alone), with the reason. `all` and globs leave such a hook out; naming it exactly includes it.
   */
  readonly inputIndependent?: string;
}

export interface ModelInfo {
  /** Stable identifier used in cache keys and store indexes, e.g. `llama2c:stories260K`. */
  readonly id: string;
  /** Content hash of the weights (sha256 hex, first 16 chars) so caches never mix revisions. */
  readonly revision: string;
  readonly format: "llama2c" | "onnx" | "tfjs";
  readonly nLayers: number;
  readonly dModel: number;
  readonly vocabSize: number;
  /** Maximum tokens per input, including BOS/special tokens. */
  readonly contextLength: number;
}

export interface Tokenization {
  /** Token ids as the model sees them (BOS/special tokens included). */
  readonly ids: Int32Array;
  /** The text of each token, for per-token views in reports. */
  readonly pieces: readonly string[];
}

/** Activations of one input: for each requested hook, a [tokens x dim] matrix (or [1 x dim] for sequence hooks). */
export type InputActivations = ReadonlyMap<string, Matrix<Float32Array>>;

export interface ForwardOptions {
  /** Hook names to return; must all be listed by `hooks()`. */
  readonly hooks: readonly string[];
}

export interface ForwardResult {
  /** One entry per input, same order as the batch. */
  readonly activations: readonly InputActivations[];
  /** Tokens actually run for each input (after truncation). */
  readonly tokenCounts: readonly number[];
  /** For each input, whether it was cut at the context length. */
  readonly truncated: readonly boolean[];
  /**
   * For each input, how many tokens of its whole text (before truncation) the tokenizer could not map to a
   * piece of its vocabulary (its unknown id; use-lite merges a run of unknown characters into one). Always 0
   * for byte-fallback tokenizers (llama2.c vocabularies with `<0xXX>` pieces, byte-level BPE): they read
   * every byte.
   */
  readonly unknownTokens: readonly number[];
  /**
   * For each input, the share of its text the model could not read, in [0, 1]: characters (code points other
   * than whitespace) that fell into unknown tokens over all such characters (the ONNX adapter, whose tokenizer
   * gives no character offsets, counts tokens instead). 1 when nothing is readable — every character unknown,
   * or no character but whitespace.
   */
  readonly unknownShare: readonly number[];
}

export interface ActivationSource {
  readonly info: ModelInfo;
  /** Every hook point this model exposes, in forward order. */
  hooks(): readonly HookPoint[];
  tokenize(text: string): Tokenization;
  /**
   * Run a batch of texts and return the requested hook activations at every position.
   * Inputs longer than `info.contextLength` are truncated (the result says which).
   */
  forward(texts: readonly string[], options: ForwardOptions): Promise<ForwardResult>;
  /** Release native resources (sessions, tensors). Safe to call twice. */
  dispose(): Promise<void>;
}
