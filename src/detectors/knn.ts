// Exact k-nearest-neighbour distance to the trusted rows (euclidean or cosine). Candidates come from blocked
// gemm similarity matrices in the trusted rows' precision (q·t − ‖t‖²/2 ranks like −‖q − t‖²); the k
// winners' distances are then recomputed directly in float64, so reported distances carry no cancellation error.
// Fitting is one pass that copies the rows into the search layout while summing their squares (the NaN/Inf check).

import { z } from "zod";
import { MadkitError } from "../errors.js";
import { gemm } from "../linalg/blas.js";
import { matrix, type FloatArray, type Matrix } from "../linalg/matrix.js";
import type { Contribution, DetectorSpec, Explanation, FittedDetector } from "./detector.js";
import { parseWith, saveEnvelope, type LoadedDetector } from "./envelope.js";
import { checkFitInput, checkScoreInput, throwNonFinite } from "./input-checks.js";

export const KNN = "knn";

const paramsSchema = z
  .object({
    /** Neighbours considered. */
    k: z.number().int().positive().default(5),
    metric: z.enum(["euclidean", "cosine"]).default("euclidean"),
    /** Score = distance to the k-th neighbour, or the mean distance to the k nearest. */
    aggregate: z.enum(["kth", "mean"]).default("kth"),
  })
  .strict();

export type KnnParams = z.infer<typeof paramsSchema>;

/** Query rows per gemm block and trusted rows per block: a 512 x 8192 float block is 16-32 MB. */
const QUERY_BLOCK = 512;
const TRAIN_BLOCK = 8192;

export class KnnSpec implements DetectorSpec<KnnParams> {
  readonly kind = KNN;
  readonly params: Readonly<KnnParams>;
  constructor(params: Partial<KnnParams> = {}) {
    const r = paramsSchema.safeParse(params);
    if (!r.success) throw new MadkitError("BAD_ARGUMENT", `knn: ${r.error.issues[0]!.path.join(".")} ${r.error.issues[0]!.message}`);
    this.params = r.data;
  }

  fit(trusted: Matrix): FittedKnn {
    // The finiteness scan rides on the squared norms computed in the copying pass (scanFinite: false).
    checkFitInput(trusted, KNN, this.params.k, false);
    return FittedKnn.fromTrusted(this.params, trusted);
  }
}

/**
 * The trusted rows as kept by a fitted kNN: a private copy, row i at data[i * stride ...+ d]. Euclidean: stride
 * d + 1, the extra column holding −‖t‖²/2, so this is also the gemm search matrix (see FittedKnn.searchBase).
 */
interface TrustedLayout {
  readonly data: FloatArray;
  readonly stride: number;
}

/**
 * One pass over the trusted rows: copy each into the layout and sum its squares in float64. A NaN/Inf value (or
 * a value too large to square) makes the sum non-finite, so the sum doubles as the NaN/Inf check. Copying (not
 * keeping a reference, as scikit-learn does) is deliberate: the caller may reuse its buffer after fitting.
 */
function copyTrusted(x: Matrix, metric: KnnParams["metric"]): TrustedLayout {
  const { rows, cols: d, data } = x;
  const stride = metric === "euclidean" ? d + 1 : d;
  const out = data instanceof Float32Array ? new Float32Array(rows * stride) : new Float64Array(rows * stride);
  const d4 = d - (d % 4);
  for (let i = 0; i < rows; i++) {
    const o = i * d;
    const a = i * stride;
    // Four partial sums: breaks the add dependency chain, ~1.5x faster than one accumulator here.
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let j = 0;
    for (; j < d4; j += 4) {
      const v0 = data[o + j]!;
      const v1 = data[o + j + 1]!;
      const v2 = data[o + j + 2]!;
      const v3 = data[o + j + 3]!;
      out[a + j] = v0;
      out[a + j + 1] = v1;
      out[a + j + 2] = v2;
      out[a + j + 3] = v3;
      s0 += v0 * v0;
      s1 += v1 * v1;
      s2 += v2 * v2;
      s3 += v3 * v3;
    }
    let s = s0 + s1 + s2 + s3;
    for (; j < d; j++) {
      const v = data[o + j]!;
      out[a + j] = v;
      s += v * v;
    }
    if (s - s !== 0) throwNonFinite(x, i, KNN, "trusted");
    if (stride > d) out[a + d] = -0.5 * s;
  }
  return { data: out, stride };
}

