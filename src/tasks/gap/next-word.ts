// What a language model says comes next, as a word, and how surprised it is by a given next word: the model
// views the capability-gap task compares. Words, not tokens, so models with different tokenizers
// (stories260K's 512 pieces, BabyLlama's 105) compare directly. The prefix runs once; greedy decoding and
// each candidate word continue from copies of its key/value cache.

import { createKvCache, forwardChunk, type KvCache } from "../../models/llama2c/forward.js";
import type { Llama2cSource } from "../../models/llama2c/source.js";
import { BOS_ID, decode, encode } from "../../models/llama2c/tokenizer.js";

/** Tokens generated to complete one word: enough for the longest names in TinyStories with either tokenizer. */
const WORD_TOKENS = 8;

export interface NextWordView {
  /** First word (letters only) of the greedy continuation; "" when it starts with punctuation or ends. */
  readonly greedyWord: string;
  /** −log p(" " + word | prefix) in nats for each candidate word, in order. */
  readonly surprise: number[];
  /** Next-token distribution after the prefix (float64), for same-tokenizer divergences. */
  readonly nextToken: Float64Array;
  /** The greedy continuation through its `words`-th word (no leading space; "" as for greedyWord). */
  readonly greedyText: string;
  /** Each requested hook's activation at the prefix's last token. */
  readonly features: ReadonlyMap<string, Float32Array>;
}

export interface NextWordOptions {
  /** Words of greedy continuation to return in `greedyText` (default 1; 0 skips greedy decoding: both words ""). */
  readonly words?: number;
  /** Words of room to keep after a long prefix for candidates (default `words`, at least 1); the same value keeps a session's prefixes alike. */
  readonly roomWords?: number;
  /** Hooks to read at the prefix's last token (default none). */
  readonly hooks?: readonly string[];
}

function cloneCache(c: KvCache): KvCache {
  return { keys: c.keys.slice(), values: c.values.slice(), length: c.length };
}

function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i]! - lse;
  return out;
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

/** BOS plus the last tokens of `ids` so that `extra` more positions still fit the context. */
function fitContext(ids: Int32Array, seqLen: number, extra: number): Int32Array {
  const room = seqLen - extra;
  return ids.length <= room ? ids : Int32Array.from([BOS_ID, ...ids.subarray(ids.length - room + 1)]);
}

/** Σ −log p(word tokens) after a context already in `cache` whose last logits are `first` (log-probs). */
function continuationNll(model: Llama2cSource, cache: KvCache, first: Float64Array, wordIds: Int32Array): number {
  const ck = model.checkpoint;
  let nll = -first[wordIds[0]!]!;
  if (wordIds.length > 1) {
    const { hooks } = forwardChunk(ck, wordIds.subarray(0, wordIds.length - 1), { cache: cloneCache(cache), hooks: ["logits"] });
    const lg = hooks.get("logits")!;
    const V = ck.config.vocabSize;
    for (let i = 1; i < wordIds.length; i++) nll -= logSoftmax(lg.subarray((i - 1) * V, i * V))[wordIds[i]!]!;
  }
  return nll;
}

/**
 * The key/value cache of the last prefix one model ran: positions of one paragraph are growing prefixes of
 * it, so each new prefix runs only the tokens after the part it shares with the previous one.
 */
export class PrefixSession {
  ids: Int32Array<ArrayBufferLike> = new Int32Array(0);
  cache: KvCache | null = null;
}

function sharedLength(a: Int32Array, b: Int32Array): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** `words` whole words at the start of `text` (after spaces), the last one followed by a non-letter. */
function completeWords(words: number): RegExp {
  return new RegExp(`^\\s*([A-Za-z]+(?:[^A-Za-z]+[A-Za-z]+){${words - 1}})[^A-Za-z]`);
}

/**
 * Greedy decoding from a copy of the prefix's cache until `words` words are complete (or WORD_TOKENS per word,
 * BOS, punctuation first, or the context end). The first word is `greedyWord`; the text through the last
 * complete (or, at a limit, last begun) word is `greedyText`.
 */
