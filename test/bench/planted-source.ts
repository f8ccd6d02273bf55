// A fake model and a synthetic task with planted anomalies for the runner's tests. Each text's activations are
// a closed-form function of the text (seeded normals from its hash), so a test can recompute them: the `signal`
// hook shifts anomalous texts ("anomaly ...") by SHIFT in every unit, the `noise` hook carries no label signal.

import { createHash } from "node:crypto";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import type { ActivationSource, ForwardOptions, ForwardResult, HookPoint, ModelInfo, Tokenization } from "../../src/models/source.js";
import type { BenchPlan } from "../../src/bench/plan.js";
import type { Task, TaskItem } from "../../src/tasks/task.js";
import type { TextRecord } from "../../src/datasets/text-record.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { computeMix } from "../../src/tasks/task.js";

export const SIGNAL_HOOK = "blocks.0.hook_resid_post";
export const NOISE_HOOK = "blocks.1.hook_resid_post";
export const DIM = 4;
export const SHIFT = 6;

const HOOKS: readonly HookPoint[] = [
  { name: SIGNAL_HOOK, dim: DIM, granularity: "sequence", layer: 0 },
  { name: NOISE_HOOK, dim: DIM, granularity: "sequence", layer: 1 },
];

/** The activation vector of a text at a hook: the closed form the source returns. */
export function plantedActivation(text: string, hook: string): Float32Array {
  const seed = createHash("sha256").update(`${hook}\0${text}`).digest().readUInt32LE(0);
  const rng = new SeededRng(seed);
  const v = new Float32Array(DIM);
  const shift = hook === SIGNAL_HOOK && text.startsWith("anomaly") ? SHIFT : 0;
  for (let j = 0; j < DIM; j++) v[j] = rng.normal() + shift;
  return v;
}

export class PlantedSource implements ActivationSource {
  readonly info: ModelInfo = { id: "planted", revision: "r1", format: "llama2c", nLayers: 2, dModel: DIM, vocabSize: 10, contextLength: 64 };
  forwardCalls = 0;
  hooks(): readonly HookPoint[] {
    return HOOKS;
  }
  tokenize(text: string): Tokenization {
    const words = text.split(/\s+/);
    return { ids: Int32Array.from(words, (_, i) => i), pieces: words };
  }
  async forward(texts: readonly string[], options: ForwardOptions): Promise<ForwardResult> {
    this.forwardCalls++;
    const activations = texts.map((t) => new Map<string, Matrix<Float32Array>>(options.hooks.map((h) => [h, matrix(1, DIM, plantedActivation(t, h))] as const)));
    return { activations, tokenCounts: texts.map((t) => t.split(/\s+/).length), truncated: texts.map(() => false), unknownTokens: texts.map(() => 0), unknownShare: texts.map(() => 0) };
  }
  async dispose(): Promise<void> {}
}

const rec = (id: string, text: string): TextRecord => ({ id, text, source: "synthetic" });

/** 200 / 100 / 100 trusted, then 300 normal and 2 × 150 anomalous untrusted items, alternating splits. */
export function plantedTask(options: { flipLabels?: boolean } = {}): Task {
  const normal = (k: number): string => `normal text number ${k}`;
  const trusted = Array.from({ length: 400 }, (_, i) => rec(`t${i}`, normal(i)));
  const untrusted: TaskItem[] = [];
  for (let i = 0; i < 300; i++) {
    untrusted.push({ id: `n${i}`, text: normal(1000 + i), label: 0, family: "normal", group: "normal", attackClass: null, split: i % 2 ? "test" : "validation", source: "synthetic" });
  }
  for (const family of ["planted-a", "planted-b"]) {
    for (let i = 0; i < 150; i++) {
      untrusted.push({ id: `${family}-${i}`, text: `anomaly ${family} item ${i}`, label: 1, family, group: "anomalous", attackClass: family, split: i % 2 ? "test" : "validation", source: "synthetic" });
    }
  }
  // Perturbing untrusted labels must not move anything calibrated: swap groups and labels of every item.
  const items = options.flipLabels
    ? untrusted.map((it) => ({ ...it, label: (1 - it.label) as 0 | 1, group: it.group === "anomalous" ? ("normal" as const) : ("anomalous" as const), family: it.group === "anomalous" ? "normal" : "flipped" }))
    : untrusted;
  const t = { fit: trusted.slice(0, 200), calibration: trusted.slice(200, 300), validation: trusted.slice(300) };
  return {
    name: "synthetic",
    description: "planted anomalies",
    models: ["planted"],
    seed: 0,
    sizes: { fit: 200, calibration: 100, validation: 100, normal: 300, perShiftSource: 0, perFamily: 150, perSyntheticFamily: 0 },
    trusted: t,
    untrusted: items,
    mix: computeMix(t, items),
  };
}

export function plantedPlan(detectors: BenchPlan["detectors"]): BenchPlan {
  return {
    seed: 3,
    quick: true,
    tasks: [{ task: "synthetic", models: ["planted"] }],
    models: {
      planted: { model: "planted", pooling: "mean", poolingReason: "test", hooks: [SIGNAL_HOOK, NOISE_HOOK], fewHooks: [SIGNAL_HOOK], behaviourHooks: [] },
    },
    detectors,
    alphas: [0.01, 0.05],
    bootstrapReplicates: 20,
    combiners: ["max", "mean"],
    notes: [],
  };
}
