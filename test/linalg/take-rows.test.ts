// Row selection shared by the bundle, the pooling study and the benchmark: rows come out in the order asked
// (repeats allowed), in the input's precision with takeRows and as float32 with takeRows32.

import assert from "node:assert/strict";
import { test } from "node:test";
import { matrix, takeRows, takeRows32 } from "../../src/linalg/matrix.js";

const m64 = matrix(3, 2, Float64Array.from([0.1, 1, 2, 3, 4, 5]));

test("takeRows keeps the order asked for, repeats included, and the input's precision", () => {
  const out = takeRows(m64, Int32Array.from([2, 0, 2]));
  assert.equal(out.rows, 3);
  assert.equal(out.cols, 2);
  assert.ok(out.data instanceof Float64Array);
  assert.deepEqual([...out.data], [4, 5, 0.1, 1, 4, 5]);
  const f32 = takeRows(matrix(3, 2, Float32Array.from(m64.data)), [1]);
  assert.ok(f32.data instanceof Float32Array);
  assert.deepEqual([...f32.data], [2, 3]);
});

test("takeRows32 gives float32 whatever the input, and a copy, not a view", () => {
  const out = takeRows32(m64, [0, 1]);
  assert.ok(out.data instanceof Float32Array);
  assert.deepEqual([...out.data], [Math.fround(0.1), 1, 2, 3]);
  out.data[0] = 9;
  assert.equal(m64.data[0], 0.1);
});

test("no rows gives an empty matrix with the same columns", () => {
  const out = takeRows(m64, []);
  assert.equal(out.rows, 0);
  assert.equal(out.cols, 2);
});
