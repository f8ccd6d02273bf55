// The evaluation subsets of one split of a task: the anomalies against held-out normal items (`all`), each
// anomalous family against the same normal items, and a length-matched `all` (same token-length histogram on both
// sides), because length alone separates many jailbreak families. Shift items are never negatives here: benign
// shift is its own control (the benign-shift task, and `shiftFpr` beside every anomaly record).

import { lengthMatch } from "../tasks/length.js";
import { streamSeed } from "../random/seeded-sampling.js";
import type { TaskItem } from "../tasks/task.js";

export interface EvalSubset {
  readonly name: string;
  /** Indices into the split's item list. */
  readonly indices: Uint32Array;
  /** 1 = positive (anomalous; shift for benign-shift), per entry of `indices`. */
  readonly labels: Uint8Array;
}

function subset(name: string, idx: readonly number[], isPositive: (i: number) => boolean): EvalSubset {
  return { name, indices: Uint32Array.from(idx), labels: Uint8Array.from(idx, (i) => (isPositive(i) ? 1 : 0)) };
}

/**
 * Subsets for an anomaly task's split. Negatives are the split's `normal` items only (the untrusted
 * normal: held-out benign); `shift` items are left out of every subset. `tokensOf` gives an item's token count
 * (length matching uses it); families with no items in the split are skipped.
 */
export function anomalySubsets(items: readonly TaskItem[], tokensOf: (i: number) => number, seed: number, split: string): EvalSubset[] {
  const pos = (i: number): boolean => items[i]!.group === "anomalous";
  const kept = items.map((_, i) => i).filter((i) => items[i]!.group !== "shift");
  const negatives = kept.filter((i) => !pos(i));
  const anomalous = kept.filter(pos);
  if (negatives.length === 0 || anomalous.length === 0) return [];
  const out: EvalSubset[] = [subset("all", kept, pos)];
  const families = [...new Set(anomalous.map((i) => items[i]!.family))].sort();
  for (const f of families) out.push(subset(f, [...negatives, ...anomalous.filter((i) => items[i]!.family === f)], pos));
  const wrap = (i: number): { text: string; i: number } => ({ text: String(i), i });
  const matched = lengthMatch(negatives.map(wrap), anomalous.map(wrap), {
    seed: streamSeed(seed, `bench-length-match/${split}`),
    lengthOf: (t) => tokensOf(Number(t)),
  });
  if (matched.normal.length > 0 && matched.anomalous.length > 0) {
    const idx = [...matched.normal.map((x) => x.i), ...matched.anomalous.map((x) => x.i)].sort((a, b) => a - b);
    out.push(subset("length-matched", idx, pos));
  }
  return out;
}

/** benign-shift: all shift items, and each shift family, against the split's held-out normal items. */
export function shiftSubsets(items: readonly TaskItem[]): EvalSubset[] {
  const all = items.map((_, i) => i).filter((i) => items[i]!.group !== "anomalous");
  const normal = all.filter((i) => items[i]!.group === "normal");
  const shift = all.filter((i) => items[i]!.group === "shift");
  if (normal.length === 0 || shift.length === 0) return [];
  const pos = (i: number): boolean => items[i]!.group === "shift";
  const out: EvalSubset[] = [subset("all", all, pos)];
  for (const f of [...new Set(shift.map((i) => items[i]!.family))].sort()) {
    out.push(subset(f, [...normal, ...shift.filter((i) => items[i]!.family === f)], pos));
  }
  return out;
}
