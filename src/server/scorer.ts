// Turns a request's inputs into scores: texts go through the model (pooled the way the bundle was fitted),
// raw activations are checked against the bundle's hooks and widths; then the bundle scores, the conformal
// threshold at α decides `flagged` (the bundle's own conformal calibration, so α means the false-alarm rate
// on trusted inputs), and a trained probe (if any) adds its score side by side.
//
// Fail closed — `flagged` is forced, with a reason in `failClosed`, when the monitor cannot vouch for an input:
// - a hook's detector score is not finite (the bundle then gives combined +Infinity and the smallest p-value);
// - a text's unknown share (ForwardResult.unknownShare: what of it the tokenizer could not read) is above
//   `maxUnknownShare`, or nothing of it is readable: text in a script the model has no pieces for (Japanese,
//   Chinese, emoji, zero-width or control characters) all collapses into the same unknown token and would get
//   the same confident score whatever it says.
//
// `scoreGroups` is the whole job for a worker thread (src/server/score-workers.ts): extraction, scoring and
// the fallback that keeps one bad request from failing its batch mates; the HTTP service runs it off the
// event loop, a library caller may run it in place. The results are the same either way (test).

import { poolTokens } from "../activations/pooling.js";
import { isNonFinite } from "../bundle/combine.js";
import { MadkitError } from "../errors.js";
import { matrix, type Matrix } from "../linalg/matrix.js";
import type { ActivationSource, HookGranularity } from "../models/source.js";
import type { LogisticProbe } from "./logistic-probe.js";
import type { MonitorMetrics } from "./metrics.js";
import type { BundleExplanation, FittedBundle } from "../bundle/bundle.js";
import type { ItemActivations } from "./storage.js";

/** Why an input is flagged whatever its p-value says. */
export interface FailClosedReason {
  readonly code: "NON_FINITE_SCORE" | "UNREADABLE_TEXT";
  readonly message: string;
  /** NON_FINITE_SCORE: the hooks whose detector score was not a finite number. */
  readonly hooks?: readonly string[];
}

/** How much of a text input the model could read (ForwardResult of the model adapter). */
export interface TextCoverage {
  /** Tokens the model ran (after truncation). */
  readonly tokens: number;
  /** Tokens of the whole text the tokenizer could not map to a piece of its vocabulary. */
  readonly unknownTokens: number;
  /** Share of the text's visible characters the tokenizer could not read, in [0, 1]. */
  readonly unknownShare: number;
}

export interface ScoreResult {
  /** Each hook detector's score; NaN (null in JSON) where the detector could not measure the input. */
  readonly perHook: Readonly<Record<string, number>>;
  /** +Infinity (null in JSON) when a hook score was not finite. */
  readonly combined: number;
  readonly pValue: number;
  readonly threshold: number;
  readonly alpha: number;
  /** p ≤ α, or a fail-closed rule applied (see `failClosed`). */
  readonly flagged: boolean;
  /** Hooks ranked by their part of the combined score, and the top hook detector's own explanation. */
  readonly explanation: Omit<BundleExplanation, "combined" | "pValue">;
  /** P(anomalous) from the supervised probe, once one is trained. */
  readonly probe?: { readonly score: number; readonly id: number };
  readonly truncated?: boolean;
  /** Text inputs: tokens of the text the tokenizer could not read; null for `{activations}` inputs. */
  readonly unknownTokens: number | null;
  /** Text inputs: share of the text the model could not read (0 = all of it read); null for `{activations}`. */
  readonly unknownShare: number | null;
  /** The fail-closed rules that flagged this input; absent when none applied. */
  readonly failClosed?: readonly FailClosedReason[];
}

export interface ScoredInput {
  readonly result: ScoreResult;
  readonly activations: ItemActivations;
}

export interface ScorerOptions {
  /**
   * Text whose unknown share is above this is flagged for review (reason UNREADABLE_TEXT); text with nothing
   * readable is flagged at any setting. Default 0.5; in [0, 1].
   */
  readonly maxUnknownShare?: number;
}

export const DEFAULT_MAX_UNKNOWN_SHARE = 0.5;

