// The standardiser: "feature" gives columns of mean 0 and sample variance 1, "global" rescales every entry by
// one RMS (so directions survive), a constant column stays finite, and a width mismatch is refused.

import { test } from "node:test";
import assert from "node:assert/strict";
import { isMadkitError } from "../../src/errors.js";
import { matrix } from "../../src/linalg/matrix.js";
import { applyStandardizer, fitStandardizer } from "../../src/train/standardizer.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

const rng = new SeededRng(6);
const n = 500;
const d = 4;
const data = new Float64Array(n * d);
for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = 10 * j + (j + 1) * rng.normal();
const x = matrix(n, d, data);

test('"feature" standardising leaves every column with mean 0 and sample variance 1', () => {
  const z = applyStandardizer(fitStandardizer(x, "feature"), x);
  for (let j = 0; j < d; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += z[i * d + j]! / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (z[i * d + j]! - m) ** 2 / (n - 1);
    assert.ok(Math.abs(m) < 1e-5, `column ${j} mean ${m}`);
    assert.ok(Math.abs(v - 1) < 1e-5, `column ${j} variance ${v}`);
  }
});

test('"global" standardising divides every entry by the same RMS, so mean square is 1 and directions survive', () => {
  const s = fitStandardizer(x, "global");
  const z = applyStandardizer(s, x);
  let ms = 0;
  for (const v of z) ms += (v * v) / z.length;
  assert.ok(Math.abs(ms - 1) < 1e-5, `mean square ${ms}`);
  for (let j = 0; j < d; j++) assert.equal(s.mean[j], 0);
  const ratio = z[0]! / data[0]!;
  for (let k = 1; k < z.length; k++) assert.ok(Math.abs(z[k]! / data[k]! - ratio) < 1e-5 * Math.abs(ratio));
});

test("a constant column standardises to finite zeros instead of dividing by zero", () => {
  const c = matrix(3, 2, new Float32Array([1, 5, 2, 5, 3, 5]));
  const z = applyStandardizer(fitStandardizer(c, "feature"), c);
  assert.deepEqual([z[1], z[3], z[5]], [0, 0, 0]);
});

test("applying a standardiser to a matrix of another width raises DIMENSION_MISMATCH", () => {
  const s = fitStandardizer(x, "feature");
  assert.throws(
    () => applyStandardizer(s, matrix(1, 3, new Float32Array(3))),
    (e: unknown) => isMadkitError(e) && e.code === "DIMENSION_MISMATCH" && /4 features.*3 columns/.test(e.message),
  );
});
