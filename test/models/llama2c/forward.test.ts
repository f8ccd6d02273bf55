// Checks the blocked llama2.c forward pass against a plain float64 re-implementation (the oracle), against
// identities its hook points must satisfy, and for causality and cache/chunk equivalence.

import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { config } from "../../../src/config.js";
import { readLlama2cCheckpoint, type Llama2cCheckpoint } from "../../../src/models/llama2c/checkpoint.js";
import { createKvCache, forwardChunk, llama2cHookNames, matmulTransB } from "../../../src/models/llama2c/forward.js";
import { encode, readLlama2cTokenizer } from "../../../src/models/llama2c/tokenizer.js";

const dir = path.join(config.sharedDir, "models/stories260K");
const ckpt = readLlama2cCheckpoint(path.join(dir, "stories260K.bin"));
const tok = readLlama2cTokenizer(path.join(dir, "tok512.bin"));
const text = "Once upon a time, there was a little dog named Max. Max liked to run in the park with his ball.";
const ids = encode(tok, text);

/**
 * The oracle: llama2.c's per-position forward written plainly in float64 (no blocking, no chunking),
 * returning every hook as [T x width] float64.
 */
function naiveForward(m: Llama2cCheckpoint, tokens: ArrayLike<number>): Map<string, Float64Array> {
  const { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen } = m.config;
  const w = m.weights;
  const hs = dim / nHeads;
  const kvDim = hs * nKvHeads;
  const T = tokens.length;
  const out = new Map<string, Float64Array>();
  const put = (name: string, t: number, v: Float64Array): void => {
    if (!out.has(name)) out.set(name, new Float64Array(T * v.length));
    out.get(name)!.set(v, t * v.length);
  };
  const kc = new Float64Array(nLayers * seqLen * kvDim);
  const vc = new Float64Array(nLayers * seqLen * kvDim);
  const rms = (x: Float64Array, g: Float32Array, off: number): Float64Array => {
    let ss = 0;
    for (let i = 0; i < x.length; i++) ss += x[i]! * x[i]!;
    const s = 1 / Math.sqrt(ss / x.length + 1e-5);
    return Float64Array.from(x, (v, i) => v * s * g[off + i]!);
  };
  const mv = (W: Float32Array, off: number, x: Float64Array, rows: number): Float64Array => {
    const y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) for (let c = 0; c < x.length; c++) y[r] += W[off + r * x.length + c]! * x[c]!;
    return y;
  };
  for (let pos = 0; pos < T; pos++) {
    const x = Float64Array.from(w.tokenEmbedding.subarray(tokens[pos]! * dim, (tokens[pos]! + 1) * dim));
    for (let l = 0; l < nLayers; l++) {
      put(`blocks.${l}.hook_resid_pre`, pos, x);
      const xb = rms(x, w.rmsAtt, l * dim);
      const q = mv(w.wq, l * dim * dim, xb, dim);
      const k = mv(w.wk, l * kvDim * dim, xb, kvDim);
      const v = mv(w.wv, l * kvDim * dim, xb, kvDim);
      for (let i = 0; i < dim; i += 2) {
        const angle = pos / Math.pow(10000, (i % hs) / hs);
        const [c, s] = [Math.cos(angle), Math.sin(angle)];
        for (const vec of i < kvDim ? [q, k] : [q]) {
          const [a, b] = [vec[i]!, vec[i + 1]!];
          vec[i] = a * c - b * s;
          vec[i + 1] = a * s + b * c;
        }
      }
      kc.set(k, (l * seqLen + pos) * kvDim);
      vc.set(v, (l * seqLen + pos) * kvDim);
      const att = new Float64Array(dim);
      for (let h = 0; h < nHeads; h++) {
        const kvh = Math.floor(h / (nHeads / nKvHeads));
        const sc = new Float64Array(pos + 1);
        for (let s = 0; s <= pos; s++) {
          for (let i = 0; i < hs; i++) sc[s] += q[h * hs + i]! * kc[(l * seqLen + s) * kvDim + kvh * hs + i]!;
          sc[s] /= Math.sqrt(hs);
        }
        const mx = Math.max(...sc);
        let z = 0;
        for (let s = 0; s <= pos; s++) z += Math.exp(sc[s]! - mx);
        for (let s = 0; s <= pos; s++) {
          const p = Math.exp(sc[s]! - mx) / z;
          for (let i = 0; i < hs; i++) att[h * hs + i] += p * vc[(l * seqLen + s) * kvDim + kvh * hs + i]!;
        }
      }
      const ao = mv(w.wo, l * dim * dim, att, dim);
      put(`blocks.${l}.hook_attn_out`, pos, ao);
      for (let i = 0; i < dim; i++) x[i] += ao[i]!;
      const xf = rms(x, w.rmsFfn, l * dim);
      const a1 = mv(w.w1, l * hiddenDim * dim, xf, hiddenDim);
      const a3 = mv(w.w3, l * hiddenDim * dim, xf, hiddenDim);
      const g = Float64Array.from(a1, (v, i) => (v / (1 + Math.exp(-v))) * a3[i]!);
      const mo = mv(w.w2, l * dim * hiddenDim, g, dim);
      put(`blocks.${l}.hook_mlp_out`, pos, mo);
      for (let i = 0; i < dim; i++) x[i] += mo[i]!;
      put(`blocks.${l}.hook_resid_post`, pos, x);
    }
    const xn = rms(x, w.rmsFinal, 0);
    put("ln_final.hook_normalized", pos, xn);
    put("logits", pos, mv(w.wcls, 0, xn, vocabSize));
  }
  return out;
}