/** One input of a score request: its checked activations, or a text for the model. */
export type GroupInput = { readonly activations: ItemActivations; readonly text?: undefined } | { readonly text: string; readonly activations?: undefined };

/** The outcome of one request's inputs: every result with the activations it was scored on, or its error. */
export type GroupOutcome = { readonly ok: true; readonly results: ScoreResult[]; readonly activations: ItemActivations[] } | { readonly ok: false; readonly error: unknown };

/** Seconds spent in the model and in the detectors by one `scoreGroups` call (for the service's metrics). */
export interface GroupTimings {
  readonly model: number[];
  readonly detector: number[];
}

/** Thrown by `scoreGroups` when its `shouldStop` says the work was abandoned (the request timed out). */
export class ScoringCancelled extends Error {
  constructor() {
    super("scoring cancelled: the request was abandoned");
    this.name = "ScoringCancelled";
  }
}

/** Texts per model call inside one request, so abandoned work stops within one such call (see `activationsOf`). */
export const TEXTS_PER_FORWARD = 8;

export class MonitorScorer {
  readonly threshold: number;
  readonly maxUnknownShare: number;
  probe: { model: LogisticProbe; id: number } | undefined;
  private readonly granularity = new Map<string, HookGranularity>();
  /** Whatever runs this scorer's work elsewhere (the service's worker threads), closed with the scorer. */
  private readonly closers: (() => Promise<void>)[] = [];

