// How a trained net travels through the detector envelope: its parameters and its standardiser become
// safetensors tensors under fixed prefixes ("net.", "std."), and come back checked for type and shape.

import { MadkitError } from "../errors.js";
import type { TypedArrayFor } from "../io/safetensors.js";
import type { HostParams } from "./params.js";
import type { Standardizer, StandardizeMode } from "./standardizer.js";

/** Structurally the detector envelope's tensor; declared here so train/ needn't import detectors/. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: TypedArrayFor;
}

export function netTensors(params: HostParams, std: Standardizer): Record<string, Tensor> {
  const out: Record<string, Tensor> = {
    "std.mean": { shape: [std.mean.length], data: std.mean },
    "std.scale": { shape: [std.scale.length], data: std.scale },
  };
  for (const [k, t] of Object.entries(params)) out[`net.${k}`] = { shape: [...t.shape], data: t.data };
  return out;
}

export function restoreNet(
  where: string,
  tensors: ReadonlyMap<string, Tensor>,
  mode: StandardizeMode,
  dim: number,
): { params: HostParams; standardizer: Standardizer } {
  const f32 = (name: string): Float32Array => {
    const t = tensors.get(name);
    if (!t || !(t.data instanceof Float32Array)) throw new MadkitError("STORE_CORRUPT", `${where}: tensor '${name}' is missing or not F32`);
    return t.data;
  };
  const mean = f32("std.mean");
  const scale = f32("std.scale");
  if (mean.length !== dim || scale.length !== dim) {
    throw new MadkitError("STORE_CORRUPT", `${where}: standardiser tensors have ${mean.length}/${scale.length} entries, expected ${dim}`);
  }
  const params: HostParams = {};
  for (const [name, t] of tensors) {
    if (!name.startsWith("net.")) continue;
    params[name.slice(4)] = { shape: [...t.shape], data: f32(name) };
  }
  return { params, standardizer: { mode, mean, scale } };
}
