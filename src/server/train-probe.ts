// Gather the labelled items' pooled activations (anomalous = 1, benign = 0; `unsure` is left out) and fit
// the logistic probe on them, in the bundle's hook order.

import { MadkitError } from "../errors.js";
import { LogisticProbe } from "./logistic-probe.js";
import type { BundleHook } from "../bundle/bundle.js";
import type { MonitorStore } from "./storage.js";

export async function trainProbe(store: MonitorStore, hooks: readonly BundleHook[], l2: number): Promise<LogisticProbe> {
  const width = hooks.reduce((s, h) => s + h.dim, 0);
  const rows: Float32Array[] = [];
  const labels: number[] = [];
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
        r.set(v, off);
        off += h.dim;
      }
      rows.push(r);
      labels.push(it.label === "anomalous" ? 1 : 0);
    }
    if (page.length < 1000) break;
    after = page[page.length - 1]!.id;
  }
  const data = new Float64Array(rows.length * width);
  rows.forEach((r, i) => data.set(r, i * width));
  return LogisticProbe.train(hooks, { rows: rows.length, cols: width, data }, Uint8Array.from(labels), l2);
}
