// A small HTTP client of the monitor service (`madkit serve`), the routes the monitor loop uses: score (packed
// float32 activations), the review queue, labels, importing labelled items, probe training. It counts the
// requests per route, and any non-2xx answer is a MadkitError naming the route, the status and the service's
// own error message. It works against any running service: a URL and a token of role admin.

import { MadkitError } from "../errors.js";

/** One hook's pooled vector as the service takes it packed: base64 of little-endian float32 bytes. */
export function packFloat32(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");
}

export interface ServiceScore {
  readonly combined: number | null;
  readonly pValue: number;
  readonly flagged: boolean;
  readonly probe?: { readonly score: number; readonly id: number };
  readonly itemId?: number;
}

export interface TrainedProbe {
  readonly id: number;
  readonly nAnomalous: number;
  readonly nBenign: number;
  readonly hooks: readonly string[];
}

export type Activations = Readonly<Record<string, Float32Array>>;

/** Most inputs per request (the service's default `maxBatch`). */
export const BATCH = 64;

export class MonitorClient {
  readonly requests: Record<string, number> = {};
  /** Wall-clock milliseconds spent waiting for each route's answers. */
  readonly millis: Record<string, number> = {};

  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  private async call<T>(method: string, route: string, path: string, body?: unknown): Promise<T> {
    const key = `${method} ${route}`;
    this.requests[key] = (this.requests[key] ?? 0) + 1;
    const t0 = performance.now();
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    this.millis[key] = (this.millis[key] ?? 0) + (performance.now() - t0);
    if (!res.ok) throw new MadkitError("BAD_INPUT", `${method} ${path}: the monitor answered ${res.status}: ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Score inputs in batches; `record: false` stores nothing (calibration sets). */
  async score(inputs: readonly Activations[], record = true): Promise<ServiceScore[]> {
    const out: ServiceScore[] = [];
    for (let s = 0; s < inputs.length; s += BATCH) {
      const items = inputs.slice(s, s + BATCH).map((a) => ({ activations: Object.fromEntries(Object.entries(a).map(([h, v]) => [h, packFloat32(v)])) }));
      const r = await this.call<{ results: ServiceScore[] }>("POST", "/v1/score", "/v1/score", { items, ...(record ? {} : { record: false }) });
      out.push(...r.results);
    }
    return out;
  }

  /** Every unlabelled item id in the review queue, oldest first (all pages). */
  async queueIds(): Promise<number[]> {
    const ids: number[] = [];
    for (let after = 0; ; ) {
      const page = await this.call<{ items: { id: number }[]; next: string | null }>("GET", "/v1/queue", `/v1/queue?after=${after}&limit=500`);
      ids.push(...page.items.map((i) => i.id));
      if (!page.next || page.items.length === 0) return ids;
      after = page.items[page.items.length - 1]!.id;
    }
  }

  async label(itemId: number, label: "anomalous" | "benign", note: string): Promise<void> {
    await this.call("POST", "/v1/items/{id}/label", `/v1/items/${itemId}/label`, { label, note });
  }

  /** Store labelled items without the queue; returns their ids. */
  async importLabelled(items: readonly { activations: Activations; text?: string; label: "anomalous" | "benign"; note?: string }[]): Promise<number[]> {
    const ids: number[] = [];
    for (let s = 0; s < items.length; s += BATCH) {
      const body = {
        items: items.slice(s, s + BATCH).map((it) => ({
          activations: Object.fromEntries(Object.entries(it.activations).map(([h, v]) => [h, packFloat32(v)])),
          ...(it.text !== undefined ? { text: it.text } : {}),
          label: it.label,
          ...(it.note !== undefined ? { note: it.note } : {}),
        })),
      };
      const r = await this.call<{ items: { id: number }[] }>("POST", "/v1/items/import", "/v1/items/import", body);
      ids.push(...r.items.map((i) => i.id));
    }
    return ids;
  }

  async trainProbe(hooks: readonly string[], l2: number): Promise<TrainedProbe> {
    return this.call<TrainedProbe>("POST", "/v1/probe/train", "/v1/probe/train", { l2, hooks });
  }
}
