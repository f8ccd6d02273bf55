// Detector bundles on synthetic multi-hook activations: save/load gives identical scores and p-values, the
// combined `max` score equals a hand computation from the bundle's own parts, the seeded split is reproducible,
// the FPR on fresh trusted inputs stays near α, planted outliers rank high, and bad input fails clearly.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { BUNDLE_FILE, fitBundle, FittedBundle, loadBundle } from "../../src/bundle/bundle.js";
import { knn } from "../../src/detectors/knn.js";
import { mahalanobis } from "../../src/detectors/mahalanobis.js";
import { isMadkitError } from "../../src/errors.js";
import { auroc } from "../../src/eval/ranking-metrics.js";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import { plantedOutliers } from "../../src/datasets/planted-outliers.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "madkit-bundle-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const HOOKS = ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post", "blocks.2.hook_resid_post"];
/** Three hooks of different widths; the outliers are planted in hook 1 only. */
const parts = HOOKS.map((_, h) => plantedOutliers({ nTrain: 800, nTest: 400, dim: 6 + 2 * h, seed: 20 + h, float32: true, outlierFraction: h === 1 ? 0.1 : 0 }));
const train = new Map<string, Matrix>(HOOKS.map((name, h) => [name, parts[h]!.train]));
const testActs = new Map<string, Matrix>(HOOKS.map((name, h) => [name, h === 1 ? parts[h]!.test : plantedOutliers({ nTrain: 800, nTest: 400, dim: 6 + 2 * h, seed: 20 + h, float32: true, outlierFraction: 0 }).test]));
const labels = parts[1]!.labels;
// plantedOutliers plants at least one outlier; rows it planted in hooks 0 and 2 would blur the labels, so use clean copies above.
// 800 trusted rows leave 80 combined calibration scores over three hooks: α = 0.05 (fitBundle refuses the
// default 0.01, which 80 scores can never flag at).

const rejects = (fn: () => unknown, code: string, re: RegExp) => assert.throws(fn, (e: unknown) => isMadkitError(e) && e.code === code && re.test(e.message));

test("save then loadBundle gives identical per-hook scores, combined scores, p-values, thresholds and metadata", () => {
  const bundle = fitBundle({ matrices: train, detector: mahalanobis(), alpha: 0.05, seed: 3, model: { id: "toy", revision: "r1", format: "llama2c" }, pooling: "last" });
  const dir = path.join(tmp, "roundtrip");
  bundle.save(dir);
  const back = loadBundle(dir);
  const s1 = bundle.score(testActs);
  const s2 = back.score(testActs);
  assert.deepEqual(s2.combined, s1.combined);
  assert.deepEqual(s2.pValue, s1.pValue);
  for (const h of HOOKS) assert.deepEqual(s2.perHook.get(h), s1.perHook.get(h));
  assert.equal(back.threshold(0.05), bundle.threshold(0.05));
  assert.deepEqual(back.meta, bundle.meta);
  assert.deepEqual(back.hooks, bundle.hooks);
  // Saving again over an existing bundle replaces it.
  fitBundle({ matrices: train, detector: mahalanobis(), alpha: 0.05, seed: 4 }).save(dir);
  assert.equal(loadBundle(dir).meta.seed, 4);
});