function greedyContinuation(
  model: Llama2cSource, cache: KvCache, lastLogits: Float32Array, prefixIds: Int32Array, prefixText: string, words: number,
): { greedyWord: string; greedyText: string } {
  const ck = model.checkpoint;
  const tok = model.tokenizer;
  const gen: number[] = [];
  const gc = cloneCache(cache);
  let logits = lastLogits;
  const continuation = (): string => decode(tok, Int32Array.from([...prefixIds, ...gen])).slice(prefixText.length);
  const done = completeWords(words);
  for (let n = 0; n < WORD_TOKENS * words; n++) {
    const next = argmax(logits);
    if (next === BOS_ID) break;
    gen.push(next);
    const text = continuation();
    if (done.test(text) || /^\s*[^\sA-Za-z]/.test(text)) break;
    if (gc.length + 1 >= ck.config.seqLen) break;
    logits = forwardChunk(ck, [next], { cache: gc, lastLogits: true }).lastLogits!;
  }
  const text = continuation();
  const greedyWord = /^\s*([A-Za-z]+)/.exec(text)?.[1] ?? "";
  const upTo = new RegExp(`^\\s*([A-Za-z]+(?:[^A-Za-z]+[A-Za-z]+){0,${words - 1}})`);
  return { greedyWord, greedyText: greedyWord ? (upTo.exec(text)?.[1] ?? "") : "" };
}

/**
 * The greedy next word and the surprise at each candidate, from one run of the prefix (or of its new tokens,
 * with a session). A prefix too long for the context keeps BOS and its last tokens (BabyLlama's 256-token
 * context holds ~250 characters).
 */
export function nextWordView(model: Llama2cSource, prefix: string, candidates: readonly string[], session?: PrefixSession, options: NextWordOptions = {}): NextWordView {
  const ck = model.checkpoint;
  const tok = model.tokenizer;
  const seqLen = ck.config.seqLen;
  const fullPrefix = encode(tok, prefix, true, false);
  // Room after the prefix for the greedy words and for candidates of as many words.
  const words = options.words ?? 1;
  const prefixIds = fitContext(fullPrefix, seqLen, WORD_TOKENS * Math.max(1, options.roomWords ?? words) + 4);
  const prefixText = decode(tok, prefixIds);
  let cache: KvCache;
  let start = 0;
  if (session?.cache) {
    // Keys and values past `length` are stale but never read: the next run overwrites them in order.
    cache = session.cache;
    start = Math.min(sharedLength(session.ids, prefixIds), prefixIds.length - 1);
    cache.length = start;
  } else {
    cache = createKvCache(ck.config);
  }
  const chunk = prefixIds.subarray(start);
  const run = forwardChunk(ck, chunk, { cache, lastLogits: true, hooks: options.hooks ?? [] });
  const lastLogits = run.lastLogits!;
  const features = new Map([...run.hooks].map(([h, a]) => [h, a.slice(a.length - a.length / chunk.length)] as const));
  if (session) {
    session.ids = prefixIds;
    session.cache = cache;
  }
  const first = logSoftmax(lastLogits);

  const { greedyWord, greedyText } = words > 0 ? greedyContinuation(model, cache, lastLogits, prefixIds, prefixText, words) : { greedyWord: "", greedyText: "" };
  const surprise = candidates.map((word) => {
    const full = encode(tok, `${prefix} ${word}`, true, false);
    let shared = 0;
    while (shared < fullPrefix.length && full[shared] === fullPrefix[shared]) shared++;
    const wordIds = full.subarray(shared);
    if (wordIds.length === 0) return 0;
    // Usual case: the word's tokens continue the prefix's, so the prefix's cache serves.
    if (shared === fullPrefix.length) return continuationNll(model, cache, first, wordIds);
    // The encoder merged across the boundary: run the shared part afresh, then score the rest.
    const ctx = fitContext(full.subarray(0, shared), seqLen, wordIds.length + 1);
    const c2 = createKvCache(ck.config);
    const l2 = forwardChunk(ck, ctx, { cache: c2, lastLogits: true }).lastLogits!;
    return continuationNll(model, c2, logSoftmax(l2), wordIds);
  });
  return { greedyWord, surprise, nextToken: first.map(Math.exp), greedyText, features };
}
