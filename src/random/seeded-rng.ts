// The one seeded random source (xoshiro128**, seeded through splitmix32): weight init, minibatch shuffles, VAE
// noise, detector subsampling, task splits and the bootstrap all draw from it, so the same seed gives the same
// numbers on every platform.

import { MadkitError } from "../errors.js";

export class SeededRng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** Box–Muller makes normals in pairs; the second is kept for the next call. */
  private spare: number | null = null;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) {
      throw new MadkitError("BAD_ARGUMENT", `seed must be an integer, got ${seed}`);
    }
    // splitmix32 spreads any integer seed (including 0) over the 128-bit state; xoshiro must not start all-zero.
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform on (0, 1): never exactly 0, so log() of it is always finite. */
  uniform(): number {
    return (this.nextU32() + 0.5) / 4294967296;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** A standard normal draw (Box–Muller). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const th = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }

  /** Fill `out` with N(0, std²) draws. */
  fillNormal(out: Float32Array | Float64Array, std = 1): typeof out {
    for (let i = 0; i < out.length; i++) out[i] = this.normal() * std;
    return out;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
