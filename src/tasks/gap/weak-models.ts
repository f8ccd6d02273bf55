// The capability-gap model family: stories260K is the strong model; the weak ones are a real weaker checkpoint
// with another tokenizer (BabyLlama-tok105), stories260K read out after 4 of its 5 layers (logit lens),
// stories260K with int4 per-row weights, and a small sibling we train (its first 2 layers, fine-tuned on
// held-out stories). All are llama2.c sources, so one comparison code path serves all.

import path from "node:path";
import { config } from "../../config.js";
import { readLlama2cCheckpoint, type Llama2cCheckpoint } from "../../models/llama2c/checkpoint.js";
import { earlyExitCheckpoint } from "../../models/llama2c/early-exit.js";
import { quantizeCheckpoint } from "../../models/llama2c/quantize.js";
import { llama2cSourceFromParts, type Llama2cSource } from "../../models/llama2c/source.js";
import { readLlama2cTokenizer } from "../../models/llama2c/tokenizer.js";
import { ensureSmallSibling, SMALL_SIBLING_DEFAULTS } from "../../train/llama/small-sibling.js";
import { heldOutGapParagraphs } from "./constructed-set.js";

export const WEAK_MODEL_NAMES = ["babyllama-105", "stories260k-exit3", "stories260k-int4", "stories260k-2layer-ft"] as const;
export type WeakModelName = (typeof WEAK_MODEL_NAMES)[number];

export const WEAK_MODEL_DESCRIPTIONS: Readonly<Record<WeakModelName, string>> = {
  "babyllama-105": "BabyLlama-tok105 (936k params, undertrained, 105-piece tokenizer; compared by words)",
  "stories260k-exit3": "stories260K exited after layer 3 of 0..4 (final RMSNorm + classifier on blocks.3.hook_resid_post)",
  "stories260k-int4": "stories260K with every weight matrix quantised to int4 per row",
  "stories260k-2layer-ft":
    `stories260K's first ${SMALL_SIBLING_DEFAULTS.layers} layers, fine-tuned ${SMALL_SIBLING_DEFAULTS.fineTune.steps} steps on TinyStories paragraphs no gap position comes from (trained here, cached)`,
};

function sharedModel(folder: string, bin: string, tok: string): { ckpt: Llama2cCheckpoint; tokFile: string } {
  return { ckpt: readLlama2cCheckpoint(path.join(config.sharedDir, "models", folder, bin)), tokFile: path.join(config.sharedDir, "models", folder, tok) };
}

export function loadStrongModel(): Llama2cSource {
  const { ckpt, tokFile } = sharedModel("stories260K", "stories260K.bin", "tok512.bin");
  return llama2cSourceFromParts(ckpt, readLlama2cTokenizer(tokFile), "stories260k");
}

/**
 * A weak model by name. `seed` and `usedParagraphs` (the full run's calibration + evaluation paragraphs) pick the
 * small sibling's training stories: the tail of the seeded paragraph order, disjoint from every gap position.
 */
export function loadWeakModel(name: WeakModelName, seed = 0, usedParagraphs = 0): Llama2cSource {
  if (name === "babyllama-105") {
    const { ckpt, tokFile } = sharedModel("babyllama-tok105", "model5000.bin", "tok105.bin");
    return llama2cSourceFromParts(ckpt, readLlama2cTokenizer(tokFile), name);
  }
  if (name === "stories260k-2layer-ft") {
    const info = ensureSmallSibling({ seed, texts: heldOutGapParagraphs(seed, usedParagraphs) });
    return llama2cSourceFromParts(readLlama2cCheckpoint(info.checkpoint), readLlama2cTokenizer(info.tokenizer), name);
  }
  const { ckpt, tokFile } = sharedModel("stories260K", "stories260K.bin", "tok512.bin");
  const weak = name === "stories260k-exit3" ? earlyExitCheckpoint(ckpt, 3) : quantizeCheckpoint(ckpt, 4);
  return llama2cSourceFromParts(weak, readLlama2cTokenizer(tokFile), name);
}
