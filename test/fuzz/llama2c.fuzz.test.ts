// Property-based tests of the llama2.c readers: checkpoints and tokenizer .bin files that are random, cut,
// grown, or carry header fields from a list of hostile integers parse to a consistent model or fail with a
// MadkitError naming the file — without allocating more than the file holds. Valid files round-trip
// (serialise → parse gives the same config and weights; a vocabulary written reads back piece for piece),
// and whatever tokenizer parses encodes any text to ids inside its vocabulary and decodes them back without
// another exception. A checkpoint whose weights were overwritten (NaN, huge) still generates or fails cleanly.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import fc from "fast-check";
import {
  expectedFileBytes,
  parseLlama2cCheckpoint,
  readLlama2cCheckpoint,
  serializeLlama2cCheckpoint,
  type Llama2cConfig,
  type Llama2cWeights,
} from "../../src/models/llama2c/checkpoint.js";
import { Llama2cSource } from "../../src/models/llama2c/source.js";
import { decode, encode, parseLlama2cTokenizer, readLlama2cTokenizer } from "../../src/models/llama2c/tokenizer.js";
import { byteMutation, mutateBytes, NASTY_INTS, outcome, SEED } from "./outcome.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "madkit-fuzz-llama2c-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const ckptFile = path.join(tmp, "model.bin");
const tokFile = path.join(tmp, "tok.bin");

// ---- checkpoints ------------------------------------------------------------------------------------------

/** Small valid configs: head size even, heads divisible by kv heads. */
const configArb: fc.Arbitrary<Llama2cConfig> = fc
  .record({
    nKvHeads: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 2 }),
    half: fc.integer({ min: 1, max: 2 }),
    hiddenDim: fc.integer({ min: 1, max: 6 }),
    nLayers: fc.integer({ min: 1, max: 2 }),
    vocabSize: fc.integer({ min: 3, max: 7 }),
    seqLen: fc.integer({ min: 1, max: 5 }),
    sharedClassifier: fc.boolean(),
  })
  .map(({ nKvHeads, groups, half, hiddenDim, nLayers, vocabSize, seqLen, sharedClassifier }) => {
    const nHeads = nKvHeads * groups;
    return { dim: nHeads * 2 * half, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier };
  });

const WEIGHT_KEYS = ["tokenEmbedding", "rmsAtt", "wq", "wk", "wv", "wo", "rmsFfn", "w1", "w2", "w3", "rmsFinal", "wcls"] as const;

function weightsFor(c: Llama2cConfig, seed: number): Llama2cWeights {
  const kv = (c.dim * c.nKvHeads) / c.nHeads;
  const { dim, hiddenDim: h, nLayers: L, vocabSize: v } = c;
  const sizes: Record<(typeof WEIGHT_KEYS)[number], number> = {
    tokenEmbedding: v * dim, rmsAtt: L * dim, wq: L * dim * dim, wk: L * kv * dim, wv: L * kv * dim, wo: L * dim * dim,
    rmsFfn: L * dim, w1: L * h * dim, w2: L * dim * h, w3: L * h * dim, rmsFinal: dim, wcls: v * dim,
  };
  let s = seed;
  const fill = (n: number): Float32Array => Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
  const w = Object.fromEntries(WEIGHT_KEYS.map((k) => [k, fill(sizes[k])])) as unknown as Record<string, Float32Array>;
  if (c.sharedClassifier) w.wcls = w.tokenEmbedding!;
  return w as unknown as Llama2cWeights;
}

test("fuzz: a checkpoint serialised and parsed back has the same config and weights", { timeout: 30_000 }, () => {
  fc.assert(
    fc.property(configArb, fc.nat(), (config, seed) => {
      const weights = weightsFor(config, seed);
      const bytes = serializeLlama2cCheckpoint(config, weights);
      assert.equal(bytes.byteLength, expectedFileBytes(config));
      const back = parseLlama2cCheckpoint(bytes, "x.bin");
      assert.deepEqual(back.config, config);
      for (const k of WEIGHT_KEYS) assert.deepEqual(back.weights[k], weights[k], k);
    }),
    { seed: SEED, numRuns: 150, includeErrorInReport: true },
  );
});

