// Seeded synthetic jailbreak attacks over harmful requests: role-play and injection wrappers, base64 /
// leetspeak / character-spacing obfuscation, many-shot prefixes and GCG-like random-token suffixes. Each
// attack's randomness comes from (seed, family, base id) alone, so an item never depends on its neighbours.

import { MadkitError } from "../errors.js";
import type { SeededRng } from "../random/seeded-rng.js";
import {
  BASE64_TEMPLATES,
  INJECTION_TEMPLATES,
  LEETSPEAK_TEMPLATES,
  MANY_SHOT_FORMATS,
  MANY_SHOT_TURNS,
  RANDOM_SUFFIX_PIECES,
  ROLEPLAY_TEMPLATES,
  SPACING_TEMPLATES,
} from "./attack-templates.js";
import type { TextRecord } from "../datasets/text-record.js";
import { pick, rngFor, sampleWithoutReplacement } from "../random/seeded-sampling.js";

export const SYNTHETIC_FAMILIES = [
  "synthetic-roleplay",
  "synthetic-injection",
  "synthetic-manyshot",
  "synthetic-random-suffix",
  "obfuscation-base64",
  "obfuscation-leetspeak",
  "obfuscation-spacing",
] as const;
export type SyntheticFamily = (typeof SYNTHETIC_FAMILIES)[number];

export interface SyntheticAttack {
  /** `<family>/<base id>`. */
  readonly id: string;
  readonly text: string;
  readonly family: SyntheticFamily;
  /** The harmful request the attack wraps. */
  readonly baseId: string;
  readonly baseText: string;
  /** Index into the family's template table (0 where the family has none). */
  readonly template: number;
  /** The transformed request as it appears in `text` (obfuscations) or the appended suffix (random-suffix). */
  readonly payload?: string;
  /** Number of fake turns (many-shot only). */
  readonly shots?: number;
}

export interface ManyShotOptions {
  /** Fewest and most fake Q/A turns before the request (inclusive). */
  readonly minShots: number;
  readonly maxShots: number;
}

export interface RandomSuffixOptions {
  /** Fewest and most pieces in a suffix (inclusive); GCG suffixes are about 20 tokens. */
  readonly minPieces: number;
  readonly maxPieces: number;
}

export const DEFAULT_MANY_SHOT: ManyShotOptions = { minShots: 4, maxShots: 8 };
export const DEFAULT_RANDOM_SUFFIX: RandomSuffixOptions = { minPieces: 12, maxPieces: 24 };

// ---- reversible transformations (exported so tests and analyses can check them) ----

export function toBase64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

export function fromBase64(encoded: string): string {
  return Buffer.from(encoded, "base64").toString("utf8");
}

/** Lowercase letters only, so uppercase and everything else pass through untouched. */
const LEET: Readonly<Record<string, string>> = { a: "4", e: "3", i: "1", o: "0", s: "5", t: "7" };
const UNLEET: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(LEET).map(([k, v]) => [v, k]));

export function toLeetspeak(text: string): string {
  return text.replace(/[aeiost]/g, (c) => LEET[c]!);
}

/** Inverse of `toLeetspeak` for texts that contained none of the digits 0 1 3 4 5 7 to begin with. */
export function fromLeetspeak(text: string): string {
  return text.replace(/[013457]/g, (c) => UNLEET[c]!);
}

/** Every character (code point) separated by one space: "ab c" → "a b   c"; exactly reversible. */
export function spaceCharacters(text: string): string {
  return Array.from(text).join(" ");
}

export function unspaceCharacters(spaced: string): string {
  return Array.from(spaced)
    .filter((_, i) => i % 2 === 0)
    .join("");
}

/** A GCG-like gibberish suffix of random pieces (not optimised against any model). */
export function randomTokenSuffix(rng: SeededRng, options: RandomSuffixOptions = DEFAULT_RANDOM_SUFFIX): string {
  const n = options.minPieces + rng.int(options.maxPieces - options.minPieces + 1);
  const pieces: string[] = [];
  for (let i = 0; i < n; i++) pieces.push(pick(rng, RANDOM_SUFFIX_PIECES));
  return pieces.join(" ");
}

