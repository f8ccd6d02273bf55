// The declarative task: a model list, a trusted set split into fit / calibration / validation, and an untrusted
// set whose labels, families and groups are for evaluation only. Tasks know nothing of detectors; the benchmark
// joins them. This module also holds the seeded steps every task shares (splitting, disjointness, the mix).

import { MadkitError } from "../errors.js";
import type { TextRecord } from "../datasets/text-record.js";
import { rngFor, shuffled } from "../random/seeded-sampling.js";

/** anomalous: should be flagged; normal: held-out in-distribution; shift: benign but unlike trusted (flags are FPs). */
export type ItemGroup = "anomalous" | "normal" | "shift";
export type UntrustedSplit = "validation" | "test";

export interface TaskItem {
  readonly id: string;
  readonly text: string;
  /** 1 = anomalous. Shift items are 0: benign. */
  readonly label: 0 | 1;
  /** Finest evaluation row, e.g. `jailbreak-wild`, `obfuscation-base64`, `benign-heldout`, `shift-gsm8k`. */
  readonly family: string;
  readonly group: ItemGroup;
  /**
   * The unit held out together in leave-one-attack-family-out evaluation (e.g. all obfuscations), or null for
   * normal and shift items.
   */
  readonly attackClass: string | null;
  /** Detector / threshold / layer choices use `validation`; reported numbers use `test`. */
  readonly split: UntrustedSplit;
  /** The file the text (or its base request) came from. */
  readonly source: string;
  /** The record a derived item was built from (a wrapped request, a corrupted story); absent for raw items. */
  readonly baseId?: string;
}

export interface TrustedSplits {
  /** Detectors fit on this. */
  readonly fit: TextRecord[];
  /** Thresholds are set on this (e.g. the 99th percentile of its scores) — never on untrusted data. */
  readonly calibration: TextRecord[];
  /** Held-out trusted data to check the calibrated false-positive rate. */
  readonly validation: TextRecord[];
}

/** Counts describing what a task holds; `anomalyRate` is anomalous / untrusted total. */
export interface TaskMix {
  readonly trusted: { readonly fit: number; readonly calibration: number; readonly validation: number };
  readonly untrusted: {
    readonly total: number;
    readonly anomalous: number;
    readonly normal: number;
    readonly shift: number;
    readonly anomalyRate: number;
    readonly byFamily: Readonly<Record<string, number>>;
    readonly bySplit: Readonly<Record<UntrustedSplit, number>>;
  };
}

/**
 * Sizes every task reads (each task documents what they mean for it). Families draw min(size, available) items;
 * the mix reports what was actually drawn.
 */
export interface TaskSizes {
  readonly fit: number;
  readonly calibration: number;
  readonly validation: number;
  /** Untrusted in-distribution items. */
  readonly normal: number;
  /** Items per benign-shift source (or per non-story source in story-ood). */
  readonly perShiftSource: number;
  /** Items per real anomalous family (in-the-wild jailbreaks, GCG suffixes, plain harmful; story corruptions). */
  readonly perFamily: number;
  /** Items per synthetic attack family. */
  readonly perSyntheticFamily: number;
}

export interface BuildTaskOptions {
  readonly seed: number;
  /** About 10x smaller sizes, for CI and smoke runs. */
  readonly quick?: boolean;
  /** Overrides on top of the (quick or full) defaults. */
  readonly sizes?: Partial<TaskSizes>;
  /** Fraction of each untrusted family put in the validation split; default 0.5. */
  readonly validationFraction?: number;
  /** Data folder override (tests); default `<sharedDir>/data`. */
  readonly dataDir?: string;
}

export interface Task {
  readonly name: string;
  readonly description: string;
  /** Short model names (see src/models/registry.ts) the task is meant to run on. */
  readonly models: readonly string[];
  readonly seed: number;
  readonly sizes: TaskSizes;
  readonly trusted: TrustedSplits;
  readonly untrusted: TaskItem[];
  readonly mix: TaskMix;
}

export function resolveSizes(defaults: TaskSizes, quick: TaskSizes, options: BuildTaskOptions): TaskSizes {
  const base = options.quick ? quick : defaults;
  const sizes = { ...base, ...options.sizes };
  for (const [k, v] of Object.entries(sizes)) {
    if (!Number.isInteger(v) || v < 0) {
      throw new MadkitError("BAD_ARGUMENT", `task size '${k}' must be a non-negative integer, got ${String(v)}`);
    }
  }
  return sizes;
}

