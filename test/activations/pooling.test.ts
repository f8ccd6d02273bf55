import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePooling, pooledRows, poolTokens } from "../../src/activations/pooling.js";
import { MadkitError } from "../../src/errors.js";
import { matrix } from "../../src/linalg/matrix.js";

// 3 tokens x 2 dims: rows (1, 10), (2, 20), (6, -3)
const m = matrix(3, 2, Float32Array.of(1, 10, 2, 20, 6, -3));

test("last pooling keeps the final token's row", () => {
  const p = poolTokens(m, "last");
  assert.equal(p.rows, 1);
  assert.deepEqual(Array.from(p.data), [6, -3]);
});

test("mean pooling averages each unit over tokens: (1+2+6)/3 = 3 and (10+20-3)/3 = 9", () => {
  const p = poolTokens(m, "mean");
  assert.deepEqual(Array.from(p.data), [3, 9]);
});

test("mean pooling accumulates in float64: 1e8 plus many ones does not lose the ones", () => {
  const n = 1001;
  const d = new Float32Array(n).fill(1);
  d[0] = 1e8;
  // exact mean (1e8 + 1000) / 1001, rounded once to float32; a float32 running sum would stay at 1e8 / 1001
  assert.equal(poolTokens(matrix(n, 1, d), "mean").data[0], Math.fround((1e8 + 1000) / 1001));
});

test("rootn pooling is the token sum over the square root of the token count: (1+2+6)/√3 and (10+20-3)/√3", () => {
  const p = poolTokens(m, "rootn");
  assert.equal(p.rows, 1);
  assert.deepEqual(Array.from(p.data), [Math.fround(9 / Math.sqrt(3)), Math.fround(27 / Math.sqrt(3))]);
});

test("rootn pooling equals √n times mean pooling, so n i.i.d. tokens keep one token's spread", () => {
  // 64 tokens x 3 dims of a fixed pseudo-random sequence
  const n = 64, d = 3;
  const x = Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
  const root = poolTokens(matrix(n, d, x), "rootn").data;
  const mean = poolTokens(matrix(n, d, x), "mean").data;
  for (let j = 0; j < d; j++) assert.ok(Math.abs(root[j]! - Math.sqrt(n) * mean[j]!) < 1e-5, `unit ${j}`);
  // one token: rootn = mean = the token itself
  assert.deepEqual(Array.from(poolTokens(matrix(1, d, x.subarray(0, d)), "rootn").data), Array.from(x.subarray(0, d)));
});

test("all pooling and sequence hooks pass the matrix through unchanged", () => {
  assert.equal(poolTokens(m, "all"), m);
  assert.equal(poolTokens(m, "last", "sequence"), m);
  assert.equal(poolTokens(m, "mean", "sequence"), m);
  assert.equal(poolTokens(m, "rootn", "sequence"), m);
});

test("pooled row counts: one per input, except all-pooling of a token hook", () => {
  assert.equal(pooledRows("all", "token", 7), 7);
  assert.equal(pooledRows("all", "sequence", 7), 1);
  assert.equal(pooledRows("mean", "token", 7), 1);
});

test("pooling zero tokens and unknown pooling names are errors", () => {
  assert.throws(() => poolTokens(matrix(0, 2, new Float32Array(0)), "last"), MadkitError);
  assert.throws(() => parsePooling("max"), /unknown pooling 'max'; expected one of last, mean, rootn, all/);
});
