// Turns a request's inputs into scores: texts go through the model (pooled the way the bundle was fitted),
// raw activations are checked against the bundle's hooks and widths; then the bundle scores, the conformal
// threshold at α decides `flagged` (the bundle's own conformal calibration, so α means the false-alarm rate
// on trusted inputs), and a trained probe (if any) adds its score side by side.

import { poolTokens } from "../activations/pooling.js";
import { MadkitError } from "../errors.js";
import { matrix, type Matrix } from "../linalg/matrix.js";
import type { ActivationSource, HookGranularity } from "../models/source.js";
import type { LogisticProbe } from "./logistic-probe.js";
import type { MonitorMetrics } from "./metrics.js";
import type { BundleExplanation, FittedBundle } from "../bundle/bundle.js";
import type { ItemActivations } from "./storage.js";

export interface ScoreResult {
  readonly perHook: Readonly<Record<string, number>>;
  readonly combined: number;
  readonly pValue: number;
  readonly threshold: number;
  readonly alpha: number;
  readonly flagged: boolean;
  /** Hooks ranked by their part of the combined score, and the top hook detector's own explanation. */
  readonly explanation: Omit<BundleExplanation, "combined" | "pValue">;
  /** P(anomalous) from the supervised probe, once one is trained. */
  readonly probe?: { readonly score: number; readonly id: number };
  readonly truncated?: boolean;
}

export interface ScoredInput {
  readonly result: ScoreResult;
  readonly activations: ItemActivations;
}

export class MonitorScorer {
  readonly threshold: number;
  probe: { model: LogisticProbe; id: number } | undefined;
  private readonly granularity = new Map<string, HookGranularity>();

  constructor(
    readonly bundle: FittedBundle,
    readonly alpha: number,
    readonly metrics: MonitorMetrics,
    readonly source?: ActivationSource,
  ) {
    this.threshold = bundle.threshold(alpha);
    if (source) {
      const pooling = bundle.meta.pooling ?? "mean";
      bundle.checkSource(source.info, pooling, "the service's model");
      const modelId = source.info.id;
      const points = new Map(source.hooks().map((h) => [h.name, h]));
      for (const h of bundle.hooks) {
        const p = points.get(h.name);
        if (!p) throw new MadkitError("UNKNOWN_HOOK", `the detector bundle reads hook '${h.name}', which model '${modelId}' does not have`);
        if (p.dim !== h.dim) throw new MadkitError("DIMENSION_MISMATCH", `hook '${h.name}': bundle expects width ${h.dim}, model gives ${p.dim}`);
        this.granularity.set(h.name, p.granularity);
      }
    }
  }

  /**
   * Check one input's raw activations against the bundle (arrays already hold finite numbers; base64 strings
   * are unpacked here as little-endian float32); a message per problem.
   */
  checkActivations(acts: Readonly<Record<string, readonly number[] | string>>, where: string): ItemActivations {
    const out: Record<string, Float32Array> = {};
    const want = this.bundle.hooks;
    for (const k of Object.keys(acts)) {
      if (!want.some((h) => h.name === k)) {
        throw new MadkitError("UNKNOWN_HOOK", `${where}.activations: unknown hook '${k}'; the bundle reads ${want.map((h) => `'${h.name}'`).join(", ")}`);
      }
    }
    for (const h of want) {
      const v = acts[h.name];
      const at = `${where}.activations['${h.name}']`;
      if (v === undefined) throw new MadkitError("BAD_INPUT", `${where}.activations: missing hook '${h.name}' (the bundle reads ${want.map((x) => `'${x.name}'`).join(", ")})`);
      const f = typeof v === "string" ? unpackFloat32(v, h.dim, at) : Float32Array.from(v);
      if (f.length !== h.dim) throw new MadkitError("DIMENSION_MISMATCH", `${at}: expected ${h.dim} numbers, got ${f.length}`);
      for (let j = 0; j < f.length; j++) {
        if (!Number.isFinite(f[j]!)) {
          const why = typeof v === "string" ? `is ${f[j]}` : `${(v as readonly number[])[j]} overflows float32`;
          throw new MadkitError("NON_FINITE", `${at}[${j}]: ${why}; values must be finite`);
        }
      }
      out[h.name] = f;
    }
    return out;
  }

  /** Run texts through the model and pool each hook the way the bundle expects. */
  async activationsOf(texts: readonly string[]): Promise<{ acts: ItemActivations[]; truncated: readonly boolean[] }> {
    if (!this.source) throw new MadkitError("NOT_SUPPORTED", "this service has no model loaded; send {activations} instead of {text}");
    const t0 = performance.now();
    const hooks = this.bundle.hooks.map((h) => h.name);
    const pooling = this.bundle.meta.pooling ?? "mean";
    const res = await this.source.forward(texts, { hooks });
    this.metrics.model.observe((performance.now() - t0) / 1000);
    const acts = res.activations.map((perInput) => {
      const out: Record<string, Float32Array> = {};
      for (const h of hooks) out[h] = poolTokens(perInput.get(h)!, pooling, this.granularity.get(h)).data;
      return out;
    });
    return { acts, truncated: res.truncated };
  }

  /** Score several inputs at once: one matrix per hook, so each detector runs once (one gemm) for all of them. */
  scoreMany(inputs: readonly ItemActivations[], truncated: readonly boolean[] = []): ScoreResult[] {
    if (inputs.length === 0) return [];
    const t0 = performance.now();
    const m = new Map<string, Matrix>();
    for (const h of this.bundle.hooks) {
      const data = new Float32Array(inputs.length * h.dim);
      inputs.forEach((a, i) => data.set(a[h.name]!, i * h.dim));
      m.set(h.name, matrix(inputs.length, h.dim, data));
    }
    // explain() scores too (combined, p-value, every hook's score), so one call gives the whole answer.
    const explained = this.bundle.explain(m);
    const probe = this.probe;
    const results = explained.map(({ combined, pValue, ...explanation }, i): ScoreResult => {
      const perHook: Record<string, number> = {};
      for (const h of explanation.hooks) perHook[h.hook] = h.score;
      const p = probe && { score: probe.model.score((h) => inputs[i]![h]!), id: probe.id };
      return {
        perHook,
        combined,
        pValue,
        threshold: this.threshold,
        alpha: this.alpha,
        flagged: combined > this.threshold,
        explanation,
        ...(p ? { probe: p } : {}),
        ...(truncated[i] ? { truncated: true } : {}),
      };
    });
    this.metrics.detector.observe((performance.now() - t0) / 1000);
    return results;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Base64 of packed little-endian float32 values → a Float32Array of exactly `dim` values. */
export function unpackFloat32(b64: string, dim: number, where: string): Float32Array {
  const bytes = Buffer.byteLength(b64, "base64");
  if (bytes !== 4 * dim) {
    throw new MadkitError("DIMENSION_MISMATCH", `${where}: expected ${dim} float32 values (${4 * dim} bytes, ${4 * Math.ceil((4 * dim) / 3)} base64 characters), got ${bytes} bytes`);
  }
  const out = new Float32Array(dim);
  const raw = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  raw.write(b64, "base64");
  if (!LITTLE_ENDIAN) {
    const le = new DataView(new Uint8Array(raw).buffer);
    for (let j = 0; j < dim; j++) out[j] = le.getFloat32(4 * j, true);
  }
  return out;
}
