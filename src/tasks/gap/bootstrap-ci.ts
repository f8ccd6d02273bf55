// Seeded percentile-bootstrap 95% intervals for the capability-gap metrics (items resampled with replacement),
// in the `WithCi` shape of src/bench/results.ts.

import type { WithCi } from "../../bench/results.js";
import { SeededRng } from "../../train/rng.js";

/** value = metric on all items; lo/hi = 2.5% / 97.5% quantiles over `rounds` resamples (non-finite ones skipped). */
export function bootstrapCi(
  n: number, metric: (idx: Int32Array) => number, seed: number, rounds = 200,
): WithCi {
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  const value = metric(all);
  const rng = new SeededRng(seed);
  const vals: number[] = [];
  const idx = new Int32Array(n);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) idx[i] = rng.int(n);
    const v = metric(idx);
    if (Number.isFinite(v)) vals.push(v);
  }
  if (vals.length === 0) return { value, lo: value, hi: value };
  vals.sort((a, b) => a - b);
  const q = (p: number): number => vals[Math.min(vals.length - 1, Math.max(0, Math.floor(p * (vals.length - 1))))]!;
  return { value, lo: q(0.025), hi: q(0.975) };
}
