// Dynamic batching for the score route: inputs whose requests are parsed in the same event-loop turn are
// scored together at the next setImmediate, one matrix per hook, so concurrent clients share one gemm per
// detector instead of paying for one each. A lone request waits only for the end of the current turn (no
// timer), so batching adds no latency at low load; under load, batches grow by themselves (the worker threads
// also merge the batches that queued while they were busy, see score-workers.ts).
//
// A batch is handed to a ScoreRunner: the service's worker threads, or `InThreadRunner` (the calling thread).
// Each request may carry an AbortSignal (its time limit, its client going away): an aborted request is
// answered at once with the abort reason, leaves the batch, and a batch whose requests were all abandoned is
// cancelled where it runs.

import type { MonitorMetrics } from "./metrics.js";
import type { GroupInput, GroupOutcome, GroupTimings, MonitorScorer, ScoreResult } from "./scorer.js";
import type { ItemActivations } from "./storage.js";

/** Scores several requests' inputs together; `signal` aborts when every one of them has been abandoned. */
export interface ScoreRunner {
  run(groups: readonly (readonly GroupInput[])[], signal: AbortSignal): Promise<{ outcomes: GroupOutcome[]; timings: GroupTimings }>;
}

/** Count one batch's detector calls and rows (madkit_score_batches_total, madkit_score_batch_inputs_total). */
export function countBatch(metrics: MonitorMetrics, groups: readonly (readonly GroupInput[])[], timings: GroupTimings): void {
  metrics.scoreBatches += timings.detector.length;
  metrics.scoreBatchRows += groups.reduce((s, g) => s + g.length, 0);
}

/** Runs batches on the calling thread: the library's way, and the service's for a model no worker can rebuild. */
export class InThreadRunner implements ScoreRunner {
  constructor(private readonly scorer: MonitorScorer) {}

  async run(groups: readonly (readonly GroupInput[])[], signal: AbortSignal) {
    const r = await this.scorer.scoreGroups(groups, () => signal.aborted);
    countBatch(this.scorer.metrics, groups, r.timings);
    return r;
  }
}

/** One request's inputs, scored: a result per input and the activations it was scored on (to store it). */
export interface ScoredRequest {
  readonly results: ScoreResult[];
  readonly activations: ItemActivations[];
}

interface Pending {
  readonly inputs: readonly GroupInput[];
  readonly signal: AbortSignal | undefined;
  readonly resolve: (r: ScoredRequest) => void;
  readonly reject: (e: unknown) => void;
  settled: boolean;
}

export class ScoreBatcher {
  private pending: Pending[] = [];
  private rows = 0;
  private scheduled = false;

  constructor(
    private readonly runner: ScoreRunner,
    /** A batch this large is sent at once rather than at the end of the turn. */
    private readonly maxRows = 256,
  ) {}

  /** Scores of `inputs` (activations already checked against the bundle, or texts), in order. */
  score(inputs: readonly GroupInput[], signal?: AbortSignal): Promise<ScoredRequest> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const p: Pending = { inputs, signal, resolve, reject, settled: false };
      signal?.addEventListener(
        "abort",
        () => {
          if (p.settled) return;
          p.settled = true;
          reject(signal.reason);
        },
        { once: true },
      );
      this.pending.push(p);
      this.rows += inputs.length;
      if (this.rows >= this.maxRows) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    const batch = this.pending.filter((p) => !p.settled);
    this.pending = [];
    this.rows = 0;
    if (batch.length === 0) return;
    // The batch is abandoned (and cancelled where it runs) once every request in it is.
    const abandoned = new AbortController();
    const check = () => {
      if (batch.every((p) => p.settled)) abandoned.abort(new Error("every request of this batch was abandoned"));
    };
    for (const p of batch) p.signal?.addEventListener("abort", check, { once: true });
    this.runner.run(batch.map((p) => p.inputs), abandoned.signal).then(
      ({ outcomes }) => {
        batch.forEach((p, k) => {
          if (p.settled) return;
          p.settled = true;
          const o = outcomes[k]!;
          if (o.ok) p.resolve({ results: o.results, activations: o.activations });
          else p.reject(o.error);
        });
      },
      (e: unknown) => {
        for (const p of batch) {
          if (p.settled) continue;
          p.settled = true;
          p.reject(e);
        }
      },
    );
  }
}
