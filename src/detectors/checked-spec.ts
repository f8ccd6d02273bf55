// The part of a detector spec every method repeats: its kind, its hyper-parameters parsed by its own
// schema (an invalid one is a BAD_ARGUMENT naming the detector and field), and a `fit` that checks the
// trusted rows (shape, at least two rows, all finite) before the method sees them.

import type { z } from "zod";
import type { Matrix } from "../linalg/matrix.js";
import type { DetectorSpec, FittedDetector } from "./detector.js";
import { parseParams } from "./envelope.js";
import { checkFitInput } from "./input-checks.js";

export abstract class CheckedSpec<K extends string, P extends object, F extends FittedDetector<P>> implements DetectorSpec<P> {
  readonly params: Readonly<P>;

  protected constructor(
    readonly kind: K,
    schema: z.ZodType<P, z.ZodTypeDef, unknown>,
    params: Partial<P>,
  ) {
    this.params = parseParams(schema, params, kind);
  }

  fit(trusted: Matrix): F {
    checkFitInput(trusted, this.kind);
    return this.fitChecked(trusted);
  }

  /** The method's own fit, on rows that passed the checks. */
  protected abstract fitChecked(trusted: Matrix): F;
}
