// The capability-gap test positions: places in TinyStories paragraphs whose next word is a name or object
// introduced earlier in the same paragraph. The rule reads only the text, so the set is a pure function of
// the seed; models decide later which positions are "gap" and which "no gap".

import { loadTinyStories } from "../../datasets/tinystories.js";
import { rngFor, shuffled } from "../../random/seeded-sampling.js";

/** Function words and the commonest story verbs/adjectives: a repeated one is not "a name or object". */
export const NON_ENTITY_WORDS: ReadonlySet<string> = new Set(
  ("the a an and but or so then when while because if that this these those there here it its he she they them " +
    "his her their him we us our you your i me my was were is are be been being had has have did do does not " +
    "very too also just all some one two many much more most with from into onto over under for about after " +
    "before again once upon time day said says say saw see sees went go goes going came come comes got get " +
    "gets wanted want wants liked like likes loved love loves looked look looks felt feel feels made make " +
    "makes played play plays found find finds took take takes gave give gives could would should can will " +
    "what who how why where which big little happy sad good new old nice fun named called").split(" "),
);

export interface GapPosition {
  /** `<paragraph id>@<word index>`. */
  readonly id: string;
  readonly paragraphId: string;
  /** The paragraph up to the word (no trailing space): what every model reads. */
  readonly prefix: string;
  /** The next word as written (letters only): the ground truth, never shown to a detector. */
  readonly target: string;
  /** "calibration" paragraphs feed the trusted set; "evaluation" paragraphs the labelled set. */
  readonly part: "calibration" | "evaluation";
}

export interface ConstructedSetOptions {
  readonly seed: number;
  /** Paragraphs per part (calibration, evaluation). */
  readonly paragraphs: { readonly calibration: number; readonly evaluation: number };
  /** At most this many positions per paragraph (the first ones in text order). */
  readonly maxPerParagraph: number;
  /** Prefixes longer than this are skipped (BabyLlama's context is 256 tokens of a 105-piece vocabulary). */
  readonly maxPrefixChars: number;
}

export const CONSTRUCTED_SET_DEFAULTS: ConstructedSetOptions = {
  seed: 0,
  paragraphs: { calibration: 300, evaluation: 500 },
  maxPerParagraph: 3,
  maxPrefixChars: 400,
};

/** Letters of a whitespace-separated word, e.g. `Lily's,` → `Lily`. */
function core(word: string): string {
  return /^[A-Za-z]+/.exec(word)?.[0] ?? "";
}

/**
 * Positions whose next word w (letters only) has ≥ 3 letters, is not in NON_ENTITY_WORDS (case-folded),
 * occurred earlier in the paragraph with the same spelling, and is at least the 5th word.
 */
export function entityRepeatPositions(paragraphId: string, text: string, maxPerParagraph: number, maxPrefixChars: number): Array<Omit<GapPosition, "part">> {
  const out: Array<Omit<GapPosition, "part">> = [];
  const seen = new Set<string>();
  const re = /\S+/g;
  let m: RegExpExecArray | null;
  let index = 0;
  while ((m = re.exec(text)) !== null && out.length < maxPerParagraph) {
    const w = core(m[0]);
    if (index >= 4 && w.length >= 3 && !NON_ENTITY_WORDS.has(w.toLowerCase()) && seen.has(w) && m.index <= maxPrefixChars) {
      out.push({ id: `${paragraphId}@${index}`, paragraphId, prefix: text.slice(0, m.index).trimEnd(), target: w });
    }
    if (w) seen.add(w);
    index++;
  }
  return out;
}

const paragraphOrder = (seed: number) => shuffled(rngFor(seed, "capability-gap/paragraphs"), loadTinyStories());

/**
 * Paragraphs of the seeded order after the first `used` (the full run's calibration + evaluation): text no
 * capability-gap position comes from, for training a weak model (the quick sizes use a prefix of the same order).
 */
export function heldOutGapParagraphs(seed: number, used: number): string[] {
  return paragraphOrder(seed).slice(used).map((r) => r.text);
}

/** The seeded paragraph split and every candidate position in it. */
export function constructGapPositions(options: Partial<ConstructedSetOptions> = {}): GapPosition[] {
  const o = { ...CONSTRUCTED_SET_DEFAULTS, ...options };
  const order = paragraphOrder(o.seed);
  const nCal = o.paragraphs.calibration;
  const parts: Array<["calibration" | "evaluation", typeof order]> = [
    ["calibration", order.slice(0, nCal)],
    ["evaluation", order.slice(nCal, nCal + o.paragraphs.evaluation)],
  ];
  const out: GapPosition[] = [];
  for (const [part, records] of parts) {
    for (const r of records) {
      for (const p of entityRepeatPositions(r.id, r.text, o.maxPerParagraph, o.maxPrefixChars)) out.push({ ...p, part });
    }
  }
  return out;
}
