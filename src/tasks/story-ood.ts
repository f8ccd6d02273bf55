// story-ood on the TinyStories models: trusted = TinyStories paragraphs; untrusted = held-out paragraphs (normal),
// corrupted paragraphs (shuffled words, an injected instruction) and non-story text (GSM8K, TruthfulQA, Alpaca).
// Licences: TinyStories CDLA-Sharing-1.0; GSM8K MIT; TruthfulQA Apache-2.0; Alpaca CC BY-NC 4.0 (non-commercial).

import { MadkitError } from "../errors.js";
import { loadGsm8k } from "../datasets/gsm8k.js";
import { loadRefusalSplit } from "../datasets/refusal-direction.js";
import { loadTinyStories } from "../datasets/tinystories.js";
import { loadTruthfulQa } from "../datasets/truthfulqa.js";
import { rngFor, sampleWithoutReplacement, shuffled } from "../random/seeded-sampling.js";
import { corruptStory, STORY_CORRUPTION_FAMILIES } from "./story-corruptions.js";
import { wordLength } from "./length.js";
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

/** perFamily = items per corruption family; perShiftSource = items per non-story source; no synthetic families. */
export const STORY_OOD_SIZES: TaskSizes = {
  fit: 500,
  calibration: 150,
  validation: 150,
  normal: 150,
  perShiftSource: 100,
  perFamily: 100,
  perSyntheticFamily: 0,
};

export const STORY_OOD_QUICK_SIZES: TaskSizes = {
  fit: 50,
  calibration: 15,
  validation: 15,
  normal: 15,
  perShiftSource: 10,
  perFamily: 10,
  perSyntheticFamily: 0,
};

/** Paragraphs shorter than this many words ("The end.") are dropped: too short to shuffle or to score. */
export const MIN_STORY_WORDS = 8;

export function buildStoryOod(options: BuildTaskOptions): Task {
  const { seed } = options;
  const sizes = resolveSizes(STORY_OOD_SIZES, STORY_OOD_QUICK_SIZES, options);
  const location = { dataDir: options.dataDir };
  const stories = loadTinyStories(location).filter((r) => wordLength(r.text) >= MIN_STORY_WORDS);

  // One shuffle of the paragraphs, cut into trusted, normal and one base slice per corruption family: disjoint.
  const nTrusted = sizes.fit + sizes.calibration + sizes.validation;
  const need = nTrusted + sizes.normal + sizes.perFamily * STORY_CORRUPTION_FAMILIES.length;
  if (stories.length < need) {
    throw new MadkitError(
      "BAD_ARGUMENT",
      `story-ood: sizes need ${need} TinyStories paragraphs of at least ${MIN_STORY_WORDS} words, the sample holds ${stories.length}`,
    );
  }
  const order = shuffled(rngFor(seed, "story-pool"), stories);
  const trusted = splitTrusted(order.slice(0, nTrusted), sizes, seed, "story-ood");
  let at = nTrusted;
  const items: UnsplitItem[] = asItems(order.slice(at, (at += sizes.normal)), "story-heldout", "normal", null);
  for (const family of STORY_CORRUPTION_FAMILIES) {
    for (const base of order.slice(at, (at += sizes.perFamily))) {
      const c = corruptStory(family, base, seed);
      items.push({
        id: c.id,
        text: c.text,
        label: 1,
        family,
        group: "anomalous",
        attackClass: family === "story-shuffled" ? "corruption-shuffle" : "corruption-injection",
        source: base.source,
        baseId: base.id,
      });
    }
  }
  const nonStory = [
    { family: "nonstory-gsm8k", records: loadGsm8k(location) },
    { family: "nonstory-truthfulqa", records: loadTruthfulQa(location) },
    { family: "nonstory-instruction", records: loadRefusalSplit("harmless_test", location) },
  ];
  for (const { family, records } of nonStory) {
    items.push(...asItems(sampleWithoutReplacement(rngFor(seed, family), records, sizes.perShiftSource), family, "anomalous", "non-story"));
  }
  const untrusted = assignSplits(disjointFrom(order.slice(0, nTrusted), items), seed, options.validationFraction);
  return {
    name: "story-ood",
    description:
      "TinyStories paragraphs are trusted; flag shuffled-word stories, stories with an injected instruction, and non-story text.",
    models: ["stories260k"],
    seed,
    sizes,
    trusted,
    untrusted,
    mix: computeMix(trusted, untrusted),
  };
}
