// The pooling study behind the bench's pooling choice: from token-level activations (a store extracted with
// pooling `all`) build every candidate input representation — mean, rootn, max, mean+max, or per-token scores
// aggregated per input — fit detectors on trusted.fit, calibrate on trusted.calibration, and measure one untrusted
// split (validation when choosing; the test split is for reporting only). docs/pooling.md holds the results.

import { createDetector } from "../detectors/registry.js";
import { MadkitError } from "../errors.js";
import { auroc } from "../eval/ranking-metrics.js";
import { calibrateThreshold, metricsAtThreshold } from "../eval/threshold-metrics.js";
import { matrix, takeRows32, type Matrix } from "../linalg/matrix.js";
import type { Task, TaskItem, UntrustedSplit } from "../tasks/task.js";
import { anomalySubsets } from "./subsets.js";

/** Input representations built from token rows; `token:<agg>` fits on token rows and aggregates token scores. */
export const STUDY_POOLINGS = ["mean", "rootn", "max", "mean+max", "token:max", "token:top3", "token:mean"] as const;
export type StudyPooling = (typeof STUDY_POOLINGS)[number];

/** `offsets[i]..offsets[i+1]` are input i's token rows (length inputs + 1). */
export function tokenOffsets(tokens: ArrayLike<number>): Int32Array {
  const off = new Int32Array(tokens.length + 1);
  for (let i = 0; i < tokens.length; i++) off[i + 1] = off[i]! + tokens[i]!;
  return off;
}

/**
 * One row per input from its token rows: mean; rootn = sum / √n; max = per-unit maximum; mean+max = both side by
 * side (twice the width). An input with no tokens gets a zero row.
 */
export function poolTokenRows(rows: Matrix, offsets: Int32Array, pooling: "mean" | "rootn" | "max" | "mean+max"): Matrix<Float32Array> {
  const n = offsets.length - 1;
  const d = rows.cols;
  if (offsets[n] !== rows.rows) {
    throw new MadkitError("DIMENSION_MISMATCH", `pooling study: offsets cover ${offsets[n]} token rows, the matrix has ${rows.rows}`);
  }
  const width = pooling === "mean+max" ? 2 * d : d;
  const out = new Float32Array(n * width);
  const sum = new Float64Array(d);
  const max = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const a = offsets[i]!;
    const b = offsets[i + 1]!;
    const k = b - a;
    if (k === 0) continue;
    sum.fill(0);
    max.fill(-Infinity);
    for (let t = a; t < b; t++) {
      const o = t * d;
      for (let j = 0; j < d; j++) {
        const v = rows.data[o + j]!;
        sum[j]! += v;
        if (v > max[j]!) max[j] = v;
      }
    }
    const o = i * width;
    for (let j = 0; j < d; j++) {
      if (pooling === "mean") out[o + j] = sum[j]! / k;
      else if (pooling === "rootn") out[o + j] = sum[j]! / Math.sqrt(k);
      else if (pooling === "max") out[o + j] = max[j]!;
      else {
        out[o + j] = sum[j]! / k;
        out[o + d + j] = max[j]!;
      }
    }
  }
  return matrix(n, width, out);
}

/** One score per input from its tokens' scores: the maximum, the mean of the top 3, or the mean. */
export function aggregateTokenScores(scores: ArrayLike<number>, offsets: Int32Array, how: "max" | "top3" | "mean"): Float64Array {
  const n = offsets.length - 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = offsets[i]!;
    const b = offsets[i + 1]!;
    if (b === a) continue;
    if (how === "mean") {
      let s = 0;
      for (let t = a; t < b; t++) s += scores[t]!;
      out[i] = s / (b - a);
    } else if (how === "max") {
      let m = -Infinity;
      for (let t = a; t < b; t++) m = Math.max(m, scores[t]!);
      out[i] = m;
    } else {
      const top = Array.from({ length: b - a }, (_, k) => scores[a + k]!).sort((x, y) => y - x).slice(0, 3);
      out[i] = top.reduce((x, y) => x + y, 0) / top.length;
    }
  }
  return out;
}

export interface PoolingStudyRow {
  readonly hook: string;
  readonly pooling: StudyPooling | "sequence";
  readonly detector: string;
  readonly auroc: number;
  readonly precision: number;
  readonly recall: number;
  readonly lengthMatchedAuroc: number;
  /** Share of the split's shift items flagged at the threshold. */
  readonly shiftFpr: number;
}

