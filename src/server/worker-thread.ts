// The body of the service's worker threads (started by score-workers.ts, never imported). A "score" worker
// loads the bundle and the model once and then scores one job at a time — model forward, pooling, detectors,
// explanations — checking the job's shared cancel flag between model calls. A "train" worker fits one probe
// and exits. Nothing here touches HTTP or the store: the event-loop thread keeps those.

import { parentPort, workerData } from "node:worker_threads";
import { loadBundle } from "../bundle/bundle.js";
import { setBackendAnnouncer } from "../linalg/active-backend.js";
import { limitBlasThreads } from "../linalg/openblas.js";
import { loadFromRecipe } from "../models/registry.js";
import { LogisticProbe } from "./logistic-probe.js";
import { MonitorMetrics } from "./metrics.js";
import { MonitorScorer, ScoringCancelled } from "./scorer.js";
import { toWire, type ScoreMessage, type TrainMessage, type WireOutcome, type WorkerInit, type WorkerReply } from "./worker-protocol.js";

const port = parentPort;
if (!port) throw new Error("worker-thread.ts runs as a worker thread (see score-workers.ts), not as a script");
const post = (m: WorkerReply) => port.postMessage(m);
const init = workerData as WorkerInit;
// The event-loop thread has announced the linear-algebra back end (the same choice: same environment).
setBackendAnnouncer(() => {});

if (init.mode === "train") {
  port.once("message", (msg: TrainMessage) => {
    try {
      const probe = LogisticProbe.train(msg.hooks, { rows: msg.rows, cols: msg.cols, data: msg.features }, msg.labels, msg.l2);
      post({ type: "trained", state: probe.toJson() });
    } catch (e) {
      post({ type: "failed", error: toWire(e) });
    }
  });
} else {
  await startScoring(init);
}

async function startScoring(opts: Extract<WorkerInit, { mode: "score" }>): Promise<void> {
  let scorer: MonitorScorer;
  try {
    limitBlasThreads(opts.blasThreads);
    const bundle = loadBundle(opts.bundleDir);
    const source = opts.source ? await loadFromRecipe(opts.source) : undefined;
    scorer = new MonitorScorer(bundle, opts.alpha, new MonitorMetrics(), source, { maxUnknownShare: opts.maxUnknownShare });
  } catch (e) {
    post({ type: "init-error", error: toWire(e) });
    return;
  }
  // One job at a time: the event-loop thread sends the next only after this one's reply.
  port!.on("message", async (msg: ScoreMessage) => {
    const flag = new Int32Array(msg.cancel);
    try {
      const { outcomes, timings } = await scorer.scoreGroups(msg.groups, () => Atomics.load(flag, 0) !== 0);
      const wire: WireOutcome[] = outcomes.map((o) => (o.ok ? o : { ok: false, error: toWire(o.error) }));
      post({ type: "scored", id: msg.id, outcomes: wire, timings });
    } catch (e) {
      if (e instanceof ScoringCancelled) post({ type: "cancelled", id: msg.id });
      else post({ type: "failed", id: msg.id, error: toWire(e) });
    }
  });
  post({ type: "ready" });
}
