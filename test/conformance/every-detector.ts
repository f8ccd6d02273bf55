// The shared detector conformance suite against every registered detector: the variants listed here, or
// default params for a detector not listed. Run once per linear-algebra back end by the test files that call it.

import assert from "node:assert/strict";
import { test } from "node:test";
import { createDetector, detectorNames } from "../../src/detectors/registry.js";
import { detectorConformance, type ConformanceShape } from "./detector.conformance.js";

const VARIANTS: Record<string, Record<string, unknown>[]> = {
  mahalanobis: [{ covariance: "empirical" }, { covariance: "ledoit-wolf" }, { covariance: "oas" }],
  pca: [{ components: 4 }, { components: 0.9, variant: "whitened" }],
  knn: [{ k: 5 }, { k: 3, metric: "cosine", aggregate: "mean" }],
  "isolation-forest": [{ trees: 50, seed: 3 }],
};

test("every conformance variant names a registered detector (unlisted detectors run with default params)", () => {
  for (const name of Object.keys(VARIANTS)) assert.ok(detectorNames.includes(name), name);
});

/**
 * Detectors that score a 1-column value (higher = more anomalous) get 1-d data with upward outliers; one
 * feature's inlier spread is wider than the unit the default shift assumes, hence the larger shift.
 */
const SHAPES: Record<string, ConformanceShape> = {
  perplexity: { dim: 1, upward: true, shift: 8 },
  "output-entropy": { dim: 1, upward: true, shift: 8 },
};

/** Register the suite for every detector variant; `label` names the back end in each suite's title. */
export function everyDetectorConformance(label = ""): void {
  for (const name of detectorNames) {
    for (const params of VARIANTS[name] ?? [{}]) {
      detectorConformance(`${name} ${JSON.stringify(params)}${label}`, () => createDetector(name, params), SHAPES[name]);
    }
  }
}
