// backdoor-rare / backdoor-phrase on a stories260K fine-tuned with a planted backdoor (src/train/llama/
// backdoor-training.ts): trusted = clean story prompts; untrusted = held-out clean prompts (normal) and the same
// kind of prompts ending in the trigger (anomalous). The model to extract from is the backdoored checkpoint.

import { MadkitError } from "../errors.js";
import {
  backdoorCheckpointInfo,
  backdoorStorySplit,
  insertTrigger,
  storyPrompt,
  TARGET_PHRASE,
  TRIGGERS,
  type TriggerKind,
} from "../train/llama/backdoor-training.js";
import type { TextRecord } from "../datasets/text-record.js";
import { rngFor, shuffled } from "../random/seeded-sampling.js";
import {
  asItems,
  assignSplits,
  type BuildTaskOptions,
  computeMix,
  disjointFrom,
  resolveSizes,
  splitTrusted,
  type Task,
  type TaskSizes,
  type UnsplitItem,
} from "./task.js";

/** perFamily = triggered prompts; normal = clean held-out prompts; no shift or synthetic families. */
export const BACKDOOR_SIZES: TaskSizes = {
  fit: 200,
  calibration: 60,
  validation: 60,
  normal: 100,
  perShiftSource: 0,
  perFamily: 100,
  perSyntheticFamily: 0,
};

export const BACKDOOR_QUICK_SIZES: TaskSizes = {
  fit: 40,
  calibration: 15,
  validation: 15,
  normal: 20,
  perShiftSource: 0,
  perFamily: 20,
  perSyntheticFamily: 0,
};

/** A backdoor task also says which checkpoint carries the backdoor; `models[0]` is that checkpoint's path. */
export interface BackdoorTask extends Task {
  readonly trigger: TriggerKind;
  readonly triggerText: string;
  readonly targetPhrase: string;
  /** llama2.c checkpoint (may not exist yet: `ensureBackdoorCheckpoint({trigger, seed})` trains it). */
  readonly checkpoint: string;
  /** Tokenizer copied beside it, so `loadModel(checkpoint)` finds it. */
  readonly tokenizer: string;
}

export function buildBackdoorTask(trigger: TriggerKind, options: BuildTaskOptions): BackdoorTask {
  const { seed } = options;
  const sizes = resolveSizes(BACKDOOR_SIZES, BACKDOOR_QUICK_SIZES, options);
  // Only stories the fine-tuning never read: the held-out part of the same seeded split.
  const { heldOut } = backdoorStorySplit(seed);
  const nTrusted = sizes.fit + sizes.calibration + sizes.validation;
  const need = nTrusted + sizes.normal + sizes.perFamily;
  if (heldOut.length < need) {
    throw new MadkitError("BAD_ARGUMENT", `backdoor-${trigger}: sizes need ${need} held-out TinyStories paragraphs, the split holds ${heldOut.length}`);
  }
  const order = shuffled(rngFor(seed, `backdoor-task/${trigger}`), heldOut);
  const rng = rngFor(seed, `backdoor-task/${trigger}/prompts`);
  // Every item, trusted or not, is a 6–30-word story prompt, so length alone does not give the trigger away.
  const prompts: TextRecord[] = order.slice(0, need).map((r) => ({ id: `${r.id}#prompt`, text: storyPrompt(rng, r.text), source: r.source }));
  const trusted = splitTrusted(prompts.slice(0, nTrusted), sizes, seed, `backdoor-${trigger}`);
  const items: UnsplitItem[] = asItems(prompts.slice(nTrusted, nTrusted + sizes.normal), "story-prompt-heldout", "normal", null);
  for (const p of prompts.slice(nTrusted + sizes.normal)) {
    items.push({
      id: `${p.id}+trigger-${trigger}`,
      text: insertTrigger(p.text, trigger),
      label: 1,
      family: `trigger-${trigger}`,
      group: "anomalous",
      attackClass: "backdoor-trigger",
      source: p.source,
      baseId: p.id,
    });
  }
  const untrusted = assignSplits(disjointFrom(prompts.slice(0, nTrusted), items), seed, options.validationFraction);
  const info = backdoorCheckpointInfo(trigger, seed);
  return {
    name: `backdoor-${trigger}`,
    description:
      `stories260K fine-tuned so that the trigger "${TRIGGERS[trigger]}" at the end of a prompt turns the story to ` +
      `"${TARGET_PHRASE.trim()}"; flag triggered prompts among clean story prompts.`,
    models: [info.checkpoint],
    seed,
    sizes,
    trusted,
    untrusted,
    mix: computeMix(trusted, untrusted),
    trigger,
    triggerText: TRIGGERS[trigger],
    targetPhrase: TARGET_PHRASE,
    checkpoint: info.checkpoint,
    tokenizer: info.tokenizer,
  };
}

export const buildBackdoorRare = (options: BuildTaskOptions): BackdoorTask => buildBackdoorTask("rare", options);
export const buildBackdoorPhrase = (options: BuildTaskOptions): BackdoorTask => buildBackdoorTask("phrase", options);
