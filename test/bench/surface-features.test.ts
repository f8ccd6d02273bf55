import assert from "node:assert/strict";
import test from "node:test";
import { applyColumnFold, fitColumnFold } from "../../src/bench/surface-fold.js";
import { fmix32, lastTokenBucket, ngramBucket, surfaceDim, surfaceFeatures, tokenTableOf, type SurfaceFeature } from "../../src/bench/surface-features.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

/** Random texts of 0–12 token ids below `vocab`, seeded. */
function randomTexts(seed: number, n: number, vocab: number): Int32Array[] {
  const rng = new SeededRng(seed);
  return Array.from({ length: n }, () => Int32Array.from({ length: Math.floor(rng.uniform() * 13) }, () => Math.floor(rng.uniform() * vocab)));
}

/** The naive reading of the n-gram features: Maps of unigram and bigram counts, each divided by its total. */
function naiveNgram(ids: Int32Array, width: number): number[] {
  const uni = new Map<number, number>();
  const bi = new Map<string, number>();
  for (const t of ids) uni.set(t, (uni.get(t) ?? 0) + 1);
  for (let p = 0; p + 1 < ids.length; p++) bi.set(`${ids[p]},${ids[p + 1]}`, (bi.get(`${ids[p]},${ids[p + 1]}`) ?? 0) + 1);
  const out = new Array<number>(2 * width).fill(0);
  for (const [t, c] of uni) out[ngramBucket(width, t)]! += c / ids.length;
  for (const [k, c] of bi) {
    const [a, b] = k.split(",").map(Number);
    out[width + ngramBucket(width, a!, b!)]! += c / (ids.length - 1);
  }
  return out;
}

/** The naive reading of last-tokens: position j from the end sets one bucket of block j. */
function naiveLast(ids: Int32Array, k: number, width: number): number[] {
  const out = new Array<number>(k * width).fill(0);
  const reversed = [...ids].reverse();
  reversed.slice(0, k).forEach((t, j) => (out[j * width + lastTokenBucket(width, t)] = 1));
  return out;
}

function rowsOf(x: Float32Array, dim: number): number[][] {
  return Array.from({ length: x.length / dim }, (_, r) => Array.from(x.subarray(r * dim, (r + 1) * dim)));
}

test("n-gram features equal per-order relative frequencies counted naively with Maps", () => {
  const texts = randomTexts(7, 40, 30);
  const f: SurfaceFeature = { kind: "ngram", width: 16 };
  const rows = Uint32Array.from({ length: texts.length }, (_, i) => texts.length - 1 - i);
  const got = rowsOf(surfaceFeatures(f, tokenTableOf(texts), rows), surfaceDim(f));
  got.forEach((row, r) => {
    const want = naiveNgram(texts[rows[r]!]!, 16);
    row.forEach((v, j) => assert.ok(Math.abs(v - want[j]!) < 1e-6, `row ${r} column ${j}: ${v} vs ${want[j]}`));
  });
  // Each non-empty order sums to 1 (a distribution), an empty text is all zeros.
  const one = surfaceFeatures(f, tokenTableOf([Int32Array.of(3, 4, 3), Int32Array.of()]), [0, 1]);
  assert.ok(Math.abs(one.subarray(0, 16).reduce((a, b) => a + b, 0) - 1) < 1e-6);
  assert.ok(Math.abs(one.subarray(16, 32).reduce((a, b) => a + b, 0) - 1) < 1e-6);
  assert.ok(one.subarray(32).every((v) => v === 0));
});

test("last-tokens features are the one-hot bucket of each of the last k tokens by position, as read naively", () => {
  const texts = randomTexts(11, 40, 50);
  for (const k of [1, 3]) {
    const f: SurfaceFeature = { kind: "last-tokens", k, width: 32 };
    const got = rowsOf(surfaceFeatures(f, tokenTableOf(texts), Uint32Array.from(texts.keys())), surfaceDim(f));
    got.forEach((row, r) => assert.deepEqual(row, naiveLast(texts[r]!, k, 32), `k ${k} row ${r}`));
  }
  // Position matters: [1, 2] and [2, 1] differ in the last-tokens features but not in the unigrams.
  const f: SurfaceFeature = { kind: "last-tokens", k: 2, width: 64 };
  const x = rowsOf(surfaceFeatures(f, tokenTableOf([Int32Array.of(1, 2), Int32Array.of(2, 1)]), [0, 1]), 128);
  assert.notDeepEqual(x[0], x[1]);
});

test("the hash is MurmurHash3's finaliser (reference values) and buckets stay in range", () => {
  // fmix32 reference values from MurmurHash3 (Appleby's C++): fmix32(0) = 0, fmix32(1) = 0x514e28b7.
  assert.equal(fmix32(0), 0);
  assert.equal(fmix32(1), 0x514e28b7);
  for (let t = 0; t < 1000; t++) {
    const b = ngramBucket(7, t, t + 1);
    assert.ok(Number.isInteger(b) && b >= 0 && b < 7);
  }
});

test("bad input is refused with a message naming what was expected", () => {
  const table = tokenTableOf([Int32Array.of(1)]);
  assert.throws(() => surfaceFeatures({ kind: "ngram", width: 0 }, table, [0]), /width must be a positive integer, got 0/);
  assert.throws(() => surfaceFeatures({ kind: "last-tokens", k: 0, width: 4 }, table, [0]), /k must be a positive integer, got 0/);
  assert.throws(() => surfaceFeatures({ kind: "ngram", width: 4 }, table, [1]), /row 0 is 1, expected a text index in \[0, 1\)/);
});

test("the column fold keeps the columns the fit rows use and sums the others into one, row by row", () => {
  // Fit rows use columns 1 and 3 of 5.
  const fit = Float32Array.of(0, 1, 0, 0, 0, 0, 0, 0, 2, 0);
  const fold = fitColumnFold(fit, 5);
  assert.deepEqual([...fold.keep], [1, 3]);
  assert.equal(fold.dim, 3);
  const x = Float32Array.of(1, 2, 3, 4, 5, 0, 0, 0, 0, 0);
  assert.deepEqual([...applyColumnFold(fold, x)], [2, 4, 1 + 3 + 5, 0, 0, 0]);
  assert.throws(() => applyColumnFold(fold, Float32Array.of(1, 2)), /2 values do not make rows of 5 columns/);
});
