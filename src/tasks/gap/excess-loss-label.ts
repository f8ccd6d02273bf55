// The capability-gap label, from behaviour over several words: the weak model's excess loss (nats) on the
// strong model's next greedy words, i.e. its loss on them minus the strong model's own, measured against the
// weak model's typical excess (the median over calibration positions, which are never evaluated). No score
// reads these losses (an activation score reads the prefix's hidden states; see score-kinds.ts).

/** Greedy words of the strong model's continuation the label is measured on. */
export const LABEL_WORDS = 3;
/**
 * Gap: the weak model finds the strong model's continuation at least 10 times less likely, relative to the strong
 * model, than it typically does (ln 10 nats above its median excess). The weak models differ by an order of
 * magnitude in how far behind they typically are (the measured medians are in docs/backdoor-and-gaps.md), so a
 * margin over no reference would call nearly every position of the weakest ones a gap.
 */
export const GAP_MARGIN_NATS = Math.log(10);
/**
 * No gap: the weak model falls behind no more than it typically does (excess at or below its median). Between the
 * two margins the call is unclear, so those positions are left out and counted.
 */
export const NO_GAP_MARGIN_NATS = 0;

export type ExcessLossLabel = 1 | 0 | null;

/** 1 = gap, 0 = no gap, null = between the margins (or no continuation to measure). */
export function excessLossLabel(excess: number, typicalExcess: number): ExcessLossLabel {
  const over = excess - typicalExcess;
  if (!Number.isFinite(over)) return null;
  if (over > GAP_MARGIN_NATS) return 1;
  if (over <= NO_GAP_MARGIN_NATS) return 0;
  return null;
}

/** The median of the finite values (NaN when there are none). */
export function medianOf(values: readonly number[]): number {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
