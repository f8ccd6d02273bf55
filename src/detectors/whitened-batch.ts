// What the batch methods scored in the trusted-whitened frame (QUE, spectral signatures) share once fitted:
// batch scope, the trusted whitening they save (mean and covariance tensors, the shrinkage as state) and
// read back, and the params both carry for it.

import { z } from "zod";
import type { Matrix } from "../linalg/matrix.js";
import type { FittedDetector } from "./detector.js";
import { parseWith, saveEnvelope, type LoadedDetector } from "./envelope.js";
import { TrustedWhitening, type TrustedCovariance } from "./trusted-whitening.js";

/** The param every whitened batch method has. */
export const whiteningParamsShape = {
  /** Trusted covariance estimator used for whitening (as the mahalanobis detector's). */
  covariance: z.enum(["empirical", "ledoit-wolf", "oas"]).default("ledoit-wolf"),
};

const stateSchema = z.object({ shrinkage: z.number().min(0).max(1) });

export abstract class FittedWhitenedBatch<K extends string, P extends object> implements FittedDetector<P> {
  readonly scope = "batch" as const;
  readonly dim: number;

  protected constructor(
    readonly kind: K,
    readonly params: Readonly<P>,
    readonly whitening: TrustedWhitening,
  ) {
    this.dim = whitening.dim;
  }

  abstract score(x: Matrix): Float64Array;

  save(dir: string): void {
    const { gaussian } = this.whitening;
    saveEnvelope(
      dir,
      { kind: this.kind, params: this.params, state: { shrinkage: gaussian.shrinkage }, dim: this.dim, nTrain: gaussian.nTrain },
      this.whitening.tensors(),
    );
  }
}

/** A saved whitened batch detector read back: its params by their schema, then the whitening. */
export function loadWhitened<PS extends z.ZodType<{ covariance: TrustedCovariance }, z.ZodTypeDef, unknown>>(
  loaded: LoadedDetector,
  paramsSchema: PS,
): { params: z.infer<PS>; whitening: TrustedWhitening } {
  const params = parseWith(loaded, "params", paramsSchema);
  const state = parseWith(loaded, "state", stateSchema);
  return { params, whitening: TrustedWhitening.restore(loaded, params.covariance, state.shrinkage) };
}
