// The llama2.c tokenizer: reads its `.bin` vocabulary and encodes/decodes exactly as llama2.c's run.c
// (BOS, dummy-prefix space, UTF-8 code-point lookup, byte fallback, greedy best-score pair merging), so
// token ids match the reference C implementation that the shared checkpoints were checked against.

import { readFileSync } from "node:fs";
import { MadkitError } from "../../errors.js";
import { unknownShareOf, visibleLength } from "../unknown-share.js";

export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
/** run.c maps an unknown byte b to id b + 3 (the `<0x00>`..`<0xFF>` pieces follow unk, bos, eos). */
const BYTE_OFFSET = 3;

export interface Llama2cTokenizer {
  readonly vocabSize: number;
  readonly maxTokenLength: number;
  /** Raw bytes of each piece. */
  readonly pieces: readonly Uint8Array[];
  readonly scores: Float32Array;
  /** False for vocabularies without `<0xXX>` pieces at ids 3..258 (e.g. tok105): unknown characters become <unk>. */
  readonly byteFallback: boolean;
  /** File the vocabulary came from (for error messages). */
  readonly source: string;
  /** Each piece's bytes as a latin1 string (one char per byte), so pieces concatenate like C strings. */
  readonly pieceKeys: readonly string[];
  /** Piece bytes as a latin1 string → id (first id wins on duplicates). */
  readonly lookup: ReadonlyMap<string, number>;
}

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");

