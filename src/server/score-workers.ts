// Scoring and probe training off the event loop. The monitor's CPU work — the model forward on texts, pooling,
// the detectors and their explanations, fitting the probe — runs in node:worker_threads, so the thread that
// answers HTTP (/healthz, the review routes, other clients) never waits for it: measured before, one probe
// training on 14 labels blocked /healthz for 10.4 s and a 64-text batch blocked the event loop for ~4.3 s.
//
// ScoreWorkers: `threads` score workers (default 1), each holding its own copy of the bundle (saved to a
// temporary folder and loaded there) and of the model (rebuilt from its recipe, models/registry.ts). Batches
// queue here and go to the first idle worker; batches that queued while every worker was busy go together
// (up to `maxRows` inputs), so batches still grow under load. A batch whose requests were all abandoned
// (their time limit passed, their clients left) is cancelled: the worker stops at its next model call (at
// most TEXTS_PER_FORWARD texts later) and, if it has not stopped within `cancelGraceMs`, a fresh one takes
// its place at once and the old one is terminated when it reaches a safe point (see `whenQuiet`). Nothing an
// abandoned request scored is returned to it or stored.
//
// Scores are the same as on the calling thread: the worker runs the same MonitorScorer.scoreGroups on a
// bundle saved and loaded bit for bit (test). The probe, which changes while the service runs, is applied on
// the event-loop thread when results come back (a dot product per input).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { MadkitError } from "../errors.js";
import { recipeOf } from "../models/registry.js";
import { LogisticProbe } from "./logistic-probe.js";
import { countBatch, InThreadRunner, type ScoreRunner } from "./score-batcher.js";
import type { GroupInput, GroupOutcome, GroupTimings, MonitorScorer, ScoreResult } from "./scorer.js";
import type { ItemActivations } from "./storage.js";
import { fromWire, type ScoreMessage, type TrainMessage, type WireOutcome, type WorkerInit, type WorkerReply } from "./worker-protocol.js";

/** The worker's entry file beside this one (.ts when run from source through tsx, .js when built). */
const FROM_SOURCE = import.meta.url.endsWith(".ts");
const WORKER_URL = new URL(FROM_SOURCE ? "./worker-thread.ts" : "./worker-thread.js", import.meta.url);

/**
 * Start a worker on worker-thread. From the .ts sources (`node --import tsx`), the worker does not inherit
 * tsx's module hooks: a two-line bootstrap registers them there first.
 */
function startWorker(workerData: WorkerInit): Worker {
  if (!FROM_SOURCE) return new Worker(WORKER_URL, { workerData });
  const tsx = import.meta.resolve("tsx/esm/api");
  const code = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(code, { eval: true, workerData });
}

export interface ScoreWorkersOptions {
  /** Score worker threads (default 1: on 2 cores, one for the event loop and one for scoring). */
  readonly threads?: number;
  /** Most inputs sent to a worker at once when batches have queued up (default 256). */
  readonly maxRows?: number;
  /** How long a cancelled batch may take to stop before its worker is terminated (default 1000 ms). */
  readonly cancelGraceMs?: number;
  /** OpenBLAS threads per call in each worker (default 1). */
  readonly blasThreads?: number;
}

interface Job {
  readonly groups: readonly (readonly GroupInput[])[];
  readonly rows: number;
  readonly resolve: (r: { outcomes: GroupOutcome[]; timings: GroupTimings }) => void;
  readonly reject: (e: unknown) => void;
  settled: boolean;
}

interface InFlight {
  readonly id: number;
  readonly jobs: Job[];
  readonly cancel: Int32Array;
  killTimer?: NodeJS.Timeout;
}

interface Slot {
  readonly worker: Worker;
  state: "starting" | "ready" | "busy" | "gone";
  inFlight?: InFlight;
}

/** How long a retired worker may take to reach a safe point before it is terminated anyway. */
const HARD_KILL_MS = 30_000;

