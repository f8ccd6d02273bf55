// Portable symmetric eigendecomposition: Householder reduction to tridiagonal form, then the implicit QL
// method with Wilkinson-style shifts, accumulating the transformations (the EISPACK tred2/tql2 pair, as in
// JAMA). The transformation matrix is held transposed (row j = column j of V), so that every inner loop —
// the Householder updates and each Givens rotation — walks contiguous memory, and on return row j is
// eigenvector j: exactly LAPACK's column-major output.

const EPS = 2 ** -52;
const MAX_SWEEPS_PER_VALUE = 60;

/**
 * dsyevd("V", "L") semantics: `a` is n x n column-major with the lower triangle read (= row-major upper);
 * on return a[j*n .. j*n+n] is the unit eigenvector of w[j], w ascending. Returns 0, or i > 0 when the QL
 * iteration for value i did not converge or went non-finite. The input must be finite (symmetricEigen checks
 * it for every back end, since LAPACK's dsyevd does not).
 */
export function portableSyevd(n: number, a: Float64Array, w: Float64Array): number {
  if (n === 1) {
    w[0] = a[0]!;
    a[0] = 1;
    return 0;
  }
  const e = new Float64Array(n);
  tridiagonalize(n, a, w, e);
  return diagonalize(n, a, w, e);
}

/** W (row-major, W[j*n+k] = V[k][j]) starts as the matrix's upper triangle; ends as the accumulated Householder product. */
// Long by design: one loop nest of EISPACK's tred2 (Householder reduction); splitting it would thread its running scalars (scale, h, f, g, hh) through calls.
function tridiagonalize(n: number, W: Float64Array, d: Float64Array, e: Float64Array): void {
  for (let j = 0; j < n; j++) d[j] = W[j * n + n - 1]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = W[j * n + i - 1]!;
        W[j * n + i] = 0;
        W[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k]! /= scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      e.fill(0, 0, i);
      for (let j = 0; j < i; j++) {
        const rj = j * n;
        f = d[j]!;
        W[i * n + j] = f;
        g = e[j]! + W[rj + j]! * f;
        for (let k = j + 1; k < i; k++) {
          const v = W[rj + k]!;
          g += v * d[k]!;
          e[k]! += v * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j]! /= h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j]! -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        const rj = j * n;
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k < i; k++) W[rj + k]! -= f * e[k]! + g * d[k]!;
        d[j] = W[rj + i - 1]!;
        W[rj + i] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    const ri = i * n;
    const rn = (i + 1) * n;
    W[ri + n - 1] = W[ri + i]!;
    W[ri + i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = W[rn + k]! / h;
      for (let j = 0; j <= i; j++) {
        const rj = j * n;
        let g = 0;
        for (let k = 0; k <= i; k++) g += W[rn + k]! * W[rj + k]!;
        for (let k = 0; k <= i; k++) W[rj + k]! -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) W[rn + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = W[j * n + n - 1]!;
    W[j * n + n - 1] = 0;
  }
  W[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/** Implicit QL on the tridiagonal (d, e), rotating the rows of W; then sort ascending. */
// Long by design: one loop nest of EISPACK's tql2 (implicit QL, then the sort); splitting it would thread a dozen scalars (f, g, p, r, c, s, tst1, ...) through calls.
function diagonalize(n: number, W: Float64Array, d: Float64Array, e: Float64Array): number {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= EPS * tst1) break;
      m++;
    }
    if (m === n) m = n - 1;
    if (m > l) {
      let sweeps = 0;
      do {
        if (++sweeps > MAX_SWEEPS_PER_VALUE) return l + 1;
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        p = d[m]!;
        let c = 1, c2 = 1, c3 = 1, s = 0, s2 = 0;
        const el1 = e[l + 1]!;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          const ri = i * n;
          const rj = ri + n;
          for (let k = 0; k < n; k++) {
            const vi = W[ri + k]!;
            const vj = W[rj + k]!;
            W[rj + k] = s * vi + c * vj;
            W[ri + k] = c * vi - s * vj;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
        if (!Number.isFinite(d[l]!)) return l + 1;
      } while (Math.abs(e[l]!) > EPS * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
  // Selection sort ascending, swapping eigenvector rows with their values.
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    let p = d[i]!;
    for (let j = i + 1; j < n; j++) {
      if (d[j]! < p) {
        k = j;
        p = d[j]!;
      }
    }
    if (k !== i) {
      d[k] = d[i]!;
      d[i] = p;
      const ri = i * n;
      const rk = k * n;
      for (let j = 0; j < n; j++) {
        const t = W[ri + j]!;
        W[ri + j] = W[rk + j]!;
        W[rk + j] = t;
      }
    }
  }
  return 0;
}
