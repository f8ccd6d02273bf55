// The surface baselines: the benchmark's own detectors (Mahalanobis with Ledoit-Wolf shrinkage, kNN, isolation
// forest, LOF, PCA residual) fitted on text-only features (surface-features.ts) instead of activations, on the same
// trusted fit rows. They answer the sceptic's question "is this just the input text?": a detector on activations
// that does not beat them has found nothing the tokens alone do not show (e.g. a trigger that is the last word).

import { isMadkitError, MadkitError } from "../errors.js";
import { createDetector } from "../detectors/registry.js";
import { matrix } from "../linalg/matrix.js";
import { tokenIdsOf } from "./bag-of-words-baseline.js";
import { scoreLayoutRows, type BaselineInput, type BenchBaseline } from "./baseline.js";
import type { BenchPlan, PlannedDetector } from "./plan.js";
import { applyColumnFold, fitColumnFold, type ColumnFold } from "./surface-fold.js";
import { surfaceDim, surfaceFeatures, tokenTableOf, type SurfaceFeature, type TokenTable } from "./surface-features.js";

/**
 * The feature kinds. n-gram buckets are fewer (bigrams are many and collide harmlessly in a frequency profile);
 * last-token buckets are many, so two tokens rarely share one: a shared bucket would hide a trigger behind a
 * common ending. Columns no trusted fit row uses are folded into one (surface-fold.ts), so width costs little.
 */
export const SURFACE_FEATURES: Readonly<Record<string, SurfaceFeature>> = {
  ngram: { kind: "ngram", width: 256 },
  "last-tokens-1": { kind: "last-tokens", k: 1, width: 1024 },
  "last-tokens-3": { kind: "last-tokens", k: 3, width: 1024 },
};

/** The detectors, with the grid's parameters (plan.ts), by the name their rows carry. */
export const SURFACE_DETECTORS: Readonly<Record<string, { readonly kind: string; readonly params: Readonly<Record<string, unknown>> }>> = {
  mahalanobis: { kind: "mahalanobis", params: { covariance: "ledoit-wolf" } },
  "knn:cosine": { kind: "knn", params: { k: 5, metric: "cosine" } },
  "isolation-forest": { kind: "isolation-forest", params: { seed: 0 } },
  lof: { kind: "lof", params: {} },
  pca: { kind: "pca", params: {} },
};

export const SURFACE_KIND = "surface";

/** Every feature × detector as a planned row `surface:<feature>:<detector>`: family `baseline`, never selected. */
export const SURFACE_ROWS: readonly PlannedDetector[] = Object.keys(SURFACE_FEATURES).flatMap((feature) =>
  Object.keys(SURFACE_DETECTORS).map(
    (detector): PlannedDetector => ({ name: `surface:${feature}:${detector}`, kind: SURFACE_KIND, params: { feature, detector }, family: "baseline", scope: "input", hooks: "none" }),
  ),
);

export const SURFACE_NOTE =
  "Surface baselines (`surface:<features>:<detector>`, run wherever the length baseline runs) fit the grid's detectors on the trusted fit rows' " +
  "text-only features, from the model's own token ids: `ngram` = hashed unigram and bigram frequencies (each order divided by its count, so length " +
  "is left to the length baseline), `last-tokens-k` = the hashed identity of each of the last k tokens by position. Feature columns no trusted fit " +
  "row uses are summed into one column. A detector that cannot fit the features (e.g. every trusted text ends in the same token) is replaced by " +
  "the squared distance to the trusted mean. The mechanism margin (results.mechanismMargins) sets the selected detector against the strongest of them.";

/** The plan with the surface rows after its other baselines, wherever it runs a length baseline and has none yet. */
export function withSurfaceBaselines(plan: BenchPlan): BenchPlan {
  if (!plan.detectors.some((d) => d.kind === "length") || plan.detectors.some((d) => d.kind === SURFACE_KIND)) return plan;
  let at = 0;
  plan.detectors.forEach((d, i) => {
    if (d.family === "baseline") at = i + 1;
  });
  return { ...plan, detectors: [...plan.detectors.slice(0, at), ...SURFACE_ROWS, ...plan.detectors.slice(at)], notes: [...plan.notes, SURFACE_NOTE] };
}

