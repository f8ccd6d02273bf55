// Which items of a round a reviewer labels, `budget` of them, by queue policy. Candidates are the items the
// probe does not already flag (what the probe covers goes to the harmful-input path, not to novelty review):
//   anomaly      — highest anomaly-detector score first;
//   uncertainty  — probe score closest to the probe's threshold first (on the logit scale);
//   mix          — anomaly and uncertainty picks in turn;
//   random       — a seeded random sample (the baseline);
//   novelty      — farthest from every labelled item first (cosine distance in the probe's features): what the
//                  probe has not been shown, whether or not the trusted-data detector finds it unusual.
// No ground-truth label is read here.

import { MadkitError } from "../errors.js";
import { REVIEW_POLICIES, type ReviewPolicy } from "../results/monitor-loop.js";
import { rngFor, shuffled } from "../random/seeded-sampling.js";

export interface ReviewCandidate {
  /** The anomaly detector's combined score (null: not finite, the most anomalous). */
  readonly combined: number | null;
  readonly probeScore: number;
  readonly probeFlagged: boolean;
  /** 1 − the largest cosine similarity to a labelled item (needed by the novelty policy only). */
  readonly novelty?: number;
}

function logit(p: number): number {
  const q = Math.min(Math.max(p, 1e-12), 1 - 1e-12);
  return Math.log(q / (1 - q));
}

/** Indices into `items`, in the order reviewed, at most `budget`. Ties keep the earlier index first. */
export function reviewOrder(policy: ReviewPolicy, items: readonly ReviewCandidate[], budget: number, probeThreshold: number, seed: number, round: number): number[] {
  if (!(REVIEW_POLICIES as readonly string[]).includes(policy)) throw new MadkitError("BAD_ARGUMENT", `unknown review policy '${String(policy)}'; expected one of ${REVIEW_POLICIES.join(", ")}`);
  if (!(Number.isInteger(budget) && budget >= 0)) throw new MadkitError("BAD_ARGUMENT", `review budget must be a whole number ≥ 0, got ${budget}`);
  const pool = items.map((_, i) => i).filter((i) => !items[i]!.probeFlagged);
  const anomaly = () => pool.slice().sort((a, b) => (items[b]!.combined ?? Infinity) - (items[a]!.combined ?? Infinity) || a - b);
  const t = logit(probeThreshold);
  const uncertainty = () => pool.slice().sort((a, b) => Math.abs(logit(items[a]!.probeScore) - t) - Math.abs(logit(items[b]!.probeScore) - t) || a - b);
  switch (policy) {
    case "anomaly":
      return anomaly().slice(0, budget);
    case "uncertainty":
      return uncertainty().slice(0, budget);
    case "novelty": {
      const missing = pool.find((i) => items[i]!.novelty === undefined);
      if (missing !== undefined) throw new MadkitError("BAD_ARGUMENT", `the novelty policy needs each candidate's novelty; item ${missing} has none`);
      return pool.slice().sort((a, b) => items[b]!.novelty! - items[a]!.novelty! || a - b).slice(0, budget);
    }
    case "random":
      return shuffled(rngFor(seed, `review/random/round-${round}`), pool).slice(0, budget);
    case "mix": {
      const a = anomaly();
      const u = uncertainty();
      const chosen: number[] = [];
      const seen = new Set<number>();
      for (let k = 0; chosen.length < Math.min(budget, pool.length); k++) {
        for (const i of [a[k], u[k]]) {
          if (i !== undefined && !seen.has(i) && chosen.length < budget) {
            seen.add(i);
            chosen.push(i);
          }
        }
      }
      return chosen;
    }
  }
}