test("the combined max score equals max over hooks of (score − held-out mean) / held-out sample std, computed by hand", () => {
  const bundle = fitBundle({ matrices: train, detector: mahalanobis(), alpha: 0.05, combiner: "max", seed: 1 });
  const { perHook, combined, pValue } = bundle.score(testActs);
  const stats = bundle.normalisers.map((n) => {
    const v = Array.from(n.calibration.sorted);
    const mean = v.reduce((x, y) => x + y, 0) / v.length;
    const std = Math.sqrt(v.reduce((x, y) => x + (y - mean) ** 2, 0) / (v.length - 1));
    return { mean, std };
  });
  const cal = Array.from(bundle.calibration.sorted);
  for (let i = 0; i < combined.length; i++) {
    const want = Math.max(...HOOKS.map((h, k) => (perHook.get(h)![i]! - stats[k]!.mean) / stats[k]!.std));
    assert.ok(Math.abs(combined[i]! - want) < 1e-9 * (1 + Math.abs(want)), `row ${i}`);
    assert.equal(pValue[i], (1 + cal.filter((c) => c >= combined[i]!).length) / (cal.length + 1));
    assert.equal(bundle.flag(pValue[i]!, 0.05), combined[i]! > bundle.threshold(0.05));
  }
  // Per-hook scores are the hook detectors' own.
  assert.deepEqual(perHook.get(HOOKS[2]!), bundle.detectors[2]!.score(testActs.get(HOOKS[2]!)!));
  // The split: 20% held out of 800, halved between normalisers and the combined calibration.
  assert.deepEqual([bundle.meta.nTrain, bundle.meta.nNormalise, bundle.meta.nCalibrate], [640, 80, 80]);
});

test("the same seed gives the same bundle and another seed another split", () => {
  const a = fitBundle({ matrices: train, detector: mahalanobis(), alpha: 0.05, seed: 7 }).score(testActs);
  const b = fitBundle({ matrices: train, detector: mahalanobis(), alpha: 0.05, seed: 7 }).score(testActs);
  const c = fitBundle({ matrices: train, detector: mahalanobis(), alpha: 0.05, seed: 8 }).score(testActs);
  assert.deepEqual(a.pValue, b.pValue);
  assert.notDeepEqual(a.combined, c.combined);
});

test("outliers planted in one hook rank high on the combined score of every combiner, and explain names that hook", () => {
  for (const combiner of ["max", "mean", "sum", "fisher"] as const) {
    const bundle = fitBundle({ matrices: train, detector: mahalanobis(), alpha: 0.05, combiner, seed: 2 });
    const { combined } = bundle.score(testActs);
    const a = auroc(combined, labels);
    assert.ok(a >= 0.9, `${combiner}: AUROC ${a.toFixed(3)}`);
  }
  const bundle = fitBundle({ matrices: train, detector: mahalanobis(), alpha: 0.05, seed: 2 });
  const outliers = [...labels.keys()].filter((i) => labels[i]);
  const rows = (m: Matrix) => matrix(outliers.length, m.cols, Float32Array.from(outliers.flatMap((i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)))));
  const ex = bundle.explain(new Map(HOOKS.map((h) => [h, rows(testActs.get(h)!)])));
  const named = ex.filter((e) => e.topHook === HOOKS[1]).length;
  assert.ok(named >= 0.9 * ex.length, `${named}/${ex.length} outliers blamed on the planted hook`);
  assert.ok(ex[0]!.detail && ex[0]!.detail.top.length > 0, "the hook detector's own explanation is attached");
  assert.ok(ex[0]!.hooks[0]!.term >= ex[0]!.hooks[1]!.term);
});

test("explaining many rows at once (rows grouped by top hook) equals explaining each row on its own", () => {
  const bundle = fitBundle({ matrices: train, detector: mahalanobis(), alpha: 0.05, seed: 2 });
  const n = 40;
  const first = (m: Matrix) => matrix(n, m.cols, m.data.slice(0, n * m.cols));
  const all = bundle.explain(new Map(HOOKS.map((h) => [h, first(testActs.get(h)!)])));
  assert.ok(new Set(all.map((e) => e.topHook)).size > 1, "the rows blame more than one hook, so grouping is exercised");
  for (let i = 0; i < n; i++) {
    const one = bundle.explain(new Map(HOOKS.map((h) => [h, matrix(1, testActs.get(h)!.cols, testActs.get(h)!.data.slice(i * testActs.get(h)!.cols, (i + 1) * testActs.get(h)!.cols))])));
    assert.deepEqual(all[i], one[0], `row ${i}`);
  }
});

