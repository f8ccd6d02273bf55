// The Llama-2 forward pass of llama2.c's run.c, over a whole chunk of tokens at once on flat Float32Arrays,
// recording TransformerLens hook points on request. A key/value cache lets generation feed one token at a
// time through the same code path that extraction uses for whole sequences.

import { MadkitError } from "../../errors.js";
import { BLOCK_HOOKS, FINAL_NORM_HOOK, LOGITS_HOOK, blockHook } from "../hook-names.js";
import { headSize, kvDim, type Llama2cCheckpoint, type Llama2cConfig } from "./checkpoint.js";

const RMS_EPS = 1e-5;

/** Keys and values of every layer for the positions already run; `length` is the next position. */
export interface KvCache {
  readonly keys: Float32Array; // [L, seqLen, kvDim]
  readonly values: Float32Array; // [L, seqLen, kvDim]
  length: number;
}

export function createKvCache(c: Llama2cConfig): KvCache {
  const n = c.nLayers * c.seqLen * kvDim(c);
  return { keys: new Float32Array(n), values: new Float32Array(n), length: 0 };
}

export interface ForwardChunkOptions {
  /** Hook names to record for every position of the chunk (see `llama2cHookNames`). */
  readonly hooks?: Iterable<string>;
  /** Continue after the positions already in this cache (and extend it); a fresh cache when absent. */
  readonly cache?: KvCache;
  /** Also return the last position's logits (generation needs only these). */
  readonly lastLogits?: boolean;
}

export interface ForwardChunkResult {
  /** Each requested hook as a flat [tokens x width] array (width = dim, or vocab for `logits`). */
  readonly hooks: Map<string, Float32Array>;
  /** The last position's logits when `lastLogits` was set. */
  readonly lastLogits?: Float32Array;
}

/** Every hook name the llama2.c forward pass can record, in forward order. */
export function llama2cHookNames(c: Llama2cConfig): string[] {
  const names: string[] = [];
  for (let l = 0; l < c.nLayers; l++) for (const h of BLOCK_HOOKS) names.push(blockHook(l, h));
  names.push(FINAL_NORM_HOOK, LOGITS_HOOK);
  return names;
}

/**
 * out[t, n] = Σ_k a[t, k] · w[n, k] for t < rows: activations times a weight matrix stored (out, in) as
 * llama2.c does. 4 x 4 register blocking reads both operands row-contiguously and reuses each loaded value
 * four times; the tails fall back to narrower loops.
 */
export function matmulTransB(
  out: Float32Array, a: Float32Array, w: Float32Array, wOffset: number, rows: number, n: number, k: number,
): void {
  let t = 0;
  for (; t + 4 <= rows; t += 4) {
    const a0 = t * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const w0 = wOffset + j * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let i = 0; i < k; i++) {
        const x0 = a[a0 + i]!, x1 = a[a1 + i]!, x2 = a[a2 + i]!, x3 = a[a3 + i]!;
        const y0 = w[w0 + i]!, y1 = w[w1 + i]!, y2 = w[w2 + i]!, y3 = w[w3 + i]!;
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
        s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2; s23 += x2 * y3;
        s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2; s33 += x3 * y3;
      }
      const o0 = t * n + j, o1 = o0 + n, o2 = o1 + n, o3 = o2 + n;
      out[o0] = s00; out[o0 + 1] = s01; out[o0 + 2] = s02; out[o0 + 3] = s03;
      out[o1] = s10; out[o1 + 1] = s11; out[o1 + 2] = s12; out[o1 + 3] = s13;
      out[o2] = s20; out[o2 + 1] = s21; out[o2 + 2] = s22; out[o2 + 3] = s23;
      out[o3] = s30; out[o3 + 1] = s31; out[o3 + 2] = s32; out[o3 + 3] = s33;
    }
    for (; j < n; j++) {
      const w0 = wOffset + j * k;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0; i < k; i++) {
        const y = w[w0 + i]!;
        s0 += a[a0 + i]! * y; s1 += a[a1 + i]! * y; s2 += a[a2 + i]! * y; s3 += a[a3 + i]! * y;
      }
      out[t * n + j] = s0; out[(t + 1) * n + j] = s1; out[(t + 2) * n + j] = s2; out[(t + 3) * n + j] = s3;
    }
  }
  for (; t < rows; t++) {
    const a0 = t * k;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const w0 = wOffset + j * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0; i < k; i++) {
        const x = a[a0 + i]!;
        s0 += x * w[w0 + i]!; s1 += x * w[w1 + i]!; s2 += x * w[w2 + i]!; s3 += x * w[w3 + i]!;
      }
      out[t * n + j] = s0; out[t * n + j + 1] = s1; out[t * n + j + 2] = s2; out[t * n + j + 3] = s3;
    }
    for (; j < n; j++) {
      const w0 = wOffset + j * k;
      let s = 0;
      for (let i = 0; i < k; i++) s += a[a0 + i]! * w[w0 + i]!;
      out[t * n + j] = s;
    }
  }
}

