// The supervised monitor trained on reviewers' labels: L2-regularised logistic regression fitted by Newton's
// method (IRLS) on flat float64 arrays, over the standardised concatenation of the bundle's pooled hooks.
// Deterministic (no randomness at all); the intercept is not penalised, matching scikit-learn's objective
// Σ log-loss + (λ/2)‖w‖² with C = 1/λ.

import { z } from "zod";
import { MadkitError } from "../errors.js";
import { gramInto } from "../linalg/blas.js";
import { matrix, type Matrix } from "../linalg/matrix.js";

export interface LogisticFit {
  readonly weights: Float64Array;
  readonly intercept: number;
  readonly iterations: number;
}

/** The `name` of the MadkitError a degenerate probe fit throws (it survives the worker-thread boundary). */
export const DEGENERATE_PROBE = "DegenerateProbeError";

/** Fit on rows of `x` with 0/1 labels `y`. `l2` > 0 keeps the Hessian positive definite even when n < d. */
export function fitLogisticRegression(x: Matrix, y: Uint8Array, l2: number, maxIter = 100, tol = 1e-10): LogisticFit {
  const { rows: n, cols: d, data } = x;
  if (y.length !== n) throw new MadkitError("DIMENSION_MISMATCH", `logistic regression: ${n} rows but ${y.length} labels`);
  if (!(l2 > 0)) throw new MadkitError("BAD_ARGUMENT", `logistic regression: l2 must be > 0, got ${l2}`);
  const m = d + 1; // parameters: weights then intercept
  const beta = new Float64Array(m);
  const h = new Float64Array(m * m);
  const g = new Float64Array(m);
  const z = new Float64Array(n);
  // Rows √w_i·[x_i, 1]: the Hessian of the data term is their Gram matrix (one dsyrk per step, not n·m²/2 JS loops).
  const scaled = matrix(n, m, new Float64Array(n * m));
  let loss = objective(x, y, beta, l2, z);
  let it = 0;
  for (; it < maxIter; it++) {
    g.fill(0);
    const sd = scaled.data;
    for (let i = 0; i < n; i++) {
      const p = sigmoid(z[i]!);
      const r = p - y[i]!;
      const sw = Math.sqrt(p * (1 - p));
      const off = i * d;
      const soff = i * m;
      for (let a = 0; a < d; a++) {
        const xa = data[off + a]!;
        g[a]! += r * xa;
        sd[soff + a] = sw * xa;
      }
      sd[soff + d] = sw;
      g[d]! += r;
    }
    gramInto(scaled, h, 1, 0);
    for (let a = 0; a < d; a++) {
      g[a]! += l2 * beta[a]!;
      h[a * m + a]! += l2;
    }
    const step = solveSpd(h, g, m); // lower triangle of h is used
    // Damped Newton: halve the step until the objective does not rise (plain Newton can overshoot far out).
    let t = 1;
    const trial = new Float64Array(m);
    let next = loss;
    for (let k = 0; k < 30; k++) {
      for (let j = 0; j < m; j++) trial[j] = beta[j]! - t * step[j]!;
      next = objective(x, y, trial, l2, z);
      if (next <= loss + 1e-12 * Math.abs(loss)) break;
      t /= 2;
    }
    let maxStep = 0;
    for (let j = 0; j < m; j++) maxStep = Math.max(maxStep, Math.abs(trial[j]! - beta[j]!));
    beta.set(trial);
    loss = next;
    if (maxStep < tol) {
      it++;
      break;
    }
  }
  objective(x, y, beta, l2, z);
  return { weights: beta.slice(0, d), intercept: beta[d]!, iterations: it };
}

function sigmoid(t: number): number {
  return t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
}

/** Σ log(1 + e^{−s·z}) + (λ/2)‖w‖², filling z with the linear predictor. */
function objective(x: Matrix, y: Uint8Array, beta: Float64Array, l2: number, z: Float64Array): number {
  const { rows: n, cols: d, data } = x;
  let f = 0;
  for (let i = 0; i < n; i++) {
    let s = beta[d]!;
    const off = i * d;
    for (let a = 0; a < d; a++) s += data[off + a]! * beta[a]!;
    z[i] = s;
    const m = y[i] ? -s : s; // loss = log(1 + e^m)
    f += m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m));
  }
  let w2 = 0;
  for (let a = 0; a < d; a++) w2 += beta[a]! * beta[a]!;
  return f + 0.5 * l2 * w2;
}

/** Solve H s = g by Cholesky on the lower triangle of the symmetric positive-definite m x m matrix H. */
function solveSpd(h: Float64Array, g: Float64Array, m: number): Float64Array {
  const l = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = h[i * m + j]!;
      for (let k = 0; k < j; k++) s -= l[i * m + k]! * l[j * m + k]!;
      if (i === j) {
        if (!(s > 0)) throw new MadkitError("NON_FINITE", `logistic regression: Hessian is not positive definite at pivot ${i} (${s})`);
        l[i * m + i] = Math.sqrt(s);
      } else {
        l[i * m + j] = s / l[j * m + j]!;
      }
    }
  }
  const v = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = g[i]!;
    for (let k = 0; k < i; k++) s -= l[i * m + k]! * v[k]!;
    v[i] = s / l[i * m + i]!;
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = v[i]!;
    for (let k = i + 1; k < m; k++) s -= l[k * m + i]! * v[k]!;
    v[i] = s / l[i * m + i]!;
  }
  return v;
}

/**
 * Every feature must be a finite number small enough to standardise (its square summed over the rows stays
 * finite); the error names the row, the hook and the unit.
 */