  constructor(
    readonly bundle: FittedBundle,
    readonly alpha: number,
    readonly metrics: MonitorMetrics,
    readonly source?: ActivationSource,
    options: ScorerOptions = {},
  ) {
    // Refuses an α the bundle's calibration cannot flag at (it names the smallest one that works).
    this.threshold = bundle.threshold(alpha);
    const limit = options.maxUnknownShare ?? DEFAULT_MAX_UNKNOWN_SHARE;
    if (!(limit >= 0 && limit <= 1)) throw new MadkitError("BAD_ARGUMENT", `maxUnknownShare must be in [0, 1], got ${limit}`);
    this.maxUnknownShare = limit;
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

  /**
   * Run texts through the model and pool each hook the way the bundle expects, with what the model could read
   * of each. The model runs on at most TEXTS_PER_FORWARD texts at a time; `shouldStop` is asked before each
   * call and a true answer throws ScoringCancelled (an abandoned request stops within one call).
   */
  async activationsOf(
    texts: readonly string[],
    shouldStop: () => boolean = () => false,
  ): Promise<{ acts: ItemActivations[]; truncated: readonly boolean[]; coverage: readonly TextCoverage[]; seconds: number }> {
    if (!this.source) throw new MadkitError("NOT_SUPPORTED", "this service has no model loaded; send {activations} instead of {text}");
    const t0 = performance.now();
    const hooks = this.bundle.hooks.map((h) => h.name);
    const pooling = this.bundle.meta.pooling ?? "mean";
    const acts: ItemActivations[] = [];
    const truncated: boolean[] = [];
    const coverage: TextCoverage[] = [];
    for (let start = 0; start < texts.length; start += TEXTS_PER_FORWARD) {
      if (shouldStop()) throw new ScoringCancelled();
      const chunk = texts.slice(start, start + TEXTS_PER_FORWARD);
      const res = await this.source.forward(chunk, { hooks });
      if (res.unknownShare?.length !== chunk.length || res.unknownTokens?.length !== chunk.length) {
        throw new MadkitError("NOT_SUPPORTED", `model '${this.source.info.id}' does not report unknown tokens per input (ForwardResult.unknownTokens / unknownShare), which the monitor needs to flag text it cannot read`);
      }
      res.activations.forEach((perInput, k) => {
        const out: Record<string, Float32Array> = {};
        for (const h of hooks) out[h] = poolTokens(perInput.get(h)!, pooling, this.granularity.get(h)).data;
        acts.push(out);
        truncated.push(res.truncated[k]!);
        coverage.push({ tokens: res.tokenCounts[k]!, unknownTokens: res.unknownTokens[k]!, unknownShare: res.unknownShare[k]! });
      });
    }
    const seconds = (performance.now() - t0) / 1000;
    this.metrics.model.observe(seconds);
    return { acts, truncated, coverage, seconds };
  }

  /**
   * Score several inputs at once: one matrix per hook, so each detector runs once (one gemm) for all of them.
   * `coverage[i]` is what the model read of input i when it was a text (undefined for raw activations).
   */
  scoreMany(inputs: readonly ItemActivations[], truncated: readonly boolean[] = [], coverage: readonly (TextCoverage | undefined)[] = []): ScoreResult[] {
    if (inputs.length === 0) return [];
    const m = new Map<string, Matrix>();
    for (const h of this.bundle.hooks) {
      const data = new Float32Array(inputs.length * h.dim);
      inputs.forEach((a, i) => data.set(a[h.name]!, i * h.dim));
      m.set(h.name, matrix(inputs.length, h.dim, data));
    }
    return this.scoreMatrices(m, truncated, coverage);
  }

  /**
   * The same for inputs already held as one matrix per bundle hook (row i = input i), e.g. an activation store's
   * hooks: no per-input copy is made.
   */
  scoreMatrices(m: ReadonlyMap<string, Matrix>, truncated: readonly boolean[] = [], coverage: readonly (TextCoverage | undefined)[] = []): ScoreResult[] {
    const t0 = performance.now();
    // explain() scores too (combined, p-value, every hook's score), so one call gives the whole answer.
    const explained = this.bundle.explain(m);
    const probe = this.probe;
    const row = (h: string, i: number): ArrayLike<number> => {
      const x = m.get(h)!;
      return x.data.subarray(i * x.cols, (i + 1) * x.cols);
    };
    const results = explained.map(({ combined, pValue, ...explanation }, i): ScoreResult => {
      const perHook: Record<string, number> = {};
      for (const h of explanation.hooks) perHook[h.hook] = h.score;
      const p = probe && { score: probe.model.score((h) => row(h, i)), id: probe.id };
      const cov = coverage[i];
      const reasons = this.failClosedReasons(explanation.hooks, cov);
      return {
        perHook,
        combined,
        pValue,
        threshold: this.threshold,
        alpha: this.alpha,
        flagged: combined > this.threshold || reasons.length > 0,
        explanation,
        ...(p ? { probe: p } : {}),
        ...(truncated[i] ? { truncated: true } : {}),
        unknownTokens: cov ? cov.unknownTokens : null,
        unknownShare: cov ? cov.unknownShare : null,
        ...(reasons.length > 0 ? { failClosed: reasons } : {}),
      };
    });
    this.metrics.detector.observe((performance.now() - t0) / 1000);
    return results;
  }

  /** The fail-closed rules that apply to one input (see the header). */
  private failClosedReasons(hooks: BundleExplanation["hooks"], cov: TextCoverage | undefined): FailClosedReason[] {
    const reasons: FailClosedReason[] = [];
    const bad = hooks.filter((h) => isNonFinite(h.score) || h.term === Infinity);
    if (bad.length > 0) {
      reasons.push({
        code: "NON_FINITE_SCORE",
        hooks: bad.map((h) => h.hook),
        message:
          `${bad.map((h) => `hook '${h.hook}' scored ${h.score}`).join(", ")}: the activations are beyond what the detector can measure, ` +
          `so the input is treated as the most anomalous possible (combined +Infinity, p = ${(1 / (this.bundle.calibration.n + 1)).toPrecision(3)})`,
      });
    }
    if (cov && (cov.unknownShare >= 1 || cov.unknownShare > this.maxUnknownShare)) {
      reasons.push({
        code: "UNREADABLE_TEXT",
        message:
          cov.unknownShare >= 1
            ? `the model could read none of this text (${cov.unknownTokens} unknown token(s) of ${cov.tokens}): its score says nothing about what the text says`
            : `the model could not read ${(100 * cov.unknownShare).toFixed(1)}% of this text (${cov.unknownTokens} unknown token(s)), more than the limit of ${(100 * this.maxUnknownShare).toFixed(1)}%`,
      });
    }
    return reasons;
  }

  /**
   * Score the inputs of several requests ("groups") together: each group's texts through the model, then all
   * rows in one detector call; when that call fails, each group alone, so one bad request fails only itself.
   * `shouldStop` is asked between model calls and before the detectors; true throws ScoringCancelled.
   */
  async scoreGroups(groups: readonly (readonly GroupInput[])[], shouldStop: () => boolean = () => false): Promise<{ outcomes: GroupOutcome[]; timings: GroupTimings }> {
    const timings: GroupTimings = { model: [], detector: [] };
    const prepared: ({ acts: ItemActivations[]; truncated: boolean[]; coverage: (TextCoverage | undefined)[] } | { error: unknown })[] = [];
    for (const inputs of groups) {
      try {
        prepared.push(await this.prepare(inputs, shouldStop, timings));
      } catch (e) {
        if (e instanceof ScoringCancelled) throw e;
        prepared.push({ error: e });
      }
    }
    if (shouldStop()) throw new ScoringCancelled();
    const ready = prepared.flatMap((p, g) => ("error" in p ? [] : [g]));
    const outcomes: GroupOutcome[] = prepared.map((p) => ({ ok: false, error: "error" in p ? p.error : undefined }));
    const scoreTimed = (acts: ItemActivations[], truncated: boolean[], coverage: (TextCoverage | undefined)[]) => {
      const t0 = performance.now();
      const r = this.scoreMany(acts, truncated, coverage);
      timings.detector.push((performance.now() - t0) / 1000);
      return r;
    };
    const one = (g: number): GroupOutcome => {
      const p = prepared[g] as { acts: ItemActivations[]; truncated: boolean[]; coverage: (TextCoverage | undefined)[] };
      try {
        return { ok: true, results: scoreTimed(p.acts, p.truncated, p.coverage), activations: p.acts };
      } catch (e) {
        return { ok: false, error: e };
      }
    };
    if (ready.length === 1) outcomes[ready[0]!] = one(ready[0]!);
    else if (ready.length > 1) {
      const all = ready.map((g) => prepared[g] as { acts: ItemActivations[]; truncated: boolean[]; coverage: (TextCoverage | undefined)[] });
      let results: ScoreResult[] | undefined;
      try {
        results = scoreTimed(all.flatMap((p) => p.acts), all.flatMap((p) => p.truncated), all.flatMap((p) => p.coverage));
      } catch {
        // One request's failure must not fail its neighbours: score each on its own, each with its own outcome.
        for (const g of ready) outcomes[g] = one(g);
      }
      if (results) {
        let at = 0;
        ready.forEach((g, k) => {
          const n = all[k]!.acts.length;
          outcomes[g] = { ok: true, results: results!.slice(at, at + n), activations: all[k]!.acts };
          at += n;
        });
      }
    }
    return { outcomes, timings };
  }

  /** One group's activations: the given ones as they are, the texts' from the model (with what it read). */
  private async prepare(inputs: readonly GroupInput[], shouldStop: () => boolean, timings: GroupTimings) {
    const acts: (ItemActivations | undefined)[] = inputs.map((inp) => inp.activations);
    const truncated: boolean[] = new Array(inputs.length).fill(false);
    const coverage: (TextCoverage | undefined)[] = new Array(inputs.length).fill(undefined);
    const textIdx = inputs.flatMap((inp, i) => (inp.text !== undefined ? [i] : []));
    if (textIdx.length > 0) {
      const r = await this.activationsOf(textIdx.map((i) => inputs[i]!.text!), shouldStop);
      timings.model.push(r.seconds);
      textIdx.forEach((i, k) => {
        acts[i] = r.acts[k];
        truncated[i] = r.truncated[k]!;
        coverage[i] = r.coverage[k];
      });
    }
    return { acts: acts as ItemActivations[], truncated, coverage };
  }

  /** Run `close` when this scorer is closed (the service's worker threads register here). */
  onClose(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  /** Stop whatever runs this scorer's work elsewhere (worker threads). The source is the caller's to dispose. */
  async close(): Promise<void> {
    const closers = this.closers.splice(0);
    await Promise.all(closers.map((c) => c()));
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
