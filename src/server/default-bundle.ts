// The bundle `madkit serve` uses when no --detector folder exists: Ledoit-Wolf Mahalanobis per hook, fitted
// on benign requests through the model (self-instruct's 426 instructions and TruthfulQA's 817 questions,
// both Apache-2.0), rootn-pooled, 30% held out for conformal calibration — enough held-out rows (~187 for the
// combined score) that α = 1% can flag at all (it needs n + 1 ≥ 100). Cached per model revision and pooling.

import { existsSync } from "node:fs";
import path from "node:path";
import { extractPooled } from "../activations/pooled-in-memory.js";
import { config } from "../config.js";
import { fitBundle, loadBundle, type FittedBundle } from "../bundle/bundle.js";
import { mahalanobis } from "../detectors/mahalanobis.js";
import type { ActivationSource } from "../models/source.js";
import { loadSelfInstruct } from "../datasets/self-instruct.js";
import { loadTruthfulQa } from "../datasets/truthfulqa.js";

// rootn (token sum / √tokens): the benchmark found mean pooling makes long jailbreaks look typical on use-lite (docs/pooling.md).
const POOLING = "rootn" as const;

/** Hooks the default bundle reads, where the model has them; otherwise the model's last resid_post. */
const PREFERRED_HOOKS = ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post", "hook_sentence_embedding"];

export function defaultBundleDir(source: ActivationSource): string {
  return path.join(config.cacheDir, "monitor", `default-bundle-${source.info.id.replace(/[^A-Za-z0-9._-]/g, "_")}-${source.info.revision}-${POOLING}`);
}

export function defaultHooks(source: ActivationSource): string[] {
  const names = source.hooks().map((h) => h.name);
  const chosen = PREFERRED_HOOKS.filter((h) => names.includes(h));
  if (chosen.length > 0) return chosen;
  const resid = names.filter((n) => /hook_resid_post$/.test(n));
  return [resid[resid.length - 1] ?? names[names.length - 1]!];
}

/** Load the cached default bundle, or fit and cache it; `log` hears what happened. */
export async function defaultBundle(source: ActivationSource, log: (line: string) => void): Promise<{ bundle: FittedBundle; dir: string }> {
  const dir = defaultBundleDir(source);
  if (existsSync(path.join(dir, "bundle.json"))) return { bundle: loadBundle(dir), dir };
  const texts = [...loadSelfInstruct("seed_tasks"), ...loadSelfInstruct("user_oriented_instructions"), ...loadTruthfulQa()].map((r) => r.text);
  const hooks = defaultHooks(source);
  const t0 = performance.now();
  log(`no --detector bundle given: fitting a default one on ${texts.length} benign requests (self-instruct, TruthfulQA) (hooks ${hooks.join(", ")}, ${POOLING} pooling); cached in ${dir}`);
  const matrices = await extractPooled(source, texts, hooks, { pooling: POOLING });
  const bundle = fitBundle({
    matrices,
    detector: mahalanobis({ covariance: "ledoit-wolf" }),
    model: { id: source.info.id, revision: source.info.revision, format: source.info.format },
    pooling: POOLING,
    combiner: "max",
    calibrationFraction: 0.3,
    seed: 0,
  });
  bundle.save(dir);
  log(`default bundle fitted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { bundle, dir };
}
