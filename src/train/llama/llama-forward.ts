// The Llama-2 forward of llama2.c's run.c written in jax-js so it can be differentiated: RMSNorm, RoPE on
// interleaved pairs, grouped-query causal attention (matmul + softmax: jax-js's einsum/dotProductAttention
// crash on Node 20), SwiGLU, tied or separate classifier. Matches src/models/llama2c/forward.ts numerically.

import { nn, numpy as np } from "@jax-js/jax";
import { headSize, type Llama2cConfig } from "../../models/llama2c/checkpoint.js";
import type { DeviceParams } from "../params.js";

const RMS_EPS = 1e-5;

/**
 * Window-length constants the forward reads, built once per (config, T) on the host and passed in as data
 * (so the jitted step never closes over device arrays): RoPE cos/sin [T, 1, hs] broadcast over heads, the
 * pair-rotation matrix [hs, hs], the additive causal mask [kvMul·T, T].
 */
export function llamaConstants(c: Llama2cConfig, T: number): DeviceParams {
  const hs = headSize(c);
  const half = hs / 2;
  const cos = new Float32Array(T * hs);
  const sin = new Float32Array(T * hs);
  for (let pos = 0; pos < T; pos++) {
    for (let p = 0; p < half; p++) {
      // The same float32 rounding as run.c (and forward.ts): freq = 1 / powf(10000, 2p / hs), val = pos · freq.
      const freq = Math.fround(1 / Math.fround(Math.pow(10000, Math.fround((2 * p) / hs))));
      const val = Math.fround(pos * freq);
      cos[pos * hs + 2 * p] = cos[pos * hs + 2 * p + 1] = Math.cos(val);
      sin[pos * hs + 2 * p] = sin[pos * hs + 2 * p + 1] = Math.sin(val);
    }
  }
  // (x·R)[2p] = −x[2p+1], (x·R)[2p+1] = x[2p]: rotated = x·cos + (x·R)·sin is run.c's pair rotation.
  const rot = new Float32Array(hs * hs);
  for (let p = 0; p < half; p++) {
    rot[(2 * p + 1) * hs + 2 * p] = -1;
    rot[2 * p * hs + 2 * p + 1] = 1;
  }
  const kvMul = c.nHeads / c.nKvHeads;
  const mask = new Float32Array(kvMul * T * T);
  for (let j = 0; j < kvMul; j++) {
    for (let t = 0; t < T; t++) for (let s = t + 1; s < T; s++) mask[(j * T + t) * T + s] = -1e9;
  }
  return {
    cos: np.array(cos).reshape([T, 1, hs]),
    sin: np.array(sin).reshape([T, 1, hs]),
    rot: np.array(rot).reshape([hs, hs]),
    mask: np.array(mask).reshape([kvMul * T, T]),
  };
}

/** x [N, D] → x / rms(x) · w. Consumes both. */
function rmsnorm(x: np.Array, w: np.Array): np.Array {
  const inv = np.reciprocal(np.sqrt(np.mean(np.square(x.ref), -1, { keepdims: true }).add(RMS_EPS)));
  return x.mul(inv).mul(w);
}

/** x [N, in] times a weight stored (out, in) → [N, out]. Consumes both. */
function linear(x: np.Array, w: np.Array): np.Array {
  return np.matmul(x, w.transpose());
}

/** RoPE on x [B, T, heads, hs]. Consumes x only. */
function rope(x: np.Array, k: DeviceParams): np.Array {
  return x.ref.mul(k.cos!.ref).add(np.matmul(x, k.rot!.ref).mul(k.sin!.ref));
}

/**
 * Logits [B·T, vocab] for token ids [B, T] (int32). Consumes `p`, `k` and `ids` (pass `refAll` copies to keep
 * them).
 */
export function llamaLogits(c: Llama2cConfig, p: DeviceParams, k: DeviceParams, ids: np.Array): np.Array {
  const [B, T] = ids.shape as [number, number];
  const { dim, nHeads: H, nKvHeads: KV, nLayers } = c;
  const hs = headSize(c);
  const kvMul = H / KV;
  const N = B * T;
  const emb = p.tok_emb!;
  let x = np.take(c.sharedClassifier ? emb.ref : emb, ids.reshape([N]), 0); // [N, D]
  for (let l = 0; l < nLayers; l++) {
    const P = (n: string): np.Array => p[`l${l}.${n}`]!;
    const xb = rmsnorm(x.ref, P("rms_att"));
    const q = rope(linear(xb.ref, P("wq")).reshape([B, T, H, hs]), k);
    const kk = rope(linear(xb.ref, P("wk")).reshape([B, T, KV, hs]), k);
    const v = linear(xb, P("wv")).reshape([B, T, KV, hs]);
    // Heads g·kvMul … g·kvMul+kvMul−1 share kv head g: fold them into the query axis of one matmul.
    const qg = q.transpose([0, 2, 1, 3]).reshape([B, KV, kvMul * T, hs]);
    const kg = kk.transpose([0, 2, 3, 1]); // [B, KV, hs, T]
    const vg = v.transpose([0, 2, 1, 3]); // [B, KV, T, hs]
    const scores = np.matmul(qg, kg).mul(1 / Math.sqrt(hs)).add(k.mask!.ref);
    const att = np.matmul(nn.softmax(scores, -1), vg) // [B, KV, kvMul·T, hs]
      .reshape([B, H, T, hs])
      .transpose([0, 2, 1, 3])
      .reshape([N, dim]);
    x = x.add(linear(att, P("wo")));
    const xf = rmsnorm(x.ref, P("rms_ffn"));
    const gate = nn.silu(linear(xf.ref, P("w1")));
    x = x.add(linear(gate.mul(linear(xf, P("w3"))), P("w2")));
  }
  for (const name of ["cos", "sin", "rot", "mask"]) k[name]!.dispose();
  const xn = rmsnorm(x, p.rms_final!);
  return linear(xn, c.sharedClassifier ? emb : p.wcls!);
}

/**
 * Mean next-token cross-entropy (nats) over the positions where `mask` is 1. ids/targets [B, T] int32,
 * mask [B, T] float32. Consumes every argument.
 */
export function llamaLoss(
  c: Llama2cConfig, p: DeviceParams, k: DeviceParams, ids: np.Array, targets: np.Array, mask: np.Array,
): np.Array {
  const [B, T] = ids.shape as [number, number];
  const logp = nn.logSoftmax(llamaLogits(c, p, k, ids), -1); // [N, V]
  const picked = np.sum(logp.mul(nn.oneHot(targets.reshape([B * T]), c.vocabSize)), -1); // [N]
  const m = mask.reshape([B * T]);
  return np.sum(picked.mul(m.ref)).neg().div(np.sum(m).add(1e-9));
}
