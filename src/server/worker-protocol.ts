// The messages between the service's event-loop thread and its worker threads (score-workers.ts ↔
// worker-thread.ts), and errors as plain data: a MadkitError keeps its code and message across the thread
// boundary, so a 400 that names the field is still a 400 that names the field.

import { MadkitError, type MadkitErrorCode } from "../errors.js";
import type { SourceRecipe } from "../models/registry.js";
import type { GroupInput, GroupTimings, ScoreResult } from "./scorer.js";
import type { ItemActivations } from "./storage.js";

/** What a worker is started with (its workerData). */
export type WorkerInit =
  | {
      readonly mode: "score";
      /** A bundle folder (the service saves its in-memory bundle to a temporary one). */
      readonly bundleDir: string;
      /** How to build the model in the worker; null for a service without a model. */
      readonly source: SourceRecipe | null;
      readonly alpha: number;
      readonly maxUnknownShare: number;
      /** OpenBLAS threads per call in the worker. */
      readonly blasThreads: number;
    }
  | { readonly mode: "train" };

export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: MadkitErrorCode;
  readonly stack?: string;
}

export type WireOutcome = { readonly ok: true; readonly results: ScoreResult[]; readonly activations: ItemActivations[] } | { readonly ok: false; readonly error: WireError };

/** Main → score worker: score these requests' inputs; `cancel` is a shared Int32Array[1], set to 1 to abandon. */
export interface ScoreMessage {
  readonly type: "score";
  readonly id: number;
  readonly groups: readonly (readonly GroupInput[])[];
  readonly cancel: SharedArrayBuffer;
}

/** Main → train worker: fit a probe on these rows (features in the hooks' order). */
export interface TrainMessage {
  readonly type: "train";
  readonly hooks: readonly { name: string; dim: number }[];
  readonly features: Float64Array;
  readonly rows: number;
  readonly cols: number;
  readonly labels: Uint8Array;
  readonly l2: number;
}

export type WorkerReply =
  | { readonly type: "ready" }
  | { readonly type: "init-error"; readonly error: WireError }
  | { readonly type: "scored"; readonly id: number; readonly outcomes: WireOutcome[]; readonly timings: GroupTimings }
  | { readonly type: "cancelled"; readonly id: number }
  | { readonly type: "failed"; readonly id?: number; readonly error: WireError }
  | { readonly type: "trained"; readonly state: string };

export function toWire(e: unknown): WireError {
  if (e instanceof MadkitError) return { name: e.name, message: e.message, code: e.code };
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: "Error", message: String(e) };
}

/** The error again: a MadkitError (same code, message and name) or a plain Error with the worker's stack. */
export function fromWire(w: WireError): Error {
  if (w.code !== undefined) {
    const e = new MadkitError(w.code, w.message);
    e.name = w.name;
    return e;
  }
  const e = new Error(w.message);
  e.name = w.name;
  if (w.stack) e.stack = w.stack;
  return e;
}
