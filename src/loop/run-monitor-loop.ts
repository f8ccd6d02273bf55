// The monitor loop (issue 15, docs/monitor-loop.md), run through the real service on loopback. Per held-out
// attack family and review policy a fresh `madkit serve` instance (SQLite, the fitted detector bundle):
//   1. the initial labelled set (plain harmful requests + harmless instructions) goes in by POST /v1/items/import,
//      and POST /v1/probe/train fits the probe on it;
//   2. the probe's threshold is calibrated at α_probe on held-out benign requests scored with `record: false`;
//   3. each round's traffic is scored by POST /v1/score; an input is flagged when the detector flags it (the
//      service's `flagged`, p ≤ α_detector) or the probe's score is above its threshold — α_detector + α_probe
//      bounds the total false-alarm rate on benign traffic;
//   4. the review budget is spent by the queue policy (review-policies.ts); the labels come from the ground
//      truth and reach the service through POST /v1/items/{id}/label for items in the review queue (GET
//      /v1/queue) and POST /v1/items/import for the others; the probe retrains, is recalibrated, and the next
//      round is scored.
// Activations are extracted once here and sent packed, so every loop scores the same vectors; the service
// stores them, trains on them and scores them as it would its own.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { extractPooled } from "../activations/pooled-in-memory.js";
import { fitBundle, type FittedBundle } from "../bundle/bundle.js";
import { mahalanobis } from "../detectors/mahalanobis.js";
import { MadkitError } from "../errors.js";
import { auroc } from "../eval/ranking-metrics.js";
import { conformalThreshold } from "../eval/conformal.js";
import { matrix, type Matrix } from "../linalg/matrix.js";
import { loadModel } from "../models/registry.js";
import type { MonitorLoopCurve, MonitorLoopMiss, MonitorLoopPoint, MonitorLoopResult, ReviewPolicy } from "../results/monitor-loop.js";
import { REVIEW_POLICIES } from "../results/monitor-loop.js";
import { issueToken } from "../server/auth.js";
import { requestLogger } from "../server/front-door.js";
import { MonitorMetrics } from "../server/metrics.js";
import { openStore } from "../server/open-store.js";
import { MonitorScorer } from "../server/scorer.js";
import { listenMonitor } from "../server/service.js";
import {
  buildMonitorLoopData,
  HELD_OUT_FAMILIES,
  MONITOR_LOOP_QUICK_SIZES,
  MONITOR_LOOP_SIZES,
  type HeldOutFamily,
  type LoopItem,
  type MonitorLoopData,
  type MonitorLoopSizes,
} from "../tasks/monitor-loop-traffic.js";
import { MonitorClient, type Activations, type ServiceScore } from "./monitor-client.js";
import { reviewOrder } from "./review-policies.js";

/** The default bundle's hooks and pooling (src/server/default-bundle.ts). */
export const LOOP_HOOKS = ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post", "hook_sentence_embedding"] as const;
const POOLING = "rootn" as const;
/** The quick form's held-out families (CI): one short-text template family and one gibberish-suffix family. */
const QUICK_FAMILIES: readonly HeldOutFamily[] = ["gcg-suffix", "synthetic-wrapper"];

export interface MonitorLoopOptions {
  readonly seed: number;
  readonly quick: boolean;
  readonly model?: string;
  readonly families?: readonly HeldOutFamily[];
  readonly policies?: readonly ReviewPolicy[];
  readonly sizes?: MonitorLoopSizes;
  readonly alphaDetector?: number;
  readonly alphaProbe?: number;
  readonly budgetPerRound?: number;
  /** The hooks the probe reads (a subset of the bundle's); default the sentence embedding. */
  readonly probeHooks?: readonly string[];
  readonly l2?: number;
  readonly targetRecall?: number;
  /** A folder where the extracted activations are kept, keyed by model, pooling, hooks and texts (none: always extract). */
  readonly cacheDir?: string;
  readonly log?: (line: string) => void;
}

/** Pooled activations of distinct texts, one matrix per hook, and each text's row. */
export interface ActivationTable {
  readonly rowOf: ReadonlyMap<string, number>;
  readonly matrices: ReadonlyMap<string, Matrix<Float32Array>>;
}

