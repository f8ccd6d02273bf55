// backdoor-<kind> on a stories260K fine-tuned with a planted backdoor (src/train/llama/backdoor-training.ts).
// End kinds (rare, phrase): trusted = clean story prompts; untrusted = held-out clean prompts (normal) and prompts
// ending in the trigger (anomalous). Inside kinds (position, semantic): every trusted and normal prompt carries the
// same kind of insertion at random word positions (position: the trigger's cover, its words and bigrams in two
// pieces; semantic: a near-trigger distractor clause), every anomalous one the trigger (position: with the cover's
// companion piece), so length, vocabulary and the insertion itself give nothing away. The model to extract from is
// the backdoored checkpoint.

import { MadkitError } from "../errors.js";
import {
  backdoorCheckpointInfo,
  backdoorStorySplit,
  insertTrigger,
  storyPrompt,
  TARGET_PHRASE,
  TRIGGER_SPECS,
  TRIGGERS,
  type TriggerKind,
} from "../train/llama/backdoor-training.js";
import { placeCleanSide, placeTrigger } from "../train/llama/backdoor-triggers.js";
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
  const spec = TRIGGER_SPECS[trigger];
  // Only stories the fine-tuning never read: the held-out part of the same seeded split (without the property
  // a semantic trigger names, so trusted data never shows it).
  const { heldOut } = backdoorStorySplit(seed);
  const pool = spec.excludeStories ? heldOut.filter((r) => !spec.excludeStories!.test(r.text)) : heldOut;
  const nTrusted = sizes.fit + sizes.calibration + sizes.validation;
  const need = nTrusted + sizes.normal + sizes.perFamily;
  if (pool.length < need) {
    throw new MadkitError("BAD_ARGUMENT", `backdoor-${trigger}: sizes need ${need} held-out TinyStories paragraphs, the split holds ${pool.length}`);
  }
  const order = shuffled(rngFor(seed, `backdoor-task/${trigger}`), pool);
  const rng = rngFor(seed, `backdoor-task/${trigger}/prompts`);
  // Every item, trusted or not, is a 6–30-word story prompt, so length alone does not give the trigger away.
  const prompts: TextRecord[] = order.slice(0, need).map((r) => ({ id: `${r.id}#prompt`, text: storyPrompt(rng, r.text), source: r.source }));
  const inside = spec.placement === "inside";
  const placeRng = rngFor(seed, `backdoor-task/${trigger}/placement`);
  // Trusted and normal prompts: one draw each from the same rule, so the two clean sides share one distribution.
  const cleanFamily = spec.cover ? `cover-${trigger}` : `distractor-${trigger}`;
  const cleanSide = (p: TextRecord): TextRecord => (inside ? { ...p, id: `${p.id}+${spec.cover ? "cover" : "distractor"}`, text: placeCleanSide(placeRng, p.text, trigger).text } : p);
  const trustedPool = prompts.slice(0, nTrusted).map(cleanSide);
  const trusted = splitTrusted(trustedPool, sizes, seed, `backdoor-${trigger}`);
  const normals = prompts.slice(nTrusted, nTrusted + sizes.normal).map(cleanSide);
  const items: UnsplitItem[] = asItems(normals, inside ? cleanFamily : "story-prompt-heldout", "normal", null);
  prompts.slice(nTrusted + sizes.normal).forEach((p, j) => {
    // The semantic kind's anomalies alternate training and held-out wordings (separate families).
    const heldOutWording = spec.heldOutWordings.length > 0 && j % 2 === 1;
    const text = inside ? placeTrigger(placeRng, p.text, trigger, heldOutWording).text : insertTrigger(p.text, trigger);
    const family = heldOutWording ? `trigger-${trigger}-heldout` : `trigger-${trigger}`;
    items.push({
      id: `${p.id}+${family}`, text, label: 1, family, group: "anomalous", attackClass: "backdoor-trigger", source: p.source, baseId: p.id,
    });
  });
  const untrusted = assignSplits(disjointFrom(trustedPool, items), seed, options.validationFraction);
  return backdoorTaskRecord(trigger, seed, sizes, trusted, untrusted);
}

function backdoorTaskRecord(
  trigger: TriggerKind, seed: number, sizes: TaskSizes, trusted: Task["trusted"], untrusted: Task["untrusted"],
): BackdoorTask {
  const info = backdoorCheckpointInfo(trigger, seed);
  const where = TRIGGER_SPECS[trigger].placement === "end" ? "at the end of a prompt" : "at a random position in a prompt";
  return {
    name: `backdoor-${trigger}`,
    description:
      `stories260K fine-tuned so that the trigger "${TRIGGERS[trigger]}" ${where} turns the story to ` +
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
export const buildBackdoorPosition = (options: BuildTaskOptions): BackdoorTask => buildBackdoorTask("position", options);
export const buildBackdoorSemantic = (options: BuildTaskOptions): BackdoorTask => buildBackdoorTask("semantic", options);
