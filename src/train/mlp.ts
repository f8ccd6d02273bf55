// A stack of dense layers, the building block the AE and VAE share: parameters named `${prefix}.${i}.w/.b`,
// the activation between layers and none after the last (latents and reconstructions are unbounded).

import { nn, numpy as np } from "@jax-js/jax";
import { MadkitError } from "../errors.js";
import { initWeight, zerosTensor, type DeviceParams, type HostParams } from "./params.js";
import type { SeededRng } from "../random/seeded-rng.js";

export type Activation = "relu" | "gelu";

export function checkWidths(where: string, widths: readonly number[]): void {
  for (const w of widths) {
    if (!Number.isInteger(w) || w < 1) {
      throw new MadkitError("BAD_ARGUMENT", `${where}: layer widths must be positive integers, got [${widths.join(", ")}]`);
    }
  }
}

/** He-scaled weights for ReLU/GELU layers, LeCun-scaled for the last (linear) layer; zero biases. */
export function initMlp(rng: SeededRng, prefix: string, widths: readonly number[], into: HostParams): void {
  for (let i = 0; i + 1 < widths.length; i++) {
    const last = i + 2 === widths.length;
    into[`${prefix}.${i}.w`] = initWeight(rng, widths[i]!, widths[i + 1]!, last ? 1 : Math.SQRT2);
    into[`${prefix}.${i}.b`] = zerosTensor([widths[i + 1]!]);
  }
}

export function mlpShapes(prefix: string, widths: readonly number[], into: Record<string, number[]>): void {
  for (let i = 0; i + 1 < widths.length; i++) {
    into[`${prefix}.${i}.w`] = [widths[i]!, widths[i + 1]!];
    into[`${prefix}.${i}.b`] = [widths[i + 1]!];
  }
}

/** x [n, widths[0]] → [n, widths.at(-1)]. Consumes x and the layer arrays it reads (pass a `refAll` copy). */
export function mlpForward(p: DeviceParams, prefix: string, layers: number, x: np.Array, act: Activation): np.Array {
  let h = x;
  for (let i = 0; i < layers; i++) {
    h = np.matmul(h, p[`${prefix}.${i}.w`]!).add(p[`${prefix}.${i}.b`]!);
    if (i + 1 < layers) h = act === "relu" ? nn.relu(h) : nn.gelu(h);
  }
  return h;
}