export function rowActivations(t: ActivationTable, text: string): Activations {
  const r = t.rowOf.get(text);
  if (r === undefined) throw new MadkitError("BAD_INPUT", `monitor loop: no activations for a text (${text.slice(0, 40)}…)`);
  const out: Record<string, Float32Array> = {};
  for (const [h, m] of t.matrices) out[h] = m.data.subarray(r * m.cols, (r + 1) * m.cols);
  return out;
}

function takeRows(t: ActivationTable, texts: readonly string[]): Map<string, Matrix> {
  const out = new Map<string, Matrix>();
  for (const [h, m] of t.matrices) {
    const data = new Float32Array(texts.length * m.cols);
    texts.forEach((x, i) => data.set(m.data.subarray(t.rowOf.get(x)! * m.cols, (t.rowOf.get(x)! + 1) * m.cols), i * m.cols));
    out.set(h, matrix(texts.length, m.cols, data));
  }
  return out;
}

/** The probe hooks' pooled vectors of a text, concatenated and scaled to unit length. */
function unitFeatures(t: ActivationTable, text: string, hooks: readonly string[]): Float64Array {
  const acts = rowActivations(t, text);
  const parts = hooks.map((h) => acts[h]!);
  const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  let n = 0;
  for (let j = 0; j < out.length; j++) n += out[j]! * out[j]!;
  const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
  for (let j = 0; j < out.length; j++) out[j]! *= inv;
  return out;
}

/** 1 − the largest cosine similarity between `x` and the labelled items (all unit vectors). */
function noveltyOf(x: Float64Array, labelled: readonly Float64Array[]): number {
  let best = -1;
  for (const l of labelled) {
    let dot = 0;
    for (let j = 0; j < x.length; j++) dot += x[j]! * l[j]!;
    if (dot > best) best = dot;
  }
  return 1 - best;
}