/**
 * Resolves when `worker` next answers (it started, or finished or abandoned its batch) or exits, or after
 * `maxMs`. Terminating a thread while it loads or calls a native addon (koffi, for OpenBLAS) can abort the
 * whole process (node-addon-api's napi_throw fails fatally on a terminating thread: seen when a monitor was
 * closed while its worker was still loading), so a worker is terminated only at such a point.
 */
function whenQuiet(worker: Worker, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      worker.off("message", done);
      worker.off("exit", done);
      resolve();
    };
    const timer = setTimeout(done, maxMs);
    worker.on("message", done);
    worker.once("exit", done);
  });
}

export class ScoreWorkers implements ScoreRunner {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly init: Extract<WorkerInit, { mode: "score" }>;
  private readonly threads: number;
  private readonly maxRows: number;
  private readonly cancelGraceMs: number;
  private nextId = 1;
  private closed = false;
  private readonly removeBundle: () => void;

  private constructor(
    private readonly scorer: MonitorScorer,
    init: Pick<Extract<WorkerInit, { mode: "score" }>, "source" | "alpha" | "maxUnknownShare">,
    options: ScoreWorkersOptions,
  ) {
    this.threads = Math.max(1, options.threads ?? 1);
    this.maxRows = options.maxRows ?? 256;
    this.cancelGraceMs = options.cancelGraceMs ?? 1000;
    const dir = mkdtempSync(path.join(tmpdir(), "madkit-worker-bundle-"));
    const removeBundle = () => rmSync(dir, { recursive: true, force: true });
    process.once("exit", removeBundle);
    this.removeBundle = () => {
      process.off("exit", removeBundle);
      removeBundle();
    };
    try {
      scorer.bundle.save(path.join(dir, "bundle"));
    } catch (e) {
      this.removeBundle();
      throw e;
    }
    this.init = { ...init, mode: "score", bundleDir: path.join(dir, "bundle"), blasThreads: options.blasThreads ?? 1 };
    for (let k = 0; k < this.threads; k++) this.spawn();
    scorer.onClose(() => this.close());
  }

  /**
   * Worker threads for `scorer`, started now; undefined when its model cannot be rebuilt in a worker (a source
   * made by hand without a recipe: see `withRecipe` in models/registry.ts).
   */
  static start(scorer: MonitorScorer, options: ScoreWorkersOptions = {}): ScoreWorkers | undefined {
    const recipe = scorer.source ? recipeOf(scorer.source) : null;
    if (recipe === undefined) return undefined;
    return new ScoreWorkers(scorer, { source: recipe, alpha: scorer.alpha, maxUnknownShare: scorer.maxUnknownShare }, options);
  }