/** out[t] = x[t] / rms(x[t]) * weight, row by row (eps 1e-5 inside the root, as run.c). */
function rmsnorm(out: Float32Array, x: Float32Array, weight: Float32Array, wOffset: number, rows: number, dim: number): void {
  for (let t = 0; t < rows; t++) {
    const o = t * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[o + i]! * x[o + i]!;
    const scale = 1 / Math.sqrt(ss / dim + RMS_EPS);
    for (let i = 0; i < dim; i++) out[o + i] = weight[wOffset + i]! * (scale * x[o + i]!);
  }
}

/** cos/sin of RoPE angle pos · 10000^(-2i/headSize) for each position and pair i, as [seqLen, headSize/2]. */
const ropeTables = new WeakMap<Llama2cConfig, { cos: Float32Array; sin: Float32Array }>();
function ropeTable(c: Llama2cConfig): { cos: Float32Array; sin: Float32Array } {
  let tab = ropeTables.get(c);
  if (!tab) {
    const hs = headSize(c);
    const half = hs / 2;
    const cos = new Float32Array(c.seqLen * half);
    const sin = new Float32Array(c.seqLen * half);
    for (let pos = 0; pos < c.seqLen; pos++) {
      for (let p = 0; p < half; p++) {
        // run.c computes these in float32: freq = 1 / powf(10000, head_dim / head_size), val = pos * freq.
        const freq = Math.fround(1 / Math.fround(Math.pow(10000, Math.fround((2 * p) / hs))));
        const val = Math.fround(pos * freq);
        cos[pos * half + p] = Math.cos(val);
        sin[pos * half + p] = Math.sin(val);
      }
    }
    tab = { cos, sin };
    ropeTables.set(c, tab);
  }
  return tab;
}

/** Rotate pairs (i, i+1) of every head of `x` [rows, width] at positions start..start+rows-1. */
function applyRope(x: Float32Array, rows: number, width: number, start: number, hs: number, tab: { cos: Float32Array; sin: Float32Array }): void {
  const half = hs / 2;
  for (let t = 0; t < rows; t++) {
    const tb = (start + t) * half;
    const o = t * width;
    for (let i = 0; i < width; i += 2) {
      const p = (i % hs) >> 1;
      const fcr = tab.cos[tb + p]!, fci = tab.sin[tb + p]!;
      const v0 = x[o + i]!, v1 = x[o + i + 1]!;
      x[o + i] = v0 * fcr - v1 * fci;
      x[o + i + 1] = v0 * fci + v1 * fcr;
    }
  }
}

/** Queries per attention block: bounds the masked (wasted) upper triangle to half a block per row. */
const ATT_BLOCK = 32;