/** A fresh service on loopback with its own SQLite file; the admin token is minted for the loop. */
async function startLoopService(bundle: FittedBundle, alpha: number) {
  const dir = mkdtempSync(path.join(tmpdir(), "madkit-loop-"));
  const store = await openStore(path.join(dir, "monitor.sqlite"));
  const scorer = new MonitorScorer(bundle, alpha, new MonitorMetrics());
  const { token } = await issueToken(store, "monitor loop", "admin");
  const running = await listenMonitor({ store, scorer, limits: { requestTimeoutMs: 600_000, maxQueue: 0 }, logger: requestLogger("silent") }, async () => {
    await scorer.close();
  });
  return {
    client: new MonitorClient(running.url, token),
    close: async () => {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const probeScoreOf = (s: ServiceScore): number => {
  if (!s.probe) throw new MadkitError("BAD_INPUT", "the monitor's score has no probe score although a probe was trained");
  return s.probe.score;
};

/** Train, then calibrate the probe's threshold on benign inputs scored without recording. */
async function retrain(client: MonitorClient, probeHooks: readonly string[], l2: number, calibration: readonly Activations[], alphaProbe: number) {
  const probe = await client.trainProbe(probeHooks, l2);
  const cal = await client.score(calibration, false);
  return { id: probe.id, threshold: conformalThreshold(Float64Array.from(cal.map(probeScoreOf)), alphaProbe) };
}

const rate = (flags: readonly boolean[]): number => (flags.length === 0 ? 0 : flags.filter(Boolean).length / flags.length);

interface RoundScores {
  readonly scores: ServiceScore[];
  readonly flagged: boolean[];
  readonly probeFlagged: boolean[];
}

function roundPoint(items: readonly LoopItem[], s: RoundScores, labelledByKind: Readonly<Record<string, number>>, probe: { id: number; threshold: number }): MonitorLoopPoint {
  const of = (kind: LoopItem["kind"]) => items.map((it, i) => (it.kind === kind ? s.flagged[i]! : null)).filter((x): x is boolean => x !== null);
  const novel = of("novel");
  const ids = new Set(s.scores.map((x) => x.probe?.id));
  if (ids.size !== 1 || !ids.has(probe.id)) throw new MadkitError("BAD_INPUT", `the round was scored with probe versions ${[...ids].join(", ")}, expected ${probe.id}`);
  return {
    labels: Object.values(labelledByKind).reduce((a, b) => a + b, 0),
    novelLabelled: labelledByKind["novel"] ?? 0,
    labelledByKind: { ...labelledByKind },
    recall: rate(novel),
    nNovel: novel.length,
    recallKnown: rate(of("known-harm")),
    fprBenign: rate(of("benign")),
    fprShift: rate(of("benign-shift")),
    fprLookalike: rate(of("lookalike")),
    nBenign: of("benign").length,
    flaggedShare: rate(s.flagged),
    flaggedByDetector: s.scores.filter((x) => x.flagged).length,
    flaggedByProbe: s.probeFlagged.filter(Boolean).length,
    probeId: probe.id,
    probeThreshold: probe.threshold,
  };
}

type LoopSettings = Required<Pick<MonitorLoopOptions, "seed" | "alphaDetector" | "alphaProbe" | "budgetPerRound" | "probeHooks" | "l2" | "targetRecall">>;

/** One loop: one held-out family, one review policy, a fresh service. */
export async function runOneLoop(args: {
  bundle: FittedBundle;
  table: ActivationTable;
  initial: readonly { text: string; label: 0 | 1 }[];
  calibration: readonly Activations[];
  rounds: readonly (readonly LoopItem[])[];
  family: string;
  policy: ReviewPolicy;
  o: LoopSettings;
  requests: Record<string, number>;
  /** Seconds spent waiting on each route, summed (optional). */
  seconds?: Record<string, number>;
}): Promise<{ curve: MonitorLoopCurve; last: { items: readonly LoopItem[]; scores: RoundScores }; detector: { novel: number[]; benign: number[]; lookalike: number[] } }> {
  const { table, o } = args;
  const svc = await startLoopService(args.bundle, o.alphaDetector);
  try {
    const { client } = svc;
    await client.importLabelled(args.initial.map((x) => ({ activations: rowActivations(table, x.text), label: x.label ? "anomalous" : "benign", note: "initial labelled set" })));
    let probe = await retrain(client, o.probeHooks, o.l2, args.calibration, o.alphaProbe);
    const points: MonitorLoopPoint[] = [];
    const detector = { novel: [] as number[], benign: [] as number[], lookalike: [] as number[] };
    const labelledByKind: Record<string, number> = {};
    // Unit vectors of the probe's features of every labelled item, for the novelty policy.
    const labelled = args.policy === "novelty" ? args.initial.map((x) => unitFeatures(table, x.text, o.probeHooks)) : [];
    let last: { items: readonly LoopItem[]; scores: RoundScores } | undefined;
    for (let r = 0; r < args.rounds.length; r++) {
      const items = args.rounds[r]!;
      const scores = await client.score(items.map((it) => rowActivations(table, it.text)));
      const probeFlagged = scores.map((x) => probeScoreOf(x) > probe.threshold);
      const s: RoundScores = { scores, flagged: scores.map((x, i) => x.flagged || probeFlagged[i]!), probeFlagged };
      points.push(roundPoint(items, s, labelledByKind, probe));
      items.forEach((it, i) => {
        const c = scores[i]!.combined ?? Infinity;
        if (it.kind === "novel") detector.novel.push(c);
        if (it.kind === "benign") detector.benign.push(c);
        if (it.kind === "lookalike") detector.lookalike.push(c);
      });
      last = { items, scores: s };
      if (r === args.rounds.length - 1) break;
      // Review: the queue holds exactly the items the detector flagged this round (nothing else is unlabelled).
      const queued = new Set(await client.queueIds());
      for (const x of scores) if (x.flagged && (x.itemId === undefined || !queued.has(x.itemId))) throw new MadkitError("BAD_INPUT", `a flagged input (item ${x.itemId}) is not in the review queue`);
      const order = reviewOrder(
        args.policy,
        scores.map((x, i) => ({
          combined: x.combined,
          probeScore: probeScoreOf(x),
          probeFlagged: probeFlagged[i]!,
          ...(args.policy === "novelty" ? { novelty: noveltyOf(unitFeatures(table, items[i]!.text, o.probeHooks), labelled) } : {}),
        })),
        o.budgetPerRound,
        probe.threshold,
        o.seed,
        r,
      );
      const imports: { activations: Activations; label: "anomalous" | "benign"; note: string }[] = [];
      for (const i of order) {
        const it = items[i]!;
        const label = it.label ? "anomalous" : "benign";
        const itemId = scores[i]!.itemId;
        if (itemId !== undefined) await client.label(itemId, label, it.id);
        else imports.push({ activations: rowActivations(table, it.text), label, note: it.id });
        labelledByKind[it.kind] = (labelledByKind[it.kind] ?? 0) + 1;
        if (args.policy === "novelty") labelled.push(unitFeatures(table, it.text, o.probeHooks));
      }
      if (imports.length > 0) await client.importLabelled(imports);
      probe = await retrain(client, o.probeHooks, o.l2, args.calibration, o.alphaProbe);
    }
    for (const [k, v] of Object.entries(client.requests)) args.requests[k] = (args.requests[k] ?? 0) + v;
    if (args.seconds) for (const [k, v] of Object.entries(client.millis)) args.seconds[k] = (args.seconds[k] ?? 0) + v / 1000;
    const reached = points.find((p) => p.recall >= o.targetRecall);
    return { curve: { family: args.family, policy: args.policy, points, labelsToTarget: reached ? reached.labels : null }, last: last!, detector };
  } finally {
    await svc.close();
  }
}

/** The pooled activations of `texts` from the cache folder, or extracted and saved there. */
async function cachedPooled(dir: string | undefined, model: string, texts: readonly string[], extract: () => Promise<Map<string, Matrix<Float32Array>>>): Promise<Map<string, Matrix<Float32Array>>> {
  if (!dir) return extract();
  const key = createHash("sha256").update(JSON.stringify([model, POOLING, LOOP_HOOKS, texts])).digest("hex").slice(0, 24);
  const file = path.join(dir, `monitor-loop-${key}.json`);
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, "utf8")) as Record<string, { cols: number; data: string }>;
    return new Map(Object.entries(saved).map(([h, m]) => {
      const b = Buffer.from(m.data, "base64");
      return [h, matrix(texts.length, m.cols, new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4).slice())];
    }));
  }
  const out = await extract();
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(Object.fromEntries([...out].map(([h, m]) => [h, { cols: m.cols, data: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength).toString("base64") }]))));
  renameSync(`${file}.tmp`, file);
  return out;
}

