// Reader and writer for llama2.c checkpoints: a 7 x int32 header, then float32 tensors in a fixed order
// (see ../shared/README.md). Sizes are checked against the header before any tensor is read, so a truncated
// or padded file fails with the byte counts instead of producing garbage.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { MadkitError } from "../../errors.js";
import { writeFileAtomic } from "../../io/atomic-write.js";

export interface Llama2cConfig {
  readonly dim: number;
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly vocabSize: number;
  readonly seqLen: number;
  /** False when the header's vocab_size was negative: a separate classifier matrix follows. */
  readonly sharedClassifier: boolean;
}

/** All weights as flat row-major float32 arrays; per-layer tensors are stacked along the first axis. */
export interface Llama2cWeights {
  readonly tokenEmbedding: Float32Array; // [vocab, dim]
  readonly rmsAtt: Float32Array; // [L, dim]
  readonly wq: Float32Array; // [L, dim, dim]   (out, in)
  readonly wk: Float32Array; // [L, kvDim, dim]
  readonly wv: Float32Array; // [L, kvDim, dim]
  readonly wo: Float32Array; // [L, dim, dim]
  readonly rmsFfn: Float32Array; // [L, dim]
  readonly w1: Float32Array; // [L, hidden, dim]
  readonly w2: Float32Array; // [L, dim, hidden]
  readonly w3: Float32Array; // [L, hidden, dim]
  readonly rmsFinal: Float32Array; // [dim]
  readonly wcls: Float32Array; // [vocab, dim] (the embedding itself when shared)
}

export interface Llama2cCheckpoint {
  readonly config: Llama2cConfig;
  readonly weights: Llama2cWeights;
  /** sha256 of the file, first 16 hex chars. */
  readonly revision: string;
}

const HEADER_BYTES = 7 * 4;

export function headSize(c: Llama2cConfig): number {
  return c.dim / c.nHeads;
}

export function kvDim(c: Llama2cConfig): number {
  return (c.dim * c.nKvHeads) / c.nHeads;
}

/** Float counts of each tensor, in file order. */
function tensorSizes(c: Llama2cConfig): Array<[keyof Llama2cWeights | "ropeTables", number]> {
  const { dim, hiddenDim: h, nLayers: L, vocabSize: v } = c;
  const kv = kvDim(c);
  const sizes: Array<[keyof Llama2cWeights | "ropeTables", number]> = [
    ["tokenEmbedding", v * dim],
    ["rmsAtt", L * dim],
    ["wq", L * dim * dim],
    ["wk", L * kv * dim],
    ["wv", L * kv * dim],
    ["wo", L * dim * dim],
    ["rmsFfn", L * dim],
    ["w1", L * h * dim],
    ["w2", L * dim * h],
    ["w3", L * h * dim],
    ["rmsFinal", dim],
    ["ropeTables", c.seqLen * headSize(c)],
  ];
  if (!c.sharedClassifier) sizes.push(["wcls", v * dim]);
  return sizes;
}

export function expectedFileBytes(c: Llama2cConfig): number {
  return HEADER_BYTES + tensorSizes(c).reduce((s, [, n]) => s + n, 0) * 4;
}

export function parseLlama2cCheckpoint(bytes: Uint8Array, name = "checkpoint"): Llama2cCheckpoint {
  if (bytes.byteLength < HEADER_BYTES) {
    throw new MadkitError(
      "MALFORMED_MODEL",
      `${name}: file is ${bytes.byteLength} bytes, a llama2.c checkpoint needs at least a ${HEADER_BYTES}-byte header`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = h as [number, number, number, number, number, number, number];
  const vocabSize = Math.abs(rawVocab);
  const sane =
    dim > 0 && hiddenDim > 0 && nLayers > 0 && nHeads > 0 && nKvHeads > 0 && vocabSize > 0 && seqLen > 0 &&
    dim < 1 << 16 && hiddenDim < 1 << 18 && nLayers < 1024 && vocabSize < 1 << 22 && seqLen < 1 << 20 &&
    dim % nHeads === 0 && nHeads % nKvHeads === 0 && (dim / nHeads) % 2 === 0; // RoPE rotates pairs within a head
  if (!sane) {
    throw new MadkitError(
      "MALFORMED_MODEL",
      `${name}: header [dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len] = [${h.join(", ")}] ` +
        `is not a valid llama2.c header (expected positive sizes, dim divisible by n_heads with an even head size, n_heads by n_kv_heads)`,
    );
  }
  const config: Llama2cConfig = { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier: rawVocab > 0 };
  const expected = expectedFileBytes(config);
  if (bytes.byteLength !== expected) {
    throw new MadkitError(
      "MALFORMED_MODEL",
      `${name}: file is ${bytes.byteLength} bytes, the header's shapes need ${expected}` +
        (bytes.byteLength < expected ? " (truncated?)" : " (trailing data or wrong header?)"),
    );
  }
  // Copy into an aligned buffer once; tensors are views into it.
  const floats = new Float32Array((bytes.byteLength - HEADER_BYTES) / 4);
  new Uint8Array(floats.buffer).set(bytes.subarray(HEADER_BYTES));
  const out: Partial<Record<keyof Llama2cWeights, Float32Array>> = {};
  let off = 0;
  for (const [key, n] of tensorSizes(config)) {
    if (key !== "ropeTables") out[key] = floats.subarray(off, off + n);
    off += n;
  }
  if (config.sharedClassifier) out.wcls = out.tokenEmbedding;
  const revision = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  return { config, weights: out as Llama2cWeights, revision };
}

export function readLlama2cCheckpoint(file: string): Llama2cCheckpoint {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new MadkitError("FILE_NOT_FOUND", `${file}: cannot read llama2.c checkpoint (${(e as Error).message})`, { cause: e });
  }
  return parseLlama2cCheckpoint(bytes, file);
}

/** Serialise a checkpoint in the llama2.c layout (legacy RoPE tables written as zeros: readers ignore them). */
export function serializeLlama2cCheckpoint(config: Llama2cConfig, weights: Llama2cWeights): Uint8Array {
  const total = expectedFileBytes(config);
  const buf = new Uint8Array(total);
  const view = new DataView(buf.buffer);
  const header = [
    config.dim, config.hiddenDim, config.nLayers, config.nHeads, config.nKvHeads,
    config.sharedClassifier ? config.vocabSize : -config.vocabSize, config.seqLen,
  ];
  header.forEach((v, i) => view.setInt32(i * 4, v, true));
  let off = HEADER_BYTES;
  for (const [key, n] of tensorSizes(config)) {
    if (key !== "ropeTables") {
      const t = weights[key];
      if (t.length !== n) {
        throw new MadkitError("DIMENSION_MISMATCH", `weights.${key} has ${t.length} floats, the config needs ${n}`);
      }
      buf.set(new Uint8Array(t.buffer, t.byteOffset, n * 4), off);
    }
    off += n * 4;
  }
  return buf;
}

export function writeLlama2cCheckpoint(file: string, config: Llama2cConfig, weights: Llama2cWeights): void {
  writeFileAtomic(file, serializeLlama2cCheckpoint(config, weights));
}
