// A detector bundle: one fitted detector per hook point, each hook's scores calibrated on held-out trusted
// inputs, a combiner over hooks, and a conformal calibration of the combined score, so one call turns an
// input's activations into per-hook scores, a combined score, a p-value and a flag at level α.
//
// The trusted inputs are split once by a seeded permutation: a `calibrationFraction` share is held out. With one
// hook the held-out scores serve both the hook's normaliser and the combined calibration (the combined score is
// then a monotone function of the hook's score, so the p-value stays valid, if anything conservative). With
// several hooks the held-out share is halved: the first half fits the per-hook normalisers (z-score mean/std,
// p-value tables), the second calibrates the combined score, so the combined score is a fixed function of each
// calibration input and the conformal guarantee P(flag | trusted) ≤ α holds exactly.

import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { ActivationStore } from "../activations/store.js";
import { POOLINGS, type Pooling } from "../activations/pooling.js";
import { MadkitError } from "../errors.js";
import { readVersionedJson } from "../io/versioned-json.js";
import { ConformalCalibration, conformalFlag } from "../eval/conformal.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { readSafetensors, writeSafetensors } from "../io/safetensors.js";
import { takeRows, type Matrix } from "../linalg/matrix.js";
import { checkHooksVary, distinctRows, type HookVariety } from "./degenerate-hooks.js";
import { resolveHooks } from "../models/hook-names.js";
import type { HookPoint } from "../models/source.js";
import { SeededRng } from "../random/seeded-rng.js";
import { COMBINERS, hookTerms, HookNormaliser, reduceTerms, type Combiner } from "./combine.js";
import type { DetectorSpec, Explanation, FittedDetector } from "../detectors/detector.js";
import { loadDetector } from "../detectors/registry.js";

export const BUNDLE_FORMAT = "madkit-bundle";
/** Bump when bundle.json or the calibration tensors change incompatibly. */
export const BUNDLE_SCHEMA_VERSION = 1;
export const BUNDLE_FILE = "bundle.json";
export const CALIBRATION_FILE = "calibration.safetensors";

/** Defaults in one place. */
export const BUNDLE_DEFAULTS = { calibrationFraction: 0.2, seed: 0, combiner: "max" as Combiner, alpha: 0.01 } as const;

export interface BundleModel {
  readonly id: string;
  readonly revision: string;
  readonly format: string;
}

export interface FitBundleOptions {
  /** Trusted activations: an activation store (pooled `last` or `mean`), or one [inputs x dim] matrix per hook. */
  readonly store?: ActivationStore;
  readonly matrices?: ReadonlyMap<string, Matrix>;
  /** Names or globs over the store's / map's hooks; default: all of them. */
  readonly hooks?: string | readonly string[];
  /** One spec for every hook, or a spec per hook. */
  readonly detector: DetectorSpec | ((hook: string) => DetectorSpec);
  /** Share of trusted inputs held out for calibration (default 0.2). */
  readonly calibrationFraction?: number;
  /** Seed of the train / calibration split (default 0). */
  readonly seed?: number;
  readonly combiner?: Combiner;
  /** Default level α for `threshold` and `flag` (default 0.01). */
  readonly alpha?: number;
  /** Model and pooling the matrices came from (taken from the store's index when fitting on a store). */
  readonly model?: BundleModel;
  readonly pooling?: Pooling;
  /** Called after each hook's detector is fitted. */
  readonly onHookFitted?: (hook: string, done: number, total: number) => void;
}

export interface BundleScores {
  /** Each hook's own detector score per input. */
  readonly perHook: Map<string, Float64Array>;
  readonly combined: Float64Array;
  /** Conformal p-value of the combined score against the held-out trusted inputs. */
  readonly pValue: Float64Array;
}

export interface HookContribution {
  readonly hook: string;
  /** The hook detector's score. */
  readonly score: number;
  /** Its part in the combined score: z-score, or −2 log p for `fisher`. */
  readonly term: number;
}

