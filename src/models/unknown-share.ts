// How much of a text a tokenizer could read: the one rule every adapter uses for `ForwardResult.unknownShare`,
// so "unreadable" means the same thing on every model.

/** SentencePiece's word-boundary marker: it stands for a space and is not counted as a character. */
const WORD_BOUNDARY = 0x2581;

/** Code points of `s` that carry content: whitespace and SentencePiece's ▁ are not counted. */
export function visibleLength(s: string): number {
  let n = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp === WORD_BOUNDARY || /\s/u.test(ch)) continue;
    n++;
  }
  return n;
}

/** unknown / total, and 1 when there is nothing to read at all (no visible character). */
export function unknownShareOf(unknown: number, total: number): number {
  if (total <= 0) return 1;
  return Math.min(1, Math.max(0, unknown / total));
}