test("on fresh trusted inputs the bundle flags about α of them (within 4 standard deviations of the conformal rate)", () => {
  const big = HOOKS.map((_, h) => plantedOutliers({ nTrain: 2000, nTest: 4000, dim: 6 + 2 * h, seed: 40 + h, float32: true, outlierFraction: 0 }));
  // plantedOutliers always plants at least one outlier row: drop the rows it marked in any hook.
  const keep = [...Array(4000).keys()].filter((i) => big.every((p) => !p.labels[i]));
  const pick = (m: Matrix) => matrix(keep.length, m.cols, Float32Array.from(keep.flatMap((i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)))));
  const fresh = new Map(HOOKS.map((h, k) => [h, pick(big[k]!.test)]));
  for (const combiner of ["max", "fisher"] as const) {
    const bundle = fitBundle({ matrices: new Map(HOOKS.map((h, k) => [h, big[k]!.train])), detector: knn({ k: 5 }), combiner, calibrationFraction: 0.5, seed: 5 });
    for (const alpha of [0.05, 0.2]) {
      const { pValue } = bundle.score(fresh);
      const rate = pValue.filter((p) => bundle.flag(p, alpha)).length / pValue.length;
      const n = bundle.meta.nCalibrate;
      // Conditional on the calibration set the FPR is Beta-distributed around α with sd ≈ √(α(1−α)/n).
      const sd = Math.sqrt((alpha * (1 - alpha)) / n + (alpha * (1 - alpha)) / pValue.length);
      assert.ok(Math.abs(rate - alpha) <= 4 * sd, `${combiner} α ${alpha}: rate ${rate.toFixed(4)}, sd ${sd.toFixed(4)}`);
    }
  }
});

