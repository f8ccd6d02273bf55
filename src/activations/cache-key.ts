// Cache keys for stored activations. A key is the sha256 of (model id, model revision, hook, pooling, input
// hash), so activations are only reused for the same weights, the same hook point, the same pooling and the
// same inputs — cupbearer's cache, keyed without the model, could silently mix them.

import { createHash, type Hash } from "node:crypto";
import type { Pooling } from "./pooling.js";

export interface CacheKeyParts {
  readonly modelId: string;
  /** `ModelInfo.revision`: a hash of the weights. */
  readonly revision: string;
  readonly hook: string;
  readonly pooling: Pooling;
  /** sha256 hex of one input's text, or a store's `inputsDigest` for a whole set of inputs. */
  readonly inputHash: string;
}

/** sha256 hex over the parts joined with NUL bytes (no part can contain one), versioned by a prefix. */
export function activationCacheKey(k: CacheKeyParts): string {
  return createHash("sha256")
    .update(["madkit-activations/v1", k.modelId, k.revision, k.hook, k.pooling, k.inputHash].join("\0"))
    .digest("hex");
}

/** Digest of an ordered set of inputs: sha256 over each input's text hash followed by a newline. */
export class InputsDigest {
  private readonly hash: Hash = createHash("sha256");
  add(inputSha256: string): void {
    this.hash.update(`${inputSha256}\n`);
  }
  digest(): string {
    return this.hash.digest("hex");
  }
}