export interface BundleExplanation {
  readonly combined: number;
  readonly pValue: number;
  /** Every hook, largest term first. */
  readonly hooks: readonly HookContribution[];
  /** The hook that contributed most. */
  readonly topHook: string;
  /** That hook detector's own explanation of the input, where the detector explains. */
  readonly detail?: Explanation;
}

export interface BundleHook {
  readonly name: string;
  readonly dim: number;
}

export interface BundleMeta {
  readonly model?: BundleModel;
  readonly pooling?: Pooling;
  readonly combiner: Combiner;
  readonly alpha: number;
  readonly calibrationFraction: number;
  readonly seed: number;
  /** Inputs that fitted the detectors, fitted the per-hook normalisers, and calibrated the combined score. */
  readonly nTrain: number;
  readonly nNormalise: number;
  readonly nCalibrate: number;
  readonly createdAt: string;
}

function checkAlpha(alpha: number, what: string): number {
  if (!(alpha > 0 && alpha < 1)) throw new MadkitError("BAD_ARGUMENT", `${what} must be in (0, 1), got ${alpha}`);
  return alpha;
}

/** The first name that appears twice, with both positions; undefined when all differ. */
function duplicateName(names: readonly string[]): { name: string; first: number; again: number } | undefined {
  const seen = new Map<string, number>();
  for (let k = 0; k < names.length; k++) {
    const prev = seen.get(names[k]!);
    if (prev !== undefined) return { name: names[k]!, first: prev, again: k };
    seen.set(names[k]!, k);
  }
  return undefined;
}

function firstBad(m: Matrix): number {
  const a = m.data;
  for (let i = 0; i < a.length; i++) if (a[i]! - a[i]! !== 0) return i;
  return -1;
}

export class FittedBundle {
  /** Scratch for one row's hook terms, reused by every call. */
  private readonly terms: Float64Array;

  constructor(
    readonly hooks: readonly BundleHook[],
    readonly detectors: readonly FittedDetector[],
    readonly normalisers: readonly HookNormaliser[],
    /** Held-out trusted combined scores. */
    readonly calibration: ConformalCalibration,
    readonly meta: BundleMeta,
  ) {
    const dup = duplicateName(hooks.map((h) => h.name));
    if (dup) {
      throw new MadkitError("BAD_ARGUMENT", `bundle hooks ${dup.first} and ${dup.again} are both named '${dup.name}'; each hook name may appear once`);
    }
    this.terms = new Float64Array(hooks.length);
  }

  get combiner(): Combiner {
    return this.meta.combiner;
  }

  /** Check that `acts` holds every hook with the fitted width, the same number of rows, and only finite values. */
  private check(acts: ReadonlyMap<string, Matrix>): number {
    const missing = this.hooks.filter((h) => !acts.has(h.name)).map((h) => h.name);
    if (missing.length > 0) {
      throw new MadkitError("UNKNOWN_HOOK", `bundle needs hook(s) ${missing.join(", ")}; the activations given hold ${[...acts.keys()].join(", ") || "none"}`);
    }
    let rows = -1;
    for (const h of this.hooks) {
      const m = acts.get(h.name)!;
      if (m.cols !== h.dim) {
        throw new MadkitError("DIMENSION_MISMATCH", `hook '${h.name}': the bundle was fitted on ${h.dim} features, the activations have ${m.cols}`);
      }
      if (rows >= 0 && m.rows !== rows) {
        throw new MadkitError("DIMENSION_MISMATCH", `hook '${h.name}' has ${m.rows} rows, '${this.hooks[0]!.name}' has ${rows}; every hook needs one row per input`);
      }
      rows = m.rows;
      const bad = firstBad(m);
      if (bad >= 0) {
        throw new MadkitError("NON_FINITE", `hook '${h.name}': input row ${Math.floor(bad / m.cols)}, unit ${bad % m.cols} is ${m.data[bad]}; activations must be finite`);
      }
    }
    return rows;
  }