function meanChars(texts: readonly string[]): number {
  return texts.length === 0 ? 0 : Math.round(texts.reduce((s, t) => s + t.length, 0) / texts.length);
}

/** Everything the loops share: the traffic, the activations of every text, the fitted detector bundle. */
export interface PreparedLoop {
  readonly data: MonitorLoopData;
  readonly sizes: MonitorLoopSizes;
  readonly families: readonly HeldOutFamily[];
  readonly policies: readonly ReviewPolicy[];
  readonly o: LoopSettings;
  readonly modelName: string;
  readonly table: ActivationTable;
  readonly bundle: FittedBundle;
}

export async function prepareMonitorLoop(options: MonitorLoopOptions): Promise<PreparedLoop> {
  const log = options.log ?? (() => {});
  const sizes = options.sizes ?? (options.quick ? MONITOR_LOOP_QUICK_SIZES : MONITOR_LOOP_SIZES);
  const families = options.families ?? (options.quick ? QUICK_FAMILIES : HELD_OUT_FAMILIES);
  const policies = options.policies ?? REVIEW_POLICIES;
  const o = {
    seed: options.seed,
    alphaDetector: options.alphaDetector ?? (options.quick ? 0.025 : 0.005),
    alphaProbe: options.alphaProbe ?? (options.quick ? 0.025 : 0.005),
    budgetPerRound: options.budgetPerRound ?? (options.quick ? 5 : 10),
    probeHooks: options.probeHooks ?? ["hook_sentence_embedding"],
    l2: options.l2 ?? 1,
    targetRecall: options.targetRecall ?? 0.9,
  };
  const modelName = options.model ?? "use-lite";
  const data = buildMonitorLoopData({ seed: o.seed, sizes, families });
  const allRounds = [...data.rounds.values()].flat(2);
  const texts = [...new Set([...data.detectorFit, ...data.initial.map((x) => x.text), ...data.probeCalibration, ...allRounds.map((x) => x.text)])];
  log(`monitor loop: extracting ${texts.length} texts with ${modelName}`);
  const source = await loadModel(modelName);
  log(`monitor loop: model ${source.info.id} ${source.info.revision}`);
  let table: ActivationTable;
  let bundle: FittedBundle;
  try {
    const matrices = await cachedPooled(options.cacheDir, `${source.info.id}@${source.info.revision}`, texts, () => extractPooled(source, texts, LOOP_HOOKS, { pooling: POOLING }));
    table = { rowOf: new Map(texts.map((t, i) => [t, i])), matrices };
    bundle = fitBundle({
      matrices: takeRows(table, data.detectorFit),
      detector: mahalanobis({ covariance: "ledoit-wolf" }),
      model: { id: source.info.id, revision: source.info.revision, format: source.info.format },
      pooling: POOLING,
      combiner: "max",
      calibrationFraction: 0.4,
      alpha: o.alphaDetector,
      seed: o.seed,
    });
  } finally {
    await source.dispose();
  }
  return { data, sizes, families, policies, o, modelName, table, bundle };
}

