// The bag-of-words baselines: detectors that see only which tokens an input contains, never an activation. If an
// activation detector cannot beat a unigram model of the trusted texts, what it detects is vocabulary, not computation.
// Two variants: mean per-token surprisal under an add-k unigram model, and cosine distance from the trusted centroid.

import { MadkitError } from "../errors.js";
import type { ActivationSource } from "../models/source.js";
import { scoreLayoutRows, type BenchBaseline } from "./baseline.js";
import type { BenchPlan, PlannedDetector } from "./plan.js";
import { rowsIn } from "./stages/layout.js";

export type BagOfWordsVariant = "unigram" | "cosine";

export interface BagOfWordsOptions {
  /** Add-k smoothing of the unigram counts: p(t) = (c_t + k) / (N + kV). Default 1 (Laplace). */
  readonly smoothing?: number;
}

/** A bag-of-words model of the trusted fit texts: unigram probabilities and the centroid of normalised count vectors. */
export class FittedBagOfWords {
  /** −ln p(t) per token id under the smoothed unigram model. */
  readonly surprisal: Float64Array;
  /** Mean over fit texts of each text's L2-normalised count vector. */
  readonly centroid: Float64Array;
  readonly centroidNorm: number;

  constructor(
    readonly vocabSize: number,
    readonly smoothing: number,
    surprisal: Float64Array,
    centroid: Float64Array,
  ) {
    this.surprisal = surprisal;
    this.centroid = centroid;
    let s = 0;
    for (let i = 0; i < centroid.length; i++) s += centroid[i]! * centroid[i]!;
    this.centroidNorm = Math.sqrt(s);
  }

  private check(ids: ArrayLike<number>, what: string): void {
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i]!;
      if (!(Number.isInteger(t) && t >= 0 && t < this.vocabSize)) {
        throw new MadkitError("BAD_INPUT", `bag-of-words: ${what} token ${i} is ${t}, expected an integer id in [0, ${this.vocabSize})`);
      }
    }
  }

  /**
   * Mean −ln p(t) over the input's tokens. An input with no tokens scores as one unseen token: it is as unlike
   * the trusted texts as a text can be, and every score must stay finite for conformal calibration.
   */
  unigramScore(ids: ArrayLike<number>): number {
    this.check(ids, "input");
    if (ids.length === 0) return this.unseenSurprisal();
    let s = 0;
    for (let i = 0; i < ids.length; i++) s += this.surprisal[ids[i]!]!;
    return s / ids.length;
  }

  /** −ln of the smoothed probability of a token never seen in the fit texts. */
  unseenSurprisal(): number {
    let max = -Infinity;
    for (let i = 0; i < this.surprisal.length; i++) if (this.surprisal[i]! > max) max = this.surprisal[i]!;
    return max;
  }

  /** 1 − cos(counts(input), centroid); an input with no tokens (or an all-zero centroid) scores 1, orthogonal. */
  cosineScore(ids: ArrayLike<number>): number {
    this.check(ids, "input");
    if (ids.length === 0 || this.centroidNorm === 0) return 1;
    // Sparse: only the input's distinct tokens contribute to the dot product and to its norm.
    const counts = new Map<number, number>();
    for (let i = 0; i < ids.length; i++) counts.set(ids[i]!, (counts.get(ids[i]!) ?? 0) + 1);
    let dot = 0;
    let nn = 0;
    for (const [t, c] of counts) {
      dot += c * this.centroid[t]!;
      nn += c * c;
    }
    return 1 - dot / (Math.sqrt(nn) * this.centroidNorm);
  }

  score(variant: BagOfWordsVariant, ids: ArrayLike<number>): number {
    return variant === "unigram" ? this.unigramScore(ids) : this.cosineScore(ids);
  }
}

/** Fit both variants on the token ids of the trusted fit texts. */
export function fitBagOfWords(fitIds: readonly ArrayLike<number>[], vocabSize: number, options: BagOfWordsOptions = {}): FittedBagOfWords {
  const k = options.smoothing ?? 1;
  if (!(k > 0 && Number.isFinite(k))) throw new MadkitError("BAD_ARGUMENT", `bag-of-words: smoothing must be a positive number, got ${k}`);
  if (!(Number.isInteger(vocabSize) && vocabSize > 0)) throw new MadkitError("BAD_ARGUMENT", `bag-of-words: vocabSize must be a positive integer, got ${vocabSize}`);
  if (fitIds.length === 0) throw new MadkitError("BAD_INPUT", "bag-of-words: no fit texts");
  const counts = new Float64Array(vocabSize);
  const centroid = new Float64Array(vocabSize);
  const mine = new Map<number, number>();
  let total = 0;
  fitIds.forEach((ids, d) => {
    mine.clear();
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i]!;
      if (!(Number.isInteger(t) && t >= 0 && t < vocabSize)) {
        throw new MadkitError("BAD_INPUT", `bag-of-words: fit text ${d} token ${i} is ${t}, expected an integer id in [0, ${vocabSize})`);
      }
      counts[t]! += 1;
      mine.set(t, (mine.get(t) ?? 0) + 1);
    }
    total += ids.length;
    let nn = 0;
    for (const c of mine.values()) nn += c * c;
    if (nn > 0) for (const [t, c] of mine) centroid[t]! += c / Math.sqrt(nn) / fitIds.length;
  });
  const denom = total + k * vocabSize;
  const surprisal = new Float64Array(vocabSize);
  for (let t = 0; t < vocabSize; t++) surprisal[t] = -Math.log((counts[t]! + k) / denom);
  return new FittedBagOfWords(vocabSize, k, surprisal, centroid);
}