  /** Per-hook scores, combined score and conformal p-value of every input (one row per input in every hook). */
  score(acts: ReadonlyMap<string, Matrix>): BundleScores {
    const rows = this.check(acts);
    const perHook = new Map<string, Float64Array>();
    const list: Float64Array[] = [];
    this.hooks.forEach((h, k) => {
      const s = this.detectors[k]!.score(acts.get(h.name)!);
      perHook.set(h.name, s);
      list.push(s);
    });
    const combined = new Float64Array(rows);
    const pValue = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      combined[i] = reduceTerms(this.combiner, hookTerms(this.combiner, list, this.normalisers, i, this.terms));
      pValue[i] = this.calibration.pValue(combined[i]!);
    }
    return { perHook, combined, pValue };
  }

  /**
   * Combined-score threshold at level α: flagged ⇔ combined > threshold ⇔ p-value ≤ α. An α below the smallest
   * p-value the calibration can give, 1/(n + 1), is refused (it would never flag), naming the smallest α that works.
   */
  threshold(alpha: number = this.meta.alpha): number {
    return this.calibration.threshold(this.calibration.requireAlpha(checkAlpha(alpha, "alpha"), "this bundle's combined calibration set"));
  }

  flag(pValue: number, alpha: number = this.meta.alpha): boolean {
    return conformalFlag(pValue, alpha);
  }

  /**
   * Which hook pushed each input's combined score up most, with that hook detector's own explanation. Rows
   * are grouped by their top hook, so each hook's detector explains all of its rows in one call (one gemm
   * for a batch, not one per row).
   */
  explain(acts: ReadonlyMap<string, Matrix>, top = 5): BundleExplanation[] {
    const { perHook, combined, pValue } = this.score(acts);
    const list = this.hooks.map((h) => perHook.get(h.name)!);
    const ranked: { hook: string; score: number; term: number }[][] = [];
    const topIndex = new Int32Array(combined.length);
    for (let i = 0; i < combined.length; i++) {
      const terms = hookTerms(this.combiner, list, this.normalisers, i, new Float64Array(this.hooks.length));
      const hooks = this.hooks.map((h, k) => ({ hook: h.name, score: list[k]![i]!, term: terms[k]!, k })).sort((a, b) => b.term - a.term);
      topIndex[i] = hooks[0]!.k;
      ranked.push(hooks.map(({ hook, score, term }) => ({ hook, score, term })));
    }
    const details: (Explanation | undefined)[] = new Array(combined.length);
    this.hooks.forEach((h, k) => {
      const det = this.detectors[k]!;
      if (!det.explain) return;
      const rows = Int32Array.from(topIndex.keys()).filter((i) => topIndex[i] === k);
      if (rows.length === 0) return;
      const m = acts.get(h.name)!;
      const ex = det.explain(rows.length === m.rows ? m : takeRows(m, rows), top);
      rows.forEach((i, r) => (details[i] = ex[r]));
    });
    return ranked.map((hooks, i) => {
      const detail = details[i];
      return { combined: combined[i]!, pValue: pValue[i]!, hooks, topHook: hooks[0]!.hook, ...(detail ? { detail } : {}) };
    });
  }

  /** Refuse activations from another model, revision or pooling than the bundle was fitted on. */
  checkSource(model: BundleModel, pooling: Pooling, where: string): void {
    const m = this.meta.model;
    if (m && (m.id !== model.id || m.revision !== model.revision)) {
      throw new MadkitError(
        "STORE_MISMATCH",
        `${where}: activations come from model '${model.id}' revision ${model.revision}, the bundle was fitted on '${m.id}' revision ${m.revision}`,
      );
    }
    if (this.meta.pooling && this.meta.pooling !== pooling) {
      throw new MadkitError("STORE_MISMATCH", `${where}: activations are pooled '${pooling}', the bundle was fitted on '${this.meta.pooling}' pooling`);
    }
  }

  /**
   * Write the bundle into `dir`: bundle.json, calibration.safetensors, and each hook's detector in hooks/<k>/
   * via its own `save`. Everything is written into a sibling temporary folder first and swapped in by rename.
   */
  save(dir: string): void {
    const target = path.resolve(dir);
    if (existsSync(target) && readdirSync(target).length > 0 && !existsSync(path.join(target, BUNDLE_FILE))) {
      throw new MadkitError("BAD_ARGUMENT", `${dir}: exists and is not a madkit bundle (no ${BUNDLE_FILE}); choose an empty or new folder`);
    }
    const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
    mkdirSync(tmp, { recursive: true });
    try {
      this.hooks.forEach((_, k) => {
        const sub = path.join(tmp, hookFolder(k));
        mkdirSync(sub, { recursive: true });
        this.detectors[k]!.save(sub);
      });
      writeSafetensors(
        path.join(tmp, CALIBRATION_FILE),
        [
          ...this.normalisers.map((n, k) => ({ name: `hook.${k}`, shape: [n.calibration.n], data: n.calibration.sorted })),
          { name: "combined", shape: [this.calibration.n], data: this.calibration.sorted },
        ],
        { format: BUNDLE_FORMAT },
      );
      const envelope: BundleEnvelope = {
        format: BUNDLE_FORMAT,
        schemaVersion: BUNDLE_SCHEMA_VERSION,
        kind: "bundle",
        params: { combiner: this.meta.combiner, alpha: this.meta.alpha, calibrationFraction: this.meta.calibrationFraction, seed: this.meta.seed },
        state: {
          hooks: this.hooks.map((h, k) => ({
            name: h.name,
            dim: h.dim,
            folder: hookFolder(k),
            detector: { kind: this.detectors[k]!.kind, params: { ...this.detectors[k]!.params } },
            mean: this.normalisers[k]!.mean,
            std: this.normalisers[k]!.std,
          })),
        },
        meta: {
          ...(this.meta.model ? { model: { ...this.meta.model } } : {}),
          ...(this.meta.pooling ? { pooling: this.meta.pooling } : {}),
          nTrain: this.meta.nTrain,
          nNormalise: this.meta.nNormalise,
          nCalibrate: this.meta.nCalibrate,
          createdAt: this.meta.createdAt,
        },
      };
      writeFileAtomic(path.join(tmp, BUNDLE_FILE), JSON.stringify(envelope, null, 2) + "\n");
      if (existsSync(target)) {
        const old = `${target}.old-${process.pid}-${Date.now()}`;
        renameSync(target, old);
        renameSync(tmp, target);
        rmSync(old, { recursive: true, force: true });
      } else {
        mkdirSync(path.dirname(target), { recursive: true });
        renameSync(tmp, target);
      }
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }
}

