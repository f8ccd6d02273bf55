// Adam (Kingma & Ba 2015) written as a pure jax-js function of (params, moments, grads), so it is traced
// into the same jitted kernel as the gradient: one dispatch per training step, no host round trip.

import { numpy as np } from "@jax-js/jax";
import type { DeviceParams } from "./params.js";

export interface AdamOptions {
  /** Step size. */
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Decoupled weight decay (AdamW); 0 turns it off. */
  readonly weightDecay: number;
}

export const ADAM_DEFAULTS: AdamOptions = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };

/**
 * One Adam update. `lrT` is a scalar array holding the bias-corrected step size
 * lr·√(1−β2ᵗ)/(1−β1ᵗ) (see `adamStepSize`), passed as data so the traced step never recompiles.
 * Consumes every argument; returns the new params and moments.
 */
export function adamUpdate(
  params: DeviceParams,
  m: DeviceParams,
  v: DeviceParams,
  grads: DeviceParams,
  lrT: np.Array,
  opts: AdamOptions,
): { params: DeviceParams; m: DeviceParams; v: DeviceParams } {
  const out = { params: {} as DeviceParams, m: {} as DeviceParams, v: {} as DeviceParams };
  const { beta1: b1, beta2: b2, epsilon, weightDecay, learningRate } = opts;
  for (const k of Object.keys(params)) {
    const g = grads[k]!;
    const m1 = m[k]!.mul(b1).add(g.ref.mul(1 - b1));
    const v1 = v[k]!.mul(b2).add(np.square(g).mul(1 - b2));
    let p = params[k]!;
    if (weightDecay > 0) p = p.mul(1 - learningRate * weightDecay);
    out.params[k] = p.sub(m1.ref.mul(lrT.ref).div(np.sqrt(v1.ref).add(epsilon)));
    out.m[k] = m1;
    out.v[k] = v1;
  }
  lrT.dispose();
  return out;
}

/** The bias-corrected step size for step t (1-based). */
export function adamStepSize(t: number, opts: AdamOptions): number {
  return (opts.learningRate * Math.sqrt(1 - opts.beta2 ** t)) / (1 - opts.beta1 ** t);
}
