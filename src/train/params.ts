// Model parameters in two homes: host tensors (flat Float32Arrays, what we save and seed) and jax-js
// device arrays (what the jitted step trains). jax-js arrays are reference-counted and every call consumes
// its arguments, so these helpers say in their names whether they consume.

import { numpy as np } from "@jax-js/jax";
import { MadkitError } from "../errors.js";
import { SeededRng } from "../random/seeded-rng.js";

export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type HostParams = Record<string, HostTensor>;
/** A flat record of device arrays: a jax-js JsTree the transformations accept as-is. */
export type DeviceParams = Record<string, np.Array>;

export function tensorSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Upload host tensors (copied; the host side stays valid). */
export function toDevice(p: HostParams): DeviceParams {
  const out: DeviceParams = {};
  for (const [k, t] of Object.entries(p)) out[k] = np.array(new Float32Array(t.data)).reshape([...t.shape]);
  return out;
}

/** Download device arrays; consumes them. */
export function toHostConsuming(p: DeviceParams): HostParams {
  const out: HostParams = {};
  for (const [k, a] of Object.entries(p)) {
    const shape = [...a.shape];
    out[k] = { shape, data: new Float32Array(a.dataSync() as Float32Array) };
  }
  return out;
}

/** A new reference to every array of the tree (for passing into a consuming call while keeping it). */
export function refAll(p: DeviceParams): DeviceParams {
  const out: DeviceParams = {};
  for (const [k, a] of Object.entries(p)) out[k] = a.ref;
  return out;
}

export function disposeAll(p: DeviceParams): void {
  for (const a of Object.values(p)) a.dispose();
}

export function zerosLike(p: HostParams): HostParams {
  const out: HostParams = {};
  for (const [k, t] of Object.entries(p)) out[k] = { shape: [...t.shape], data: new Float32Array(t.data.length) };
  return out;
}

/** A [fanIn, fanOut] weight with N(0, gain²/fanIn) entries (He for gain √2, LeCun for 1). */
export function initWeight(rng: SeededRng, fanIn: number, fanOut: number, gain: number): HostTensor {
  return { shape: [fanIn, fanOut], data: rng.fillNormal(new Float32Array(fanIn * fanOut), gain / Math.sqrt(fanIn)) as Float32Array };
}

export function zerosTensor(shape: readonly number[]): HostTensor {
  return { shape: [...shape], data: new Float32Array(tensorSize(shape)) };
}

/** Check a loaded parameter set against the shapes a model needs, naming the first disagreement. */
export function checkParamShapes(where: string, got: HostParams, expected: Record<string, readonly number[]>): void {
  for (const [k, shape] of Object.entries(expected)) {
    const t = got[k];
    if (!t) throw new MadkitError("STORE_CORRUPT", `${where}: tensor '${k}' is missing`);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new MadkitError(
        "STORE_CORRUPT",
        `${where}: tensor '${k}' has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}]`,
      );
    }
  }
}
