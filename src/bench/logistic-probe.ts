// A linear probe for the measurement-tampering task: L2-regularised logistic regression on standardised features,
// fitted by full-batch gradient descent with Nesterov momentum at the step 1/L (L: the loss's smoothness constant,
// from a power iteration on XᵀX/n). Flat Float64Array arithmetic; d and n are small (64-wide residuals, ~10³ rows).

import { MadkitError } from "../errors.js";

export interface LogisticProbe {
  readonly dim: number;
  readonly mean: Float64Array;
  readonly scale: Float64Array;
  /** Weights on the standardised features; the bias last. */
  readonly w: Float64Array;
}

export interface LogisticOptions {
  /** L2 penalty on the weights (not the bias), per row: loss = mean log-loss + λ/2 ‖w‖². */
  readonly l2?: number;
  readonly iterations?: number;
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Gradient of the regularised loss at `w` on standardised rows `z` (n × d), written into `g` (d + 1). */
export function logisticGradient(z: Float64Array, y: ArrayLike<number>, n: number, d: number, w: Float64Array, l2: number, g: Float64Array): void {
  g.fill(0);
  for (let i = 0; i < n; i++) {
    let s = w[d]!;
    for (let j = 0; j < d; j++) s += w[j]! * z[i * d + j]!;
    const e = (sigmoid(s) - y[i]!) / n;
    for (let j = 0; j < d; j++) g[j]! += e * z[i * d + j]!;
    g[d]! += e;
  }
  for (let j = 0; j < d; j++) g[j]! += l2 * w[j]!;
}

function standardise(x: ArrayLike<number>, n: number, d: number): { z: Float64Array; mean: Float64Array; scale: Float64Array } {
  const mean = new Float64Array(d);
  const scale = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) scale[j]! += (x[i * d + j]! - mean[j]!) ** 2 / n;
  for (let j = 0; j < d; j++) scale[j] = Math.sqrt(scale[j]!) || 1;
  const z = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) z[i * d + j] = (x[i * d + j]! - mean[j]!) / scale[j]!;
  return { z, mean, scale };
}

/** Largest eigenvalue of ZᵀZ/n (with the bias column), by power iteration. */
function topEigen(z: Float64Array, n: number, d: number): number {
  let v = new Float64Array(d + 1).fill(1 / Math.sqrt(d + 1));
  let lambda = 1;
  for (let it = 0; it < 30; it++) {
    const u = new Float64Array(d + 1);
    for (let i = 0; i < n; i++) {
      let s = v[d]!;
      for (let j = 0; j < d; j++) s += v[j]! * z[i * d + j]!;
      for (let j = 0; j < d; j++) u[j]! += (s * z[i * d + j]!) / n;
      u[d]! += s / n;
    }
    lambda = Math.hypot(...u);
    if (lambda === 0) return 1;
    v = u.map((x) => x / lambda);
  }
  return lambda;
}

/** Fit on rows `x` (n × d, row-major) with labels 0/1; both classes must be present. */
export function fitLogisticProbe(x: ArrayLike<number>, y: ArrayLike<number>, d: number, options: LogisticOptions = {}): LogisticProbe {
  const n = y.length;
  if (x.length !== n * d) throw new MadkitError("DIMENSION_MISMATCH", `logistic probe: ${x.length} values for ${n} rows × ${d} columns`);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    if (y[i] !== 0 && y[i] !== 1) throw new MadkitError("BAD_INPUT", `logistic probe: label ${i} is ${String(y[i])}, expected 0 or 1`);
    pos += y[i]!;
  }
  if (pos === 0 || pos === n) throw new MadkitError("BAD_INPUT", `logistic probe: needs both classes, got ${pos} positives of ${n}`);
  const l2 = options.l2 ?? 1e-2;
  const iterations = options.iterations ?? 400;
  const { z, mean, scale } = standardise(x, n, d);
  const step = 1 / (0.25 * topEigen(z, n, d) + l2);
  const w = new Float64Array(d + 1);
  const prev = new Float64Array(d + 1);
  const look = new Float64Array(d + 1);
  const g = new Float64Array(d + 1);
  for (let t = 1; t <= iterations; t++) {
    const mom = (t - 1) / (t + 2);
    for (let j = 0; j <= d; j++) look[j] = w[j]! + mom * (w[j]! - prev[j]!);
    logisticGradient(z, y, n, d, look, l2, g);
    prev.set(w);
    for (let j = 0; j <= d; j++) w[j] = look[j]! - step * g[j]!;
  }
  return { dim: d, mean, scale, w };
}

/** The probe's logit for each row of `x` (rows × dim): higher = class 1. */
export function scoreLogisticProbe(p: LogisticProbe, x: ArrayLike<number>, rows: number): Float64Array {
  if (x.length !== rows * p.dim) throw new MadkitError("DIMENSION_MISMATCH", `logistic probe: ${x.length} values for ${rows} rows × ${p.dim} columns`);
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = p.w[p.dim]!;
    for (let j = 0; j < p.dim; j++) s += (p.w[j]! * (x[i * p.dim + j]! - p.mean[j]!)) / p.scale[j]!;
    out[i] = s;
  }
  return out;
}
