// Every capability-gap score (higher = more likely a gap), with what it reads; its kind follows from that
// (score-kinds.ts). The activation scores are fitted on the trusted positions only.

import { matrix, type Matrix } from "../../linalg/matrix.js";
import type { GapPosition } from "./constructed-set.js";
import type { StrongView, WeakView } from "./model-views.js";
import { fitResidualScorer, residualScores } from "./residual-score.js";
import { requireActivationScore, type GapScoreSpec } from "./score-kinds.js";
import type { WordRarity } from "./word-rarity.js";

export const GAP_SCORE_SPECS = [
  { name: "activation:ridge-residual", reads: ["prefix-activations"] },
  { name: "activation:strong-mahalanobis", reads: ["prefix-activations"] },
  { name: "baseline:strong-entropy", reads: ["own-next-token"] },
  { name: "baseline:weak-entropy", reads: ["own-next-token"] },
  { name: "baseline:word-rarity", reads: ["prefix-text"] },
  { name: "baseline:prefix-length", reads: ["prefix-text"] },
  { name: "behaviour:weak-surprise", reads: ["strong-output"] },
  { name: "behaviour:surprise-gap", reads: ["strong-output"] },
  { name: "behaviour:next-token-kl", reads: ["both-next-token"] },
  { name: "behaviour:disagreement", reads: ["strong-output"] },
] as const satisfies readonly GapScoreSpec[];
export type GapScoreName = (typeof GAP_SCORE_SPECS)[number]["name"];

function klDivergence(p: Float64Array, q: Float64Array): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) if (p[i]! > 0) s += p[i]! * (Math.log(p[i]!) - Math.log(Math.max(q[i]!, 1e-30)));
  return s;
}

function featureMatrix(views: readonly { features: Float32Array }[], rows: readonly number[] | null): Matrix<Float64Array> {
  const idx = rows ?? views.map((_, i) => i);
  const d = views[0]?.features.length ?? 0;
  const out = new Float64Array(idx.length * d);
  idx.forEach((i, k) => out.set(views[i]!.features, k * d));
  return matrix(idx.length, d, out);
}

/** Fewer trusted positions than this and no activation score is fitted (its rows are left out). */
export const MIN_TRUSTED_POSITIONS = 8;

/**
 * The activation scores at every position (none with fewer than MIN_TRUSTED_POSITIONS trusted ones): the weak → strong ridge residual, and the strong model's state alone
 * (the same scorer with no weak columns: a Mahalanobis distance from the trusted positions).
 */
export function activationScores(strong: readonly StrongView[], weak: readonly WeakView[], trusted: readonly number[]): Map<GapScoreName, Float64Array> {
  for (const spec of GAP_SCORE_SPECS) if (spec.name.startsWith("activation:")) requireActivationScore(spec);
  if (trusted.length < MIN_TRUSTED_POSITIONS) return new Map();
  const y = featureMatrix(strong, null);
  const x = featureMatrix(weak, null);
  const none = matrix(strong.length, 0, new Float64Array(0));
  const ridge = fitResidualScorer(featureMatrix(weak, trusted), featureMatrix(strong, trusted));
  const alone = fitResidualScorer(matrix(trusted.length, 0, new Float64Array(0)), featureMatrix(strong, trusted));
  return new Map<GapScoreName, Float64Array>([
    ["activation:ridge-residual", residualScores(ridge, x, y)],
    ["activation:strong-mahalanobis", residualScores(alone, none, y)],
  ]);
}

/** Every score at every position (NaN for next-token-kl across tokenizers; no activation score without enough trusted positions). */
export function allGapScores(
  positions: readonly GapPosition[], strong: readonly StrongView[], weak: readonly WeakView[], trusted: readonly number[],
  sameTokenizer: boolean, rarity: WordRarity,
): Map<GapScoreName, Float64Array> {
  const per = (f: (i: number) => number): Float64Array => Float64Array.from(positions, (_, i) => f(i));
  const scores = activationScores(strong, weak, trusted);
  scores.set("baseline:strong-entropy", per((i) => strong[i]!.entropy));
  scores.set("baseline:weak-entropy", per((i) => weak[i]!.entropy));
  scores.set("baseline:word-rarity", per((i) => rarity(positions[i]!.prefix)));
  scores.set("baseline:prefix-length", per((i) => positions[i]!.prefix.split(/\s+/).length));
  scores.set("behaviour:weak-surprise", per((i) => weak[i]!.wordLoss));
  scores.set("behaviour:surprise-gap", per((i) => weak[i]!.wordLoss - strong[i]!.wordLoss));
  scores.set("behaviour:next-token-kl", per((i) => (sameTokenizer ? klDivergence(strong[i]!.dist, weak[i]!.dist) : NaN)));
  scores.set("behaviour:disagreement", per((i) => (weak[i]!.word === strong[i]!.word ? 0 : 1)));
  return scores;
}