export interface PoolingStudyOptions {
  readonly task: Task;
  /** Per hook: token rows of every text in bench order (trusted fit, calibration, validation, untrusted), or one row per text for sequence hooks. */
  readonly rows: ReadonlyMap<string, Matrix>;
  /** Tokens per text (bench order). */
  readonly tokens: Int32Array;
  readonly poolings: readonly StudyPooling[];
  readonly detectors: readonly { readonly name: string; readonly kind: string; readonly params?: Record<string, unknown> }[];
  readonly split: UntrustedSplit;
  readonly alpha: number;
  readonly seed: number;
}

/** Token rows of the given inputs, and the offsets of each input inside them. */
function tokenRowsOf(m: Matrix, off: Int32Array, inputs: readonly number[]): { rows: Matrix<Float32Array>; offsets: Int32Array } {
  const idx: number[] = [];
  for (const i of inputs) for (let t = off[i]!; t < off[i + 1]!; t++) idx.push(t);
  return { rows: takeRows32(m, idx), offsets: tokenOffsets(inputs.map((i) => off[i + 1]! - off[i]!)) };
}

/** Validation (or test) metrics of every hook × pooling × detector; the length baseline comes first as `length:tokens`. */
export function poolingStudy(o: PoolingStudyOptions): PoolingStudyRow[] {
  const { task, tokens } = o;
  const nf = task.trusted.fit.length;
  const nc = task.trusted.calibration.length;
  const base = nf + nc + task.trusted.validation.length;
  const splitRows: number[] = [];
  const items: TaskItem[] = [];
  task.untrusted.forEach((it, i) => {
    if (it.split !== o.split) return;
    items.push(it);
    splitRows.push(base + i);
  });
  const subs = anomalySubsets(items, (i) => tokens[splitRows[i]!]!, o.seed, o.split);
  const all = subs.find((s) => s.name === "all");
  const lm = subs.find((s) => s.name === "length-matched");
  if (!all || !lm) throw new MadkitError("BAD_INPUT", `pooling study: the ${o.split} split has no anomalous or no normal items`);
  const shiftIdx = items.map((_, i) => i).filter((i) => items[i]!.group === "shift");
  const fitIdx = Array.from({ length: nf }, (_, i) => i);
  const calIdx = Array.from({ length: nc }, (_, i) => nf + i);
  const off = tokenOffsets(tokens);

  const row = (hook: string, pooling: PoolingStudyRow["pooling"], detector: string, cal: Float64Array, s: Float64Array): PoolingStudyRow => {
    const t = calibrateThreshold(cal, o.alpha);
    const sa = Float64Array.from(all.indices, (i) => s[i]!);
    const m = metricsAtThreshold(sa, all.labels, t);
    let flagged = 0;
    for (const i of shiftIdx) if (s[i]! > t) flagged++;
    return {
      hook,
      pooling,
      detector,
      auroc: auroc(sa, all.labels),
      precision: m.precision,
      recall: m.recall,
      lengthMatchedAuroc: auroc(Float64Array.from(lm.indices, (i) => s[i]!), lm.labels),
      shiftFpr: shiftIdx.length ? flagged / shiftIdx.length : 0,
    };
  };
  const len = (rows: readonly number[]): Float64Array => Float64Array.from(rows, (r) => tokens[r]!);
  const out: PoolingStudyRow[] = [row("length:tokens", "sequence", "length:tokens", len(calIdx), len(splitRows))];

  for (const [hook, m] of o.rows) {
    const sequence = m.rows === tokens.length && m.rows !== off[tokens.length];
    const poolings: readonly (StudyPooling | "sequence")[] = sequence ? ["sequence"] : o.poolings;
    for (const pooling of poolings) {
      if (pooling === "sequence" || !pooling.startsWith("token:")) {
        const pooled = pooling === "sequence" ? m : poolTokenRows(m, off, pooling as "mean" | "rootn" | "max" | "mean+max");
        for (const d of o.detectors) {
          const f = createDetector(d.kind, { ...d.params }).fit(takeRows32(pooled, fitIdx));
          out.push(row(hook, pooling, d.name, f.score(takeRows32(pooled, calIdx)), f.score(takeRows32(pooled, splitRows))));
        }
        continue;
      }
      const how = pooling.slice("token:".length) as "max" | "top3" | "mean";
      for (const d of o.detectors) {
        const f = createDetector(d.kind, { ...d.params }).fit(tokenRowsOf(m, off, fitIdx).rows);
        const score = (inputs: readonly number[]): Float64Array => {
          const t = tokenRowsOf(m, off, inputs);
          return aggregateTokenScores(f.score(t.rows), t.offsets, how);
        };
        out.push(row(hook, pooling, d.name, score(calIdx), score(splitRows)));
      }
    }
  }
  return out;
}