interface AttentionScratch {
  readonly kh: Float32Array; // [positions, headSize]: one kv head's keys, contiguous
  readonly vt: Float32Array; // [headSize, positions]: its values transposed
  readonly qb: Float32Array; // [block, headSize]
  readonly sc: Float32Array; // [block, positions]: scores, then probabilities
  readonly ob: Float32Array; // [block, headSize]
}

function attentionScratch(positions: number, block: number, hs: number): AttentionScratch {
  return {
    kh: new Float32Array(positions * hs),
    vt: new Float32Array(hs * positions),
    qb: new Float32Array(block * hs),
    sc: new Float32Array(block * positions),
    ob: new Float32Array(block * hs),
  };
}

/**
 * Causal grouped-query attention of queries at positions start..start+T-1 over the cached keys/values,
 * written into att [T, dim]. Per head and block of queries, scores and the probability-weighted sum are
 * two blocked matmuls (keys packed per kv head, values transposed), instead of length-headSize dot loops.
 */
function causalAttention(
  att: Float32Array, q: Float32Array, cache: KvCache, layerBase: number, c: Llama2cConfig, start: number, T: number,
  sx: AttentionScratch,
): void {
  const { dim, nHeads, nKvHeads } = c;
  const hs = headSize(c);
  const kvd = kvDim(c);
  const kvMul = nHeads / nKvHeads;
  const invSqrt = 1 / Math.sqrt(hs);
  const end = start + T;
  const K = cache.keys, V = cache.values;
  for (let g = 0; g < nKvHeads; g++) {
    for (let s = 0; s < end; s++) {
      const src = layerBase + s * kvd + g * hs;
      for (let i = 0; i < hs; i++) sx.kh[s * hs + i] = K[src + i]!;
    }
    for (let h = g * kvMul; h < (g + 1) * kvMul; h++) {
      for (let t0 = 0; t0 < T; t0 += ATT_BLOCK) {
        const t1 = Math.min(T, t0 + ATT_BLOCK);
        const B = t1 - t0;
        const n = start + t1; // keys visible to the block's last query
        for (let t = 0; t < B; t++) for (let i = 0; i < hs; i++) sx.qb[t * hs + i] = q[(t0 + t) * dim + h * hs + i]!;
        matmulTransB(sx.sc, sx.qb, sx.kh, 0, B, n, hs);
        for (let t = 0; t < B; t++) {
          const row = t * n;
          const last = start + t0 + t; // causal: keys 0..last
          let max = -Infinity;
          for (let s = 0; s <= last; s++) if (sx.sc[row + s]! > max) max = sx.sc[row + s]!;
          let sum = 0;
          for (let s = 0; s <= last; s++) {
            const e = Math.exp((sx.sc[row + s]! - max) * invSqrt);
            sx.sc[row + s] = e;
            sum += e;
          }
          const inv = 1 / sum;
          for (let s = 0; s <= last; s++) sx.sc[row + s]! *= inv;
          for (let s = last + 1; s < n; s++) sx.sc[row + s] = 0;
        }
        // Values transposed with row stride n, so the weighted sum is probabilities times vtᵀ.
        for (let i = 0; i < hs; i++) {
          for (let s = 0; s < n; s++) sx.vt[i * n + s] = V[layerBase + s * kvd + g * hs + i]!;
        }
        matmulTransB(sx.ob, sx.sc, sx.vt, 0, B, hs, n);
        for (let t = 0; t < B; t++) for (let i = 0; i < hs; i++) att[(t0 + t) * dim + h * hs + i] = sx.ob[t * hs + i]!;
      }
    }
  }
}

/**
 * Run `ids` (positions cache.length.. onward) through the model, recording the requested hooks.
 * The classifier runs only when `logits` or `lastLogits` is asked for.
 */