/** Rows scaled to unit length (zero rows stay zero, as scikit-learn's normalize leaves them). */
function normalizeRows<T extends FloatArray>(x: Matrix, make: (n: number) => T): Matrix<T> {
  const d = x.cols;
  const out = make(x.rows * d);
  for (let i = 0; i < x.rows; i++) {
    let s = 0;
    for (let j = 0, o = i * d; j < d; j++) s += x.data[o + j]! * x.data[o + j]!;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0, o = i * d; j < d; j++) out[o + j] = x.data[o + j]! * inv;
  }
  return matrix(x.rows, d, out);
}

/**
 * Keep the k largest similarities of one gemm row in best[ko..ko+k) (descending) with their trusted-row
 * indices. Most entries fail the first comparison, so this loop runs at close to memory speed.
 */
function selectLargest(c: FloatArray, co: number, tn: number, ts: number, best: Float64Array, idx: Int32Array, ko: number, k: number): void {
  let worst = best[ko + k - 1]!;
  for (let j = 0; j < tn; j++) {
    const v = c[co + j]!;
    if (v > worst) {
      let p = k - 1;
      while (p > 0 && best[ko + p - 1]! < v) {
        best[ko + p] = best[ko + p - 1]!;
        idx[ko + p] = idx[ko + p - 1]!;
        p--;
      }
      best[ko + p] = v;
      idx[ko + p] = ts + j;
      worst = best[ko + k - 1]!;
    }
  }
}

/** One explained row: the score's additive per-feature parts and the k nearest trusted rows. */
export interface KnnExplanation extends Explanation {
  /** Trusted row indices, nearest first, with their distances (as `neighbors` returns them). */
  readonly neighbors: readonly { readonly index: number; readonly distance: number }[];
}

export class FittedKnn implements FittedDetector<KnnParams> {
  readonly kind = KNN;
  readonly dim: number;
  /** Number of trusted rows. */
  readonly nTrain: number;
  /** The private trusted rows (see TrustedLayout). */
  private readonly layout: TrustedLayout;
  /** The matrix searched by gemm (see searchBase). */
  private prepared: Matrix | undefined;

  /**
   * A fitted kNN over `trusted`, which must be finite and is kept by reference (callers pass a private copy:
   * LOF its own rows, restore the loaded tensor); `fit` goes through fromTrusted, which copies.
   */
  constructor(
    readonly params: Readonly<KnnParams>,
    trusted: Matrix,
    layout?: TrustedLayout,
  ) {
    this.dim = trusted.cols;
    this.nTrain = trusted.rows;
    this.layout = layout ?? { data: trusted.data, stride: trusted.cols };
  }

  /** Fit by copying `trusted` (checked finite on the way) into the search layout. */
  static fromTrusted(params: Readonly<KnnParams>, trusted: Matrix): FittedKnn {
    return new FittedKnn(params, trusted, copyTrusted(trusted, params.metric));
  }

  /** The trusted rows as an N x d matrix (a view when the layout has no extra column, else a copy). */
  trustedRows(): Matrix {
    const { data, stride } = this.layout;
    const d = this.dim;
    if (stride === d) return matrix(this.nTrain, d, data);
    const out = data instanceof Float32Array ? new Float32Array(this.nTrain * d) : new Float64Array(this.nTrain * d);
    for (let i = 0; i < this.nTrain; i++) out.set(data.subarray(i * stride, i * stride + d), i * d);
    return matrix(this.nTrain, d, out);
  }

  /**
   * The search matrix. Euclidean: rows [t, −‖t‖²/2], so that with queries [q, 1] one gemm yields
   * q·t − ‖t‖²/2 = (‖q‖² − ‖q − t‖²)/2, largest for the nearest t — no per-entry arithmetic left for the
   * selection loop; fit builds it directly, a constructed (LOF, restore) detector on first use. Cosine: unit
   * rows, gemm yields the cosine similarity.
   */
  private searchBase(): Matrix {
    if (!this.prepared) {
      const { data, stride } = this.layout;
      const rows = this.nTrain;
      const d = this.dim;
      const f32 = data instanceof Float32Array;
      if (this.params.metric === "cosine") {
        this.prepared = normalizeRows(this.trustedRows(), (n) => (f32 ? new Float32Array(n) : new Float64Array(n)));
      } else if (stride === d + 1) {
        this.prepared = matrix(rows, stride, data);
      } else {
        const w = d + 1;
        const out = f32 ? new Float32Array(rows * w) : new Float64Array(rows * w);
        for (let i = 0; i < rows; i++) {
          let s = 0;
          for (let j = 0, o = i * d, a = i * w; j < d; j++) {
            const v = data[o + j]!;
            out[a + j] = v;
            s += v * v;
          }
          out[i * w + d] = -0.5 * s;
        }
        this.prepared = matrix(rows, w, out);
      }
    }
    return this.prepared;
  }

