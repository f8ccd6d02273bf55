// The saved form of a fitted detector: `detector.json`, a versioned envelope
// {format, schemaVersion, kind, params, state, meta} validated with zod on load, and `weights.safetensors`
// beside it. Weights are written first and the JSON last, so a folder with a JSON always has its weights.

import path from "node:path";
import { z } from "zod";
import { MadkitError } from "../errors.js";
import { readVersionedJson } from "../io/versioned-json.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { readSafetensors, writeSafetensors, type TypedArrayFor } from "../io/safetensors.js";

export const DETECTOR_FORMAT = "madkit-detector";
/** Bump when the envelope or any detector's state layout changes incompatibly. */
export const DETECTOR_SCHEMA_VERSION = 1;
export const ENVELOPE_FILE = "detector.json";
export const WEIGHTS_FILE = "weights.safetensors";

const metaSchema = z.object({
  dim: z.number().int().positive(),
  nTrain: z.number().int().nonnegative(),
  createdAt: z.string(),
  /** name -> shape of every tensor in weights.safetensors, checked on load. */
  tensors: z.record(z.array(z.number().int().nonnegative())),
});

const envelopeSchema = z.object({
  format: z.literal(DETECTOR_FORMAT),
  schemaVersion: z.number().int(),
  kind: z.string().min(1),
  params: z.record(z.unknown()),
  state: z.record(z.unknown()),
  meta: metaSchema,
});

export type Envelope = z.infer<typeof envelopeSchema>;

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: TypedArrayFor;
}

export interface LoadedDetector {
  readonly dir: string;
  readonly envelope: Envelope;
  readonly tensors: ReadonlyMap<string, Tensor>;
}

export function saveEnvelope(
  dir: string,
  parts: { kind: string; params: object; state: Record<string, unknown>; dim: number; nTrain: number },
  tensors: Readonly<Record<string, Tensor>>,
): void {
  const names = Object.keys(tensors);
  writeSafetensors(
    path.join(dir, WEIGHTS_FILE),
    names.map((name) => ({ name, shape: [...tensors[name]!.shape], data: tensors[name]!.data })),
    { format: DETECTOR_FORMAT, kind: parts.kind },
  );
  const envelope: Envelope = {
    format: DETECTOR_FORMAT,
    schemaVersion: DETECTOR_SCHEMA_VERSION,
    kind: parts.kind,
    params: { ...parts.params },
    state: parts.state,
    meta: {
      dim: parts.dim,
      nTrain: parts.nTrain,
      createdAt: new Date().toISOString(),
      tensors: Object.fromEntries(names.map((n) => [n, [...tensors[n]!.shape]])),
    },
  };
  writeFileAtomic(path.join(dir, ENVELOPE_FILE), JSON.stringify(envelope, null, 2) + "\n");
}

/** Read and validate a saved detector folder; every failure names the file and what was wrong. */
export function loadEnvelope(dir: string): LoadedDetector {
  const file = path.join(dir, ENVELOPE_FILE);
  const envelope = readVersionedJson(file, {
    format: DETECTOR_FORMAT,
    schemaVersion: DETECTOR_SCHEMA_VERSION,
    schema: envelopeSchema,
    missing: `no saved detector here (expected ${ENVELOPE_FILE})`,
    onDrift: "refit the detector",
  });
  const { tensors: stored } = readSafetensors(path.join(dir, WEIGHTS_FILE));
  for (const [name, shape] of Object.entries(envelope.meta.tensors)) {
    const t = stored.get(name);
    if (!t) throw new MadkitError("STORE_CORRUPT", `${path.join(dir, WEIGHTS_FILE)}: tensor '${name}' named in ${ENVELOPE_FILE} is missing`);
    if (t.shape.join(",") !== shape.join(",")) {
      throw new MadkitError(
        "STORE_CORRUPT",
        `${path.join(dir, WEIGHTS_FILE)}: tensor '${name}' has shape [${t.shape.join(", ")}], ${ENVELOPE_FILE} says [${shape.join(", ")}]`,
      );
    }
  }
  return { dir, envelope, tensors: stored };
}

/** A tensor of the expected element type, or a STORE_CORRUPT error naming it. */
export function tensorOf<T extends TypedArrayFor>(
  loaded: LoadedDetector,
  name: string,
  ctor: { new (n: number): T; name: string },
): T {
  const t = loaded.tensors.get(name);
  if (!t) throw new MadkitError("STORE_CORRUPT", `${path.join(loaded.dir, WEIGHTS_FILE)}: tensor '${name}' is missing`);
  if (!(t.data instanceof ctor)) {
    throw new MadkitError("STORE_CORRUPT", `${path.join(loaded.dir, WEIGHTS_FILE)}: tensor '${name}' should be ${ctor.name}`);
  }
  return t.data as T;
}

/** Validate a spec's hyper-parameters with its schema; an invalid one is a BAD_ARGUMENT naming the detector and field. */
export function parseParams<S extends z.ZodTypeAny>(schema: S, params: unknown, kind: string): z.infer<S> {
  const r = schema.safeParse(params);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new MadkitError("BAD_ARGUMENT", `${kind}: ${issue.path.join(".")} ${issue.message}`);
  }
  return r.data;
}

/** Validate params or state with a detector's own schema; errors name the folder and field. */
export function parseWith<S extends z.ZodTypeAny>(loaded: LoadedDetector, part: "params" | "state", schema: S): z.infer<S> {
  const r = schema.safeParse(loaded.envelope[part]);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new MadkitError(
      "STORE_CORRUPT",
      `${path.join(loaded.dir, ENVELOPE_FILE)}: ${part}.${issue.path.join(".")} ${issue.message}`,
    );
  }
  return r.data;
}