export function forwardChunk(ckpt: Llama2cCheckpoint, ids: ArrayLike<number>, options: ForwardChunkOptions = {}): ForwardChunkResult {
  const c = ckpt.config;
  const cache = options.cache ?? createKvCache(c);
  const start = cache.length;
  const T = ids.length;
  const wanted = checkedHooks(c, options.hooks ?? []);
  if (start + T > c.seqLen) {
    throw new MadkitError("BAD_INPUT", `positions ${start}..${start + T - 1} exceed the model's context length ${c.seqLen}`);
  }
  const hooks = new Map<string, Float32Array>();
  if (T === 0) return { hooks };

  const x = embedTokens(ckpt, ids, start);
  const buf = chunkBuffers(c, start, T);
  const record = (name: string, src: Float32Array): void => {
    if (wanted.has(name)) hooks.set(name, src.slice());
  };
  for (let l = 0; l < c.nLayers; l++) {
    record(blockHook(l, "hook_resid_pre"), x);
    attentionBlock(ckpt, l, x, buf, cache, start, T);
    record(blockHook(l, "hook_attn_out"), buf.proj);
    addInPlace(x, buf.proj);
    mlpBlock(ckpt, l, x, buf, T);
    record(blockHook(l, "hook_mlp_out"), buf.proj);
    addInPlace(x, buf.proj);
    record(blockHook(l, "hook_resid_post"), x);
  }
  cache.length = start + T;

  const needLogits = wanted.has(LOGITS_HOOK);
  if (!wanted.has(FINAL_NORM_HOOK) && !needLogits && !options.lastLogits) return { hooks };
  const { xb } = buf;
  rmsnorm(xb, x, ckpt.weights.rmsFinal, 0, T, c.dim);
  record(FINAL_NORM_HOOK, xb);
  const lastLogits = classify(ckpt, xb, T, needLogits ? hooks : null, Boolean(options.lastLogits));
  return lastLogits ? { hooks, lastLogits } : { hooks };
}

/** The requested hook names as a set; UNKNOWN_HOOK naming the model's hooks when one is not among them. */
function checkedHooks(c: Llama2cConfig, requested: Iterable<string>): Set<string> {
  const wanted = new Set(requested);
  const known = new Set(llama2cHookNames(c));
  for (const h of wanted) {
    if (!known.has(h)) {
      throw new MadkitError("UNKNOWN_HOOK", `unknown hook '${h}'; this model's hook points are: ${[...known].join(", ")}`);
    }
  }
  return wanted;
}

/** The residual stream [T, dim] at the embedding: one row of the token embedding per id. */
function embedTokens(ckpt: Llama2cCheckpoint, ids: ArrayLike<number>, start: number): Float32Array {
  const { dim, vocabSize: vocab } = ckpt.config;
  const x = new Float32Array(ids.length * dim);
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t]!;
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new MadkitError("BAD_INPUT", `token id ${id} at position ${start + t} is outside the vocabulary 0..${vocab - 1}`);
    }
    x.set(ckpt.weights.tokenEmbedding.subarray(id * dim, (id + 1) * dim), t * dim);
  }
  return x;
}

/** Work buffers of one chunk of T positions, flat row-major [T, width], reused by every layer. */
interface ChunkBuffers {
  readonly xb: Float32Array; // [T, dim]: the normed residual
  readonly q: Float32Array; // [T, dim]
  readonly kNew: Float32Array; // [T, kvDim]
  readonly vNew: Float32Array; // [T, kvDim]
  readonly att: Float32Array; // [T, dim]
  readonly proj: Float32Array; // [T, dim]: the block's output, added to the residual
  readonly h1: Float32Array; // [T, hidden]
  readonly h3: Float32Array; // [T, hidden]
  readonly scratch: AttentionScratch;
  readonly rope: { cos: Float32Array; sin: Float32Array };
}

