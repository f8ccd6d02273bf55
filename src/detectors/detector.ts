// The detector contract: a spec (hyper-parameters) is fitted on trusted activations and returns a fitted
// detector that scores new rows (higher = more anomalous), may explain them, and saves itself. The two are
// different types, so an unfitted detector has no `score` to call.

import type { Matrix } from "../linalg/matrix.js";

/**
 * One reason a row scored high: a principal direction, an input feature or a mixture component, with its part
 * of the score. For "component" the share is the component's posterior responsibility for the row.
 */
export interface Contribution {
  readonly kind: "direction" | "feature" | "component";
  /**
   * Feature index, component index, or direction rank (0 = the method's leading direction: largest trusted
   * variance for Mahalanobis/PCA, largest weight for a batch method's directions).
   */
  readonly index: number;
  /** This item's additive part of the row's score. */
  readonly contribution: number;
  /** contribution / score (0 when the score is 0). */
  readonly share: number;
}

export interface Explanation {
  readonly score: number;
  /** The largest contributions, largest first. */
  readonly top: readonly Contribution[];
}

export interface FittedDetector<P extends object = object> {
  readonly kind: string;
  readonly params: Readonly<P>;
  /** Number of columns the detector was fitted on; every scored matrix must have as many. */
  readonly dim: number;
  /**
   * "input" (the default when absent): a row's score depends only on that row. "batch": scores depend on the
   * other rows passed to the same `score` call (QUE, spectral signatures); benchmarks report these separately.
   */
  readonly scope?: "input" | "batch";
  /** One anomaly score per row; higher = more anomalous. The input is not modified. */
  score(x: Matrix): Float64Array;
  /** Why each row scored as it did; present where the method allows it. */
  explain?(x: Matrix, top?: number): Explanation[];
  /** Write `detector.json` (versioned envelope) and `weights.safetensors` into `dir`, atomically each. */
  save(dir: string): void;
}

export interface DetectorSpec<P extends object = object> {
  readonly kind: string;
  readonly params: Readonly<P>;
  /** Learn from trusted rows only. Deterministic given the params (randomised methods take a seed in them). */
  fit(trusted: Matrix): FittedDetector<P>;
}
