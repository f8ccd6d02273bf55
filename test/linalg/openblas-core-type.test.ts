// OpenBLAS's kernel set is chosen from the CPU flags before the library loads.

import assert from "node:assert/strict";
import { test } from "node:test";
import { chooseCoreType } from "../../src/linalg/openblas.js";

test("chooseCoreType picks SkylakeX only with avx512f and Haswell only with avx2", () => {
  assert.equal(chooseCoreType("flags\t\t: fpu sse2 avx2 avx512f\n"), "SkylakeX");
  assert.equal(chooseCoreType("flags\t\t: fpu sse2 avx avx2\n"), "Haswell");
  assert.equal(chooseCoreType("flags\t\t: fpu sse2 avx\n"), undefined);
});
