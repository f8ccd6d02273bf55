// The behavioural baselines: the score is the pooled value itself, a wide matrix is refused with a message that
// names the hook to extract, and both are reachable by name from the registry. (Save/load, determinism and bad
// input are covered by the shared conformance suite.)

import assert from "node:assert/strict";
import { test } from "node:test";
import { outputEntropy, perplexity } from "../../src/detectors/behavioural.js";
import { createDetector, detectorNames } from "../../src/detectors/registry.js";
import { isMadkitError } from "../../src/errors.js";
import { matrix } from "../../src/linalg/matrix.js";

test("perplexity and output-entropy score each row by its value and keep the trusted mean and sample std", () => {
  const trusted = matrix(4, 1, new Float64Array([1, 2, 3, 4]));
  for (const spec of [perplexity(), outputEntropy()]) {
    const f = spec.fit(trusted);
    assert.deepEqual(f.score(matrix(3, 1, new Float32Array([0.5, 7, -1]))), new Float64Array([0.5, 7, -1]));
    assert.equal(f.trustedMean, 2.5);
    assert.ok(Math.abs(f.trustedStd - Math.sqrt(5 / 3)) < 1e-12);
    assert.equal(f.explain(matrix(1, 1, new Float32Array([2])))[0]!.top[0]!.share, 1);
  }
});

test("fitting on more than one column raises DIMENSION_MISMATCH telling the user which hook to extract", () => {
  const wide = matrix(3, 2, new Float32Array(6));
  assert.throws(() => perplexity().fit(wide), (e: unknown) => isMadkitError(e) && e.code === "DIMENSION_MISMATCH" && /hook_token_nll/.test(e.message) && /got 2/.test(e.message));
  assert.throws(() => outputEntropy().fit(wide), (e: unknown) => isMadkitError(e) && /hook_output_entropy/.test(e.message));
});

test("both are registered by name and take no parameters", () => {
  assert.ok(detectorNames.includes("perplexity") && detectorNames.includes("output-entropy"));
  assert.equal(createDetector("perplexity").kind, "perplexity");
  assert.throws(() => createDetector("output-entropy", { k: 3 }), (e: unknown) => isMadkitError(e) && e.code === "BAD_ARGUMENT");
});
