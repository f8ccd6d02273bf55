// Next-token choice as llama2.c's run.c makes it: argmax at temperature 0, otherwise softmax(logits / T)
// sampled with run.c's xorshift64* generator and optional top-p (nucleus) cut, in float32 like the C code,
// so a given seed reproduces run.c's samples.

import { MadkitError } from "../../errors.js";

export interface SamplerOptions {
  /** 0 = greedy argmax (the default). */
  readonly temperature?: number;
  /** Nucleus cut in (0, 1]; 1 disables it. run.c's default is 0.9. */
  readonly topp?: number;
  /** Seed of run.c's xorshift64* generator; the same seed gives the same samples. */
  readonly seed?: number;
}

const MASK64 = (1n << 64n) - 1n;

export class Llama2cSampler {
  private state: bigint;
  readonly temperature: number;
  readonly topp: number;

  constructor(options: SamplerOptions = {}) {
    this.temperature = options.temperature ?? 0;
    this.topp = options.topp ?? 1;
    if (!(this.temperature >= 0) || !Number.isFinite(this.temperature)) {
      throw new MadkitError("BAD_ARGUMENT", `temperature must be a finite number >= 0, got ${options.temperature}`);
    }
    if (!(this.topp > 0 && this.topp <= 1)) {
      throw new MadkitError("BAD_ARGUMENT", `topp must be in (0, 1], got ${options.topp}`);
    }
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new MadkitError("BAD_ARGUMENT", `seed must be a non-negative integer, got ${options.seed}`);
    }
    this.state = BigInt(seed) & MASK64;
  }

  /** run.c random_u32: xorshift64* on a 64-bit state, upper 32 bits of the product. */
  private randomU32(): number {
    let s = this.state;
    s ^= s >> 12n;
    s = (s ^ (s << 25n)) & MASK64;
    s ^= s >> 27n;
    this.state = s;
    return Number(((s * 0x2545f4914f6cdd1dn) & MASK64) >> 32n);
  }

  /** run.c random_f32: a float32 in [0, 1). */
  private randomF32(): number {
    return Math.fround((this.randomU32() >>> 8) / 16777216);
  }

  /** Pick the next token from a logit vector (not modified). */
  sample(logits: Float32Array): number {
    if (this.temperature === 0) return argmax(logits);
    const n = logits.length;
    const probs = new Float32Array(n);
    for (let i = 0; i < n; i++) probs[i] = logits[i]! / this.temperature;
    softmaxF32(probs);
    const coin = this.randomF32();
    return this.topp < 1 ? sampleTopp(probs, this.topp, coin) : sampleMult(probs, coin);
  }
}

/** First index of the maximum (run.c's strict `>`). */
export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

function softmaxF32(x: Float32Array): void {
  let max = x[0]!;
  for (let i = 1; i < x.length; i++) if (x[i]! > max) max = x[i]!;
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    x[i] = Math.exp(x[i]! - max);
    sum = Math.fround(sum + x[i]!);
  }
  for (let i = 0; i < x.length; i++) x[i] = x[i]! / sum;
}

function sampleMult(probs: Float32Array, coin: number): number {
  let cdf = 0;
  for (let i = 0; i < probs.length; i++) {
    cdf = Math.fround(cdf + probs[i]!);
    if (coin < cdf) return i;
  }
  return probs.length - 1;
}

function sampleTopp(probs: Float32Array, topp: number, coin: number): number {
  const n = probs.length;
  topp = Math.fround(topp); // run.c holds it as a float
  // Tokens below this probability cannot be part of the nucleus; dropping them first keeps the sort short.
  const cutoff = Math.fround(Math.fround(1 - topp) / (n - 1));
  const idx: number[] = [];
  for (let i = 0; i < n; i++) if (probs[i]! >= cutoff) idx.push(i);
  idx.sort((a, b) => probs[b]! - probs[a]!);
  let cumulative = 0;
  let last = idx.length - 1;
  for (let i = 0; i < idx.length; i++) {
    cumulative = Math.fround(cumulative + probs[idx[i]!]!);
    if (cumulative > topp) {
      last = i;
      break;
    }
  }
  const r = Math.fround(coin * cumulative);
  let cdf = 0;
  for (let i = 0; i <= last; i++) {
    cdf = Math.fround(cdf + probs[idx[i]!]!);
    if (r < cdf) return idx[i]!;
  }
  return idx[last]!;
}