/** Scores for the texts at positions `rows` (same shape as `lengthScores`). */
export function bagOfWordsScores(variant: BagOfWordsVariant, fitted: FittedBagOfWords, rows: ArrayLike<number>, ids: readonly ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) out[k] = fitted.score(variant, ids[rows[k]!]!);
  return out;
}

/**
 * Each text's token ids as the model sees them (cut at its context length, like the activations), and a
 * vocabulary size that covers every id (the model's, unless its tokenizer emits an id beyond it).
 */
export function tokenIdsOf(source: Pick<ActivationSource, "tokenize" | "info">, texts: readonly string[]): { ids: Int32Array[]; vocabSize: number } {
  let vocabSize = source.info.vocabSize;
  const ids = texts.map((t) => {
    const x = source.tokenize(t).ids.subarray(0, source.info.contextLength);
    for (let i = 0; i < x.length; i++) if (x[i]! >= vocabSize) vocabSize = x[i]! + 1;
    return x;
  });
  return { ids, vocabSize };
}

/** The planned entries of the two variants: family `baseline`, so the selection never picks them. */
export const BAG_OF_WORDS_DETECTORS: readonly PlannedDetector[] = [
  { name: "bow:unigram-surprisal", kind: "bag-of-words", params: { variant: "unigram", smoothing: 1 }, family: "baseline", scope: "input", hooks: "none" },
  { name: "bow:cosine", kind: "bag-of-words", params: { variant: "cosine" }, family: "baseline", scope: "input", hooks: "none" },
];

export const BAG_OF_WORDS_NOTE =
  "Bag-of-words baselines (run wherever the length baseline runs) see only the model's token ids, fitted on trusted.fit: " +
  "bow:unigram-surprisal is the mean −ln p(token) under an add-1 unigram model, bow:cosine is 1 − the cosine between the input's " +
  "normalised token-count vector and the trusted centroid. A detector that does not beat them detects vocabulary.";

/**
 * The plan with the bag-of-words baselines next to the length baseline: added wherever the plan runs a length
 * baseline and has no bag-of-words entry yet, so `--detectors` choices without baselines stay as they are.
 */
export function withBagOfWordsBaselines(plan: BenchPlan): BenchPlan {
  const hasLength = plan.detectors.some((d) => d.kind === "length");
  const hasBow = plan.detectors.some((d) => d.kind === "bag-of-words");
  if (!hasLength || hasBow) return plan;
  let at = 0;
  plan.detectors.forEach((d, i) => {
    if (d.kind === "length") at = i + 1;
  });
  return {
    ...plan,
    detectors: [...plan.detectors.slice(0, at), ...BAG_OF_WORDS_DETECTORS, ...plan.detectors.slice(at)],
    notes: [...plan.notes, BAG_OF_WORDS_NOTE],
  };
}

/** The bench's bag-of-words baseline: each variant fitted on the token ids of the unit's trusted fit texts. */
export const BAG_OF_WORDS_BASELINE: BenchBaseline = {
  kind: "bag-of-words",
  addToPlan: withBagOfWordsBaselines,
  hookName: (d) => d.name,
  fitAndScore: ({ detector, source, texts, layout, once }) => {
    const t0 = performance.now();
    // Token ids of every text, once per unit: the bag-of-words baselines see nothing else.
    const tok = once("token-ids", () => tokenIdsOf(source, texts));
    const bow = fitBagOfWords(Array.from(rowsIn(layout.fit), (r) => tok.ids[r]!), tok.vocabSize, { smoothing: detector.params.smoothing as number | undefined });
    const fitSeconds = (performance.now() - t0) / 1000;
    const variant = detector.params.variant as BagOfWordsVariant;
    return scoreLayoutRows((rows) => bagOfWordsScores(variant, bow, rows, tok.ids), layout, fitSeconds);
  },
};