function chunkBuffers(c: Llama2cConfig, start: number, T: number): ChunkBuffers {
  const { dim, hiddenDim: hidden } = c;
  const kvd = kvDim(c);
  return {
    xb: new Float32Array(T * dim),
    q: new Float32Array(T * dim),
    kNew: new Float32Array(T * kvd),
    vNew: new Float32Array(T * kvd),
    att: new Float32Array(T * dim),
    proj: new Float32Array(T * dim),
    h1: new Float32Array(T * hidden),
    h3: new Float32Array(T * hidden),
    scratch: attentionScratch(start + T, Math.min(T, ATT_BLOCK), headSize(c)),
    rope: ropeTable(c),
  };
}

/**
 * Layer l's attention into buf.proj: q, k, v projections of the normed residual, RoPE, the new keys and
 * values appended to the cache, causal grouped-query attention, then the output projection.
 */
function attentionBlock(ckpt: Llama2cCheckpoint, l: number, x: Float32Array, buf: ChunkBuffers, cache: KvCache, start: number, T: number): void {
  const c = ckpt.config;
  const w = ckpt.weights;
  const { dim, seqLen } = c;
  const hs = headSize(c);
  const kvd = kvDim(c);
  const { xb, q, kNew, vNew, att, proj } = buf;
  rmsnorm(xb, x, w.rmsAtt, l * dim, T, dim);
  matmulTransB(q, xb, w.wq, l * dim * dim, T, dim, dim);
  matmulTransB(kNew, xb, w.wk, l * kvd * dim, T, kvd, dim);
  matmulTransB(vNew, xb, w.wv, l * kvd * dim, T, kvd, dim);
  applyRope(q, T, dim, start, hs, buf.rope);
  applyRope(kNew, T, kvd, start, hs, buf.rope);
  const layerBase = l * seqLen * kvd;
  cache.keys.set(kNew, layerBase + start * kvd);
  cache.values.set(vNew, layerBase + start * kvd);
  causalAttention(att, q, cache, layerBase, c, start, T, buf.scratch);
  matmulTransB(proj, att, w.wo, l * dim * dim, T, dim, dim);
}

/** Layer l's SwiGLU feed-forward into buf.proj: w2(silu(w1 x) * w3 x) of the normed residual. */
function mlpBlock(ckpt: Llama2cCheckpoint, l: number, x: Float32Array, buf: ChunkBuffers, T: number): void {
  const w = ckpt.weights;
  const { dim, hiddenDim: hidden } = ckpt.config;
  const { xb, h1, h3, proj } = buf;
  rmsnorm(xb, x, w.rmsFfn, l * dim, T, dim);
  matmulTransB(h1, xb, w.w1, l * hidden * dim, T, hidden, dim);
  matmulTransB(h3, xb, w.w3, l * hidden * dim, T, hidden, dim);
  for (let i = 0; i < T * hidden; i++) {
    const v = h1[i]!;
    h1[i] = (v / (1 + Math.exp(-v))) * h3[i]!;
  }
  matmulTransB(proj, h1, w.w2, l * dim * hidden, T, dim, hidden);
}

/** x += y, elementwise over x. */
function addInPlace(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) x[i] += y[i]!;
}

/**
 * The classifier on the final-normed rows xb [T, dim]: every position's logits into `hooks` when given,
 * and the last position's logits returned when `wantLast` (computed alone when the rest are not needed).
 */
function classify(ckpt: Llama2cCheckpoint, xb: Float32Array, T: number, hooks: Map<string, Float32Array> | null, wantLast: boolean): Float32Array | undefined {
  const { dim, vocabSize: vocab } = ckpt.config;
  const wcls = ckpt.weights.wcls;
  if (hooks) {
    const logits = new Float32Array(T * vocab);
    matmulTransB(logits, xb, wcls, 0, T, vocab, dim);
    hooks.set(LOGITS_HOOK, logits);
    return wantLast ? logits.slice((T - 1) * vocab) : undefined;
  }
  if (!wantLast) return undefined;
  const lastLogits = new Float32Array(vocab);
  matmulTransB(lastLogits, xb.subarray((T - 1) * dim), wcls, 0, 1, vocab, dim);
  return lastLogits;
}
