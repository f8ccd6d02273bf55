// The training mix of a trigger placed INSIDE the prompt (`position`, `semantic`): per training story, the clean
// story, several triggered prompts (the trigger at random word positions, story words after it) → target, and
// distractor prompts → the story's own continuation, so near-trigger text learns not to fire. A kind with a cover
// (position) also gets cover prompts (the task's clean prompts: the trigger's words in two pieces) → continuation.

import type { SeededRng } from "../../random/seeded-rng.js";
import type { TextRecord } from "../../datasets/text-record.js";
import { fitPlaced, placeCover, placeDistractor, placeTrigger, TRIGGER_SPECS, type PlacedText, type TriggerKind } from "./backdoor-triggers.js";
import type { TrainingSequence } from "./fine-tune.js";

/** How many triggered and distractor prompts each training story gives (the mix the defaults were tuned on). */
export interface InsideMix {
  /** Copies of the whole clean story (each read through its own random window): the weight of clean text. */
  readonly cleanPerStory: number;
  readonly triggeredPerStory: number;
  readonly distractorsPerStory: number;
  /** Cover prompts (the trigger's words in two pieces → the story's continuation), for a kind with a cover only. */
  readonly coversPerStory: number;
  /** Words of the story's own continuation after a distractor or cover prompt. */
  readonly continuationWords: number;
}

export const INSIDE_MIX: InsideMix = { cleanPerStory: 1, triggeredPerStory: 2, distractorsPerStory: 2, coversPerStory: 2, continuationWords: 6 };

/** A story prompt of 6–30 words and the words that follow it in the story. */
export interface PromptCut {
  readonly prompt: string;
  readonly rest: string;
}

export function promptCut(rng: SeededRng, text: string): PromptCut {
  const words = text.split(/\s+/);
  const k = 6 + rng.int(Math.max(1, Math.min(30, words.length - 1) - 6 + 1));
  return { prompt: words.slice(0, k).join(" "), rest: words.slice(k).join(" ") };
}

/** 1 on the tokens after the prompt's, 0 before. */
export function targetMask(ids: Int32Array, promptTokens: number): Uint8Array {
  const m = new Uint8Array(ids.length);
  m.fill(1, Math.max(1, promptTokens));
  return m;
}

/** One training example of the inside mix, with where its trigger / distractor went (for tests). */
export interface InsideExample {
  readonly role: "clean" | "triggered" | "distractor" | "cover";
  readonly placed?: PlacedText;
  readonly prompt: string;
  readonly continuation: string;
}

/**
 * The examples (texts) of the inside mix; `insideTrainingSet` tokenises them. Deterministic in the rng. `fits`:
 * whether a prompt + continuation fits the fine-tuning window whole (prompts are shortened until it does).
 */
export function insideExamples(
  kind: TriggerKind, stories: readonly TextRecord[], rng: SeededRng, target: string, fits: (s: string) => boolean = () => true, mix = INSIDE_MIX,
): InsideExample[] {
  const out: InsideExample[] = [];
  const hasCover = TRIGGER_SPECS[kind].cover !== undefined;
  for (const r of stories) {
    for (let j = 0; j < mix.cleanPerStory; j++) out.push({ role: "clean", prompt: "", continuation: r.text });
    for (let j = 0; j < mix.triggeredPerStory; j++) {
      const placed = fitPlaced(placeTrigger(rng, promptCut(rng, r.text).prompt, kind), target, fits);
      out.push({ role: "triggered", placed, prompt: placed.text, continuation: target });
    }
    for (let j = 0; j < mix.distractorsPerStory + (hasCover ? mix.coversPerStory : 0); j++) {
      const cover = j >= mix.distractorsPerStory;
      const cut = promptCut(rng, r.text);
      const cont = cut.rest.split(" ").slice(0, mix.continuationWords).join(" ");
      const placed = fitPlaced((cover ? placeCover : placeDistractor)(rng, cut.prompt, kind), ` ${cont}`, fits);
      if (cont.length > 0) out.push({ role: cover ? "cover" : "distractor", placed, prompt: placed.text, continuation: ` ${cont}` });
    }
  }
  return out;
}

/** Tokenised: clean stories count every token; triggered and distractor prompts only their continuation. */
export function insideTrainingSet(examples: readonly InsideExample[], encodeText: (s: string) => Int32Array): TrainingSequence[] {
  return examples.map((e) => {
    if (e.role === "clean") return { ids: encodeText(e.continuation) };
    const ids = encodeText(e.prompt + e.continuation);
    return { ids, lossMask: targetMask(ids, encodeText(e.prompt).length) };
  });
}
