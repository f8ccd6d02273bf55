// The one suite every registered detector must pass (after hono's shared router suite and scikit-learn's
// check_estimator): finite scores of the right length, an AUROC floor on planted outliers, fit-twice =
// fit-once, bad input rejected with the right code, save/load round trips, determinism, inputs untouched.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import type { DetectorSpec } from "../../src/detectors/detector.js";
import { ENVELOPE_FILE, WEIGHTS_FILE } from "../../src/detectors/envelope.js";
import { loadDetector } from "../../src/detectors/registry.js";
import { isMadkitError } from "../../src/errors.js";
import { auroc } from "../../src/eval/ranking-metrics.js";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import { plantedOutliers } from "../../src/datasets/planted-outliers.js";

function rejects(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => isMadkitError(e) && e.code === code && message.test(e.message));
}

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(os.tmpdir(), "madkit-detector-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Input shape a detector needs: width (default 16), and whether outliers must lie above the inliers (1-d value detectors). */
export interface ConformanceShape {
  readonly dim?: number;
  readonly upward?: boolean;
  /** Outlier shift in inlier standard deviations (plantedOutliers' default 4). */
  readonly shift?: number;
}

/** Run the suite against `make`, a fresh spec each call (same params every time). */
export function detectorConformance(label: string, make: () => DetectorSpec, shape: ConformanceShape = {}): void {
  const d = shape.dim ?? 16;
  describe(`detector conformance: ${label}`, () => {
    const data = plantedOutliers({ nTrain: 600, nTest: 300, dim: d, seed: 11, float32: true, outlierFraction: 0.1, shiftedFeatures: 0.25, upward: shape.upward, shift: shape.shift });
    const fitted = make().fit(data.train);
    const scores = fitted.score(data.test);

    test("scores are finite, one per row, and zero rows give zero scores", () => {
      assert.equal(scores.length, data.test.rows);
      assert.ok(scores.every(Number.isFinite));
      assert.equal(fitted.score(matrix(0, d, new Float32Array(0))).length, 0);
      assert.equal(fitted.dim, d);
    });

    test("planted outliers rank above inliers with AUROC at least 0.9", () => {
      const a = auroc(scores, data.labels);
      assert.ok(a >= 0.9, `AUROC ${a.toFixed(3)}`);
    });

    test("fitting twice gives the same scores as fitting once, and the same params give the same result", () => {
      const again = make().fit(data.train);
      assert.deepEqual(again.score(data.test), scores);
      const spec = make();
      assert.deepEqual(spec.fit(data.train).score(data.test), spec.fit(data.train).score(data.test));
    });

    test("fit and score leave their inputs untouched", () => {
      const train = Float32Array.from(data.train.data);
      const testRows = Float32Array.from(data.test.data);
      make().fit(data.train).score(data.test);
      assert.deepEqual(data.train.data, train);
      assert.deepEqual(data.test.data, testRows);
    });

    test("scoring a matrix with a different column count raises DIMENSION_MISMATCH naming both", () => {
      const other = d > 1 ? d - 1 : d + 1;
      rejects(() => fitted.score(matrix(2, other, new Float32Array(2 * other))), "DIMENSION_MISMATCH", new RegExp(`${d} features.*${other}`));
    });

    test("NaN or Inf in fit or score raises NON_FINITE naming the row", () => {
      const bad = Float32Array.from(data.train.data);
      const col = Math.min(3, d - 1);
      bad[7 * d + col] = NaN;
      rejects(() => make().fit(matrix(data.train.rows, d, bad)), "NON_FINITE", new RegExp(`row 7 column ${col}`));
      const badTest = Float32Array.from(data.test.data.subarray(0, 5 * d));
      badTest[4 * d] = Infinity;
      rejects(() => fitted.score(matrix(5, d, badTest)), "NON_FINITE", /row 4 column 0/);
    });

    test("float64 input scores like the same float32 input", () => {
      const f64 = make().fit(matrix(data.train.rows, d, Float64Array.from(data.train.data)));
      const s64 = f64.score(matrix(data.test.rows, d, Float64Array.from(data.test.data)));
      for (let i = 0; i < s64.length; i++) assert.ok(Math.abs(s64[i]! - scores[i]!) <= 1e-4 * (1 + Math.abs(scores[i]!)), `row ${i}`);
    });

    test("save then loadDetector gives the same kind, params and identical scores", () =>
      withTmp((dir) => {
        fitted.save(dir);
        const back = loadDetector(dir);
        assert.equal(back.kind, fitted.kind);
        assert.deepEqual(back.params, fitted.params);
        assert.deepEqual(back.score(data.test), scores);
      }));

    test("a saved detector with another schemaVersion, a broken envelope or truncated weights fails clearly", () =>
      withTmp((dir) => {
        fitted.save(dir);
        const json = path.join(dir, ENVELOPE_FILE);
        const original = readFileSync(json, "utf8");
        writeFileSync(json, original.replace(/"schemaVersion": \d+/, '"schemaVersion": 999'));
        rejects(() => loadDetector(dir), "VERSION_MISMATCH", /schemaVersion is 999/);
        writeFileSync(json, original.replace(/"dim": \d+/, '"dim": "sixteen"'));
        rejects(() => loadDetector(dir), "STORE_CORRUPT", /meta\.dim/);
        writeFileSync(json, original.slice(0, 40));
        rejects(() => loadDetector(dir), "STORE_CORRUPT", /not valid JSON/);
        writeFileSync(json, original);
        const weights = path.join(dir, WEIGHTS_FILE);
        truncateSync(weights, statSync(weights).size - 8);
        rejects(() => loadDetector(dir), "STORE_CORRUPT", /weights\.safetensors/);
      }));
  });
}

export type { Matrix };
