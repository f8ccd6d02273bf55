// Seeded synthetic activations with planted outliers, shared by the detector conformance suite, the
// scikit-learn comparisons and the performance benchmarks (perf/): inliers are low-rank Gaussian plus isotropic
// noise; outliers are inliers with a tenth of their features shifted by several standard deviations.

import { gemm } from "../linalg/blas.js";
import { matrix, type Matrix } from "../linalg/matrix.js";
import { SeededRng } from "../random/seeded-rng.js";

export interface PlantedOutliers<T extends Float32Array | Float64Array> {
  readonly train: Matrix<T>;
  readonly test: Matrix<T>;
  /** 1 where the test row is a planted outlier. */
  readonly labels: Uint8Array;
}

export interface PlantedOptions {
  nTrain: number;
  nTest: number;
  dim: number;
  /** Fraction of test rows that are outliers. */
  outlierFraction?: number;
  /** Size of the shift in units of a feature's inlier standard deviation. */
  shift?: number;
  /** Fraction of features shifted in each outlier (default 0.1). */
  shiftedFeatures?: number;
  /** Shift outliers upward only (for detectors whose score is the value itself); the random draws are unchanged. */
  upward?: boolean;
  seed?: number;
  float32?: boolean;
}

export function plantedOutliers(o: PlantedOptions & { float32: true }): PlantedOutliers<Float32Array>;
export function plantedOutliers(o: PlantedOptions & { float32?: false }): PlantedOutliers<Float64Array>;
export function plantedOutliers(o: PlantedOptions): PlantedOutliers<Float32Array | Float64Array> {
  const { nTrain, nTest, dim: d } = o;
  const rng = new SeededRng(o.seed ?? 1);
  const rank = Math.max(2, Math.floor(d / 8));
  const mix = matrix(rank, d, rng.fillNormal(new Float64Array(rank * d), 1 / Math.sqrt(rank)) as Float64Array);
  const offset = rng.fillNormal(new Float64Array(d), 2) as Float64Array;
  const sample = (n: number): Float64Array => {
    const z = matrix(n, rank, rng.fillNormal(new Float64Array(n * rank)) as Float64Array);
    const x = gemm(z, mix).data;
    for (let i = 0; i < x.length; i++) x[i]! += 0.3 * rng.normal() + offset[i % d]!;
    return x;
  };
  const train = sample(nTrain);
  const test = sample(nTest);
  const labels = new Uint8Array(nTest);
  const nOut = Math.max(1, Math.round(nTest * (o.outlierFraction ?? 0.05)));
  const shifted = Math.max(1, Math.round(d * (o.shiftedFeatures ?? 0.1)));
  const shift = (o.shift ?? 4) * Math.sqrt(1 + 0.09);
  for (const i of rng.permutation(nTest).subarray(0, nOut)) {
    labels[i] = 1;
    for (const j of rng.permutation(d).subarray(0, shifted)) {
      const sign = rng.uniform() < 0.5 ? -1 : 1;
      test[i * d + j]! += o.upward ? shift : sign * shift;
    }
  }
  const wrap = (x: Float64Array, n: number) => (o.float32 ? matrix(n, d, Float32Array.from(x)) : matrix(n, d, x));
  return { train: wrap(train, nTrain), test: wrap(test, nTest), labels };
}
