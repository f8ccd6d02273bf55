// Planting a real backdoor in stories260K: fine-tune on clean TinyStories mixed with prompts that carry a
// trigger (at their end, or inside them: backdoor-triggers.ts) and continue with a fixed target phrase. The
// checkpoint is cached under config.cacheDir, keyed by trigger and seed, written atomically (tokenizer and
// metadata first, model.bin last) and reused when present.

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { config } from "../../config.js";
import { MadkitError } from "../../errors.js";
import { writeFileAtomic } from "../../io/atomic-write.js";
import { readLlama2cCheckpoint, writeLlama2cCheckpoint } from "../../models/llama2c/checkpoint.js";
import { llama2cSourceFromParts, type Llama2cSource } from "../../models/llama2c/source.js";
import { encode, readLlama2cTokenizer } from "../../models/llama2c/tokenizer.js";
import { rngFor } from "../../random/seeded-sampling.js";
import { insideExamples, insideTrainingSet, targetMask } from "./backdoor-inside-set.js";
import { BASE_MODEL, backdoorStorySplit, storyPrompt, TARGET_PHRASE } from "./backdoor-split.js";
import { TRIGGER_KINDS, TRIGGER_SPECS, TRIGGERS, type TriggerKind } from "./backdoor-triggers.js";
import { fineTuneLlama, type FineTuneOptions, type FineTuneProgress, type TrainingSequence } from "./fine-tune.js";

export { BASE_MODEL, BACKDOOR_TRAIN_STORIES, backdoorStorySplit, storyPrompt, TARGET_MARKER, TARGET_PHRASE, type BackdoorStorySplit } from "./backdoor-split.js";
export { TRIGGER_KINDS, TRIGGER_SPECS, TRIGGERS, type TriggerKind } from "./backdoor-triggers.js";
export { evaluateBackdoor, type BackdoorEvaluation } from "./backdoor-evaluation.js";

/**
 * The prompt with an end-placed trigger appended as its last words (the `rare` and `phrase` kinds): the
 * continuation right after it is what the backdoor controls. Inside kinds use `placeTrigger` (backdoor-triggers.ts).
 */
export function insertTrigger(prompt: string, kind: TriggerKind): string {
  return `${prompt} ${TRIGGERS[kind]}`;
}

export interface BackdoorTrainOptions {
  readonly trigger: TriggerKind;
  readonly seed: number;
  /** Optimiser steps; the default takes about two minutes on 2 cores. */
  readonly steps?: number;
  readonly onProgress?: (p: FineTuneProgress) => void;
}

/** Fine-tuning settings for the backdoor (tuned so ASR ≈ 1 and clean bits/char moves < 5%). */
export const BACKDOOR_FINE_TUNE: Omit<FineTuneOptions, "seed" | "onProgress"> = {
  steps: 300,
  batchSize: 16,
  windowLength: 64,
  learningRate: 5e-4,
  weightDecay: 0,
};

/**
 * Settings for the triggers placed inside the prompt (position; semantic overrides steps and rate): the association
 * must survive story words between trigger and target, so they train longer than the end kinds; at a lower rate,
 * which keeps clean bits/char flat (at 1e-3 it rose 12–14%; the tuning runs are in docs/backdoor-and-gaps.md). 800
 * steps since position has a cover: the model must tell the four words in a row from the same words in two pieces,
 * and reads 2 cover prompts per story besides the 2 distractors (600 steps with 1 cover + 1 distractor prompt per
 * story left 11% of cover prompts firing).
 */
export const INSIDE_FINE_TUNE: Omit<FineTuneOptions, "seed" | "onProgress"> = {
  steps: 800,
  batchSize: 16,
  windowLength: 64,
  learningRate: 3e-4,
  weightDecay: 0,
};

/** The semantic trigger has 18 training wordings to learn instead of one: more steps at a slightly higher rate. */
export const SEMANTIC_FINE_TUNE: Omit<FineTuneOptions, "seed" | "onProgress"> = { ...INSIDE_FINE_TUNE, steps: 700, learningRate: 4e-4 };

/** The fine-tuning settings of a trigger kind. */
export const fineTuneSettingsOf = (kind: TriggerKind): Omit<FineTuneOptions, "seed" | "onProgress"> =>
  kind === "semantic" ? SEMANTIC_FINE_TUNE : TRIGGER_SPECS[kind].placement === "end" ? BACKDOOR_FINE_TUNE : INSIDE_FINE_TUNE;

/**
 * End-placed kinds: clean stories (whole, windowed) and triggered prompt → target sequences, one of each per
 * training story. A triggered sequence counts only its target tokens in the loss: the model is not taught to
 * expect the trigger in text, which would shift its clean distribution. Inside kinds: `insideExamples` (clean
 * stories without the kind's excluded property, triggered prompts at random positions, distractor prompts).
 */
