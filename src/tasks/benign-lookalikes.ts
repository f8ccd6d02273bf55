// Benign look-alikes: harmless requests wrapped in the templates of lookalike-templates.ts (role-play, "ignore
// the previous …", JSON-only, translate-then-do, base64, "start your reply with …"). Fully determined by
// (seed, base ids); families take turns so every family is represented in any prefix of the output.

import { MadkitError } from "../errors.js";
import type { TextRecord } from "../datasets/text-record.js";
import { rngFor } from "../random/seeded-sampling.js";
import { toBase64 } from "./synthetic-attacks.js";
import { LOOKALIKE_FAMILIES, LOOKALIKE_TEMPLATES, type LookalikeFamily } from "./lookalike-templates.js";

export interface BenignLookalike {
  /** `lookalike-<family>/<base id>`. */
  readonly id: string;
  readonly text: string;
  readonly family: LookalikeFamily;
  readonly baseId: string;
  /** Index into the family's template table. */
  readonly template: number;
}

/** One look-alike of `family` around the harmless request `base`. */
export function lookalikeOf(family: LookalikeFamily, base: TextRecord, seed: number): BenignLookalike {
  const table = LOOKALIKE_TEMPLATES[family];
  if (!table) throw new MadkitError("BAD_ARGUMENT", `unknown look-alike family '${String(family)}'; expected one of ${LOOKALIKE_FAMILIES.join(", ")}`);
  const template = rngFor(seed, `lookalike-${family}/${base.id}`).int(table.length);
  const raw = table[template]!;
  const text = family === "base64" ? raw.replace("{payload}", () => toBase64(base.text)) : raw.replace("{request}", () => base.text);
  return { id: `lookalike-${family}/${base.id}`, text, family, baseId: base.id, template };
}

/** One look-alike per base request, the families in turn (base i gets family i mod 6). */
export function benignLookalikes(bases: readonly TextRecord[], seed: number): BenignLookalike[] {
  return bases.map((b, i) => lookalikeOf(LOOKALIKE_FAMILIES[i % LOOKALIKE_FAMILIES.length]!, b, seed));
}