const tinyConfig: Llama2cConfig = { dim: 4, hiddenDim: 6, nLayers: 1, nHeads: 2, nKvHeads: 1, vocabSize: 5, seqLen: 4, sharedClassifier: true };
const tinyCheckpoint = serializeLlama2cCheckpoint(tinyConfig, weightsFor(tinyConfig, 3));

/** What a parsed checkpoint promises: every tensor as long as the config says. */
function checkCheckpoint(file: string): void {
  const m = readLlama2cCheckpoint(file);
  const c = m.config;
  assert.equal(m.weights.tokenEmbedding.length, c.vocabSize * c.dim);
  assert.equal(m.weights.rmsFinal.length, c.dim);
  assert.equal(m.weights.wcls.length, c.vocabSize * c.dim);
}

test("fuzz: checkpoint headers set to hostile integers, and cut or grown files, fail cleanly naming the file", { timeout: 30_000 }, () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.constantFrom(...NASTY_INTS, 4, 5, 6, 16, 1 << 16, 1 << 22, -5)), { minLength: 1, maxLength: 4 }),
      fc.array(byteMutation, { maxLength: 2 }),
      (fields, mutations) => {
        const b = Buffer.from(tinyCheckpoint);
        for (const [i, v] of fields) b.writeInt32LE(v | 0, i * 4);
        writeFileSync(ckptFile, mutateBytes(b, mutations, 28));
        outcome(() => checkCheckpoint(ckptFile), ckptFile, `header fields ${JSON.stringify(fields)}`);
      },
    ),
    { seed: SEED, numRuns: 300, includeErrorInReport: true },
  );
});

test("fuzz: random bytes as a checkpoint fail cleanly", { timeout: 30_000 }, () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      writeFileSync(ckptFile, bytes);
      outcome(() => checkCheckpoint(ckptFile), ckptFile, `bytes ${Buffer.from(bytes).toString("hex")}`);
    }),
    { seed: SEED, numRuns: 200, includeErrorInReport: true },
  );
});

// ---- tokenizers -------------------------------------------------------------------------------------------

/** Serialise a vocabulary in the tokenizer .bin layout (max_token_length, then score, length, bytes per piece). */
function tokenizerBytes(pieces: readonly Uint8Array[], scores: readonly number[], maxLen?: number): Buffer {
  const head = Buffer.alloc(4);
  head.writeInt32LE(maxLen ?? Math.max(1, ...pieces.map((p) => p.length)));
  const parts: Buffer[] = [head];
  pieces.forEach((p, i) => {
    const h = Buffer.alloc(8);
    h.writeFloatLE(scores[i]!, 0);
    h.writeInt32LE(p.length, 4);
    parts.push(h, Buffer.from(p));
  });
  return Buffer.concat(parts);
}

const pieceArb = fc.oneof(
  fc.string({ maxLength: 4 }).map((s) => new Uint8Array(Buffer.from(s, "utf8"))),
  fc.uint8Array({ maxLength: 4 }),
  fc.constantFrom(...["<unk>", "<s>", "</s>", " ", "a", "b", "ab", " a", "<0x41>", "<0xZZ>", "<0x"].map((s) => new Uint8Array(Buffer.from(s, "latin1")))),
);
const scoreArb = fc.float({ noNaN: true, noDefaultInfinity: true });
const vocabArb = fc.array(fc.tuple(pieceArb, scoreArb), { minLength: 3, maxLength: 24 });

/** A vocabulary with the byte-fallback pieces <0x00>..<0xFF> at ids 3..258 (like tok512), plus extras. */
const byteVocabArb = fc.array(fc.tuple(pieceArb, scoreArb), { maxLength: 8 }).map((extra) => {
  const pieces = ["<unk>", "<s>", "</s>", ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)].map(
    (s) => new Uint8Array(Buffer.from(s, "latin1")),
  );
  return [...pieces.map((p): [Uint8Array, number] => [p, 0]), ...extra];
});