function checkFeatures(hooks: readonly { name: string; dim: number }[], features: Matrix): void {
  const { rows: n, cols: d, data } = features;
  const width = hooks.reduce((s, h) => s + h.dim, 0);
  if (width !== d) throw new MadkitError("DIMENSION_MISMATCH", `probe training: the hooks are ${width} values wide together, the features ${d}`);
  const limit = Math.sqrt(Number.MAX_VALUE / Math.max(1, n)) / 2;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = data[i * d + j]!;
      if (Number.isFinite(v) && Math.abs(v) <= limit) continue;
      let off = j;
      const hook = hooks.find((h) => (off < h.dim ? true : ((off -= h.dim), false)))!;
      throw new MadkitError("NON_FINITE", `probe training: row ${i}, hook '${hook.name}' unit ${off} is ${v}; features must be finite numbers below ${limit.toExponential(2)} in size`);
    }
  }
}

const probeStateSchema = z.object({
  kind: z.literal("logistic-probe"),
  schemaVersion: z.literal(1),
  hooks: z.array(z.object({ name: z.string(), dim: z.number().int().positive() })),
  l2: z.number().positive(),
  mean: z.array(z.number()),
  scale: z.array(z.number()),
  weights: z.array(z.number()),
  intercept: z.number(),
  nAnomalous: z.number().int(),
  nBenign: z.number().int(),
  iterations: z.number().int(),
});
export type ProbeState = z.infer<typeof probeStateSchema>;

/** A trained probe: standardise the concatenated hooks, then P(anomalous) = σ(w·x + b). */
export class LogisticProbe {
  private readonly mean: Float64Array;
  private readonly scale: Float64Array;
  private readonly weights: Float64Array;

  private constructor(readonly state: ProbeState) {
    this.mean = Float64Array.from(state.mean);
    this.scale = Float64Array.from(state.scale);
    this.weights = Float64Array.from(state.weights);
  }

  /** `features` rows are the hooks' pooled vectors concatenated in `hooks` order; y = 1 for anomalous. */
  static train(hooks: readonly { name: string; dim: number }[], features: Matrix, y: Uint8Array, l2 = 1): LogisticProbe {
    let nPos = 0;
    for (const v of y) nPos += v;
    const nNeg = y.length - nPos;
    if (nPos === 0 || nNeg === 0) {
      throw new MadkitError("BAD_INPUT", `probe training needs both labels: got ${nPos} anomalous and ${nNeg} benign items`);
    }
    const { rows: n, cols: d, data } = features;
    checkFeatures(hooks, features);
    const mean = new Float64Array(d);
    const scale = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += data[i * d + j]! / n;
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) scale[j]! += (data[i * d + j]! - mean[j]!) ** 2 / n;
    // Constant features get scale 1 (they standardise to 0 and carry no weight).
    for (let j = 0; j < d; j++) scale[j] = scale[j]! > 1e-24 ? Math.sqrt(scale[j]!) : 1;
    const std = new Float64Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) std[i * d + j] = (data[i * d + j]! - mean[j]!) / scale[j]!;
    const fit = fitLogisticRegression({ rows: n, cols: d, data: std }, y, l2);
    const probe = new LogisticProbe({
      kind: "logistic-probe",
      schemaVersion: 1,
      hooks: hooks.map((h) => ({ name: h.name, dim: h.dim })),
      l2,
      mean: Array.from(mean),
      scale: Array.from(scale),
      weights: Array.from(fit.weights),
      intercept: fit.intercept,
      nAnomalous: nPos,
      nBenign: nNeg,
      iterations: fit.iterations,
    });
    probe.checkUseful(features);
    return probe;
  }

  /**
   * Refuse a probe that cannot tell inputs apart: non-finite parameters, or the same score for every labelled
   * item (a constant output).
   */
  private checkUseful(features: Matrix): void {
    const s = this.state;
    const refuse = (why: string) => {
      const e = new MadkitError("BAD_INPUT", `the trained probe is degenerate and was not installed: ${why}; label more (and more varied) items of both kinds, or change l2 (now ${s.l2})`);
      e.name = DEGENERATE_PROBE;
      return e;
    };
    if (!Number.isFinite(s.intercept) || this.weights.some((w) => !Number.isFinite(w)) || this.scale.some((v) => !(v > 0 && Number.isFinite(v)))) {
      throw refuse("some of its weights are not finite numbers");
    }
    const { rows: n, cols: d, data } = features;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      let z = s.intercept;
      for (let j = 0; j < d; j++) z += ((data[i * d + j]! - this.mean[j]!) / this.scale[j]!) * this.weights[j]!;
      lo = Math.min(lo, z);
      hi = Math.max(hi, z);
    }
    if (!(hi - lo > 1e-9 * Math.max(1, Math.abs(hi), Math.abs(lo)))) {
      throw refuse(`it gives all ${n} labelled items the same score (${sigmoid(hi).toPrecision(4)})`);
    }
  }

  static fromJson(json: string, what: string): LogisticProbe {
    const parsed = probeStateSchema.safeParse(JSON.parse(json));
    if (!parsed.success) throw new MadkitError("STORE_CORRUPT", `${what}: probe state invalid at ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
    return new LogisticProbe(parsed.data);
  }

  toJson(): string {
    return JSON.stringify(this.state);
  }

  /**
   * P(anomalous) for one input given each hook's pooled vector. Fail closed: activations so extreme that the
   * sum is not a number (+Infinity and −Infinity parts) give 1, not NaN.
   */
  score(acts: (hook: string) => ArrayLike<number>): number {
    let s = this.state.intercept;
    let off = 0;
    for (const h of this.state.hooks) {
      const v = acts(h.name);
      for (let j = 0; j < h.dim; j++, off++) s += ((v[j]! - this.mean[off]!) / this.scale[off]!) * this.weights[off]!;
    }
    return Number.isNaN(s) ? 1 : sigmoid(s);
  }
}
