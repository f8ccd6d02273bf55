// llama2.c checkpoints as an ActivationSource: tokenization, hook extraction over whole sequences, and the
// language-model views later stages need (greedy/sampled generation, per-token NLL, next-token logits).
// The source never prints; truncation is reported in the result for the caller to warn about.

import path from "node:path";
import { MadkitError } from "../../errors.js";
import { matrix, type Matrix } from "../../linalg/matrix.js";
import { behaviourFromLogits, behaviourHookPoints, OUTPUT_ENTROPY_HOOK, TOKEN_NLL_HOOK } from "../behaviour-hooks.js";
import { LOGITS_HOOK, resolveHooks } from "../hook-names.js";
import type { ActivationSource, ForwardOptions, ForwardResult, HookPoint, ModelInfo, Tokenization } from "../source.js";
import { readLlama2cCheckpoint, type Llama2cCheckpoint } from "./checkpoint.js";
import { createKvCache, forwardChunk, llama2cHookNames } from "./forward.js";
import { Llama2cSampler, type SamplerOptions } from "./sampler.js";
import { BOS_ID, checkTokenizerFits, decode, decodePiece, encode, readLlama2cTokenizer, unknownCharacters, type Llama2cTokenizer } from "./tokenizer.js";

export interface GenerateOptions extends SamplerOptions {
  /** Tokens to produce after the prompt (fewer when BOS is sampled or the context fills up). */
  readonly maxNewTokens: number;
}

export interface Generation {
  /** Prompt ids (BOS first) followed by the generated ids; a final BOS is not included. */
  readonly ids: Int32Array;
  /** The whole text as run.c prints it: prompt and continuation. */
  readonly text: string;
  /** Number of leading ids that came from the prompt. */
  readonly promptTokens: number;
}

export class Llama2cSource implements ActivationSource {
  readonly info: ModelInfo;
  private readonly hookPoints: readonly HookPoint[];

  constructor(readonly checkpoint: Llama2cCheckpoint, readonly tokenizer: Llama2cTokenizer, id: string) {
    const c = checkpoint.config;
    this.info = {
      id,
      revision: checkpoint.revision,
      format: "llama2c",
      nLayers: c.nLayers,
      dModel: c.dim,
      vocabSize: c.vocabSize,
      contextLength: c.seqLen,
    };
    this.hookPoints = llama2cHookNames(c).map((name): HookPoint => {
      const m = /^blocks\.(\d+)\./.exec(name);
      return {
        name,
        dim: name === LOGITS_HOOK ? c.vocabSize : c.dim,
        granularity: "token" as const,
        layer: m ? Number(m[1]) : c.nLayers,
      };
    }).concat(behaviourHookPoints(c.nLayers));
  }

  hooks(): readonly HookPoint[] {
    return this.hookPoints;
  }

  /** run.c's encoding with BOS; not truncated (see `forward`). */
  tokenize(text: string): Tokenization {
    const ids = encode(this.tokenizer, text, true, false);
    const pieces = Array.from(ids, (id, i) =>
      id === BOS_ID && i === 0 ? "<s>" : Buffer.from(decodePiece(this.tokenizer, i > 0 ? ids[i - 1]! : BOS_ID, id)).toString("utf8"),
    );
    return { ids, pieces };
  }

  /** Ids of `text` cut to the context length, and whether they were cut. */
  private contextIds(text: string): { ids: Int32Array; truncated: boolean } {
    const ids = encode(this.tokenizer, text, true, false);
    const n = this.info.contextLength;
    return ids.length > n ? { ids: ids.slice(0, n), truncated: true } : { ids, truncated: false };
  }

  async forward(texts: readonly string[], options: ForwardOptions): Promise<ForwardResult> {
    const chosen = resolveHooks(options.hooks, this.hookPoints);
    const wantNll = chosen.some((h) => h.name === TOKEN_NLL_HOOK);
    const wantEntropy = chosen.some((h) => h.name === OUTPUT_ENTROPY_HOOK);
    // Behaviour hooks are derived from the logits: run the classifier only when one of them (or logits) is asked for.
    const names = chosen.map((h) => h.name).filter((n) => n !== TOKEN_NLL_HOOK && n !== OUTPUT_ENTROPY_HOOK);
    if ((wantNll || wantEntropy) && !names.includes(LOGITS_HOOK)) names.push(LOGITS_HOOK);
    const activations: Map<string, Matrix<Float32Array>>[] = [];
    const tokenCounts: number[] = [];
    const truncated: boolean[] = [];
    const unknownTokens: number[] = [];
    const unknownShare: number[] = [];
    for (const text of texts) {
      const unknown = unknownCharacters(this.tokenizer, text);
      unknownTokens.push(unknown.tokens);
      unknownShare.push(unknown.share);
      const { ids, truncated: cut } = this.contextIds(text);
      const { hooks } = forwardChunk(this.checkpoint, ids, { hooks: names });
      if (wantNll || wantEntropy) {
        const b = behaviourFromLogits(hooks.get(LOGITS_HOOK)!, ids, this.info.vocabSize, { nll: wantNll, entropy: wantEntropy });
        if (b.nll) hooks.set(TOKEN_NLL_HOOK, b.nll);
        if (b.entropy) hooks.set(OUTPUT_ENTROPY_HOOK, b.entropy);
      }
      const out = new Map<string, Matrix<Float32Array>>();
      for (const h of chosen) out.set(h.name, matrix(ids.length, h.dim, hooks.get(h.name)!));
      activations.push(out);
      tokenCounts.push(ids.length);
      truncated.push(cut);
    }
    return { activations, tokenCounts, truncated, unknownTokens, unknownShare };
  }

