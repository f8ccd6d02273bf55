// What each capability-gap score reads, and the kind that follows from it. A score's kind is never declared:
// it is derived from its inputs, so a score that reads what the label is built from (the strong model's output,
// the continuation losses) cannot stand as an activation detector; the report's headline compares only
// activation scores with baselines (gapHeadlineTable in src/report/capability-gap-section.ts).

import { MadkitError } from "../../errors.js";
import type { CapabilityGapScoreKind } from "../../results/contract.js";

/**
 * - `prefix-activations`: hidden states of either model at the prefix's last token.
 * - `own-next-token`: one model's own next-token distribution at the prefix (nothing of the other model).
 * - `prefix-text`: statistics of the prefix's text.
 * - `both-next-token`: the two models' next-token distributions compared.
 * - `strong-output`: the strong model's greedy word or continuation (what the label's loss is measured on).
 * - `label-losses`: the models' losses on the strong model's continuation: the label's own inputs.
 */
export const GAP_INPUTS = ["prefix-activations", "own-next-token", "prefix-text", "both-next-token", "strong-output", "label-losses"] as const;
export type GapInput = (typeof GAP_INPUTS)[number];

export interface GapScoreSpec {
  readonly name: string;
  readonly reads: readonly GapInput[];
}

const LABEL_SIDE: ReadonlySet<GapInput> = new Set(["both-next-token", "strong-output", "label-losses"]);

/** behaviour if anything read is on the label's side; activation if it reads activations only; else baseline. */
export function scoreKind(spec: GapScoreSpec): CapabilityGapScoreKind {
  if (spec.reads.length === 0) throw new MadkitError("BAD_ARGUMENT", `gap score ${spec.name}: expected at least one input it reads, got none`);
  for (const r of spec.reads) {
    if (!GAP_INPUTS.includes(r)) throw new MadkitError("BAD_ARGUMENT", `gap score ${spec.name}: unknown input '${r}', expected one of ${GAP_INPUTS.join(", ")}`);
  }
  if (spec.reads.some((r) => LABEL_SIDE.has(r))) return "behaviour";
  return spec.reads.every((r) => r === "prefix-activations") ? "activation" : "baseline";
}

/** Refuse a score offered as the activation detector when its inputs make it something else. */
export function requireActivationScore(spec: GapScoreSpec): void {
  const kind = scoreKind(spec);
  if (kind !== "activation") {
    throw new MadkitError(
      "BAD_ARGUMENT",
      `gap score ${spec.name}: offered as an activation detector but reads ${spec.reads.join(", ")} (a ${kind} score); ` +
        "an activation score may read prefix-activations only",
    );
  }
}