function hookFolder(k: number): string {
  return `hooks/${String(k).padStart(3, "0")}`;
}

const envelopeSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  schemaVersion: z.number().int(),
  kind: z.literal("bundle"),
  params: z.object({
    combiner: z.enum(COMBINERS),
    alpha: z.number().gt(0).lt(1),
    calibrationFraction: z.number().gt(0).lt(1),
    seed: z.number().int(),
  }),
  state: z.object({
    hooks: z
      .array(
        z.object({
          name: z.string().min(1),
          dim: z.number().int().positive(),
          folder: z.string().regex(/^hooks\/\d{3,}$/),
          detector: z.object({ kind: z.string(), params: z.record(z.unknown()) }),
          mean: z.number().finite(),
          std: z.number().finite().positive(),
        }),
      )
      .min(1),
  }),
  meta: z.object({
    model: z.object({ id: z.string(), revision: z.string(), format: z.string() }).optional(),
    pooling: z.enum(POOLINGS).optional(),
    nTrain: z.number().int().nonnegative(),
    nNormalise: z.number().int().positive(),
    nCalibrate: z.number().int().positive(),
    createdAt: z.string(),
  }),
});
type BundleEnvelope = z.infer<typeof envelopeSchema>;

/** Load a bundle written by `FittedBundle.save`; every failure names the file and what was wrong. */
export function loadBundle(dir: string): FittedBundle {
  const file = path.join(dir, BUNDLE_FILE);
  const env = readVersionedJson(file, {
    format: BUNDLE_FORMAT,
    schemaVersion: BUNDLE_SCHEMA_VERSION,
    schema: envelopeSchema,
    missing: `no detector bundle here (expected ${BUNDLE_FILE}; fit one with 'madkit fit')`,
    onDrift: "refit the bundle",
  });
  // Scores are applied to activations by hook name: two entries with one name would score one hook's
  // activations with the other hook's detector.
  const dup = duplicateName(env.state.hooks.map((h) => h.name));
  if (dup) {
    throw new MadkitError(
      "STORE_CORRUPT",
      `${file}: field 'state.hooks.${dup.again}.name' is '${dup.name}', already the name of state.hooks.${dup.first}; hook names in a bundle must be unique`,
    );
  }
  const dupFolder = duplicateName(env.state.hooks.map((h) => h.folder));
  if (dupFolder) {
    throw new MadkitError(
      "STORE_CORRUPT",
      `${file}: field 'state.hooks.${dupFolder.again}.folder' is '${dupFolder.name}', already the folder of state.hooks.${dupFolder.first}; each hook has its own detector folder`,
    );
  }
  const { tensors } = readSafetensors(path.join(dir, CALIBRATION_FILE));
  const sortedOf = (name: string): Float64Array => {
    const t = tensors.get(name);
    if (!t || !(t.data instanceof Float64Array)) {
      throw new MadkitError("STORE_CORRUPT", `${path.join(dir, CALIBRATION_FILE)}: float64 tensor '${name}' is missing`);
    }
    return t.data;
  };
  const hooks: BundleHook[] = [];
  const detectors: FittedDetector[] = [];
  const normalisers: HookNormaliser[] = [];
  env.state.hooks.forEach((h, k) => {
    const det = loadDetector(path.join(dir, h.folder));
    if (det.kind !== h.detector.kind || det.dim !== h.dim) {
      throw new MadkitError("STORE_CORRUPT", `${path.join(dir, h.folder)}: holds a ${det.kind} detector of dim ${det.dim}, ${BUNDLE_FILE} says ${h.detector.kind} of dim ${h.dim}`);
    }
    hooks.push({ name: h.name, dim: h.dim });
    detectors.push(det);
    normalisers.push(new HookNormaliser(ConformalCalibration.fromSorted(sortedOf(`hook.${k}`), `${path.join(dir, CALIBRATION_FILE)} hook.${k}`)));
  });
  const calibration = ConformalCalibration.fromSorted(sortedOf("combined"), `${path.join(dir, CALIBRATION_FILE)} combined`);
  return new FittedBundle(hooks, detectors, normalisers, calibration, {
    model: env.meta.model,
    pooling: env.meta.pooling,
    combiner: env.params.combiner,
    alpha: env.params.alpha,
    calibrationFraction: env.params.calibrationFraction,
    seed: env.params.seed,
    nTrain: env.meta.nTrain,
    nNormalise: env.meta.nNormalise,
    nCalibrate: env.meta.nCalibrate,
    createdAt: env.meta.createdAt,
  });
}

