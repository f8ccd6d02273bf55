// What the gradient-trained detectors (autoencoder, VAE, sparse autoencoder) share once fitted: the width
// check before scoring, the envelope they save (the net's weights and standardiser as "net." / "std."
// tensors, plus any of their own) and the first steps of restoring one (params, state, then the net).

import { z } from "zod";
import type { Matrix } from "../linalg/matrix.js";
import type { HostParams } from "../train/params.js";
import { netTensors, restoreNet } from "../train/saved-net.js";
import type { Standardizer, StandardizeMode } from "../train/standardizer.js";
import type { TrainResult } from "../train/train-loop.js";
import type { FittedDetector } from "./detector.js";
import { parseWith, saveEnvelope, type LoadedDetector, type Tensor } from "./envelope.js";
import { checkScoreInput } from "./input-checks.js";

/** The training curve a fitted detector keeps in its saved state. */
export const trainingCurveShape = {
  bestEpoch: z.number().int(),
  trainLoss: z.array(z.number()),
  validationLoss: z.array(z.number()),
};

export interface TrainingCurve {
  bestEpoch: number;
  trainLoss: number[];
  validationLoss: number[];
}

export function trainingCurve(result: TrainResult): TrainingCurve {
  return { bestEpoch: result.bestEpoch, trainLoss: result.trainLoss, validationLoss: result.validationLoss };
}

/** The architecture params of the mirrored encoder/decoder detectors (autoencoder, VAE). */
export const bottleneckParamsShape = {
  /** Encoder hidden widths (the decoder mirrors them); null = [min(128, max(2·latent, d))]. [] = linear. */
  hidden: z.array(z.number().int().positive()).nullable().default(null),
  /** Bottleneck (latent) width; null = clamp(⌈d/4⌉, 1, cap), the cap 32 for the autoencoder and 16 for the VAE. */
  latent: z.number().int().positive().nullable().default(null),
  activation: z.enum(["relu", "gelu"]).default("relu"),
};

/** Their saved state: the architecture the null sizes resolved to, and the training curve. */
export const bottleneckStateSchema = z.object({
  hidden: z.array(z.number().int().positive()),
  latent: z.number().int().positive(),
  ...trainingCurveShape,
});

export type BottleneckState = z.infer<typeof bottleneckStateSchema>;

/** Encoder hidden widths and bottleneck, resolved from params whose null means "size it from d". */
export interface BottleneckArchitecture {
  hidden: number[];
  latent: number;
}

/** latent = clamp(⌈d/4⌉, 1, maxLatent); hidden = [min(128, max(2·latent, d))]. */
export function bottleneckArchitecture(
  p: { readonly hidden: number[] | null; readonly latent: number | null },
  d: number,
  maxLatent: number,
): BottleneckArchitecture {
  const latent = p.latent ?? Math.min(maxLatent, Math.max(1, Math.ceil(d / 4)));
  const hidden = p.hidden ?? [Math.min(128, Math.max(2 * latent, d))];
  return { hidden, latent };
}

/** The trained net a detector wraps, as far as scoring checks and saving need it. */
export interface WrappedNet {
  readonly inputDim: number;
  readonly params: HostParams;
  readonly standardizer: Standardizer;
}

export abstract class FittedTrainedNet<K extends string, P extends object, N extends WrappedNet> implements FittedDetector<P> {
  readonly dim: number;

  protected constructor(
    readonly kind: K,
    readonly params: Readonly<P>,
    readonly net: N,
    readonly nTrain: number,
  ) {
    this.dim = net.inputDim;
  }

  score(x: Matrix): Float64Array {
    checkScoreInput(x, this.dim, this.kind);
    return this.scoreChecked(x);
  }

  /** The net's score of rows that passed the checks. */
  protected abstract scoreChecked(x: Matrix): Float64Array;

  /** The envelope's `state`: what restoring needs besides params and tensors. */
  protected abstract savedState(): Record<string, unknown>;

  /** The net's weights and standardiser; a detector that keeps more tensors adds them after these. */
  protected savedTensors(): Record<string, Tensor> {
    return netTensors(this.net.params, this.net.standardizer);
  }

  save(dir: string): void {
    saveEnvelope(
      dir,
      { kind: this.kind, params: this.params, state: this.savedState(), dim: this.dim, nTrain: this.nTrain },
      this.savedTensors(),
    );
  }
}

/** A saved trained-net detector read back: params and state checked by their schemas, then the net's tensors. */
export function loadTrainedNet<PS extends z.ZodType<{ standardize: StandardizeMode }, z.ZodTypeDef, unknown>, SS extends z.ZodTypeAny>(
  loaded: LoadedDetector,
  paramsSchema: PS,
  stateSchema: SS,
): { params: z.infer<PS>; state: z.infer<SS>; dim: number; nTrain: number; weights: HostParams; standardizer: Standardizer } {
  const params = parseWith(loaded, "params", paramsSchema);
  const state = parseWith(loaded, "state", stateSchema);
  const dim = loaded.envelope.meta.dim;
  const { params: weights, standardizer } = restoreNet(loaded.dir, loaded.tensors, params.standardize, dim);
  return { params, state, dim, nTrain: loaded.envelope.meta.nTrain, weights, standardizer };
}

/** A trained net whose saved state is its resolved bottleneck architecture and training curve (autoencoder, VAE). */
export abstract class FittedBottleneckNet<K extends string, P extends object, N extends WrappedNet> extends FittedTrainedNet<K, P, N> {
  protected constructor(
    kind: K,
    params: Readonly<P>,
    net: N,
    nTrain: number,
    /** Resolved architecture and the training curve. */
    readonly state: BottleneckState,
  ) {
    super(kind, params, net, nTrain);
  }

  protected savedState(): Record<string, unknown> {
    return { ...this.state };
  }
}