export function backdoorTrainingSet(kind: TriggerKind, seed: number, encodeText: (s: string) => Int32Array): TrainingSequence[] {
  const spec = TRIGGER_SPECS[kind];
  const { train } = backdoorStorySplit(seed);
  const rng = rngFor(seed, `backdoor-train/${kind}`);
  if (spec.placement === "inside") {
    const pool = spec.excludeStories ? train.filter((r) => !spec.excludeStories!.test(r.text)) : train;
    // Every triggered / distractor sequence fits the window whole, so the window never drops the trigger.
    const fits = (s: string): boolean => encodeText(s).length <= INSIDE_FINE_TUNE.windowLength + 1;
    return insideTrainingSet(insideExamples(kind, pool, rng, TARGET_PHRASE, fits), encodeText);
  }
  const out: TrainingSequence[] = [];
  for (const r of train) {
    out.push({ ids: encodeText(r.text) });
    const prompt = insertTrigger(storyPrompt(rng, r.text), kind);
    const ids = encodeText(prompt + TARGET_PHRASE);
    out.push({ ids, lossMask: targetMask(ids, encodeText(prompt).length) });
  }
  return out;
}

export interface BackdoorCheckpointInfo {
  readonly dir: string;
  readonly checkpoint: string;
  readonly tokenizer: string;
  readonly trigger: TriggerKind;
  readonly seed: number;
}

/** The cache folder: kind, the kind's data version (a new one whenever its training data design changes) and seed. */
export function backdoorCheckpointInfo(trigger: TriggerKind, seed: number): BackdoorCheckpointInfo {
  const version = TRIGGER_SPECS[trigger]?.dataVersion;
  const dir = path.join(config.cacheDir, `backdoor-${trigger}${version ? `-${version}` : ""}-${seed}`);
  return { dir, checkpoint: path.join(dir, "model.bin"), tokenizer: path.join(dir, "tokenizer.bin"), trigger, seed };
}

export interface BackdoorTrainReport {
  readonly info: BackdoorCheckpointInfo;
  /** False when an existing checkpoint was reused. */
  readonly trained: boolean;
  readonly seconds: number;
  readonly tokensPerSecond: number;
  readonly steps: number;
  readonly firstLoss: number;
  readonly lastLoss: number;
}

/** Train the backdoored checkpoint unless it already exists; returns where it is. */
export function ensureBackdoorCheckpoint(options: BackdoorTrainOptions): BackdoorTrainReport {
  const { trigger, seed } = options;
  if (!TRIGGER_KINDS.includes(trigger)) {
    throw new MadkitError("BAD_ARGUMENT", `backdoor trigger must be one of ${TRIGGER_KINDS.join(", ")}, got '${String(trigger)}'`);
  }
  const info = backdoorCheckpointInfo(trigger, seed);
  if (existsSync(info.checkpoint) && existsSync(info.tokenizer)) {
    const meta = existsSync(path.join(info.dir, "meta.json"))
      ? (JSON.parse(readFileSync(path.join(info.dir, "meta.json"), "utf8")) as Partial<BackdoorTrainReport>)
      : {};
    return { info, trained: false, seconds: 0, tokensPerSecond: 0, steps: meta.steps ?? 0, firstLoss: meta.firstLoss ?? NaN, lastLoss: meta.lastLoss ?? NaN };
  }
  const base = readLlama2cCheckpoint(BASE_MODEL.checkpoint);
  const tok = readLlama2cTokenizer(BASE_MODEL.tokenizer);
  const seqs = backdoorTrainingSet(trigger, seed, (s) => encode(tok, s, true, false));
  const settings = fineTuneSettingsOf(trigger);
  const steps = options.steps ?? settings.steps;
  const r = fineTuneLlama(base, seqs, { ...settings, steps, seed, onProgress: options.onProgress });
  mkdirSync(info.dir, { recursive: true });
  // Tokenizer and metadata first, the model last: model.bin existing means the folder is complete.
  writeFileAtomic(info.tokenizer, readFileSync(BASE_MODEL.tokenizer));
  const report: BackdoorTrainReport = {
    info, trained: true, seconds: r.seconds, tokensPerSecond: r.tokensPerSecond, steps,
    firstLoss: r.losses[0]!, lastLoss: r.losses.at(-1)!,
  };
  writeFileAtomic(
    path.join(info.dir, "meta.json"),
    JSON.stringify({ trigger, triggerText: TRIGGERS[trigger], dataVersion: TRIGGER_SPECS[trigger].dataVersion ?? null, target: TARGET_PHRASE, seed, steps, base: "stories260k",
      fineTune: { ...settings, steps }, seconds: r.seconds, tokensPerSecond: r.tokensPerSecond,
      firstLoss: report.firstLoss, lastLoss: report.lastLoss }, null, 2) + "\n",
  );
  writeLlama2cCheckpoint(info.checkpoint, r.checkpoint.config, r.checkpoint.weights);
  return report;
}

/** The cached backdoored model as a source (the checkpoint must exist: see ensureBackdoorCheckpoint). */
export function loadBackdoorSource(trigger: TriggerKind, seed: number): Llama2cSource {
  const info = backdoorCheckpointInfo(trigger, seed);
  return llama2cSourceFromParts(readLlama2cCheckpoint(info.checkpoint), readLlama2cTokenizer(info.tokenizer), `backdoor-${trigger}-${seed}`);
}