/** The hooks a store or map offers, as hook points for glob resolution. */
function offeredHooks(options: FitBundleOptions): { points: HookPoint[]; where: string } {
  if (options.store) {
    return { points: options.store.index.hooks.map(({ name, dim, granularity, layer }) => ({ name, dim, granularity, layer })), where: `store ${options.store.dir}` };
  }
  return {
    points: [...options.matrices!.entries()].map(([name, m]) => ({ name, dim: m.cols, granularity: "sequence" as const, layer: 0 })),
    where: "the activations given",
  };
}

interface FitSettings {
  readonly fraction: number;
  readonly seed: number;
  readonly combiner: Combiner;
  readonly alpha: number;
  readonly pooling: Pooling | undefined;
  readonly model: FitBundleOptions["model"];
}

/** The options checked, with the defaults filled in. */
function fitSettings(options: FitBundleOptions): FitSettings {
  if ((options.store === undefined) === (options.matrices === undefined)) {
    throw new MadkitError("BAD_ARGUMENT", "fitBundle: give exactly one of `store` or `matrices`");
  }
  const fraction = options.calibrationFraction ?? BUNDLE_DEFAULTS.calibrationFraction;
  checkAlpha(fraction, "calibrationFraction");
  const seed = options.seed ?? BUNDLE_DEFAULTS.seed;
  const combiner = options.combiner ?? BUNDLE_DEFAULTS.combiner;
  if (!(COMBINERS as readonly string[]).includes(combiner)) {
    throw new MadkitError("BAD_ARGUMENT", `unknown combiner '${combiner}'; expected one of ${COMBINERS.join(", ")}`);
  }
  const alpha = checkAlpha(options.alpha ?? BUNDLE_DEFAULTS.alpha, "alpha");
  const store = options.store;
  const pooling = store ? store.index.pooling : options.pooling;
  if (pooling === "all") {
    throw new MadkitError("NOT_SUPPORTED", `${store ? store.dir : "fitBundle"}: activations pooled 'all' hold one row per token; a bundle scores one row per input — extract with --pool last or mean`);
  }
  const model = store ? store.index.model : options.model;
  return { fraction, seed, combiner, alpha, pooling, model };
}

