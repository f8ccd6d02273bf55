// TransformerLens-style hook names shared by every model format, and the glob matching the CLI uses
// (`blocks.*.hook_resid_post`). An unknown name is an error that lists the valid ones.

import { MadkitError } from "../errors.js";
import type { HookPoint } from "./source.js";

export const BLOCK_HOOKS = ["hook_resid_pre", "hook_attn_out", "hook_mlp_out", "hook_resid_post"] as const;
export type BlockHook = (typeof BLOCK_HOOKS)[number];

export const FINAL_NORM_HOOK = "ln_final.hook_normalized";
export const LOGITS_HOOK = "logits";
/** The pooled sentence vector of a sentence encoder: one row per input (granularity "sequence"). */
export const SENTENCE_EMBEDDING_HOOK = "hook_sentence_embedding";

export function blockHook(layer: number, hook: BlockHook): string {
  return `blocks.${layer}.${hook}`;
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^.]*").replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`);
}

/**
 * Resolve a comma-separated list of names or globs against the model's hook points, in forward order.
 * `all` selects every hook whose value depends on the input; a glob does the same among its matches; a hook that
 * does not depend on the input's content (`HookPoint.inputIndependent`) is chosen only by its exact name.
 * Each pattern must match at least one hook.
 */
export function resolveHooks(patterns: string | readonly string[], available: readonly HookPoint[]): HookPoint[] {
  const list = (typeof patterns === "string" ? patterns.split(",") : [...patterns]).map((p) => p.trim()).filter((p) => p.length > 0);
  if (list.length === 0) {
    throw new MadkitError("BAD_ARGUMENT", "no hook names given; expected names or globs such as 'blocks.*.hook_resid_post'");
  }
  const chosen = new Set<string>();
  for (const pattern of list) {
    for (const h of hooksMatching(pattern, available)) chosen.add(h.name);
  }
  return available.filter((h) => chosen.has(h.name));
}

/** The hooks one pattern selects: an exact name, `all`, or a glob (these two skip input-independent hooks). */
function hooksMatching(pattern: string, available: readonly HookPoint[]): readonly HookPoint[] {
  const exact = available.filter((h) => h.name === pattern);
  if (exact.length > 0) return exact;
  const re = pattern === "all" ? /^/ : globToRegExp(pattern);
  const hits = available.filter((h) => re.test(h.name));
  if (hits.length === 0) {
    throw new MadkitError(
      "UNKNOWN_HOOK",
      `unknown hook '${pattern}'; this model's hook points are: ${available.map((h) => h.name).join(", ")}`,
    );
  }
  const varying = hits.filter((h) => h.inputIndependent === undefined);
  if (varying.length === 0) {
    const h = hits[0]!;
    throw new MadkitError(
      "DEGENERATE_HOOK",
      `'${pattern}' matches only ${hits.map((x) => `'${x.name}'`).join(", ")}, which does not depend on the input (${h.inputIndependent}); ` +
        "a detector on it sees the input's length at most — name it exactly to extract it anyway",
    );
  }
  return varying;
}
