// Extract and pool a handful of texts in memory, one [texts x dim] matrix per hook: what `madkit score
// --model` and the monitor's default bundle need when a store on disk would be overkill.

import { MadkitError } from "../errors.js";
import { matrix, type Matrix } from "../linalg/matrix.js";
import type { ActivationSource } from "../models/source.js";
import { poolTokens, type Pooling } from "./pooling.js";

export interface PooledOptions {
  readonly pooling: Pooling;
  /** Texts per forward call. */
  readonly batchSize?: number;
  /** Expected width per hook (e.g. what a detector was fitted on); a different width is an error. */
  readonly expectDims?: ReadonlyMap<string, number>;
}

export async function extractPooled(
  source: ActivationSource,
  texts: readonly string[],
  hooks: readonly string[],
  options: PooledOptions,
): Promise<Map<string, Matrix<Float32Array>>> {
  const points = new Map(source.hooks().map((h) => [h.name, h]));
  for (const h of hooks) {
    if (!points.has(h)) {
      throw new MadkitError("UNKNOWN_HOOK", `model '${source.info.id}' has no hook '${h}'; its hook points are: ${[...points.keys()].join(", ")}`);
    }
  }
  const data = new Map(hooks.map((h) => [h, new Float32Array(texts.length * points.get(h)!.dim)]));
  const batchSize = options.batchSize ?? 32;
  for (let start = 0; start < texts.length; start += batchSize) {
    const res = await source.forward(texts.slice(start, start + batchSize), { hooks });
    res.activations.forEach((acts, k) => {
      for (const h of hooks) {
        const point = points.get(h)!;
        const pooled = poolTokens(acts.get(h)!, options.pooling, point.granularity);
        const expected = options.expectDims?.get(h) ?? point.dim;
        if (pooled.cols !== expected) {
          throw new MadkitError("DIMENSION_MISMATCH", `hook '${h}': the model gives width ${pooled.cols}, expected ${expected}`);
        }
        data.get(h)!.set(pooled.data, (start + k) * expected);
      }
    });
  }
  return new Map(hooks.map((h) => [h, matrix(texts.length, points.get(h)!.dim, data.get(h)!)]));
}