/** The hooks the bundle will read (resolved against what the store or map offers, each name once) and a reader. */
function chosenHooks(options: FitBundleOptions): { chosen: HookPoint[]; where: string; read: (name: string) => Matrix } {
  const { points, where } = offeredHooks(options);
  let chosen: HookPoint[];
  try {
    chosen = resolveHooks(options.hooks ?? "all", points);
  } catch (e) {
    if (e instanceof MadkitError && e.code === "UNKNOWN_HOOK") {
      throw new MadkitError("UNKNOWN_HOOK", `${e.message.replace(/; this model's hook points are: .*$/, "")}; ${where} holds: ${points.map((h) => `${h.name}[${h.dim}]`).join(", ")}`);
    }
    throw e;
  }
  const dup = duplicateName(chosen.map((h) => h.name));
  if (dup) throw new MadkitError("BAD_INPUT", `${where} offers hook '${dup.name}' twice; a bundle needs each hook name once`);
  const store = options.store;
  return { chosen, where, read: (name) => (store ? store.readHook(name) : options.matrices!.get(name)!) };
}

interface RowSplit {
  /** Trusted inputs: every hook must have this many rows. */
  readonly n: number;
  readonly trainIdx: Int32Array;
  readonly normIdx: Int32Array;
  readonly calIdx: Int32Array;
}

/** One seeded permutation of the n trusted inputs into fit, normalise and calibrate rows. */
function splitTrusted(n: number, nHooks: number, settings: FitSettings, where: string): RowSplit {
  const { fraction } = settings;
  const nCal = Math.round(fraction * n);
  const nNorm = nHooks > 1 ? Math.floor(nCal / 2) : nCal;
  if (nCal < 2 || n - nCal < 2 || (nHooks > 1 && nCal - nNorm < 1) || nNorm < 1) {
    throw new MadkitError(
      "BAD_INPUT",
      `${where}: ${n} trusted inputs leave ${n - nCal} to fit and ${nCal} to calibrate (fraction ${fraction}); need at least 2 of each`,
    );
  }
  const perm = new SeededRng(settings.seed).permutation(n);
  return {
    n,
    trainIdx: perm.subarray(nCal),
    normIdx: perm.subarray(0, nNorm),
    // One hook: the normaliser and the combined calibration share the whole held-out split (see the header).
    calIdx: nHooks > 1 ? perm.subarray(nNorm, nCal) : perm.subarray(0, nCal),
  };
}

