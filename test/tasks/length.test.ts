// The length matcher keeps equal numbers of normal and anomalous items in every length bin, only drops items,
// and is seeded; the length helpers count code points and words.

import assert from "node:assert/strict";
import { test } from "node:test";
import { charLength, lengthMatch, tokenLength, wordLength } from "../../src/tasks/length.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

function items(prefix: string, lengths: number[]): { id: string; text: string }[] {
  return lengths.map((n, i) => ({ id: `${prefix}${i}`, text: "x".repeat(n) }));
}

const rng = new SeededRng(9);
// Normal texts are short, anomalous long, with overlap in the middle: the confound length matching removes.
const normal = items("n", Array.from({ length: 400 }, () => 20 + rng.int(200)));
const anomalous = items("a", Array.from({ length: 300 }, () => 120 + rng.int(600)));

test("every bin keeps the same number of normal and anomalous items, recounted from the bin edges", () => {
  const m = lengthMatch(normal, anomalous, { seed: 1, bins: 8 });
  assert.ok(m.bins.length >= 2);
  const binOf = (len: number) => {
    let b = 0;
    while (b < m.bins.length - 1 && len >= m.bins[b]!.hi) b++;
    return b;
  };
  const cn = new Array(m.bins.length).fill(0);
  const ca = new Array(m.bins.length).fill(0);
  for (const x of m.normal) cn[binOf(x.text.length)]++;
  for (const x of m.anomalous) ca[binOf(x.text.length)]++;
  assert.deepEqual(cn, ca);
  assert.deepEqual(cn, m.bins.map((b) => b.count));
  for (const b of m.bins) assert.equal(b.count, Math.min(b.normalAvailable, b.anomalousAvailable));
  assert.equal(m.normal.length, m.anomalous.length);
  assert.ok(m.normal.length > 50, `kept ${m.normal.length} pairs`);
});

test("length matching brings the two mean lengths together", () => {
  const mean = (xs: { text: string }[]) => xs.reduce((s, x) => s + x.text.length, 0) / xs.length;
  const m = lengthMatch(normal, anomalous, { seed: 1, bins: 10 });
  assert.ok(Math.abs(mean(normal) - mean(anomalous)) > 200);
  assert.ok(Math.abs(mean(m.normal) - mean(m.anomalous)) < 20, `${mean(m.normal)} vs ${mean(m.anomalous)}`);
});

test("length matching only keeps input items, in input order, and is the same for the same seed", () => {
  const a = lengthMatch(normal, anomalous, { seed: 3 });
  assert.deepEqual(a, lengthMatch(normal, anomalous, { seed: 3 }));
  const idx = a.normal.map((x) => normal.indexOf(x));
  assert.ok(idx.every((i, k) => i >= 0 && (k === 0 || i > idx[k - 1]!)));
  const b = lengthMatch(normal, anomalous, { seed: 4 });
  assert.notDeepEqual(a.normal.map((x) => x.id), b.normal.map((x) => x.id));
});

test("a custom length function (words) is used for binning", () => {
  // Word lengths: normal 2 and 6, anomalous 2 and 1 → edges [1, 2, 6]: bin [1,2) holds only "z", bin [2,6]
  // one anomalous and two normal. By characters the long two-word text would sit alone at the top instead.
  const n = [{ text: "a b" }, { text: "a b c d e f" }];
  const a = [{ text: "aaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbb" }, { text: "z" }];
  const m = lengthMatch(n, a, { seed: 1, bins: 2, lengthOf: wordLength });
  assert.deepEqual(m.bins.map((b) => [b.lo, b.hi, b.count]), [[1, 2, 0], [2, 6, 1]]);
  assert.deepEqual(m.anomalous, [a[0]]);
  assert.equal(m.normal.length, 1);
});

test("length helpers count code points, words and tokens", () => {
  assert.equal(charLength("naïve 😀"), 7);
  assert.equal(wordLength("  two  words "), 2);
  assert.equal(wordLength("   "), 0);
  assert.equal(tokenLength((t) => new Int32Array(t.length * 2))("abc"), 6);
});
