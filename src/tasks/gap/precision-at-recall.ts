// Precision at a recall level, threshold-free: rank by score (higher first) and read the precision at the
// first cut that holds the wanted share of the positives. Ties at the cut are taken whole (the cut cannot split
// items with equal scores), which is the honest precision for a score that cannot order them.

import { MadkitError } from "../../errors.js";

export function precisionAtRecall(scores: ArrayLike<number>, labels: ArrayLike<number>, recall: number): number {
  if (scores.length !== labels.length) throw new MadkitError("DIMENSION_MISMATCH", `precision at recall: ${scores.length} scores, ${labels.length} labels`);
  if (!(recall > 0 && recall <= 1)) throw new MadkitError("BAD_ARGUMENT", `precision at recall: recall must be in (0, 1], got ${recall}`);
  let pos = 0;
  for (let i = 0; i < labels.length; i++) pos += labels[i] ? 1 : 0;
  if (pos === 0 || pos === labels.length) return NaN;
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const need = Math.ceil(recall * pos - 1e-9);
  let tp = 0;
  for (let k = 0; k < order.length; ) {
    let j = k;
    while (j < order.length && scores[order[j]!] === scores[order[k]!]) tp += labels[order[j++]!] ? 1 : 0;
    if (tp >= need) return tp / j;
    k = j;
  }
  return pos / labels.length;
}
