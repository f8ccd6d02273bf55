// Two derived token-level hooks of width 1 that decoders compute from their logits: the surprise of each
// token (hook_token_nll) and the uncertainty of each next-token distribution (hook_output_entropy). Pooled
// `mean` they are log-perplexity and mean entropy; the behavioural detectors (detectors/behavioural.ts) read them.

import { MadkitError } from "../errors.js";
import type { HookPoint } from "./source.js";

/** Row t = −log p(token_t | tokens_<t) in nats; row 0 (BOS, or whatever starts the sequence) = 0. */
export const TOKEN_NLL_HOOK = "hook_token_nll";
/** Row t = entropy (nats) of the next-token distribution the model predicts at position t. */
export const OUTPUT_ENTROPY_HOOK = "hook_output_entropy";
export const BEHAVIOUR_HOOKS = [TOKEN_NLL_HOOK, OUTPUT_ENTROPY_HOOK] as const;

export function isBehaviourHook(name: string): boolean {
  return name === TOKEN_NLL_HOOK || name === OUTPUT_ENTROPY_HOOK;
}

/** The behaviour hooks as hook points, listed after the logits (layer = nLayers, like the final hooks). */
export function behaviourHookPoints(nLayers: number): HookPoint[] {
  return BEHAVIOUR_HOOKS.map((name) => ({ name, dim: 1, granularity: "token" as const, layer: nLayers }));
}

export interface BehaviourRows {
  readonly nll?: Float32Array;
  readonly entropy?: Float32Array;
}

/**
 * Both hooks from one sequence's logits [T x vocab] (row-major, possibly a view into a padded batch) and its
 * ids. Each row's log-softmax is formed once in float64 (max-shifted), so NLL and entropy share the pass.
 */
export function behaviourFromLogits(
  logits: Float32Array,
  ids: ArrayLike<number>,
  vocab: number,
  want: { readonly nll: boolean; readonly entropy: boolean },
): BehaviourRows {
  const T = ids.length;
  if (logits.length < T * vocab) {
    throw new MadkitError("DIMENSION_MISMATCH", `behaviour hooks: logits hold ${logits.length} values, ${T} tokens x ${vocab} vocab need ${T * vocab}`);
  }
  const nll = want.nll ? new Float32Array(T) : undefined;
  const entropy = want.entropy ? new Float32Array(T) : undefined;
  for (let t = 0; t < T; t++) {
    // The last position's distribution predicts a token that is not there: NLL needs rows 0..T-2 only.
    const needNll = nll !== undefined && t + 1 < T;
    if (!needNll && entropy === undefined) continue;
    const o = t * vocab;
    let max = -Infinity;
    for (let j = 0; j < vocab; j++) if (logits[o + j]! > max) max = logits[o + j]!;
    let sum = 0;
    let weighted = 0; // Σ e^(l−max) (l−max), for H = log Z − E[l−max]
    for (let j = 0; j < vocab; j++) {
      const u = logits[o + j]! - max;
      const e = Math.exp(u);
      sum += e;
      if (e > 0) weighted += e * u; // a −∞ logit (masked token) contributes 0, not 0·−∞ = NaN
    }
    const logZ = Math.log(sum);
    if (needNll) {
      const next = ids[t + 1]!;
      if (!(next >= 0 && next < vocab)) throw new MadkitError("BAD_INPUT", `behaviour hooks: token id ${next} at position ${t + 1} is outside the vocabulary 0..${vocab - 1}`);
      nll![t + 1] = logZ - (logits[o + next]! - max);
    }
    if (entropy) entropy[t] = logZ - weighted / sum;
  }
  return { nll, entropy };
}
