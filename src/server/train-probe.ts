// Gather the labelled items' pooled activations (anomalous = 1, benign = 0; `unsure` is left out) and fit
// the logistic probe on them, in the bundle's hook order. Items the probe cannot learn from are refused by
// id, before any fitting: activations that are not finite numbers, and items the monitor flagged because a
// detector could not measure them (fail closed, reason NON_FINITE_SCORE): their activations are so extreme
// that standardising them would squash every ordinary input onto one point, and the probe would give
// everything the same score. The service fits in a worker thread (score-workers.ts) on `probeTrainingSet`.

import { MadkitError } from "../errors.js";
import { LogisticProbe } from "./logistic-probe.js";
import type { BundleHook } from "../bundle/bundle.js";
import type { MonitorStore, StoredItem } from "./storage.js";

/** The rows the probe is fitted on: features in hook order, 0/1 labels, and the item id of each row. */
export interface ProbeTrainingSet {
  readonly features: Float64Array;
  readonly rows: number;
  readonly cols: number;
  readonly labels: Uint8Array;
  readonly itemIds: readonly number[];
}

/** The hooks an item was flagged for as not measurable (its stored score's NON_FINITE_SCORE reason). */
function unmeasurableHooks(it: StoredItem): string[] {
  const reasons = (it.scores as { failClosed?: { code?: unknown; hooks?: unknown }[] } | null)?.failClosed;
  if (!Array.isArray(reasons)) return [];
  return reasons.flatMap((r) => (r?.code === "NON_FINITE_SCORE" && Array.isArray(r.hooks) ? r.hooks.map(String) : []));
}

/** Read every anomalous / benign item and check it can train a probe; the error names the items that cannot. */
export async function probeTrainingSet(store: MonitorStore, hooks: readonly BundleHook[]): Promise<ProbeTrainingSet> {
  const width = hooks.reduce((s, h) => s + h.dim, 0);
  const rows: Float32Array[] = [];
  const labels: number[] = [];
  const itemIds: number[] = [];
  const refused: string[] = [];
  for (let after = 0; ; ) {
    const page = await store.labelled({ after, limit: 1000 });
    for (const it of page) {
      if (it.label === "unsure") continue;
      const r = new Float32Array(width);
      let off = 0;
      for (const h of hooks) {
        const v = it.activations[h.name];
        if (!v || v.length !== h.dim) {
          throw new MadkitError("STORE_MISMATCH", `item ${it.id}: stored activations of '${h.name}' have ${v?.length ?? 0} values, the bundle needs ${h.dim}`);
        }
        const bad = v.findIndex((x) => !Number.isFinite(x));
        if (bad >= 0) refused.push(`item ${it.id} (hook '${h.name}' unit ${bad} is ${v[bad]})`);
        r.set(v, off);
        off += h.dim;
      }
      const unmeasurable = unmeasurableHooks(it);
      if (unmeasurable.length > 0) refused.push(`item ${it.id} (hook ${unmeasurable.map((h) => `'${h}'`).join(", ")} scored non-finite when it was flagged)`);
      rows.push(r);
      labels.push(it.label === "anomalous" ? 1 : 0);
      itemIds.push(it.id);
    }
    if (page.length < 1000) break;
    after = page[page.length - 1]!.id;
  }
  if (refused.length > 0) {
    const shown = refused.slice(0, 10).join("; ");
    throw new MadkitError(
      "NON_FINITE",
      `the probe cannot train on ${refused.length} labelled item(s) whose activations are not finite or are beyond what the detectors can measure: ` +
        `${shown}${refused.length > 10 ? `; and ${refused.length - 10} more` : ""}. Label them 'unsure' to leave them out of training (they stay in the export)`,
    );
  }
  const data = new Float64Array(rows.length * width);
  rows.forEach((r, i) => data.set(r, i * width));
  return { features: data, rows: rows.length, cols: width, labels: Uint8Array.from(labels), itemIds };
}

/** Fit the probe on the labelled items, here on the calling thread (the service uses a worker thread). */
export async function trainProbe(store: MonitorStore, hooks: readonly BundleHook[], l2: number): Promise<LogisticProbe> {
  const set = await probeTrainingSet(store, hooks);
  return LogisticProbe.train(hooks, { rows: set.rows, cols: set.cols, data: set.features }, set.labels, l2);
}
