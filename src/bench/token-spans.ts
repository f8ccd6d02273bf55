// Per-token views of the failure examples: the selected detector's kind refitted on trusted token rows (pooling
// `all`) at a token hook, a token threshold calibrated conformally on trusted calibration tokens, and the
// anomalous span of each example, so a reviewer sees *where* in an input the detector's evidence sits.

import type { FittedDetector } from "../detectors/detector.js";
import { createDetector } from "../detectors/registry.js";
import { ConformalCalibration } from "../eval/conformal.js";
import { anomalousSpan, scoreTokens } from "./token-scores.js";
import { matrix } from "../linalg/matrix.js";
import type { ActivationSource, HookPoint } from "../models/source.js";
import { rngFor, sampleWithoutReplacement } from "../random/seeded-sampling.js";
import type { PlannedDetector } from "./plan.js";
import type { FailureExample, ResultRecord } from "../results/contract.js";

export interface TokenHookChoice {
  readonly hook: string;
  /** True when the selected hook has no per-token rows (a sequence hook or a combination of hooks). */
  readonly substituted: boolean;
}

/**
 * The token hook for a selection: its own hook when that has one row per token; otherwise the token hook where
 * the same detector had the best validation AUROC (subset `all`). Null when the detector ran on no token hook.
 */
export function tokenHookFor(
  sel: { readonly task: string; readonly model: string; readonly detector: string; readonly hook: string },
  records: readonly ResultRecord[],
  hooks: readonly HookPoint[],
): TokenHookChoice | null {
  const token = new Set(hooks.filter((h) => h.granularity === "token").map((h) => h.name));
  if (token.has(sel.hook)) return { hook: sel.hook, substituted: false };
  let best: ResultRecord | null = null;
  for (const r of records) {
    if (r.task !== sel.task || r.model !== sel.model || r.detector !== sel.detector || r.subset !== "all" || r.split !== "validation" || !token.has(r.hook)) continue;
    if (!best || r.auroc.value > best.auroc.value || (r.auroc.value === best.auroc.value && r.hook < best.hook)) best = r;
  }
  return best ? { hook: best.hook, substituted: true } : null;
}

export interface TokenSpanModelOptions {
  readonly source: ActivationSource;
  /** Registry kind and parameters of the detector to refit on token rows. */
  readonly kind: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** A hook with one row per token. */
  readonly hook: string;
  readonly fitTexts: readonly string[];
  readonly calibrationTexts: readonly string[];
  /** Token threshold level: flag a token when its conformal p-value among trusted calibration tokens is ≤ α. */
  readonly alpha: number;
  readonly seed: number;
  /** At most this many fit texts are run (a seeded sample); default 300. */
  readonly maxFitTexts?: number;
  /** At most this many token rows are fitted on (a seeded sample of the fit texts' tokens); default 8000. */
  readonly maxFitRows?: number;
  /** At most this many calibration texts are run; default 200. */
  readonly maxCalibrationTexts?: number;
  readonly batchSize?: number;
}

export interface TokenView {
  /** Each token's text as the model split it (SentencePiece's ▁ shown as a space). */
  readonly pieces: string[];
  readonly scores: number[];
  /** The anomalous span, [start, end) over `pieces`. */
  readonly span: { readonly start: number; readonly end: number };
}

/** A detector over token rows at one hook, with its conformal token threshold. */
export interface TokenSpanModel {
  readonly hook: string;
  readonly detector: FittedDetector;
  /** Score above which a token is flagged at level α (Infinity when too few calibration tokens to flag any). */
  readonly threshold: number;
  readonly alpha: number;
  readonly fitRows: number;
  readonly calibrationTokens: number;
  views(texts: readonly string[]): Promise<TokenView[]>;
}

/** Every token row of `texts` at `hook`, in batches, as one [tokens x dim] matrix. */
async function tokenRows(source: ActivationSource, hook: string, texts: readonly string[], batchSize: number): Promise<{ data: Float32Array; rows: number; dim: number }> {
  const parts: Float32Array[] = [];
  let rows = 0;
  let dim = 0;
  for (let i = 0; i < texts.length; i += batchSize) {
    const res = await source.forward(texts.slice(i, i + batchSize), { hooks: [hook] });
    for (const a of res.activations) {
      const m = a.get(hook)!;
      dim = m.cols;
      rows += m.rows;
      parts.push(m.data);
    }
  }
  const data = new Float32Array(rows * dim);
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  return { data, rows, dim };
}

function sampleTexts(texts: readonly string[], max: number, seed: number, label: string): string[] {
  return texts.length <= max ? [...texts] : sampleWithoutReplacement(rngFor(seed, label), texts, max);
}

