// Bits per character of a language model on a set of texts: the yardstick for "clean behaviour stays" after
// fine-tuning, and one that compares models with different tokenizers (per character, not per token).

import type { Llama2cSource } from "../../models/llama2c/source.js";

/** Σ token NLL (nats) / (ln 2 · Σ characters) over the texts, each cut to the model's context. */
export function bitsPerChar(model: Pick<Llama2cSource, "tokenLogProbs">, texts: readonly string[]): number {
  let nats = 0;
  let chars = 0;
  for (const t of texts) {
    const nll = model.tokenLogProbs(t);
    for (let i = 0; i < nll.length; i++) nats += nll[i]!;
    chars += t.length;
  }
  return nats / Math.LN2 / Math.max(1, chars);
}