  run(groups: readonly (readonly GroupInput[])[], signal: AbortSignal): Promise<{ outcomes: GroupOutcome[]; timings: GroupTimings }> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error("the scoring workers are closed"));
      if (signal.aborted) return reject(signal.reason);
      const job: Job = { groups, rows: groups.reduce((s, g) => s + g.length, 0), resolve, reject, settled: false };
      signal.addEventListener("abort", () => this.abandon(job, signal.reason), { once: true });
      this.queue.push(job);
      while (this.slots.length < this.threads) this.spawn();
      this.pump();
    });
  }

  /** Terminate the workers and remove the bundle copy; queued and running batches fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stopped = new Error("the scoring workers are closed");
    for (const job of this.queue.splice(0)) this.settle(job, undefined, stopped);
    await Promise.all([...this.slots].map((s) => this.retire(s, stopped)));
    this.removeBundle();
  }

  private spawn(): void {
    const worker = startWorker(this.init);
    const slot: Slot = { worker, state: "starting" };
    this.slots.push(slot);
    worker.on("message", (m: WorkerReply) => this.onReply(slot, m));
    worker.on("error", (e) => this.onGone(slot, e));
    worker.on("exit", (code) => this.onGone(slot, new Error(`the scoring worker exited (code ${code})`)));
  }

  private onReply(slot: Slot, m: WorkerReply): void {
    if (slot.state === "gone") return;
    if (m.type === "ready") {
      slot.state = "ready";
      this.pump();
      return;
    }
    if (m.type === "init-error") {
      // The bundle or the model would not load there: every waiting batch gets that error (a later batch
      // tries a fresh worker).
      const e = fromWire(m.error);
      for (const job of this.queue.splice(0)) this.settle(job, undefined, e);
      this.onGone(slot, e);
      void slot.worker.terminate();
      return;
    }
    const flight = slot.inFlight;
    if (!flight || !("id" in m) || m.id !== flight.id) return;
    clearTimeout(flight.killTimer);
    slot.inFlight = undefined;
    slot.state = "ready";
    if (m.type === "scored") {
      this.observe(flight, m.timings);
      let at = 0;
      for (const job of flight.jobs) {
        const mine = m.outcomes.slice(at, at + job.groups.length).map((o) => this.outcome(o));
        at += job.groups.length;
        this.settle(job, { outcomes: mine, timings: m.timings });
      }
    } else {
      const e = m.type === "failed" ? fromWire(m.error) : new Error("scoring cancelled");
      for (const job of flight.jobs) this.settle(job, undefined, e);
    }
    this.pump();
  }

  /** A worker's result for one request, with the current probe's score added (the probe lives on this thread). */
  private outcome(o: WireOutcome): GroupOutcome {
    if (!o.ok) return { ok: false, error: fromWire(o.error) };
    const probe = this.scorer.probe;
    if (!probe) return o;
    const results = o.results.map((r: ScoreResult, i): ScoreResult => {
      const acts: ItemActivations = o.activations[i]!;
      return { ...r, probe: { score: probe.model.score((h) => acts[h]!), id: probe.id } };
    });
    return { ok: true, results, activations: o.activations };
  }

  private observe(flight: InFlight, timings: GroupTimings): void {
    const m = this.scorer.metrics;
    for (const s of timings.model) m.model.observe(s);
    for (const s of timings.detector) m.detector.observe(s);
    countBatch(m, flight.jobs.flatMap((j) => j.groups), timings);
  }

  private onGone(slot: Slot, e: Error): void {
    if (slot.state === "gone") return;
    const wasStarting = slot.state === "starting";
    slot.state = "gone";
    this.slots.splice(this.slots.indexOf(slot), 1);
    const flight = slot.inFlight;
    slot.inFlight = undefined;
    if (flight) {
      clearTimeout(flight.killTimer);
      for (const job of flight.jobs) this.settle(job, undefined, new Error(`scoring worker stopped: ${e.message}`));
    }
    if (this.closed) return;
    if (wasStarting) {
      // Died while loading: do not respawn in a loop; the waiting batches fail, the next batch retries.
      for (const job of this.queue.splice(0)) this.settle(job, undefined, e);
      return;
    }
    this.spawn();
  }

  /** Send queued batches to idle workers, merging what queued up to `maxRows` inputs. */
  private pump(): void {
    for (const slot of this.slots) {
      if (slot.state !== "ready") continue;
      while (this.queue.length > 0 && this.queue[0]!.settled) this.queue.shift();
      if (this.queue.length === 0) break;
      const jobs = [this.queue.shift()!];
      let rows = jobs[0]!.rows;
      while (this.queue.length > 0 && (this.queue[0]!.settled || rows + this.queue[0]!.rows <= this.maxRows)) {
        const next = this.queue.shift()!;
        if (next.settled) continue;
        jobs.push(next);
        rows += next.rows;
      }
      const cancel = new SharedArrayBuffer(4);
      const flight: InFlight = { id: this.nextId++, jobs, cancel: new Int32Array(cancel) };
      slot.inFlight = flight;
      slot.state = "busy";
      slot.worker.ref();
      const msg: ScoreMessage = { type: "score", id: flight.id, groups: jobs.flatMap((j) => j.groups), cancel };
      slot.worker.postMessage(msg);
    }
    // Idle workers must not keep the process alive (a service that closes without closing its scorer exits).
    for (const slot of this.slots) if (slot.state === "ready") slot.worker.unref();
  }

  /** A request gave up: drop it from the queue, or cancel its running batch once nobody waits for it. */
  private abandon(job: Job, reason: unknown): void {
    if (job.settled) return;
    this.settle(job, undefined, reason);
    const at = this.queue.indexOf(job);
    if (at >= 0) {
      this.queue.splice(at, 1);
      return;
    }
    const slot = this.slots.find((s) => s.inFlight?.jobs.includes(job));
    const flight = slot?.inFlight;
    if (!slot || !flight || !flight.jobs.every((j) => j.settled)) return;
    Atomics.store(flight.cancel, 0, 1);
    flight.killTimer = setTimeout(() => {
      if (slot.inFlight === flight) void this.retire(slot, new Error(`a cancelled batch did not stop within ${this.cancelGraceMs} ms`));
    }, this.cancelGraceMs);
    flight.killTimer.unref();
  }

  /**
   * Take one worker out of service (its batch fails; a replacement starts unless the service is closing or the
   * worker never started) and terminate it once that is safe: see `whenQuiet`.
   */
  private async retire(slot: Slot, why: Error): Promise<void> {
    if (slot.state === "gone") return;
    const busy = slot.state === "starting" || slot.state === "busy";
    if (slot.inFlight) Atomics.store(slot.inFlight.cancel, 0, 1);
    this.onGone(slot, why);
    if (busy) await whenQuiet(slot.worker, HARD_KILL_MS);
    await slot.worker.terminate();
  }

  private settle(job: Job, value: { outcomes: GroupOutcome[]; timings: GroupTimings } | undefined, error?: unknown): void {
    if (job.settled) return;
    job.settled = true;
    if (value) job.resolve(value);
    else job.reject(error);
  }
}