export async function fitTokenSpanModel(o: TokenSpanModelOptions): Promise<TokenSpanModel> {
  const batch = o.batchSize ?? 16;
  const fitTexts = sampleTexts(o.fitTexts, o.maxFitTexts ?? 300, o.seed, `token-spans/fit/${o.hook}`);
  const all = await tokenRows(o.source, o.hook, fitTexts, batch);
  const maxRows = o.maxFitRows ?? 8000;
  let x = matrix(all.rows, all.dim, all.data);
  if (all.rows > maxRows) {
    const keep = rngFor(o.seed, `token-spans/rows/${o.hook}`).permutation(all.rows).subarray(0, maxRows).sort();
    const d = new Float32Array(maxRows * all.dim);
    keep.forEach((r, k) => d.set(all.data.subarray(r * all.dim, (r + 1) * all.dim), k * all.dim));
    x = matrix(maxRows, all.dim, d);
  }
  const detector = createDetector(o.kind, { ...o.params }).fit(x);
  const calTexts = sampleTexts(o.calibrationTexts, o.maxCalibrationTexts ?? 200, o.seed, `token-spans/calibration/${o.hook}`);
  const cal = await tokenRows(o.source, o.hook, calTexts, batch);
  const calScores = detector.score(matrix(cal.rows, cal.dim, cal.data));
  const threshold = new ConformalCalibration(calScores, `token scores at ${o.hook}`).threshold(o.alpha);
  return {
    hook: o.hook,
    detector,
    threshold,
    alpha: o.alpha,
    fitRows: x.rows,
    calibrationTokens: cal.rows,
    async views(texts) {
      const out: TokenView[] = [];
      for (let i = 0; i < texts.length; i += batch) {
        for (const t of await scoreTokens(o.source, detector, o.hook, texts.slice(i, i + batch))) {
          // With no finite threshold, the span is the single highest-scoring token (anomalousSpan's fallback).
          const span = anomalousSpan(t.scores, Number.isFinite(threshold) ? threshold : Number.MAX_VALUE);
          out.push({ pieces: t.pieces.map((p) => p.replace(/\u2581/g, " ")), scores: Array.from(t.scores), span: { start: span.start, end: span.end } });
        }
      }
      return out;
    },
  };
}

export interface ExampleTokenViewsOptions {
  readonly source: ActivationSource;
  /** The selected detector as planned (kind and parameters); undefined or a bench-only kind gives no views. */
  readonly planned: PlannedDetector | undefined;
  readonly selection: { readonly task: string; readonly model: string; readonly detector: string; readonly hook: string };
  /** The run's records, to find the best token hook when the selected hook is not one. */
  readonly records: readonly ResultRecord[];
  readonly fitTexts: readonly string[];
  readonly calibrationTexts: readonly string[];
  readonly alpha: number;
  readonly seed: number;
}

/**
 * Token views for the given examples (deduplicated by id): returns a function that adds `tokenPieces`,
 * `tokenScores`, `span`, `tokenHook` and `tokenThreshold` to an example of this selection, and leaves any
 * other example as it is. With no token hook for the detector (or no planned kind), every example stays as it is.
 */
export async function exampleTokenViews(o: ExampleTokenViewsOptions, examples: readonly FailureExample[]): Promise<(e: FailureExample) => FailureExample> {
  const same = (e: FailureExample): boolean =>
    e.task === o.selection.task && e.model === o.selection.model && e.detector === o.selection.detector && e.hook === o.selection.hook;
  const choice = tokenHookFor(o.selection, o.records, o.source.hooks());
  const planned = o.planned;
  if (!choice || !planned || planned.hooks === "none" || planned.scope !== "input") return (e) => e;
  const texts = new Map<string, string>();
  for (const e of examples) if (same(e)) texts.set(e.id, e.text);
  if (texts.size === 0) return (e) => e;
  const model = await fitTokenSpanModel({
    source: o.source,
    kind: planned.kind,
    params: planned.params,
    hook: choice.hook,
    fitTexts: o.fitTexts,
    calibrationTexts: o.calibrationTexts,
    alpha: o.alpha,
    seed: o.seed,
  });
  const ids = [...texts.keys()];
  const views = await model.views(ids.map((id) => texts.get(id)!));
  const byId = new Map(ids.map((id, i) => [id, views[i]!] as const));
  const threshold = Number.isFinite(model.threshold) ? model.threshold : null;
  return (e) => {
    const v = same(e) ? byId.get(e.id) : undefined;
    return v ? { ...e, tokenPieces: v.pieces, tokenScores: v.scores, span: v.span, tokenHook: choice.hook, tokenThreshold: threshold } : e;
  };
}