  /** The k nearest trusted rows of each input row: indices (n x k) and float64 distances, nearest first. */
  neighbors(x: Matrix): { indices: Int32Array; distances: Float64Array } {
    checkScoreInput(x, this.dim, KNN);
    const k = this.params.k;
    const d = this.dim;
    const n = x.rows;
    const base = this.searchBase();
    const w = base.cols;
    const N = base.rows;
    const f32 = base.data instanceof Float32Array;
    const make = (len: number): FloatArray => (f32 ? new Float32Array(len) : new Float64Array(len));
    const cosine = this.params.metric === "cosine";
    const unit = cosine ? normalizeRows(x, make) : undefined;
    const indices = new Int32Array(n * k);
    const best = new Float64Array(n * k).fill(-Infinity);
    const qbuf = make(Math.min(QUERY_BLOCK, n) * w);
    const block = make(Math.min(QUERY_BLOCK, n) * Math.min(TRAIN_BLOCK, N));
    for (let qs = 0; qs < n; qs += QUERY_BLOCK) {
      const qn = Math.min(QUERY_BLOCK, n - qs);
      let qb: Matrix;
      if (unit) qb = matrix(qn, d, unit.data.subarray(qs * d, (qs + qn) * d) as FloatArray);
      else {
        // Query rows [q, 1] in the search precision.
        const qd = qbuf.subarray(0, qn * w);
        for (let i = 0; i < qn; i++) {
          qd.set(x.data.subarray((qs + i) * d, (qs + i + 1) * d), i * w);
          qd[i * w + d] = 1;
        }
        qb = matrix(qn, w, qd);
      }
      for (let ts = 0; ts < N; ts += TRAIN_BLOCK) {
        const tn = Math.min(TRAIN_BLOCK, N - ts);
        const tb = matrix(tn, w, base.data.subarray(ts * w, (ts + tn) * w) as FloatArray);
        const c = matrix(qn, tn, block.subarray(0, qn * tn) as FloatArray);
        gemm(qb as Matrix<FloatArray>, tb as Matrix<FloatArray>, { transB: true, out: c as Matrix<FloatArray> });
        for (let i = 0; i < qn; i++) selectLargest(c.data, i * tn, tn, ts, best, indices, (qs + i) * k, k);
      }
    }
    // Exact float64 distances for the winners, then re-sort (near-ties may swap after the exact recompute).
    const distances = new Float64Array(n * k);
    const { data: tdata, stride } = this.layout;
    const order = new Int32Array(k);
    const tmpD = new Float64Array(k);
    const tmpI = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < k; p++) {
        const t = indices[i * k + p]!;
        tmpD[p] = exactDistance(x.data, i * d, tdata, t * stride, d, cosine);
        tmpI[p] = t;
        order[p] = p;
      }
      order.sort((a, b) => tmpD[a]! - tmpD[b]! || tmpI[a]! - tmpI[b]!);
      for (let p = 0; p < k; p++) {
        distances[i * k + p] = tmpD[order[p]!]!;
        indices[i * k + p] = tmpI[order[p]!]!;
      }
    }
    return { indices, distances };
  }

  score(x: Matrix): Float64Array {
    return this.aggregate(this.neighbors(x).distances, x.rows);
  }

  /** Scores from the n x k neighbour distances: the k-th, or the mean of the k. */
  private aggregate(distances: Float64Array, n: number): Float64Array {
    const k = this.params.k;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      if (this.params.aggregate === "kth") out[i] = distances[i * k + k - 1]!;
      else {
        let s = 0;
        for (let p = 0; p < k; p++) s += distances[i * k + p]!;
        out[i] = s / k;
      }
    }
    return out;
  }

  /**
   * Per-feature additive parts of each row's score, and its k nearest trusted rows. The score is a distance (or
   * a mean of k), decomposed exactly: euclidean ‖q − t‖ = Σⱼ (qⱼ − tⱼ)²/‖q − t‖; cosine 1 − q̂·t̂ = Σⱼ ½(q̂ⱼ − t̂ⱼ)².
   * `kth` decomposes the distance to the k-th neighbour (the one the score is), `mean` averages over the k.
   */
  explain(x: Matrix, top = 5): KnnExplanation[] {
    const { indices, distances } = this.neighbors(x);
    const scores = this.aggregate(distances, x.rows);
    const { k, metric, aggregate } = this.params;
    const d = this.dim;
    const { data: tdata, stride } = this.layout;
    const parts = new Float64Array(d);
    const out: KnnExplanation[] = [];
    for (let i = 0; i < x.rows; i++) {
      parts.fill(0);
      const o = i * d;
      let qNorm = 0;
      if (metric === "cosine") {
        for (let j = 0; j < d; j++) qNorm += x.data[o + j]! * x.data[o + j]!;
        qNorm = Math.sqrt(qNorm);
      }
      const from = aggregate === "kth" ? k - 1 : 0;
      const weight = aggregate === "kth" ? 1 : 1 / k;
      for (let p = from; p < k; p++) {
        const t = indices[i * k + p]!;
        const dist = distances[i * k + p]!;
        if (metric === "euclidean") {
          if (dist === 0) continue;
          for (let j = 0; j < d; j++) {
            const diff = x.data[o + j]! - tdata[t * stride + j]!;
            parts[j]! += (weight * diff * diff) / dist;
          }
        } else {
          let tNorm = 0;
          for (let j = 0; j < d; j++) tNorm += tdata[t * stride + j]! * tdata[t * stride + j]!;
          tNorm = Math.sqrt(tNorm);
          // Zero rows count as the zero vector (distance 1 to everything, as in `neighbors`).
          const qi = qNorm > 0 ? 1 / qNorm : 0;
          const ti = tNorm > 0 ? 1 / tNorm : 0;
          for (let j = 0; j < d; j++) {
            const diff = x.data[o + j]! * qi - tdata[t * stride + j]! * ti;
            parts[j]! += 0.5 * weight * diff * diff;
          }
        }
      }
      const score = scores[i]!;
      const order = Array.from({ length: d }, (_, j) => j).sort((a, b) => parts[b]! - parts[a]! || a - b);
      const contributions: Contribution[] = order.slice(0, Math.max(0, Math.min(top, d))).map((j) => ({
        kind: "feature",
        index: j,
        contribution: parts[j]!,
        share: score !== 0 ? parts[j]! / score : 0,
      }));
      const neighbors = Array.from({ length: k }, (_, p) => ({ index: indices[i * k + p]!, distance: distances[i * k + p]! }));
      out.push({ score, top: contributions, neighbors });
    }
    return out;
  }

  save(dir: string): void {
    saveEnvelope(
      dir,
      { kind: KNN, params: this.params, state: {}, dim: this.dim, nTrain: this.nTrain },
      { trusted: { shape: [this.nTrain, this.dim], data: this.trustedRows().data } },
    );
  }

  static restore(loaded: LoadedDetector): FittedKnn {
    const params = parseWith(loaded, "params", paramsSchema);
    const t = loaded.tensors.get("trusted");
    const d = loaded.envelope.meta.dim;
    if (!t || !(t.data instanceof Float32Array || t.data instanceof Float64Array) || t.shape.length !== 2 || t.shape[1] !== d) {
      throw new MadkitError("STORE_CORRUPT", `${loaded.dir}: knn needs a float tensor 'trusted' of shape [N, ${d}]`);
    }
    if (t.shape[0]! < params.k) throw new MadkitError("STORE_CORRUPT", `${loaded.dir}: knn holds ${t.shape[0]} trusted rows, fewer than k = ${params.k}`);
    const trusted = matrix(t.shape[0]!, d, t.data);
    checkFitInput(trusted, `${KNN} (${loaded.dir})`, params.k);
    return new FittedKnn(params, trusted);
  }
}

/** Euclidean distance, or cosine distance clamped to [0, 2], between rows q[qo..qo+d) and t[to..to+d), in float64. */
function exactDistance(q: FloatArray, qo: number, t: FloatArray, to: number, d: number, cosine: boolean): number {
  let s = 0;
  if (cosine) {
    let qq = 0;
    let tt = 0;
    for (let j = 0; j < d; j++) {
      const a = q[qo + j]!;
      const b = t[to + j]!;
      s += a * b;
      qq += a * a;
      tt += b * b;
    }
    const denom = Math.sqrt(qq) * Math.sqrt(tt);
    return Math.min(2, Math.max(0, 1 - (denom > 0 ? s / denom : 0)));
  }
  for (let j = 0; j < d; j++) {
    const diff = q[qo + j]! - t[to + j]!;
    s += diff * diff;
  }
  return Math.sqrt(s);
}

export function knn(params: Partial<KnnParams> = {}): KnnSpec {
  return new KnnSpec(params);
}
