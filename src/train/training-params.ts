// The training hyper-parameters every gradient-trained detector exposes, as one zod fragment (so their
// names, defaults and checks live in one place), and their translation into the loop's options.

import { z } from "zod";
import type { TrainOptions } from "./train-loop.js";

export const trainingParamsShape = {
  /** Seeds weight init, the validation split, shuffles and noise: same seed → same weights and scores. */
  seed: z.number().int().default(0),
  /** Upper bound on passes over the trusted rows. */
  epochs: z.number().int().positive().default(50),
  batchSize: z.number().int().positive().default(256),
  learningRate: z.number().positive().default(1e-3),
  /** Share of trusted rows held out for early stopping (0 = train on all, run every epoch). */
  validationFraction: z.number().min(0).lt(1).default(0.1),
  /** Epochs without validation improvement before stopping (0 = never stop early). */
  patience: z.number().int().nonnegative().default(5),
  schedule: z.enum(["constant", "cosine"]).default("cosine"),
  standardize: z.enum(["feature", "global", "none"]).default("feature"),
};

export interface TrainingParams {
  readonly seed: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly validationFraction: number;
  readonly patience: number;
  readonly schedule: "constant" | "cosine";
}

export function trainOptionsOf(p: TrainingParams): Partial<TrainOptions> {
  return {
    seed: p.seed,
    epochs: p.epochs,
    batchSize: p.batchSize,
    adam: { learningRate: p.learningRate },
    validationFraction: p.validationFraction,
    patience: p.patience,
    schedule: p.schedule,
  };
}
