// A llama2.c tokenizer `.bin` as a Hugging Face tokenizers JSON (the Llama-2 layout: "▁" normalizer with a
// dummy prefix, BPE with byte fallback). run.c merges any adjacent pair whose concatenation is a piece, best
// piece score first; HF BPE merges listed pairs, lowest rank first — so every split of every piece becomes a merge,
// ranked by the merged piece's score. Ties (equal scores) are the only place the two could differ; SentencePiece
// BPE vocabularies give every piece a distinct score.

import { BOS_ID, EOS_ID, UNK_ID, type Llama2cTokenizer } from "../llama2c/tokenizer.js";

const SPACE = "\u2581";
const SPECIAL = new Map<number, string>([
  [UNK_ID, "<unk>"],
  [BOS_ID, "<s>"],
  [EOS_ID, "</s>"],
]);

/** The piece strings as tokenizer.json spells them: UTF-8 text with "▁" for space; special tokens named. */
export function hfPieces(tok: Llama2cTokenizer): string[] {
  const seen = new Set<string>();
  return tok.pieces.map((bytes, id) => {
    let piece = SPECIAL.get(id) ?? Buffer.from(bytes).toString("utf8").replaceAll(" ", SPACE);
    // A JSON vocab is a map, so a duplicate piece (unreachable in run.c too: lookup takes the first id)
    // gets a placeholder name to keep every id present.
    if (seen.has(piece)) piece = `<madkit_duplicate_${id}>`;
    seen.add(piece);
    return piece;
  });
}

/** Every (left, right) split of every piece into two pieces, ordered by the merged piece's score (best first). */
export function rankedMerges(tok: Llama2cTokenizer, pieces: readonly string[]): Array<[string, string]> {
  const ids = new Map<string, number>();
  pieces.forEach((p, id) => {
    if (!SPECIAL.has(id)) ids.set(p, id);
  });
  const merges: Array<{ left: string; right: string; id: number; at: number }> = [];
  pieces.forEach((piece, id) => {
    if (SPECIAL.has(id)) return;
    const chars = Array.from(piece);
    for (let at = 1; at < chars.length; at++) {
      const left = chars.slice(0, at).join("");
      const right = chars.slice(at).join("");
      if (ids.has(left) && ids.has(right)) merges.push({ left, right, id, at });
    }
  });
  merges.sort((a, b) => tok.scores[b.id]! - tok.scores[a.id]! || a.id - b.id || a.at - b.at);
  return merges.map((m) => [m.left, m.right]);
}

export function llama2cTokenizerJson(tok: Llama2cTokenizer): object {
  const pieces = hfPieces(tok);
  const vocab: Record<string, number> = {};
  pieces.forEach((p, id) => {
    vocab[p] = id;
  });
  const added = [...SPECIAL].map(([id, content]) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: SPACE },
        { type: "Replace", pattern: { String: " " }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "<s>", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "<s>", type_id: 1 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { "<s>": { id: "<s>", ids: [BOS_ID], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: SPACE }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      // run.c emits one <unk> per unknown code point (vocabularies without byte pieces); do not fuse them.
      fuse_unk: tok.byteFallback,
      byte_fallback: tok.byteFallback,
      ignore_merges: false,
      vocab,
      merges: rankedMerges(tok, pieces),
    },
  };
}

export function llama2cTokenizerConfig(tok: Llama2cTokenizer, maxLength: number): object {
  return {
    tokenizer_class: "LlamaTokenizer",
    add_bos_token: true,
    add_eos_token: false,
    bos_token: "<s>",
    eos_token: "</s>",
    unk_token: "<unk>",
    pad_token: null,
    legacy: true,
    clean_up_tokenization_spaces: false,
    model_max_length: maxLength,
  };
}
