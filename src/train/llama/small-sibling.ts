// A small sibling of stories260K: its first layers only (an early-exit checkpoint), fine-tuned briefly on
// clean stories so the shorter stack is a language model in its own right rather than a logit lens. Cached
// under config.cacheDir keyed by layers, steps, seed and a hash of the training texts; written atomically
// (tokenizer and metadata first, model.bin last, so model.bin existing means the folder is complete).

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { config } from "../../config.js";
import { MadkitError } from "../../errors.js";
import { writeFileAtomic } from "../../io/atomic-write.js";
import { readLlama2cCheckpoint, writeLlama2cCheckpoint } from "../../models/llama2c/checkpoint.js";
import { earlyExitCheckpoint } from "../../models/llama2c/early-exit.js";
import { encode, readLlama2cTokenizer } from "../../models/llama2c/tokenizer.js";
import { fineTuneLlama, type FineTuneOptions, type FineTuneProgress } from "./fine-tune.js";

const BASE = {
  checkpoint: path.join(config.sharedDir, "models/stories260K/stories260K.bin"),
  tokenizer: path.join(config.sharedDir, "models/stories260K/tok512.bin"),
};

/**
 * Keep 2 of the 5 layers; 150 steps of 16 x 64 tokens (about 150k tokens) at a learning rate ten times the
 * backdoor's: enough for the classifier to read the shallower residual stream, far from stories260K's training.
 */
export const SMALL_SIBLING_DEFAULTS = {
  layers: 2,
  fineTune: { steps: 150, batchSize: 16, windowLength: 64, learningRate: 3e-3, weightDecay: 0 } satisfies Omit<FineTuneOptions, "seed" | "onProgress">,
} as const;

export interface SmallSiblingOptions {
  readonly seed: number;
  /** Clean training stories (the caller keeps them apart from any evaluation text). */
  readonly texts: readonly string[];
  readonly layers?: number;
  readonly steps?: number;
  readonly onProgress?: (p: FineTuneProgress) => void;
}

export interface SmallSiblingInfo {
  readonly dir: string;
  readonly checkpoint: string;
  readonly tokenizer: string;
  /** False when the cached checkpoint was reused. */
  readonly trained: boolean;
  readonly seconds: number;
  readonly firstLoss: number;
  readonly lastLoss: number;
}

function siblingDir(layers: number, steps: number, seed: number, texts: readonly string[]): string {
  const h = createHash("sha256");
  for (const t of texts) h.update(t).update("\0");
  return path.join(config.cacheDir, `small-sibling-l${layers}-s${steps}-seed${seed}-${h.digest("hex").slice(0, 12)}`);
}

/** Train the sibling unless the cache holds it; returns where it is and how training went. */
export function ensureSmallSibling(options: SmallSiblingOptions): SmallSiblingInfo {
  const layers = options.layers ?? SMALL_SIBLING_DEFAULTS.layers;
  const steps = options.steps ?? SMALL_SIBLING_DEFAULTS.fineTune.steps;
  if (options.texts.length === 0) throw new MadkitError("BAD_INPUT", "small sibling: expected training stories, got none");
  const dir = siblingDir(layers, steps, options.seed, options.texts);
  const files = { dir, checkpoint: path.join(dir, "model.bin"), tokenizer: path.join(dir, "tokenizer.bin") };
  const metaFile = path.join(dir, "meta.json");
  if (existsSync(files.checkpoint) && existsSync(files.tokenizer)) {
    const meta = existsSync(metaFile) ? (JSON.parse(readFileSync(metaFile, "utf8")) as Partial<SmallSiblingInfo>) : {};
    return { ...files, trained: false, seconds: meta.seconds ?? 0, firstLoss: meta.firstLoss ?? NaN, lastLoss: meta.lastLoss ?? NaN };
  }
  // earlyExitCheckpoint validates `layers - 1` (an integer in 0..nLayers-1) with a clear error.
  const base = earlyExitCheckpoint(readLlama2cCheckpoint(BASE.checkpoint), layers - 1);
  const tok = readLlama2cTokenizer(BASE.tokenizer);
  const seqs = options.texts.map((t) => ({ ids: encode(tok, t, true, false) }));
  const r = fineTuneLlama(base, seqs, { ...SMALL_SIBLING_DEFAULTS.fineTune, steps, seed: options.seed, onProgress: options.onProgress });
  const info: SmallSiblingInfo = { ...files, trained: true, seconds: r.seconds, firstLoss: r.losses[0]!, lastLoss: r.losses.at(-1)! };
  writeFileAtomic(files.tokenizer, readFileSync(BASE.tokenizer));
  writeFileAtomic(metaFile, JSON.stringify({ base: "stories260k", layers, seed: options.seed, stories: options.texts.length,
    fineTune: { ...SMALL_SIBLING_DEFAULTS.fineTune, steps }, seconds: r.seconds, firstLoss: info.firstLoss, lastLoss: info.lastLoss }, null, 2) + "\n");
  writeLlama2cCheckpoint(files.checkpoint, r.checkpoint.config, r.checkpoint.weights);
  return info;
}