/** Parse a tokenizer `.bin`: int32 max_token_length, then per token float32 score, int32 length, bytes. */
export function parseLlama2cTokenizer(bytes: Uint8Array, name = "tokenizer"): Llama2cTokenizer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4) {
    throw new MadkitError("MALFORMED_MODEL", `${name}: file is ${bytes.byteLength} bytes, a llama2.c tokenizer needs at least a 4-byte header`);
  }
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength <= 0 || maxTokenLength > 1 << 16) {
    throw new MadkitError(
      "MALFORMED_MODEL",
      `${name}: max_token_length is ${maxTokenLength}, expected a positive length below 65536 (is this a llama2.c tokenizer .bin?)`,
    );
  }
  const pieces: Uint8Array[] = [];
  const scoreList: number[] = [];
  let off = 4;
  // The file does not store its vocab size: read entries until the bytes run out, and require an exact end.
  while (off < bytes.byteLength) {
    const i = pieces.length;
    if (off + 8 > bytes.byteLength) {
      throw new MadkitError(
        "MALFORMED_MODEL",
        `${name}: token ${i} starts at byte ${off} but only ${bytes.byteLength - off} bytes remain, a token entry needs at least 8 (truncated?)`,
      );
    }
    const score = view.getFloat32(off, true);
    const len = view.getInt32(off + 4, true);
    off += 8;
    if (len < 0 || len > maxTokenLength || off + len > bytes.byteLength) {
      throw new MadkitError(
        "MALFORMED_MODEL",
        `${name}: token ${i} at byte ${off - 8} has length ${len}, expected 0..${maxTokenLength} with ` +
          `${bytes.byteLength - off} bytes remaining (truncated or not a llama2.c tokenizer?)`,
      );
    }
    if (!Number.isFinite(score)) {
      throw new MadkitError("MALFORMED_MODEL", `${name}: token ${i} has score ${score}, expected a finite float`);
    }
    pieces.push(new Uint8Array(bytes.subarray(off, off + len))); // a plain copy, not a Buffer view
    scoreList.push(score);
    off += len;
  }
  if (pieces.length < 3) {
    throw new MadkitError("MALFORMED_MODEL", `${name}: holds ${pieces.length} tokens, expected at least <unk>, <s>, </s>`);
  }
  const pieceKeys = pieces.map(latin1);
  const lookup = new Map<string, number>();
  pieceKeys.forEach((key, id) => {
    if (!lookup.has(key)) lookup.set(key, id);
  });
  let byteFallback = pieces.length >= BYTE_OFFSET + 256;
  for (let b = 0; byteFallback && b < 256; b++) {
    const want = `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
    if (pieceKeys[BYTE_OFFSET + b] !== want) byteFallback = false;
  }
  return {
    vocabSize: pieces.length,
    maxTokenLength,
    pieces,
    scores: Float32Array.from(scoreList),
    byteFallback,
    source: name,
    pieceKeys,
    lookup,
  };
}

export function readLlama2cTokenizer(file: string): Llama2cTokenizer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new MadkitError("FILE_NOT_FOUND", `${file}: cannot read llama2.c tokenizer (${(e as Error).message})`, { cause: e });
  }
  return parseLlama2cTokenizer(bytes, file);
}

/** Throws TOKENIZER_MISMATCH when the tokenizer's vocabulary does not fit the checkpoint's. */
export function checkTokenizerFits(tok: Llama2cTokenizer, vocabSize: number, checkpointName: string): void {
  if (tok.vocabSize !== vocabSize) {
    throw new MadkitError(
      "TOKENIZER_MISMATCH",
      `${tok.source}: tokenizer has ${tok.vocabSize} tokens but checkpoint ${checkpointName} has vocab_size ${vocabSize}; ` +
        `use the tokenizer the model was trained with`,
    );
  }
}

/**
 * Encode like run.c `encode(t, text, bos, eos)`: optional BOS, the dummy-prefix " " token for non-empty
 * text, one token per UTF-8 code point (byte fallback when the code point is not a piece), then repeatedly
 * merge the adjacent pair whose concatenation is the highest-scoring piece (leftmost on ties).
 */
export function encode(tok: Llama2cTokenizer, text: string, bos = true, eos = false): Int32Array {
  const bytes = Buffer.from(text, "utf8");
  const ids: number[] = [];
  if (bos) ids.push(BOS_ID);
  if (bytes.length > 0) pushPiece(tok, " ", [0x20], ids);
  let start = 0;
  while (start < bytes.length) {
    // A code point is a lead byte plus its continuation bytes (run.c caps the buffer at 4 bytes).
    let end = start + 1;
    while (end < bytes.length && (bytes[end]! & 0xc0) === 0x80 && end - start < 4) end++;
    const cp = bytes.subarray(start, end);
    pushPiece(tok, cp.toString("latin1"), cp, ids);
    start = end;
  }
  const keys = tok.pieceKeys;
  // Greedy merging. O(n²) over the text length, as in run.c; texts here are at most a few thousand tokens.
  for (;;) {
    let bestScore = -1e10;
    let bestId = -1;
    let bestIdx = -1;
    for (let i = 0; i < ids.length - 1; i++) {
      const id = tok.lookup.get(keys[ids[i]!]! + keys[ids[i + 1]!]!);
      if (id !== undefined && tok.scores[id]! > bestScore) {
        bestScore = tok.scores[id]!;
        bestId = id;
        bestIdx = i;
      }
    }
    if (bestIdx === -1) break;
    ids.splice(bestIdx, 2, bestId);
  }
  if (eos) ids.push(EOS_ID);
  return Int32Array.from(ids);
}

/**
 * What of `text` this vocabulary cannot read: the <unk> tokens `encode` emits (one per code point missing from a
 * vocabulary without byte pieces) and the share of visible characters they stand for. With byte fallback every
 * byte has a piece, so nothing is unknown (share 0, or 1 for a text with no visible character).
 */
export function unknownCharacters(tok: Llama2cTokenizer, text: string): { tokens: number; share: number } {
  const chars = visibleLength(text);
  if (tok.byteFallback) return { tokens: 0, share: unknownShareOf(0, chars) };
  const bytes = Buffer.from(text, "utf8");
  let tokens = 0;
  let unknownChars = 0;
  for (let start = 0; start < bytes.length; ) {
    let end = start + 1;
    while (end < bytes.length && (bytes[end]! & 0xc0) === 0x80 && end - start < 4) end++;
    const cp = bytes.subarray(start, end);
    if (!tok.lookup.has(cp.toString("latin1"))) {
      tokens++;
      unknownChars += visibleLength(cp.toString("utf8"));
    }
    start = end;
  }
  return { tokens, share: unknownShareOf(unknownChars, chars) };
}

/** Push the piece's id, or (run.c's byte fallback) one id per byte of a code point missing from the vocabulary. */
function pushPiece(tok: Llama2cTokenizer, key: string, bytes: ArrayLike<number>, ids: number[]): void {
  const id = tok.lookup.get(key);
  if (id !== undefined) {
    ids.push(id);
  } else if (tok.byteFallback) {
    for (let i = 0; i < bytes.length; i++) ids.push(BYTE_OFFSET + bytes[i]!);
  } else {
    // run.c would emit byte + 3 here, which in a vocabulary without byte pieces is an unrelated token;
    // emit <unk> once per code point instead, as SentencePiece itself does.
    ids.push(UNK_ID);
  }
}

/**
 * The bytes run.c prints for `token` following `prevToken`: after BOS the leading space is stripped
 * (SentencePiece's decoder drops the dummy prefix), and `<0xXX>` pieces stand for one raw byte.
 */
export function decodePiece(tok: Llama2cTokenizer, prevToken: number, token: number): Uint8Array {
  let piece = tok.pieces[token];
  if (piece === undefined) {
    throw new MadkitError("BAD_INPUT", `token id ${token} is outside the vocabulary 0..${tok.vocabSize - 1} of ${tok.source}`);
  }
  if (prevToken === BOS_ID && piece[0] === 0x20) piece = piece.subarray(1);
  const m = /^<0x([0-9A-Fa-f]{1,2})/.exec(latin1(piece));
  if (m) return Uint8Array.of(parseInt(m[1]!, 16));
  return piece;
}

/** Decode a sequence as run.c prints it (BOS/EOS pieces between tokens included as their text, BOS first skipped). */
export function decode(tok: Llama2cTokenizer, ids: ArrayLike<number>): string {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    // run.c never prints the BOS that starts a sequence; we also skip BOS/EOS markers inside it.
    if (id === BOS_ID || id === EOS_ID) continue;
    chunks.push(decodePiece(tok, i > 0 ? ids[i - 1]! : BOS_ID, id));
  }
  return Buffer.concat(chunks).toString("utf8");
}