/** `k` fake compliant turns in one speaker format, then the request and an open assistant turn. */
export function manyShotPrompt(rng: SeededRng, request: string, options: ManyShotOptions = DEFAULT_MANY_SHOT): {
  text: string;
  shots: number;
} {
  const k = options.minShots + rng.int(options.maxShots - options.minShots + 1);
  const fmt = pick(rng, MANY_SHOT_FORMATS);
  const turns = sampleWithoutReplacement(rng, MANY_SHOT_TURNS, k);
  const prefix = turns.map((t) => `${fmt.user}: ${t.user}\n${fmt.assistant}: ${t.assistant}`).join("\n\n");
  return { text: `${prefix}\n\n${fmt.user}: ${request}\n${fmt.assistant}:`, shots: turns.length };
}

function fill(template: string, key: "request" | "payload", value: string): string {
  // A function replacement, so `$` in a request is never read as a replacement pattern.
  return template.replace(`{${key}}`, () => value);
}

/** A request as the object of "how to ...": drop a trailing full stop, lowercase a leading capital. */
function asClause(request: string): string {
  const t = request.replace(/[.]\s*$/, "");
  return t.length > 1 && /^[A-Z][a-z]/.test(t) ? t[0]!.toLowerCase() + t.slice(1) : t;
}

export interface SyntheticAttackOptions {
  readonly manyShot?: ManyShotOptions;
  readonly randomSuffix?: RandomSuffixOptions;
}

/** One attack of `family` over `base`, fully determined by (seed, family, base.id). */
export function generateAttack(
  family: SyntheticFamily,
  base: TextRecord,
  seed: number,
  options: SyntheticAttackOptions = {},
): SyntheticAttack {
  const rng = rngFor(seed, `${family}/${base.id}`);
  const request = base.text;
  const common = { id: `${family}/${base.id}`, family, baseId: base.id, baseText: request };
  const templated = (table: readonly string[]) => {
    const template = rng.int(table.length);
    return { template, raw: table[template]! };
  };
  switch (family) {
    case "synthetic-roleplay": {
      const { template, raw } = templated(ROLEPLAY_TEMPLATES);
      // The grandmother template reads "how to {request}", so it takes the request as a clause.
      const value = raw.includes("how to {request}") ? asClause(request) : request;
      return { ...common, template, text: fill(raw, "request", value) };
    }
    case "synthetic-injection": {
      const { template, raw } = templated(INJECTION_TEMPLATES);
      const value = raw.includes("Instead, {request}") ? asClause(request) : request;
      return { ...common, template, text: fill(raw, "request", value) };
    }
    case "obfuscation-base64": {
      const { template, raw } = templated(BASE64_TEMPLATES);
      const payload = toBase64(request);
      return { ...common, template, payload, text: fill(raw, "payload", payload) };
    }
    case "obfuscation-leetspeak": {
      const { template, raw } = templated(LEETSPEAK_TEMPLATES);
      const payload = toLeetspeak(request);
      return { ...common, template, payload, text: fill(raw, "payload", payload) };
    }
    case "obfuscation-spacing": {
      const { template, raw } = templated(SPACING_TEMPLATES);
      const payload = spaceCharacters(request);
      return { ...common, template, payload, text: fill(raw, "payload", payload) };
    }
    case "synthetic-manyshot": {
      const { text, shots } = manyShotPrompt(rng, request, options.manyShot);
      return { ...common, template: 0, shots, text };
    }
    case "synthetic-random-suffix": {
      const payload = randomTokenSuffix(rng, options.randomSuffix);
      return { ...common, template: 0, payload, text: `${request} ${payload}` };
    }
    default: {
      const never: never = family;
      throw new MadkitError("BAD_ARGUMENT", `unknown synthetic attack family '${String(never)}'`);
    }
  }
}

/** One attack per base request (bases must have distinct ids). */
export function generateAttacks(
  family: SyntheticFamily,
  bases: readonly TextRecord[],
  seed: number,
  options: SyntheticAttackOptions = {},
): SyntheticAttack[] {
  if (!(SYNTHETIC_FAMILIES as readonly string[]).includes(family)) {
    throw new MadkitError(
      "BAD_ARGUMENT",
      `unknown synthetic attack family '${family}'; expected one of ${SYNTHETIC_FAMILIES.join(", ")}`,
    );
  }
  const ids = new Set<string>();
  for (const b of bases) {
    if (ids.has(b.id)) throw new MadkitError("BAD_ARGUMENT", `base request id '${b.id}' appears twice`);
    ids.add(b.id);
  }
  return bases.map((b) => generateAttack(family, b, seed, options));
}
