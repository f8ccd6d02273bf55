// The row layout of one extraction: a task's trusted fit, calibration and validation texts, then its untrusted
// items, in that order. Every later stage addresses activations, token counts and scores through it.

import type { Task, TaskItem, UntrustedSplit } from "../../tasks/task.js";

export interface Layout {
  readonly fit: readonly [number, number];
  readonly calibration: readonly [number, number];
  readonly validation: readonly [number, number];
  /** Rows of the untrusted items of each split, in the split's item order. */
  readonly split: Readonly<Record<UntrustedSplit, Uint32Array>>;
  readonly items: Readonly<Record<UntrustedSplit, TaskItem[]>>;
}

export function layoutOf(task: Task): Layout {
  const nf = task.trusted.fit.length;
  const nc = task.trusted.calibration.length;
  const nv = task.trusted.validation.length;
  const base = nf + nc + nv;
  const rows: Record<UntrustedSplit, number[]> = { validation: [], test: [] };
  const items: Record<UntrustedSplit, TaskItem[]> = { validation: [], test: [] };
  task.untrusted.forEach((it, i) => {
    rows[it.split].push(base + i);
    items[it.split].push(it);
  });
  return {
    fit: [0, nf],
    calibration: [nf, nf + nc],
    validation: [nf + nc, base],
    split: { validation: Uint32Array.from(rows.validation), test: Uint32Array.from(rows.test) },
    items,
  };
}

/** The texts in layout order: trusted fit, calibration, validation, then the untrusted items. */
export function layoutTexts(task: Task): { id: string; text: string }[] {
  return [...task.trusted.fit, ...task.trusted.calibration, ...task.trusted.validation, ...task.untrusted].map((r) => ({ id: r.id, text: r.text }));
}

/** Rows [a, b) of a layout span. */
export const rowsIn = ([a, b]: readonly [number, number]): Uint32Array => Uint32Array.from({ length: b - a }, (_, i) => a + i);

export const UNTRUSTED_SPLITS = ["validation", "test"] as const satisfies readonly UntrustedSplit[];
