// Runs the shared detector conformance suite against every registered detector and its main variants.

import assert from "node:assert/strict";
import { test } from "node:test";
import { createDetector, detectorNames } from "../../src/detectors/registry.js";
import { detectorConformance } from "../conformance/detector.conformance.js";

const VARIANTS: Record<string, Record<string, unknown>[]> = {
  mahalanobis: [{ covariance: "empirical" }, { covariance: "ledoit-wolf" }, { covariance: "oas" }],
  pca: [{ components: 4 }, { components: 0.9, variant: "whitened" }],
  knn: [{ k: 5 }, { k: 3, metric: "cosine", aggregate: "mean" }],
  "isolation-forest": [{ trees: 50, seed: 3 }],
};

test("every registered detector has conformance variants", () => {
  assert.deepEqual([...detectorNames].sort(), Object.keys(VARIANTS).sort());
});

for (const name of detectorNames) {
  for (const params of VARIANTS[name] ?? [{}]) {
    detectorConformance(`${name} ${JSON.stringify(params)}`, () => createDetector(name, params));
  }
}
