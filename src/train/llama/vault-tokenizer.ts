// A closed word-level vocabulary for the vault world in the llama2.c tokenizer format, so every llama2.c reader
// (the TS forward, the bench's extraction) tokenizes vault programs with the stock greedy-merge encoder: the pieces
// are the single characters, then every prefix (of two or more characters) of each " word", scored by length, so
// greedy merging builds each word up from its first letter into one token. stories260K's 512 pieces would spell
// most vault words letter by letter.

import { MadkitError } from "../../errors.js";
import { encode, parseLlama2cTokenizer, type Llama2cTokenizer } from "../../models/llama2c/tokenizer.js";

/** The tokenizer file's bytes: int32 max_token_length, then per piece float32 score, int32 length, bytes. */
export function vaultTokenizerBytes(words: readonly string[]): Uint8Array {
  if (words.length === 0) throw new MadkitError("BAD_ARGUMENT", "vault tokenizer: expected at least one word, got none");
  for (const w of words) {
    if (!/^[a-z.?]+$/.test(w)) throw new MadkitError("BAD_ARGUMENT", `vault tokenizer: words must be lower-case letters, '.' or '?', got '${w}'`);
  }
  const pieces: { text: string; score: number }[] = [
    { text: "<unk>", score: 0 },
    { text: "\n<s>\n", score: 0 },
    { text: "\n</s>\n", score: 0 },
  ];
  const seen = new Set<string>();
  const add = (text: string, score: number): void => {
    if (seen.has(text)) return;
    seen.add(text);
    pieces.push({ text, score });
  };
  const chars = [...new Set([" ", ...words.join("")])].sort();
  for (const c of chars) add(c, 0);
  for (const w of [...words].sort()) for (let k = 2; k <= w.length + 1; k++) add(` ${w}`.slice(0, k), k);
  const maxLen = Math.max(...pieces.map((p) => p.text.length));
  const size = 4 + pieces.reduce((a, p) => a + 8 + p.text.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setInt32(0, maxLen, true);
  let off = 4;
  for (const p of pieces) {
    view.setFloat32(off, p.score, true);
    view.setInt32(off + 4, p.text.length, true);
    out.set(Buffer.from(p.text, "latin1"), off + 8);
    off += 8 + p.text.length;
  }
  return out;
}

export function vaultTokenizer(words: readonly string[]): Llama2cTokenizer {
  return parseLlama2cTokenizer(vaultTokenizerBytes(words), "vault-tokenizer");
}

/** The id of a whole word (" word"), checked to be a single piece. */
export function wordId(tok: Llama2cTokenizer, word: string): number {
  const ids = encode(tok, ` ${word}`, false, false);
  // The dummy-prefix space merges into the word's own leading space only when the text starts with a letter, so
  // " word" encodes as [" ", " word"]: the word is the last piece.
  const id = ids[ids.length - 1]!;
  if (tok.pieceKeys[id] !== ` ${word}`) throw new MadkitError("BAD_ARGUMENT", `vault tokenizer: '${word}' is not one piece of this vocabulary`);
  return id;
}