function maxScaledError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  return worst;
}

const all = llama2cHookNames(ckpt.config);
const fast = forwardChunk(ckpt, ids, { hooks: all }).hooks;

test("every hook of the blocked forward pass equals a plain float64 llama2.c forward within 1e-4", () => {
  const ref = naiveForward(ckpt, ids);
  assert.equal(fast.size, all.length);
  for (const name of all) {
    const err = maxScaledError(fast.get(name)!, ref.get(name)!);
    assert.ok(err < 1e-4, `${name}: max error ${err}`);
  }
});

test("resid_post = resid_pre + attn_out + mlp_out, and resid_pre of block i+1 is resid_post of block i", () => {
  for (let l = 0; l < ckpt.config.nLayers; l++) {
    const pre = fast.get(`blocks.${l}.hook_resid_pre`)!;
    const a = fast.get(`blocks.${l}.hook_attn_out`)!;
    const m = fast.get(`blocks.${l}.hook_mlp_out`)!;
    const post = fast.get(`blocks.${l}.hook_resid_post`)!;
    const sum = Float64Array.from(pre, (v, i) => v + a[i]! + m[i]!);
    assert.ok(maxScaledError(post, sum) < 1e-5, `layer ${l}`);
    if (l + 1 < ckpt.config.nLayers) assert.deepEqual(fast.get(`blocks.${l + 1}.hook_resid_pre`), post);
  }
  const emb = ckpt.weights.tokenEmbedding;
  const d = ckpt.config.dim;
  const pre0 = fast.get("blocks.0.hook_resid_pre")!;
  ids.forEach((id, t) => assert.deepEqual(pre0.subarray(t * d, (t + 1) * d), emb.subarray(id * d, (id + 1) * d)));
});

test("logits equal rmsnorm(last resid_post) times the classifier, recomputed in float64", () => {
  const { dim, vocabSize, nLayers } = ckpt.config;
  const post = fast.get(`blocks.${nLayers - 1}.hook_resid_post`)!;
  const logits = fast.get("logits")!;
  const want = new Float64Array(ids.length * vocabSize);
  for (let t = 0; t < ids.length; t++) {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += post[t * dim + i]! ** 2;
    const s = 1 / Math.sqrt(ss / dim + 1e-5);
    for (let v = 0; v < vocabSize; v++) {
      let acc = 0;
      for (let i = 0; i < dim; i++) acc += post[t * dim + i]! * s * ckpt.weights.rmsFinal[i]! * ckpt.weights.wcls[v * dim + i]!;
      want[t * vocabSize + v] = acc;
    }
  }
  assert.ok(maxScaledError(logits, want) < 1e-5);
});

test("activations at position t do not change when tokens after t change", () => {
  const cut = 10;
  const other = ids.slice();
  for (let t = cut + 1; t < other.length; t++) other[t] = (other[t]! * 7 + 13) % ckpt.config.vocabSize;
  const b = forwardChunk(ckpt, other, { hooks: all }).hooks;
  for (const name of all) {
    const width = fast.get(name)!.length / ids.length;
    assert.deepEqual(b.get(name)!.subarray(0, (cut + 1) * width), fast.get(name)!.subarray(0, (cut + 1) * width), name);
    assert.notDeepEqual(b.get(name)!.subarray((cut + 1) * width), fast.get(name)!.subarray((cut + 1) * width), name);
  }
});

test("running the sequence in chunks through the key/value cache gives the whole-sequence activations", () => {
  const cache = createKvCache(ckpt.config);
  const hooks = ["blocks.2.hook_resid_post", "logits"];
  const parts = [ids.subarray(0, 7), ids.subarray(7, 8), ids.subarray(8)].map((p) => forwardChunk(ckpt, p, { hooks, cache }).hooks);
  for (const name of hooks) {
    const joined = Float32Array.from(parts.flatMap((p) => Array.from(p.get(name)!)));
    assert.ok(maxScaledError(joined, fast.get(name)!) < 1e-6, name);
  }
  assert.equal(cache.length, ids.length);
});

test("only requested hooks are returned, and lastLogits alone matches the last row of logits", () => {
  const r = forwardChunk(ckpt, ids, { hooks: ["blocks.1.hook_mlp_out"], lastLogits: true });
  assert.deepEqual([...r.hooks.keys()], ["blocks.1.hook_mlp_out"]);
  const V = ckpt.config.vocabSize;
  assert.ok(maxScaledError(r.lastLogits!, fast.get("logits")!.subarray((ids.length - 1) * V)) < 1e-6);
});

test("the blocked matmul equals a naive product for shapes that exercise every tail loop", () => {
  for (const [rows, n, k] of [[1, 1, 1], [5, 7, 3], [4, 8, 16], [9, 6, 5]] as const) {
    const a = Float32Array.from({ length: rows * k }, (_, i) => Math.sin(i + 1));
    const w = Float32Array.from({ length: 3 + n * k }, (_, i) => Math.cos(i * 0.7));
    const out = new Float32Array(rows * n);
    matmulTransB(out, a, w, 3, rows, n, k);
    for (let t = 0; t < rows; t++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let i = 0; i < k; i++) s += a[t * k + i]! * w[3 + j * k + i]!;
        assert.ok(Math.abs(out[t * n + j]! - s) < 1e-5, `${rows}x${n}x${k} at ${t},${j}`);
      }
    }
  }
});
