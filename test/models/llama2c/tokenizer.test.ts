// The llama2.c tokenizer against run.c's rules: hand-worked merges on a tiny vocabulary, byte fallback,
// the leading-space rule after BOS, and lossless round trips on TinyStories and non-ASCII text.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { config } from "../../../src/config.js";
import { MadkitError } from "../../../src/errors.js";
import { decode, decodePiece, encode, parseLlama2cTokenizer, readLlama2cTokenizer } from "../../../src/models/llama2c/tokenizer.js";

const tok512 = readLlama2cTokenizer(path.join(config.sharedDir, "models/stories260K/tok512.bin"));
const tok105 = readLlama2cTokenizer(path.join(config.sharedDir, "models/babyllama-tok105/tok105.bin"));

/** Serialise a vocabulary in the tokenizer .bin layout. */
function tokenizerBytes(entries: ReadonlyArray<[string, number]>): Uint8Array {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(4);
  head.writeInt32LE(Math.max(...entries.map(([p]) => Buffer.byteLength(p))));
  parts.push(head);
  for (const [piece, score] of entries) {
    const b = Buffer.from(piece, "utf8");
    const h = Buffer.alloc(8);
    h.writeFloatLE(score, 0);
    h.writeInt32LE(b.length, 4);
    parts.push(h, b);
  }
  return Buffer.concat(parts);
}

const tiny = parseLlama2cTokenizer(
  tokenizerBytes([["<unk>", 0], ["\n<s>\n", 0], ["\n</s>\n", 0], [" ", 0], ["a", 0], ["b", 0], [" a", -1], ["ab", -2], ["bb", -0.5], [" ab", -3], ["aa", -1]]),
  "tiny.bin",
);

test("the tokenizer files parse with the checkpoint's vocabulary sizes and the expected special pieces", () => {
  assert.equal(tok512.vocabSize, 512);
  assert.equal(tok105.vocabSize, 105);
  assert.equal(tok512.byteFallback, true);
  assert.equal(tok105.byteFallback, false);
  assert.equal(Buffer.from(tok512.pieces[1]!).toString(), "\n<s>\n");
});

test("encode merges the highest-scoring adjacent pair first, as worked by hand", () => {
  // [BOS, ' ', a, b, b]: 'bb' (-0.5) beats ' a' (-1) and 'ab' (-2); then ' a' merges; ' abb' is no piece.
  assert.deepEqual(Array.from(encode(tiny, "abb")), [1, 6, 8]);
  // [BOS, ' ', a, b]: ' a' (-1) beats 'ab' (-2), then ' a'+'b' = ' ab'.
  assert.deepEqual(Array.from(encode(tiny, "ab")), [1, 9]);
  // Ties go to the leftmost pair: [' ', a, a, a] → ' a' first, then 'aa' from the remaining two.
  assert.deepEqual(Array.from(encode(tiny, "aaa")), [1, 6, 10]);
  assert.deepEqual(Array.from(encode(tiny, "ab", false, true)), [9, 2]);
  assert.deepEqual(Array.from(encode(tiny, "")), [1]);
});

test("characters outside the vocabulary fall back to one id per UTF-8 byte (3 + byte)", () => {
  const ids = Array.from(encode(tok512, "日"));
  assert.deepEqual(ids.slice(-3), [...Buffer.from("日", "utf8")].map((b) => b + 3));
  // Without byte pieces (tok105) an unknown code point becomes one <unk>.
  assert.ok(Array.from(encode(tok105, "日")).includes(0));
});

test("decode drops the leading space after BOS only, and turns <0xXX> pieces into raw bytes", () => {
  const text = (b: Uint8Array): string => Buffer.from(b).toString("latin1");
  const space = 3; // ' ' in tiny
  assert.equal(text(decodePiece(tiny, 1, 9)), "ab");
  assert.equal(text(decodePiece(tiny, 4, 9)), " ab");
  assert.equal(text(decodePiece(tiny, 1, space)), "");
  assert.equal(text(decodePiece(tok512, 5, 3 + 0xe6)), "\xe6");
  assert.equal(decode(tiny, [1, 9, 6]), "ab a");
  assert.equal(decode(tiny, [1, 3, 9, 6]), " ab a");
});

test("decode(encode(text)) == text for TinyStories paragraphs", () => {
  const lines = readFileSync(path.join(config.sharedDir, "data/tinystories/tinystories_sample_niklas6.txt"), "utf8")
    .split("\n")
    .filter((l) => l.trim().length > 0)
    .slice(0, 100);
  assert.equal(lines.length, 100);
  let chars = 0;
  let tokens = 0;
  for (const line of lines) {
    const ids = encode(tok512, line);
    assert.equal(decode(tok512, ids), line);
    assert.equal(decode(tok105, encode(tok105, line)), line);
    chars += line.length;
    tokens += ids.length;
  }
  // Guards against a round trip that passes by never merging (one id per character).
  assert.ok(tokens < chars / 2, `merging should compress TinyStories text: ${tokens} ids for ${chars} chars`);
});

test("decode(encode(text)) == text for non-ASCII text through byte fallback", () => {
  for (const text of ["héllo wörld", "naïve café — 日本語 🙂", "Ünïcödé\ttabs\nand lines", "  two leading spaces"]) {
    assert.equal(decode(tok512, encode(tok512, text)), text);
  }
});

test("a tokenizer file cut mid-entry or with a bad header is MALFORMED_MODEL naming the file", () => {
  const bytes = tokenizerBytes([["<unk>", 0], ["\n<s>\n", 0], ["\n</s>\n", 0], ["hello", -1]]);
  for (const [b, what] of [[bytes.subarray(0, bytes.length - 2), "truncated"], [bytes.subarray(0, 2), "4-byte"], [Uint8Array.of(255, 255, 255, 255, 0, 0), "max_token_length"]] as const) {
    assert.throws(
      () => parseLlama2cTokenizer(b, "bad-tok.bin"),
      (e: unknown) => e instanceof MadkitError && e.code === "MALFORMED_MODEL" && e.message.includes("bad-tok.bin") && e.message.includes(what),
    );
  }
});