/** The combined held-out scores' calibration; refuses an α it can never flag at. */
function combinedCalibration(combiner: Combiner, calScores: readonly Float64Array[], normalisers: readonly HookNormaliser[], rows: number, alpha: number): ConformalCalibration {
  // With one hook, calScores[0] is already the held-out scores (sorted), i.e. the same rows as calIdx.
  const terms = new Float64Array(normalisers.length);
  const combined = new Float64Array(rows);
  for (let i = 0; i < rows; i++) combined[i] = reduceTerms(combiner, hookTerms(combiner, calScores, normalisers, i, terms));
  const calibration = new ConformalCalibration(combined, "combined held-out scores");
  // A bundle whose own α can never flag would serve "normal" for everything: refuse it here, where the fix
  // (a larger α, a larger --calibration share or more trusted inputs) is still cheap.
  calibration.requireAlpha(alpha, "the held-out split");
  return calibration;
}

/** Fit one detector per hook on the trusted split, calibrate per-hook and combined scores on the held-out split. */
/** Refuse a hook that does not vary with the input (degenerate-hooks.ts) before any detector is fitted. */
function checkChosenHooksVary(chosen: readonly HookPoint[], read: (name: string) => Matrix, where: string, settings: FitSettings): void {
  const variety: HookVariety[] = [];
  let split: RowSplit | undefined;
  for (const h of chosen) {
    const m = read(h.name);
    split ??= splitTrusted(m.rows, chosen.length, settings, where);
    if (m.rows === split.n) variety.push({ name: h.name, distinct: distinctRows(m, split.trainIdx) });
  }
  if (split && variety.length > 0) checkHooksVary(variety, split.trainIdx.length, where);
}

export function fitBundle(options: FitBundleOptions): FittedBundle {
  const settings = fitSettings(options);
  const { chosen, where, read } = chosenHooks(options);
  let split: RowSplit | undefined;
  const hooks: BundleHook[] = [];
  const detectors: FittedDetector[] = [];
  const normalisers: HookNormaliser[] = [];
  const calScores: Float64Array[] = [];
  checkChosenHooksVary(chosen, read, where, settings);
  for (const [k, h] of chosen.entries()) {
    const m = read(h.name);
    split ??= splitTrusted(m.rows, chosen.length, settings, where);
    if (m.rows !== split.n) {
      throw new MadkitError("DIMENSION_MISMATCH", `${where}: hook '${h.name}' has ${m.rows} rows, '${chosen[0]!.name}' has ${split.n}; every hook needs one row per input`);
    }
    const bad = firstBad(m);
    if (bad >= 0) {
      throw new MadkitError("NON_FINITE", `${where}: hook '${h.name}', input row ${Math.floor(bad / m.cols)}, unit ${bad % m.cols} is ${m.data[bad]}; activations must be finite`);
    }
    const spec = typeof options.detector === "function" ? options.detector(h.name) : options.detector;
    const det = spec.fit(takeRows(m, split.trainIdx));
    hooks.push({ name: h.name, dim: m.cols });
    detectors.push(det);
    normalisers.push(HookNormaliser.of(det.score(takeRows(m, split.normIdx)), `hook '${h.name}' held-out scores`));
    calScores.push(chosen.length > 1 ? det.score(takeRows(m, split.calIdx)) : normalisers[k]!.calibration.sorted.slice());
    options.onHookFitted?.(h.name, k + 1, chosen.length);
  }
  const calibration = combinedCalibration(settings.combiner, calScores, normalisers, split!.calIdx.length, settings.alpha);
  return new FittedBundle(hooks, detectors, normalisers, calibration, {
    model: settings.model ? { id: settings.model.id, revision: settings.model.revision, format: settings.model.format } : undefined,
    pooling: settings.pooling,
    combiner: settings.combiner,
    alpha: settings.alpha,
    calibrationFraction: settings.fraction,
    seed: settings.seed,
    nTrain: split!.trainIdx.length,
    nNormalise: split!.normIdx.length,
    nCalibrate: split!.calIdx.length,
    createdAt: new Date().toISOString(),
  });
}
