// Per-token anomaly scores: a detector fitted on token-level trusted activations (pooling `all`) scores
// every position of an input, and the anomalous span is the contiguous run of tokens whose scores rise
// furthest above the threshold (a maximum-sum subarray of score − threshold, Kadane's algorithm).

import { MadkitError } from "../errors.js";
import type { FittedDetector } from "../detectors/detector.js";
import type { ActivationSource } from "../models/source.js";

export interface TokenScores {
  readonly text: string;
  /** The text of each token as the model split it. */
  readonly pieces: readonly string[];
  /** One score per token (same order as `pieces`). */
  readonly scores: Float64Array;
}

export interface Span {
  /** First token of the span. */
  readonly start: number;
  /** One past the last token. */
  readonly end: number;
  /** Σ (score − threshold) over the span; ≤ 0 when no token exceeds the threshold. */
  readonly excess: number;
}

/** Score every token of each text at one hook with a detector fitted on token rows of that hook. */
export async function scoreTokens(
  source: ActivationSource,
  detector: FittedDetector,
  hook: string,
  texts: readonly string[],
): Promise<TokenScores[]> {
  const point = source.hooks().find((h) => h.name === hook);
  if (!point) {
    throw new MadkitError("UNKNOWN_HOOK", `unknown hook '${hook}'; this model's hook points are: ${source.hooks().map((h) => h.name).join(", ")}`);
  }
  if (point.granularity !== "token") {
    throw new MadkitError("BAD_ARGUMENT", `hook '${hook}' has one row per input; per-token scores need a token hook`);
  }
  if (point.dim !== detector.dim) {
    throw new MadkitError("DIMENSION_MISMATCH", `detector was fitted on ${detector.dim} columns, hook '${hook}' has ${point.dim}`);
  }
  const res = await source.forward(texts, { hooks: [hook] });
  return texts.map((text, i) => {
    const acts = res.activations[i]!.get(hook)!;
    const pieces = source.tokenize(text).pieces.slice(0, acts.rows);
    return { text, pieces, scores: acts.rows > 0 ? detector.score(acts) : new Float64Array(0) };
  });
}

/**
 * The contiguous span maximising Σ (score − threshold). With no token above the threshold it is the single
 * highest-scoring token (excess ≤ 0), so every input has a "most suspicious" place to show a reviewer.
 */
export function anomalousSpan(scores: ArrayLike<number>, threshold: number): Span {
  if (scores.length === 0) return { start: 0, end: 0, excess: 0 };
  let best: Span = { start: 0, end: 1, excess: scores[0]! - threshold };
  let runStart = 0;
  let run = 0;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i]! - threshold;
    if (run <= 0) {
      run = v;
      runStart = i;
    } else {
      run += v;
    }
    if (run > best.excess) best = { start: runStart, end: i + 1, excess: run };
  }
  return best;
}