test("fuzz: a vocabulary written in the .bin layout reads back piece for piece, and encodes any text inside itself", { timeout: 30_000 }, () => {
  fc.assert(
    fc.property(fc.oneof(vocabArb, byteVocabArb), fc.string({ unit: "grapheme", maxLength: 24 }), (vocab, text) => {
      const bytes = tokenizerBytes(vocab.map(([p]) => p), vocab.map(([, s]) => s));
      const tok = parseLlama2cTokenizer(bytes, "tok.bin");
      assert.equal(tok.vocabSize, vocab.length);
      vocab.forEach(([p, s], i) => {
        assert.deepEqual(tok.pieces[i], p);
        assert.equal(tok.scores[i], Math.fround(s));
      });
      const ids = encode(tok, text, true, true);
      for (const id of ids) assert.ok(Number.isInteger(id) && id >= 0 && id < tok.vocabSize, `id ${id} outside 0..${tok.vocabSize - 1}`);
      outcome(() => decode(tok, ids), undefined, `decode ${JSON.stringify(text)}`);
    }),
    { seed: SEED, numRuns: 200, includeErrorInReport: true },
  );
});

const tinyVocab: [string, number][] = [["<unk>", 0], ["\n<s>\n", 0], ["\n</s>\n", 0], [" ", -1], ["a", -2]];
const tinyTokenizer = tokenizerBytes(tinyVocab.map(([p]) => new Uint8Array(Buffer.from(p, "utf8"))), tinyVocab.map(([, s]) => s));

test("fuzz: tokenizer files mutated or random, with hostile lengths, parse to a usable vocabulary or fail cleanly", { timeout: 30_000 }, () => {
  const source = fc.oneof(
    fc.array(byteMutation, { minLength: 1, maxLength: 4 }).map((m) => mutateBytes(tinyTokenizer, m, 16)),
    fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)),
    fc.tuple(fc.constantFrom(...NASTY_INTS), fc.nat({ max: 4 })).map(([v, k]) => {
      const b = Buffer.from(tinyTokenizer);
      b.writeInt32LE(v | 0, k === 0 ? 0 : 4 + 4 + (k - 1) * 13 + 0);
      return b;
    }),
  );
  fc.assert(
    fc.property(source, fc.string({ maxLength: 12 }), (bytes, text) => {
      writeFileSync(tokFile, bytes);
      const r = outcome(() => readLlama2cTokenizer(tokFile), tokFile, `bytes ${bytes.toString("hex")}`);
      if (r.value) {
        const ids = encode(r.value, text);
        for (const id of ids) assert.ok(id >= 0 && id < r.value.vocabSize);
        outcome(() => decode(r.value!, ids), undefined, "decode");
      }
    }),
    { seed: SEED, numRuns: 300, includeErrorInReport: true },
  );
});

test("fuzz: a checkpoint with weights overwritten by NaN, Infinity or huge values generates or fails cleanly", { timeout: 30_000 }, () => {
  const tok = parseLlama2cTokenizer(tinyTokenizer, "tiny-tok.bin");
  const floatArb = fc.constantFrom(NaN, Infinity, -Infinity, 3e38, -3e38, 1e-45, 0);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(), floatArb), { minLength: 1, maxLength: 6 }), fc.string({ maxLength: 6 }), (edits, prompt) => {
      const b = Buffer.from(tinyCheckpoint);
      const nFloats = (b.length - 28) / 4;
      for (const [at, v] of edits) b.writeFloatLE(v, 28 + (at % nFloats) * 4);
      const m = parseLlama2cCheckpoint(b, "weights.bin");
      const src = new Llama2cSource(m, tok, "fuzz");
      const r = outcome(() => src.generate(prompt, { maxNewTokens: 3 }), undefined, `edits ${JSON.stringify(edits)}`);
      if (r.value) for (const id of r.value.ids) assert.ok(id >= 0 && id < tok.vocabSize, `generated id ${id}`);
    }),
    { seed: SEED, numRuns: 150, includeErrorInReport: true },
  );
});