/** One feature kind over a unit: every text's folded features (row-major), computed once per unit. */
interface UnitFeatures {
  readonly x: Float32Array;
  readonly dim: number;
  readonly fitRows: readonly [number, number];
}

function unitFeatures(feature: SurfaceFeature, table: TokenTable, fitRows: readonly [number, number]): UnitFeatures {
  const n = table.offsets.length - 1;
  const all = surfaceFeatures(feature, table, Uint32Array.from({ length: n }, (_, i) => i));
  const from = surfaceDim(feature);
  const fold: ColumnFold = fitColumnFold(all.subarray(fitRows[0] * from, fitRows[1] * from), from);
  return { x: applyColumnFold(fold, all), dim: fold.dim, fitRows };
}

/** Squared Euclidean distance to the fit rows' mean: the fallback when a detector cannot fit degenerate features. */
function centroidScorer(f: UnitFeatures): (x: Float32Array, rows: number) => Float64Array {
  const [a, b] = f.fitRows;
  const mean = new Float64Array(f.dim);
  for (let r = a; r < b; r++) for (let j = 0; j < f.dim; j++) mean[j]! += f.x[r * f.dim + j]! / (b - a);
  return (x, rows) => {
    const out = new Float64Array(rows);
    for (let r = 0; r < rows; r++) for (let j = 0; j < f.dim; j++) out[r]! += (x[r * f.dim + j]! - mean[j]!) ** 2;
    return out;
  };
}

/** Fit the named detector on the fit rows' features; a BAD_INPUT refusal (degenerate features) falls back to the centroid. */
function fitScorer(detector: string, f: UnitFeatures): (x: Float32Array, rows: number) => Float64Array {
  const spec = SURFACE_DETECTORS[detector]!;
  const [a, b] = f.fitRows;
  try {
    const fitted = createDetector(spec.kind, { ...spec.params }).fit(matrix(b - a, f.dim, f.x.slice(a * f.dim, b * f.dim)));
    return (x, rows) => fitted.score(matrix(rows, f.dim, x));
  } catch (err) {
    if (isMadkitError(err) && err.code === "BAD_INPUT") return centroidScorer(f);
    throw err;
  }
}

function fitAndScore({ detector, source, texts, layout, once }: BaselineInput) {
  const t0 = performance.now();
  const featureName = String(detector.params.feature);
  const detectorName = String(detector.params.detector);
  if (!Object.hasOwn(SURFACE_FEATURES, featureName) || !Object.hasOwn(SURFACE_DETECTORS, detectorName)) {
    throw new MadkitError(
      "BAD_ARGUMENT",
      `surface baseline '${detector.name}': expected feature one of ${Object.keys(SURFACE_FEATURES).join(", ")} and detector one of ` +
        `${Object.keys(SURFACE_DETECTORS).join(", ")}, got '${featureName}' and '${detectorName}'`,
    );
  }
  // Token ids are shared with the bag-of-words baselines (same key), features with the other detectors of a kind.
  const tok = once("token-ids", () => tokenIdsOf(source, texts));
  const table = once("surface:token-table", () => tokenTableOf(tok.ids));
  const f = once(`surface:features:${featureName}`, () => unitFeatures(SURFACE_FEATURES[featureName]!, table, layout.fit));
  const score = fitScorer(detectorName, f);
  const fitSeconds = (performance.now() - t0) / 1000;
  return scoreLayoutRows(
    (rows) => {
      const x = new Float32Array(rows.length * f.dim);
      for (let k = 0; k < rows.length; k++) x.set(f.x.subarray(rows[k]! * f.dim, (rows[k]! + 1) * f.dim), k * f.dim);
      return score(x, rows.length);
    },
    layout,
    fitSeconds,
  );
}

export const SURFACE_BASELINE: BenchBaseline = {
  kind: SURFACE_KIND,
  addToPlan: withSurfaceBaselines,
  hookName: (d) => d.name,
  fitAndScore,
};
