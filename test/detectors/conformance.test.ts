// Runs the shared detector conformance suite against every registered detector: the variants listed here,
// or default params for a detector not listed.

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

test("every variant listed here names a registered detector (unlisted detectors run with default params)", () => {
  for (const name of Object.keys(VARIANTS)) assert.ok(detectorNames.includes(name), name);
});

for (const name of detectorNames) {
  for (const params of VARIANTS[name] ?? [{}]) {
    detectorConformance(`${name} ${JSON.stringify(params)}`, () => createDetector(name, params));
  }
}
