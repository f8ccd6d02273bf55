// Portable Cholesky routines with LAPACK's conventions (column-major, lower factor): potrf factors in place,
// potrs solves from the factor, trtri inverts a lower-triangular matrix. Column-major lower means column j
// of L is contiguous (a[j*n + i], i ≥ j), so every inner loop below walks one column.

/** A = L·Lᵀ in the lower triangle of `a` (column-major); returns 0, or the 1-based order of the first non-positive pivot. */
export function portablePotrf(n: number, a: Float64Array): number {
  // Right-looking: finish column j, then subtract its outer product from the trailing lower triangle.
  for (let j = 0; j < n; j++) {
    const cj = j * n;
    const pivot = a[cj + j]!;
    if (!(pivot > 0) || !Number.isFinite(pivot)) return j + 1;
    const ljj = Math.sqrt(pivot);
    a[cj + j] = ljj;
    const inv = 1 / ljj;
    for (let i = j + 1; i < n; i++) a[cj + i]! *= inv;
    for (let k = j + 1; k < n; k++) {
      const lkj = a[cj + k]!;
      if (lkj === 0) continue;
      const ck = k * n;
      for (let i = k; i < n; i++) a[ck + i]! -= a[cj + i]! * lkj;
    }
  }
  return 0;
}

/** Solve L·Lᵀ·X = B in place; B column-major n x nrhs (each right-hand side contiguous). */
export function portablePotrs(n: number, nrhs: number, l: Float64Array, b: Float64Array): number {
  for (let r = 0; r < nrhs; r++) {
    const o = r * n;
    // L·y = b, column by column.
    for (let j = 0; j < n; j++) {
      const cj = j * n;
      const yj = (b[o + j]! /= l[cj + j]!);
      for (let i = j + 1; i < n; i++) b[o + i]! -= l[cj + i]! * yj;
    }
    // Lᵀ·x = y: row j of Lᵀ is column j of L.
    for (let j = n - 1; j >= 0; j--) {
      const cj = j * n;
      let s = b[o + j]!;
      for (let i = j + 1; i < n; i++) s -= l[cj + i]! * b[o + i]!;
      b[o + j] = s / l[cj + j]!;
    }
  }
  return 0;
}

/** L⁻¹ in place for lower-triangular L (column-major, non-unit diagonal); returns 0 or the 1-based zero pivot. */
export function portableTrtri(n: number, a: Float64Array): number {
  for (let j = 0; j < n; j++) if (a[j * n + j] === 0) return j + 1;
  const w = new Float64Array(n);
  // Columns from the last: with T = L⁻¹ known below-right of (j, j), column j of T is -T₂₂·l₂₁ / l_jj.
  for (let j = n - 1; j >= 0; j--) {
    const cj = j * n;
    const tjj = 1 / a[cj + j]!;
    a[cj + j] = tjj;
    w.fill(0, j + 1, n);
    for (let k = j + 1; k < n; k++) {
      const lkj = a[cj + k]!;
      if (lkj === 0) continue;
      const ck = k * n;
      for (let i = k; i < n; i++) w[i]! += a[ck + i]! * lkj;
    }
    for (let i = j + 1; i < n; i++) a[cj + i] = -w[i]! * tjj;
  }
  return 0;
}