/** The service's runner for `scorer`: its worker threads, or the calling thread for a model no worker can rebuild. */
export function scoreRunner(scorer: MonitorScorer, options: ScoreWorkersOptions = {}): ScoreRunner {
  return ScoreWorkers.start(scorer, options) ?? new InThreadRunner(scorer);
}

/**
 * Fit a probe in a worker thread of its own (started for this fit, ended after it); aborting `signal`
 * terminates it at once. Resolves to the probe; rejects with the fit's own error (too few labels, degenerate).
 */
export function trainProbeInWorker(
  hooks: readonly { name: string; dim: number }[],
  set: { features: Float64Array; rows: number; cols: number; labels: Uint8Array },
  l2: number,
  signal?: AbortSignal,
): Promise<LogisticProbe> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const init: WorkerInit = { mode: "train" };
    const worker = startWorker(init);
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      signal?.removeEventListener("abort", onAbort);
      void worker.terminate();
      fn();
    };
    const onAbort = () => finish(() => reject(signal!.reason));
    signal?.addEventListener("abort", onAbort, { once: true });
    worker.on("message", (m: WorkerReply) => {
      if (m.type === "trained") finish(() => resolve(LogisticProbe.fromJson(m.state, "the probe trained in a worker")));
      else if (m.type === "failed") finish(() => reject(fromWire(m.error)));
    });
    worker.on("error", (e) => finish(() => reject(e)));
    worker.on("exit", (code) => finish(() => reject(new MadkitError("BAD_INPUT", `probe training stopped: its worker exited (code ${code})`))));
    const msg: TrainMessage = { type: "train", hooks: hooks.map((h) => ({ name: h.name, dim: h.dim })), features: set.features, rows: set.rows, cols: set.cols, labels: set.labels, l2 };
    worker.postMessage(msg, [set.features.buffer as ArrayBuffer]);
  });
}
