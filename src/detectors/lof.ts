// Local Outlier Factor in novelty mode (Breunig et al. 2000), exactly as scikit-learn's
// LocalOutlierFactor(novelty=True): score = mean lrd(neighbours) / lrd(x), i.e. sklearn's −score_samples.
// Neighbours are exact, found by the kNN detector's blocked gemm search (one distance kernel in the library).

import { z } from "zod";
import { MadkitError } from "../errors.js";
import { matrix, type FloatArray, type Matrix } from "../linalg/matrix.js";
import type { DetectorSpec, FittedDetector } from "./detector.js";
import { parseParams, parseWith, type LoadedDetector, tensorOf, saveEnvelope } from "./envelope.js";
import { checkFitInput, checkScoreInput } from "./input-checks.js";
import { FittedKnn } from "./knn.js";

export const LOF = "lof";

const paramsSchema = z
  .object({
    /** Neighbours k (scikit-learn's n_neighbors, default 20). Fitting needs at least k + 1 trusted rows. */
    k: z.number().int().positive().default(20),
  })
  .strict();

export type LofParams = z.infer<typeof paramsSchema>;

/** scikit-learn adds 1e-10 to the mean reachability distance so duplicated points give a finite density. */
const LRD_EPS = 1e-10;

export class LofSpec implements DetectorSpec<LofParams> {
  readonly kind = LOF;
  readonly params: Readonly<LofParams>;
  constructor(params: Partial<LofParams> = {}) {
    this.params = parseParams(paramsSchema, params, "lof");
  }

  fit(trusted: Matrix): FittedLof {
    const k = this.params.k;
    checkFitInput(trusted, LOF, k + 1);
    const data = trusted.data instanceof Float32Array ? Float32Array.from(trusted.data) : Float64Array.from(trusted.data);
    const base = matrix(trusted.rows, trusted.cols, data as FloatArray);
    const n = base.rows;
    // k + 1 neighbours of each training row, then drop the row itself (scikit-learn's kneighbors(X=None)):
    // when more than k duplicates tie at distance 0 the row may be missing, and the first neighbour goes instead.
    const search = new FittedKnn({ k: k + 1, metric: "euclidean", aggregate: "kth" }, base);
    const nb = search.neighbors(base);
    const indices = new Int32Array(n * k);
    const distances = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      let skip = 0;
      for (let p = 0; p <= k; p++) {
        if (nb.indices[i * (k + 1) + p] === i) {
          skip = p;
          break;
        }
      }
      for (let p = 0, q = 0; p <= k; p++) {
        if (p === skip) continue;
        indices[i * k + q] = nb.indices[i * (k + 1) + p]!;
        distances[i * k + q] = nb.distances[i * (k + 1) + p]!;
        q++;
      }
    }
    const kDistance = new Float64Array(n);
    for (let i = 0; i < n; i++) kDistance[i] = distances[i * k + k - 1]!;
    const lrd = new Float64Array(n);
    for (let i = 0; i < n; i++) lrd[i] = reachDensity(indices, distances, i, k, kDistance);
    return new FittedLof(this.params, base, kDistance, lrd);
  }
}

/** 1 / (mean over the k neighbours of max(d(x, o), k-distance(o)) + 1e-10). */
function reachDensity(indices: Int32Array, distances: Float64Array, row: number, k: number, kDistance: Float64Array): number {
  let s = 0;
  for (let p = 0; p < k; p++) {
    const o = indices[row * k + p]!;
    s += Math.max(distances[row * k + p]!, kDistance[o]!);
  }
  return 1 / (s / k + LRD_EPS);
}

export class FittedLof implements FittedDetector<LofParams> {
  readonly kind = LOF;
  readonly scope = "input" as const;
  readonly dim: number;
  private readonly search: FittedKnn;

  constructor(
    readonly params: Readonly<LofParams>,
    /** The trusted rows as fitted. */
    readonly trusted: Matrix,
    /** Distance from each trusted row to its k-th neighbour (itself excluded). */
    readonly kDistance: Float64Array,
    /** Local reachability density of each trusted row. */
    readonly lrd: Float64Array,
  ) {
    this.dim = trusted.cols;
    this.search = new FittedKnn({ k: params.k, metric: "euclidean", aggregate: "kth" }, trusted);
  }

  score(x: Matrix): Float64Array {
    checkScoreInput(x, this.dim, LOF);
    const k = this.params.k;
    const { indices, distances } = this.search.neighbors(x);
    const out = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) {
      const own = reachDensity(indices, distances, i, k, this.kDistance);
      let s = 0;
      for (let p = 0; p < k; p++) s += this.lrd[indices[i * k + p]!]!;
      out[i] = s / k / own;
    }
    return out;
  }

  save(dir: string): void {
    const n = this.trusted.rows;
    saveEnvelope(
      dir,
      { kind: LOF, params: this.params, state: {}, dim: this.dim, nTrain: n },
      {
        trusted: { shape: [n, this.dim], data: this.trusted.data },
        kDistance: { shape: [n], data: this.kDistance },
        lrd: { shape: [n], data: this.lrd },
      },
    );
  }

  static restore(loaded: LoadedDetector): FittedLof {
    const params = parseWith(loaded, "params", paramsSchema);
    const d = loaded.envelope.meta.dim;
    const t = loaded.tensors.get("trusted");
    if (!t || !(t.data instanceof Float32Array || t.data instanceof Float64Array) || t.shape.length !== 2 || t.shape[1] !== d) {
      throw new MadkitError("STORE_CORRUPT", `${loaded.dir}: lof needs a float tensor 'trusted' of shape [N, ${d}]`);
    }
    const n = t.shape[0]!;
    if (n < params.k + 1) throw new MadkitError("STORE_CORRUPT", `${loaded.dir}: lof holds ${n} trusted rows, needs k + 1 = ${params.k + 1}`);
    const kDistance = tensorOf(loaded, "kDistance", Float64Array);
    const lrd = tensorOf(loaded, "lrd", Float64Array);
    if (kDistance.length !== n || lrd.length !== n || !lrd.every((v) => v > 0 && Number.isFinite(v))) {
      throw new MadkitError("STORE_CORRUPT", `${loaded.dir}: lof kDistance/lrd must hold ${n} finite values (lrd positive)`);
    }
    return new FittedLof(params, matrix(n, d, t.data), kDistance, lrd);
  }
}

export function lof(params: Partial<LofParams> = {}): LofSpec {
  return new LofSpec(params);
}
