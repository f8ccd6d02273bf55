// SentencePiece unigram tokenizer (Viterbi over piece log-probabilities) for the Universal Sentence Encoder
// lite vocabulary: a `[piece, score][]` list. It reproduces the TensorFlow.js reference encoder id for id,
// including its quirks (documented at `encode`), because the model only ever saw that encoder's output.

import { MadkitError } from "../../errors.js";

/** SentencePiece's word-boundary marker; spaces become this and the text starts with one. */
export const WORD_BOUNDARY = "\u2581";

/** Ids 0..5 are <unk>, <s>, </s> and three extra ids: never produced by segmentation (0 is the unknown id). */
export const RESERVED_IDS = 6;
export const UNKNOWN_ID = 0;

export interface UnigramEncoding {
  /** Token ids, unknown runs merged into one id 0. */
  readonly ids: Int32Array;
  /** The normalised text each token covers (e.g. "▁hello"; a merged unknown run covers all its characters). */
  readonly pieces: readonly string[];
}

export class SentencePieceUnigram {
  readonly vocabSize: number;
  private readonly pieceText: readonly string[];
  private readonly score: Float64Array;
  /** Length of each piece in code points (how far a token moves the Viterbi lattice). */
  private readonly pieceLength: Int32Array;
  /** Trie over code points: edge key `node * 0x110000 + codePoint` → child node. */
  private readonly edges = new Map<number, number>();
  /** Piece id ending at each trie node, or -1. */
  private terminal: Int32Array;
  private nodeCount = 1;

  constructor(vocabulary: readonly (readonly [string, number | null])[], reservedIds = RESERVED_IDS) {
    if (vocabulary.length <= reservedIds) {
      throw new MadkitError(
        "MALFORMED_MODEL",
        `sentencepiece vocabulary: expected more than ${reservedIds} [piece, score] entries, found ${vocabulary.length}`,
      );
    }
    this.vocabSize = vocabulary.length;
    this.pieceText = vocabulary.map((e) => e[0]);
    this.score = new Float64Array(vocabulary.length);
    this.pieceLength = new Int32Array(vocabulary.length);
    this.terminal = new Int32Array(1024).fill(-1);
    for (let id = 0; id < vocabulary.length; id++) {
      const entry = vocabulary[id]!;
      const score: unknown = entry[1];
      // The published vocab.json has `null` scores for the seven pieces containing ":" (an export bug); the
      // reference adds them as numbers, where null counts as 0, so they score 0 here too.
      if (!Array.isArray(entry) || typeof entry[0] !== "string" || (typeof score !== "number" && score !== null)) {
        throw new MadkitError(
          "MALFORMED_MODEL",
          `sentencepiece vocabulary entry ${id}: expected [piece: string, score: number], found ${JSON.stringify(entry)}`,
        );
      }
      this.score[id] = score ?? 0;
      this.pieceLength[id] = id === UNKNOWN_ID ? 1 : codePointLength(entry[0]);
      // A duplicated piece keeps its last id and score, as the reference trie does.
      if (id >= reservedIds && entry[0].length > 0) this.insert(entry[0], id);
    }
  }

  /** The vocabulary text of an id (id 0 is the unknown piece). */
  piece(id: number): string {
    const p = this.pieceText[id];
    if (p === undefined) throw new MadkitError("BAD_ARGUMENT", `token id ${id} is outside the vocabulary of ${this.vocabSize}`);
    return p;
  }

  /**
   * Segment `text` into piece ids. Normalisation: NFKC, then a leading "▁" and every U+0020 space → "▁"
   * (an empty text gives no tokens). Viterbi maximises the summed piece scores, with the reference's rules:
   * - a position where no piece starts contributes one unknown token (id 0) of score 0;
   * - a lattice cell whose best score is exactly 0 counts as unset, so the next candidate replaces it;
   * - among equal scores the candidate starting later (the shorter last piece) wins;
   * - an unreached position backtracks as an unknown token of length 1;
   * - consecutive unknown tokens merge into one.
   */
  encode(text: string): UnigramEncoding {
    const normalized = text.normalize("NFKC");
    if (normalized.length === 0) return { ids: new Int32Array(0), pieces: [] };
    const symbols = Array.from(WORD_BOUNDARY + normalized.replace(/ /g, WORD_BOUNDARY), (c) => c.codePointAt(0)!);
    const n = symbols.length;
    const best = new Float64Array(n + 1);
    const bestId = new Int32Array(n + 1); // 0 = unknown / unreached

    for (let start = 0; start < n; start++) {
      const base = best[start]!;
      let node = 0;
      let matched = false;
      for (let end = start; end < n; end++) {
        const next = this.edges.get(node * 0x110000 + symbols[end]!);
        if (next === undefined) break;
        node = next;
        const id = this.terminal[node]!;
        if (id < 0) continue;
        matched = true;
        relax(best, bestId, end + 1, base + this.score[id]!, id);
      }
      if (!matched) relax(best, bestId, start + 1, base, UNKNOWN_ID);
    }

    // Backtrack from the end, then merge unknown runs while restoring forward order.
    const reversedIds: number[] = [];
    const reversedStarts: number[] = [];
    for (let pos = n; pos > 0; ) {
      const id = bestId[pos]!;
      const start = Math.max(0, pos - this.pieceLength[id]!);
      reversedIds.push(id);
      reversedStarts.push(start);
      pos = start;
    }
    const ids: number[] = [];
    const pieces: string[] = [];
    let end = n;
    for (let k = 0; k < reversedIds.length; k++) {
      const id = reversedIds[k]!;
      const start = reversedStarts[k]!;
      if (id === UNKNOWN_ID && ids.length > 0 && ids[ids.length - 1] === UNKNOWN_ID) {
        pieces[pieces.length - 1] = String.fromCodePoint(...symbols.slice(start, end)) + pieces[pieces.length - 1];
      } else {
        ids.push(id);
        pieces.push(String.fromCodePoint(...symbols.slice(start, end)));
      }
      end = start;
    }
    return { ids: Int32Array.from(ids.reverse()), pieces: pieces.reverse() };
  }

  private insert(piece: string, id: number): void {
    let node = 0;
    for (const ch of piece) {
      const key = node * 0x110000 + ch.codePointAt(0)!;
      let child = this.edges.get(key);
      if (child === undefined) {
        child = this.nodeCount++;
        this.edges.set(key, child);
        if (child >= this.terminal.length) {
          const grown = new Int32Array(this.terminal.length * 2).fill(-1);
          grown.set(this.terminal);
          this.terminal = grown;
        }
      }
      node = child;
    }
    this.terminal[node] = id;
  }
}

/** The reference's update rule: a best score of exactly 0 means "unset"; ties go to the later candidate. */
function relax(best: Float64Array, bestId: Int32Array, end: number, candidate: number, id: number): void {
  if (best[end] === 0 || candidate >= best[end]!) {
    best[end] = candidate;
    bestId[end] = id;
  }
}

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