/** Shuffle the pool (seeded) and cut it into fit / calibration / validation; fails if the pool is too small. */
export function splitTrusted(pool: readonly TextRecord[], sizes: TaskSizes, seed: number, what: string): TrustedSplits {
  const need = sizes.fit + sizes.calibration + sizes.validation;
  if (pool.length < need) {
    throw new MadkitError(
      "BAD_ARGUMENT",
      `${what}: trusted sizes need ${need} items (fit ${sizes.fit} + calibration ${sizes.calibration} + ` +
        `validation ${sizes.validation}), the pool holds ${pool.length}`,
    );
  }
  const s = shuffled(rngFor(seed, "trusted-split"), pool);
  return {
    fit: s.slice(0, sizes.fit),
    calibration: s.slice(sizes.fit, sizes.fit + sizes.calibration),
    validation: s.slice(sizes.fit + sizes.calibration, need),
  };
}

export type UnsplitItem = Omit<TaskItem, "split">;

/**
 * Give every item a validation/test split: within each family, items that share a base request (e.g. one goal
 * with suffixes from several target models) go to the same side, so a request never appears on both.
 */
export function assignSplits(items: readonly UnsplitItem[], seed: number, validationFraction = 0.5): TaskItem[] {
  if (!(validationFraction >= 0 && validationFraction <= 1)) {
    throw new MadkitError("BAD_ARGUMENT", `validationFraction must be in [0, 1], got ${validationFraction}`);
  }
  const byFamily = new Map<string, Map<string, number[]>>();
  items.forEach((it, i) => {
    const key = it.baseId ?? it.id;
    let groups = byFamily.get(it.family);
    if (!groups) byFamily.set(it.family, (groups = new Map()));
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(i);
  });
  const split: UntrustedSplit[] = new Array(items.length);
  for (const [family, groups] of byFamily) {
    const keys = shuffled(rngFor(seed, `untrusted-split/${family}`), [...groups.keys()].sort());
    const total = items.filter((it) => it.family === family).length;
    const target = Math.round(total * validationFraction);
    let inValidation = 0;
    for (const key of keys) {
      const members = groups.get(key)!;
      const side: UntrustedSplit = inValidation < target ? "validation" : "test";
      if (side === "validation") inValidation += members.length;
      for (const i of members) split[i] = side;
    }
  }
  return items.map((it, i) => ({ ...it, split: split[i]! }));
}

/** Drop untrusted items whose text is in the trusted pool or already taken by an earlier untrusted item. */
export function disjointFrom(trustedPool: readonly TextRecord[], items: readonly UnsplitItem[]): UnsplitItem[] {
  const seen = new Set(trustedPool.map((r) => r.text));
  const out: UnsplitItem[] = [];
  for (const it of items) {
    if (seen.has(it.text)) continue;
    seen.add(it.text);
    out.push(it);
  }
  return out;
}

export function computeMix(trusted: TrustedSplits, untrusted: readonly TaskItem[]): TaskMix {
  const byFamily: Record<string, number> = {};
  const bySplit: Record<UntrustedSplit, number> = { validation: 0, test: 0 };
  let anomalous = 0;
  let normal = 0;
  let shift = 0;
  for (const it of untrusted) {
    byFamily[it.family] = (byFamily[it.family] ?? 0) + 1;
    bySplit[it.split]++;
    if (it.group === "anomalous") anomalous++;
    else if (it.group === "normal") normal++;
    else shift++;
  }
  return {
    trusted: { fit: trusted.fit.length, calibration: trusted.calibration.length, validation: trusted.validation.length },
    untrusted: {
      total: untrusted.length,
      anomalous,
      normal,
      shift,
      anomalyRate: untrusted.length === 0 ? 0 : anomalous / untrusted.length,
      byFamily,
      bySplit,
    },
  };
}

/** Raw records as untrusted items of one family. */
export function asItems(
  records: readonly TextRecord[],
  family: string,
  group: ItemGroup,
  attackClass: string | null,
): UnsplitItem[] {
  return records.map((r) => ({
    id: r.id,
    text: r.text,
    label: group === "anomalous" ? 1 : 0,
    family,
    group,
    attackClass,
    source: r.source,
  }));
}