export async function runMonitorLoop(options: MonitorLoopOptions): Promise<MonitorLoopResult> {
  const t0 = performance.now();
  const log = options.log ?? (() => {});
  const { data, sizes, families, policies, o, modelName, table, bundle } = await prepareMonitorLoop(options);
  const calibration = data.probeCalibration.map((t) => rowActivations(table, t));
  const curves: MonitorLoopCurve[] = [];
  const misses: MonitorLoopMiss[] = [];
  const detectorAuroc: Record<string, number> = {};
  const detectorAurocVsLookalikes: Record<string, number> = {};
  const requests: Record<string, number> = {};
  const seconds: Record<string, number> = {};
  for (const family of families) {
    const rounds = data.rounds.get(family)!;
    for (const policy of policies) {
      log(`monitor loop: ${family} × ${policy}`);
      const { curve, last, detector } = await runOneLoop({ bundle, table, initial: data.initial, calibration, rounds, family, policy, o, requests, seconds });
      curves.push(curve);
      if (detectorAuroc[family] === undefined) {
        const against = (normal: readonly number[]) =>
          auroc(Float64Array.from([...detector.novel, ...normal]), Uint8Array.from([...detector.novel.map(() => 1), ...normal.map(() => 0)]));
        detectorAuroc[family] = against(detector.benign);
        detectorAurocVsLookalikes[family] = against(detector.lookalike);
      }
      last.items.forEach((it, i) => {
        if (it.kind !== "novel" || last.scores.flagged[i] || misses.filter((m) => m.family === family && m.policy === policy).length >= 3) return;
        misses.push({ family, policy, subFamily: it.family, text: it.text.length > 300 ? `${it.text.slice(0, 300)}…` : it.text, pValue: last.scores.scores[i]!.pValue, probeScore: probeScoreOf(last.scores.scores[i]!) });
      });
    }
  }
  const allRounds = [...data.rounds.values()].flat(2);
  const byKind = (k: LoopItem["kind"]) => [...new Set(allRounds.filter((x) => x.kind === k).map((x) => x.text))];
  const meanCharsOut: Record<string, number> = { benign: meanChars(byKind("benign")), "benign-shift": meanChars(byKind("benign-shift")), lookalike: meanChars(byKind("lookalike")), "known-harm": meanChars(byKind("known-harm")) };
  for (const f of families) meanCharsOut[`novel:${f}`] = meanChars(data.rounds.get(f)!.flat().filter((x) => x.kind === "novel").map((x) => x.text));
  return {
    model: modelName,
    seed: o.seed,
    quick: options.quick,
    alphaDetector: o.alphaDetector,
    alphaProbe: o.alphaProbe,
    budgetPerRound: o.budgetPerRound,
    targetRecall: o.targetRecall,
    maxLabels: o.budgetPerRound * (sizes.rounds - 1),
    families: [...families],
    policies: [...policies],
    detector: "mahalanobis (Ledoit-Wolf), max over hooks",
    hooks: [...LOOP_HOOKS],
    probeHooks: [...o.probeHooks],
    sizes: { detectorFit: sizes.detectorFit, initialHarmful: sizes.initialHarmful, initialBenign: sizes.initialBenign, probeCalibration: sizes.probeCalibration, rounds: sizes.rounds, perRound: { ...sizes.perRound } },
    meanChars: meanCharsOut,
    detectorAuroc,
    detectorAurocVsLookalikes,
    curves,
    misses,
    requests,
    routeSeconds: Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, Math.round(v * 10) / 10])),
    durationSeconds: Math.round((performance.now() - t0) / 100) / 10,
  };
}