  /** Logits at every position of `ids` (BOS included by the caller), as [ids x vocab]. */
  logits(ids: Int32Array): Matrix<Float32Array> {
    const { hooks } = forwardChunk(this.checkpoint, ids, { hooks: [LOGITS_HOOK] });
    return matrix(ids.length, this.info.vocabSize, hooks.get(LOGITS_HOOK)!);
  }

  /** Logits of the token after `text` (encoded with BOS; cut to the context length). */
  nextTokenLogits(text: string): Float32Array {
    const { ids } = this.contextIds(text);
    return forwardChunk(this.checkpoint, ids, { lastLogits: true }).lastLogits!;
  }

  /** softmax of `nextTokenLogits`, in float64. */
  nextTokenDistribution(text: string): Float64Array {
    return softmax64(this.nextTokenLogits(text));
  }

  /**
   * Negative log-likelihood (nats) of each token of `text` given the ones before it: entry i is
   * -log p(ids[i+1] | ids[0..i]) with ids = BOS + encoding, so the length is tokens - 1. Cut to the context length.
   */
  tokenLogProbs(text: string): Float64Array {
    const { ids } = this.contextIds(text);
    const V = this.info.vocabSize;
    const logits = this.logits(ids).data;
    const nll = new Float64Array(Math.max(0, ids.length - 1));
    for (let t = 0; t + 1 < ids.length; t++) {
      const o = t * V;
      let max = -Infinity;
      for (let j = 0; j < V; j++) if (logits[o + j]! > max) max = logits[o + j]!;
      let sum = 0;
      for (let j = 0; j < V; j++) sum += Math.exp(logits[o + j]! - max);
      nll[t] = max + Math.log(sum) - logits[o + ids[t + 1]!]!;
    }
    return nll;
  }

  /**
   * Continue `prompt` like run.c's `generate`: the prompt (with BOS) is run once, then one token at a time
   * through the key/value cache; stops at BOS (id 1), after `maxNewTokens`, or when the context is full.
   */
  generate(prompt: string, options: GenerateOptions): Generation {
    const { maxNewTokens } = options;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) {
      throw new MadkitError("BAD_ARGUMENT", `maxNewTokens must be a non-negative integer, got ${maxNewTokens}`);
    }
    const sampler = new Llama2cSampler(options);
    const promptIds = encode(this.tokenizer, prompt, true, false);
    const seqLen = this.info.contextLength;
    if (promptIds.length > seqLen) {
      throw new MadkitError("BAD_INPUT", `prompt is ${promptIds.length} tokens, longer than the context length ${seqLen}`);
    }
    const ids = Array.from(promptIds);
    const cache = createKvCache(this.checkpoint.config);
    let logits = forwardChunk(this.checkpoint, promptIds, { cache, lastLogits: true }).lastLogits!;
    for (let n = 0; n < maxNewTokens; n++) {
      const next = sampler.sample(logits);
      if (next === BOS_ID) break;
      ids.push(next);
      if (cache.length >= seqLen || n + 1 === maxNewTokens) break;
      logits = forwardChunk(this.checkpoint, [next], { cache, lastLogits: true }).lastLogits!;
    }
    const all = Int32Array.from(ids);
    return { ids: all, text: decode(this.tokenizer, all), promptTokens: promptIds.length };
  }

  async dispose(): Promise<void> {
    // Pure-JS weights: nothing native to release.
  }
}

function softmax64(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += p[i] = Math.exp(logits[i]! - max);
  for (let i = 0; i < p.length; i++) p[i] = p[i]! / sum;
  return p;
}

/** Load a checkpoint and its tokenizer, checking that the vocabularies agree. */
export async function loadLlama2cSource(opts: { checkpoint: string; tokenizer: string; id?: string }): Promise<Llama2cSource> {
  const checkpoint = readLlama2cCheckpoint(opts.checkpoint);
  const tokenizer = readLlama2cTokenizer(opts.tokenizer);
  checkTokenizerFits(tokenizer, checkpoint.config.vocabSize, opts.checkpoint);
  return new Llama2cSource(checkpoint, tokenizer, opts.id ?? `llama2c:${path.basename(opts.checkpoint)}`);
}

/** A source over weights already in memory (fine-tuned or quantised copies); same checks as loading. */
export function llama2cSourceFromParts(checkpoint: Llama2cCheckpoint, tokenizer: Llama2cTokenizer, id: string): Llama2cSource {
  checkTokenizerFits(tokenizer, checkpoint.config.vocabSize, id);
  return new Llama2cSource(checkpoint, tokenizer, id);
}
