// Behavioural baselines: detectors that read the model's output behaviour, not its internals. `perplexity`
// scores the pooled per-token negative log-likelihood (hook_token_nll), `output-entropy` the pooled entropy of
// the next-token distribution (hook_output_entropy); the score is the value itself, higher = more anomalous.

import { z } from "zod";
import { MadkitError } from "../errors.js";
import type { Matrix } from "../linalg/matrix.js";
import { OUTPUT_ENTROPY_HOOK, TOKEN_NLL_HOOK } from "../models/behaviour-hooks.js";
import type { DetectorSpec, Explanation, FittedDetector } from "./detector.js";
import { parseWith, saveEnvelope, tensorOf, type LoadedDetector } from "./envelope.js";
import { checkFitInput, checkScoreInput } from "./input-checks.js";

export const PERPLEXITY = "perplexity";
export const OUTPUT_ENTROPY = "output-entropy";
type BehaviouralKind = typeof PERPLEXITY | typeof OUTPUT_ENTROPY;

const HOOK_OF: Readonly<Record<BehaviouralKind, string>> = { [PERPLEXITY]: TOKEN_NLL_HOOK, [OUTPUT_ENTROPY]: OUTPUT_ENTROPY_HOOK };

/** No hyper-parameters: the score is the pooled value. */
const paramsSchema = z.object({}).strict();
export type BehaviouralParams = z.infer<typeof paramsSchema>;

function parseParams(kind: BehaviouralKind, params: unknown): BehaviouralParams {
  const r = paramsSchema.safeParse(params);
  if (!r.success) {
    throw new MadkitError("BAD_ARGUMENT", `${kind}: takes no parameters (${r.error.issues[0]!.message}: ${JSON.stringify(params)})`);
  }
  return r.data;
}

export class BehaviouralSpec implements DetectorSpec<BehaviouralParams> {
  readonly params: Readonly<BehaviouralParams>;
  constructor(readonly kind: BehaviouralKind, params: Partial<BehaviouralParams> = {}) {
    this.params = parseParams(kind, params);
  }

  fit(trusted: Matrix): FittedBehavioural {
    if (trusted.cols !== 1) {
      throw new MadkitError(
        "DIMENSION_MISMATCH",
        `${this.kind}: expects one column (the pooled '${HOOK_OF[this.kind]}' hook), got ${trusted.cols}; ` +
          `extract it with 'madkit extract --hooks ${HOOK_OF[this.kind]} --pool mean'`,
      );
    }
    checkFitInput(trusted, this.kind, 2);
    let sum = 0;
    for (let i = 0; i < trusted.rows; i++) sum += trusted.data[i]!;
    const mean = sum / trusted.rows;
    let ss = 0;
    for (let i = 0; i < trusted.rows; i++) ss += (trusted.data[i]! - mean) ** 2;
    return new FittedBehavioural(this.kind, this.params, mean, Math.sqrt(ss / (trusted.rows - 1)), trusted.rows);
  }
}

export class FittedBehavioural implements FittedDetector<BehaviouralParams> {
  readonly dim = 1;
  constructor(
    readonly kind: BehaviouralKind,
    readonly params: Readonly<BehaviouralParams>,
    /** Trusted mean and sample standard deviation of the value, kept for explanations and reports. */
    readonly trustedMean: number,
    readonly trustedStd: number,
    readonly nTrain: number,
  ) {}

  score(x: Matrix): Float64Array {
    checkScoreInput(x, 1, this.kind);
    return Float64Array.from(x.data);
  }

  /** One "feature" (the value); its contribution is the whole score. */
  explain(x: Matrix): Explanation[] {
    const s = this.score(x);
    return Array.from(s, (v) => ({ score: v, top: [{ kind: "feature" as const, index: 0, contribution: v, share: v !== 0 ? 1 : 0 }] }));
  }

  save(dir: string): void {
    saveEnvelope(
      dir,
      { kind: this.kind, params: this.params, state: {}, dim: 1, nTrain: this.nTrain },
      { trusted_moments: { shape: [2], data: Float64Array.of(this.trustedMean, this.trustedStd) } },
    );
  }

  static restore(loaded: LoadedDetector): FittedBehavioural {
    const kind = loaded.envelope.kind as BehaviouralKind;
    const params = parseWith(loaded, "params", paramsSchema);
    const m = tensorOf(loaded, "trusted_moments", Float64Array);
    if (loaded.envelope.meta.dim !== 1 || m.length !== 2) {
      throw new MadkitError("STORE_CORRUPT", `${loaded.dir}: ${kind} must have dim 1 and 2 trusted moments`);
    }
    return new FittedBehavioural(kind, params, m[0]!, m[1]!, loaded.envelope.meta.nTrain);
  }
}

export function perplexity(params: Partial<BehaviouralParams> = {}): BehaviouralSpec {
  return new BehaviouralSpec(PERPLEXITY, params);
}

export function outputEntropy(params: Partial<BehaviouralParams> = {}): BehaviouralSpec {
  return new BehaviouralSpec(OUTPUT_ENTROPY, params);
}