test("scoring refuses missing hooks (listing what was given), wrong widths, ragged rows and NaN, naming the hook and row", () => {
  const bundle = fitBundle({ matrices: train, detector: mahalanobis(), alpha: 0.05, seed: 0 });
  const only = new Map([[HOOKS[0]!, testActs.get(HOOKS[0]!)!]]);
  rejects(() => bundle.score(only), "UNKNOWN_HOOK", /blocks\.1\.hook_resid_post, blocks\.2\.hook_resid_post; the activations given hold blocks\.0\.hook_resid_post/);
  const wide = new Map(testActs);
  wide.set(HOOKS[1]!, matrix(400, 9, new Float32Array(3600)));
  rejects(() => bundle.score(wide), "DIMENSION_MISMATCH", /blocks\.1\.hook_resid_post.*8 features.*9/);
  const ragged = new Map(testActs);
  ragged.set(HOOKS[2]!, matrix(3, 10, new Float32Array(30)));
  rejects(() => bundle.score(ragged), "DIMENSION_MISMATCH", /3 rows/);
  const nan = new Map(testActs);
  const bad = Float32Array.from(testActs.get(HOOKS[1]!)!.data);
  bad[5 * 8 + 2] = NaN;
  nan.set(HOOKS[1]!, matrix(400, 8, bad));
  rejects(() => bundle.score(nan), "NON_FINITE", /blocks\.1\.hook_resid_post': input row 5, unit 2 is NaN/);
});

test("fitting refuses unknown hooks (listing what is there), too few inputs, 'all' pooling and a bad fraction", () => {
  rejects(() => fitBundle({ matrices: train, hooks: "blocks.*.hook_mlp_out", detector: mahalanobis() }), "UNKNOWN_HOOK", /holds: blocks\.0\.hook_resid_post\[6\]/);
  const tiny = new Map([[HOOKS[0]!, matrix(4, 2, new Float32Array(8))]]);
  rejects(() => fitBundle({ matrices: tiny, detector: mahalanobis() }), "BAD_INPUT", /4 trusted inputs/);
  rejects(() => fitBundle({ matrices: train, detector: mahalanobis(), pooling: "all" }), "NOT_SUPPORTED", /pool last or mean/);
  rejects(() => fitBundle({ matrices: train, detector: mahalanobis(), calibrationFraction: 1 }), "BAD_ARGUMENT", /calibrationFraction/);
  const one = fitBundle({ matrices: train, hooks: "blocks.1.*", detector: mahalanobis() });
  assert.deepEqual(one.hooks.map((h) => h.name), [HOOKS[1]]);
  assert.equal(one.meta.nNormalise, one.meta.nCalibrate, "one hook: the whole held-out split calibrates");
});

test("saving over a folder that is not a bundle is refused, and a bundle of another schema version fails to load clearly", () => {
  const bundle = fitBundle({ matrices: train, detector: mahalanobis(), alpha: 0.05, seed: 0 });
  const other = path.join(tmp, "other");
  bundle.save(path.join(tmp, "b2"));
  writeFileSync(path.join(tmp, "b2", "extra.txt"), "x");
  rejects(() => bundle.save(path.join(tmp, "b2", "hooks")), "BAD_ARGUMENT", /not a madkit bundle/);
  const json = path.join(tmp, "b2", BUNDLE_FILE);
  writeFileSync(json, readFileSync(json, "utf8").replace(/"schemaVersion": \d+/, '"schemaVersion": 99'));
  rejects(() => loadBundle(path.join(tmp, "b2")), "VERSION_MISMATCH", /schemaVersion is 99/);
  rejects(() => loadBundle(other), "FILE_NOT_FOUND", /no detector bundle/);
});

test("two hooks of one name are refused when a bundle is loaded and when one is built, naming both", () => {
  const bundle = fitBundle({ matrices: train, detector: mahalanobis(), seed: 0, alpha: 0.05 });
  const dir = path.join(tmp, "dup-hooks");
  bundle.save(dir);
  const json = path.join(dir, BUNDLE_FILE);
  const good = readFileSync(json, "utf8");
  const env = JSON.parse(good);
  env.state.hooks[2].name = env.state.hooks[0].name;
  writeFileSync(json, JSON.stringify(env));
  rejects(() => loadBundle(dir), "STORE_CORRUPT", /field 'state\.hooks\.2\.name' is 'blocks\.0\.hook_resid_post', already the name of state\.hooks\.0; hook names in a bundle must be unique/);
  const env2 = JSON.parse(good);
  env2.state.hooks[1].folder = env2.state.hooks[0].folder;
  writeFileSync(json, JSON.stringify(env2));
  rejects(() => loadBundle(dir), "STORE_CORRUPT", /field 'state\.hooks\.1\.folder' is 'hooks\/000', already the folder of state\.hooks\.0/);
  const hooks = [bundle.hooks[0]!, bundle.hooks[0]!];
  rejects(
    () => new FittedBundle(hooks, bundle.detectors.slice(0, 2), bundle.normalisers.slice(0, 2), bundle.calibration, bundle.meta),
    "BAD_ARGUMENT",
    /bundle hooks 0 and 1 are both named 'blocks\.0\.hook_resid_post'/,
  );
});

test("a per-hook mean or std that JSON reads as Infinity (1e999) is refused: it would make every score NaN", () => {
  const dir = path.join(tmp, "inf-mean");
  fitBundle({ matrices: train, detector: mahalanobis(), seed: 0, alpha: 0.05 }).save(dir);
  const json = path.join(dir, BUNDLE_FILE);
  const good = readFileSync(json, "utf8");
  writeFileSync(json, good.replace(/"mean": [^,]+,/, '"mean": 1e999,'));
  rejects(() => loadBundle(dir), "STORE_CORRUPT", /field 'state\.hooks\.0\.mean': Number must be finite/);
  writeFileSync(json, good.replace(/"std": [^,\n]+/, '"std": 1e999'));
  rejects(() => loadBundle(dir), "STORE_CORRUPT", /field 'state\.hooks\.0\.std': Number must be finite/);
});
