// What each model does at each capability-gap position: the strong model's greedy words, its losses and hidden
// state; the weak model's greedy word, its losses on the strong model's words and its hidden state. The label
// reads the losses on the continuation; the activation score reads the hidden states; nothing else is shared.

import type { GapPosition } from "./constructed-set.js";
import { LABEL_WORDS } from "./excess-loss-label.js";
import type { Llama2cSource } from "../../models/llama2c/source.js";
import { nextWordView, PrefixSession } from "./next-word.js";

/** The hidden state both models are read at: the final norm's output at the prefix's last token (fixed a priori). */
export const FEATURE_HOOK = "ln_final.hook_normalized";

export interface ModelView {
  /** Greedy first word ("" when the continuation starts with punctuation). */
  readonly word: string;
  /** The next-token distribution's entropy (nats). */
  readonly entropy: number;
  readonly dist: Float64Array;
  readonly features: Float32Array;
}

export interface StrongView extends ModelView {
  /** The strong model's greedy continuation through LABEL_WORDS words: what the label's losses are measured on. */
  readonly text: string;
  /** −log p(" " + word) and −log p(" " + text) under the strong model (nats). */
  readonly wordLoss: number;
  readonly textLoss: number;
}

export interface WeakView extends ModelView {
  /** The weak model's losses on the strong model's word and continuation (NaN where the strong model has none). */
  readonly wordLoss: number;
  readonly textLoss: number;
}

function entropy(p: Float64Array): number {
  let h = 0;
  for (const x of p) if (x > 0) h -= x * Math.log(x);
  return h;
}

/** Positions come paragraph by paragraph in text order: one prefix session per paragraph and model. */
function sessionPerParagraph(): (p: GapPosition) => PrefixSession {
  let current = "";
  let session = new PrefixSession();
  return (p) => {
    if (p.paragraphId !== current) [current, session] = [p.paragraphId, new PrefixSession()];
    return session;
  };
}

/** Every call leaves room for the label's words, so one paragraph's prefixes fit the context alike (and share a session). */
const VIEW_OPTIONS = { words: LABEL_WORDS, roomWords: LABEL_WORDS, hooks: [FEATURE_HOOK] } as const;
const LOSS_ONLY = { words: 0, roomWords: LABEL_WORDS } as const;
const FIRST_WORD = { words: 1, roomWords: LABEL_WORDS, hooks: [FEATURE_HOOK] } as const;

export function strongModelViews(strong: Llama2cSource, positions: readonly GapPosition[]): StrongView[] {
  const session = sessionPerParagraph();
  return positions.map((p) => {
    const s = session(p);
    const v = nextWordView(strong, p.prefix, [], s, VIEW_OPTIONS);
    const [wordLoss, textLoss] = v.greedyWord ? nextWordView(strong, p.prefix, [v.greedyWord, v.greedyText], s, LOSS_ONLY).surprise : [Infinity, Infinity];
    return { word: v.greedyWord, text: v.greedyText, wordLoss: wordLoss!, textLoss: textLoss!, dist: v.nextToken, entropy: entropy(v.nextToken), features: v.features.get(FEATURE_HOOK)! };
  });
}

export function weakModelViews(
  weak: Llama2cSource, positions: readonly GapPosition[], strong: readonly StrongView[], onProgress?: (done: number, total: number) => void,
): WeakView[] {
  const session = sessionPerParagraph();
  const out = positions.map((p, i) => {
    onProgress?.(i, positions.length);
    const sv = strong[i]!;
    const v = nextWordView(weak, p.prefix, sv.word ? [sv.word, sv.text] : [], session(p), FIRST_WORD);
    const [wordLoss, textLoss] = sv.word ? v.surprise : [NaN, NaN];
    return { word: v.greedyWord, wordLoss: wordLoss!, textLoss: textLoss!, dist: v.nextToken, entropy: entropy(v.nextToken), features: v.features.get(FEATURE_HOOK)! };
  });
  onProgress?.(positions.length, positions.length);
  return out;
}
