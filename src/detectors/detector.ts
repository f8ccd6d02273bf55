// The detector contract: a spec (hyper-parameters) is fitted on trusted activations and returns a fitted
// detector that scores new rows (higher = more anomalous), may explain them, and saves itself. The two are
// different types, so an unfitted detector has no `score` to call.

import type { Matrix } from "../linalg/matrix.js";

/** One reason a row scored high: a principal direction or an input feature, with its part of the score. */
export interface Contribution {
  readonly kind: "direction" | "feature";
  /** Feature index, or principal-direction rank (0 = the direction of largest trusted variance). */
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
